# Takes servers out of an HAProxy backend, through the haproxy agent's socket API.
define haproxy::disable (
  String $server,
  String $backend,
  $identity_filter,
) {
  mcollective { "haproxy::disable::${backend}/${name}":
    agent           => 'haproxy',
    action          => 'disable',
    arguments       => { 'server' => $server, 'backend' => $backend },
    identity_filter => $identity_filter,
  }
}
