# Takes a cluster's web servers out of the load balancer, upgrades the application on them two
# at a time, waits for their load to settle and puts them back.
define app::update (
  $backend,
  $revision,
  $nodes,
  $load_balancer,
) {
  if is_string($nodes) {
    $workers = [$nodes]
  } elsif is_array($nodes) {
    $workers = $nodes
  } else {
    fail("Don't know how to deploy to nodes: ${nodes}")
  }

  mco::ping { "${name}-lb": identity_filter => $load_balancer }
  -> mco::ping { "${name}-workers": identity_filter => $workers }
  -> haproxy::disable { $name:
    server          => join($workers, ','),
    backend         => $backend,
    identity_filter => $load_balancer,
  }
  -> mcollective { "update_${name}":
    agent           => 'appmgr',
    action          => 'upgrade',
    arguments       => { 'revision' => $revision },
    identity_filter => $workers,
    tries           => 2,
    batch_size      => 2,
  }
  -> nrpe::runcommand { 'check_load':
    tries           => 10,
    identity_filter => $workers,
  }
  -> haproxy::enable { $name:
    server          => join($workers, ','),
    backend         => $backend,
    identity_filter => $load_balancer,
  }
}
