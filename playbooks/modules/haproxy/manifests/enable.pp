# Puts servers back into an HAProxy backend, through the haproxy agent's socket API.
define haproxy::enable (
  String $server,
  String $backend,
  $identity_filter,
) {
  mcollective { "haproxy::enable::${backend}/${name}":
    agent           => 'haproxy',
    action          => 'enable',
    arguments       => { 'server' => $server, 'backend' => $backend },
    identity_filter => $identity_filter,
  }
}
