# Upgrade the web application on one cluster behind the HAProxy load balancer.
#
#   orchestrate app_cluster_upgrade backend=app cluster=bravo revision=20
#
# Finds the load balancer and the cluster's web servers by discovery, checks they all answer,
# takes the web servers out of the load balancer, upgrades them two at a time, waits for their
# load to settle, puts them back, and tells the administrator. When a step fails, the steps that
# depend on it are skipped, so a broken server never goes back into service.

if empty($backend) { fail('Please specify a backend to manage using $backend') }
if empty($revision) { fail('Please specify a revision to manage using $revision') }
if empty($cluster) { fail('Please specify a cluster to manage using $cluster') }

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
