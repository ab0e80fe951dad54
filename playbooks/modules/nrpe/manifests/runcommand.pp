# Runs an NRPE check on nodes; with tries, waits for it to pass (try_sleep_time apart).
define nrpe::runcommand (
  $identity_filter,
  String $command = $name,
  Integer $tries = 1,
  Integer $try_sleep_time = 10,
) {
  mcollective { "nrpe_${command}":
    agent           => 'nrpe',
    action          => 'runcommand',
    arguments       => { 'command' => $command },
    identity_filter => $identity_filter,
    tries           => $tries,
    try_sleep_time  => $try_sleep_time,
  }
}
