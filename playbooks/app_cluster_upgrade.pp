# Upgrade the web application on one cluster behind the HAProxy load balancer.
#
#   orchestrate app_cluster_upgrade cluster=bravo revision=20 [backend=app]
#
# Finds the load balancer and the cluster's web servers by discovery, checks they all answer,
# takes the web servers out of the load balancer, upgrades them two at a time, waits for their
# load to settle, puts them back, and tells the administrator. When a step fails, the steps that
# depend on it are skipped, so a broken server never goes back into service.
#
# The playbook is a class whose parameters are the playbook's: their types are checked, `backend`
# defaults to `app`, and a missing or unknown parameter is an error. (A playbook may also be plain
# top-scope code, reading `name=value` arguments as `$name`, as the original seed did.)
class app_cluster_upgrade (
  String[1] $cluster,
  Variant[Integer[0], Pattern[/\A[0-9]+\z/]] $revision,
  String[1] $backend = 'app',
) {
  $load_balancer = discover({ 'class' => 'haproxy' })
  $servers = discover('appmgr', { 'fact' => "cluster=${cluster}" })

  if empty($load_balancer) { fail('Could not find any load balancers to manage') }
  if empty($servers) { fail("Could not find any servers to manage in cluster ${cluster}") }

  $server_count = size($servers)
  $msg = "${id} updated ${server_count} node cluster ${cluster} to revision ${revision}"

  app::update { $cluster:
    backend       => $backend,
    revision      => $revision,
    load_balancer => $load_balancer,
    nodes         => $servers,
  }
  -> angelia { $cluster:
    msg       => $msg,
    recipient => 'boxcar://rip@devco.net',
  }
  -> mco::say { 'done':
    msg => $msg,
  }
}
