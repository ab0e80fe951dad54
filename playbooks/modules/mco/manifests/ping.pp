# Checks that nodes answer (rpcutil#ping) before anything is done to them.
define mco::ping (
  $identity_filter,
) {
  mcollective { "ping_${name}":
    agent           => 'rpcutil',
    action          => 'ping',
    identity_filter => $identity_filter,
  }
}
