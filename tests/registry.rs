//! The node registry end to end: real `orchestrate agent` daemons writing their entries into
//! JetStream on a real `nats-server -js`, and `orchestrate rpc` discovering from it.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestrate::registry::{Inventory, Registry, RegistrySection};
use orchestrate::security::{Authority, ClientSecurity, KeyKind};
use orchestrate::transport::{Nats, NatsOptions, Transport};
use serde_json::Value;
use support::nats::NatsServer;
use support::nodes::{node_config, start_agent};
use support::{Process, Test};

/// Agents that write their entry every second; gone two seconds after the last.
const FAST_HEARTBEAT: &str =
    "puppet: {enabled: false}\nregistry: {heartbeat: 1s, expire_after: 2s}\n";

fn start_node(dir: &Path, server: &NatsServer, identity: &str, cluster: &str) -> Process {
    let config = node_config(dir, identity, cluster, &server.url(), FAST_HEARTBEAT);
    start_agent(&config, &[])
}

/// web1 and web2 in cluster bravo, web3 in charlie.
fn bravo_and_charlie(dir: &Path, server: &NatsServer) -> [Process; 3] {
    [
        start_node(dir, server, "web1.example.net", "bravo"),
        start_node(dir, server, "web2.example.net", "bravo"),
        start_node(dir, server, "web3.example.net", "charlie"),
    ]
}

/// The entry `identity` writes in collective mcollective, signed by `signer` when given.
fn sealed_entry(
    identity: &str,
    heartbeat: u64,
    signer: Option<&dyn orchestrate::protocol::Signer>,
) -> bytes::Bytes {
    let inventory = Inventory {
        identity: identity.to_string(),
        collectives: vec!["mcollective".into()],
        heartbeat,
        ..Inventory::default()
    };
    bytes::Bytes::from(inventory.seal(signer).unwrap())
}

/// The identities that answered `rpcutil ping` chosen by `filter` (`-F cluster=bravo`); none
/// when no node matched.
fn pinged(server: &NatsServer, method: &str, filter: &[&str]) -> Vec<String> {
    let out = Test::new()
        .args([
            "rpc",
            "rpcutil",
            "ping",
            "--json",
            "--discovery-method",
            method,
        ])
        .args(filter)
        .nats(server)
        .run();
    if out.stdout.contains("no node matched the filter") {
        return Vec::new();
    }
    let result: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.whole()));
    let mut senders: Vec<String> = result["replies"]
        .as_array()
        .unwrap_or_else(|| panic!("no replies: {}", out.whole()))
        .iter()
        .map(|reply| reply["identity"].as_str().unwrap().to_string())
        .collect();
    senders.sort();
    senders
}

/// Retries `found` until it gives `expected` or `within` has passed; the last answer.
fn eventually(within: Duration, expected: &[&str], found: impl Fn() -> Vec<String>) -> Vec<String> {
    let started = Instant::now();
    loop {
        let now = found();
        if now == expected || started.elapsed() > within {
            return now;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn registry_and_broadcast_discovery_choose_the_same_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start_jetstream();
    let _nodes = bravo_and_charlie(dir.path(), &server);
    for filter in [
        &["-F", "cluster=bravo"][..],
        &["-C", "role::web"],
        &["-I", "/web[12]/"],
        &[],
    ] {
        let by_registry = pinged(&server, "registry", filter);
        assert_eq!(
            by_registry,
            pinged(&server, "broadcast", filter),
            "{filter:?}"
        );
        assert!(!by_registry.is_empty(), "{filter:?}");
    }
    assert_eq!(
        pinged(&server, "registry", &["-F", "cluster=bravo"]),
        ["web1.example.net", "web2.example.net"]
    );
}

#[test]
fn a_node_whose_facts_change_is_found_by_them_within_a_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start_jetstream();
    let _node = start_node(dir.path(), &server, "web1.example.net", "bravo");
    assert_eq!(
        pinged(&server, "registry", &["-F", "cluster=delta"]),
        Vec::<String>::new()
    );
    std::fs::write(
        dir.path().join("web1.example.net/facts.yaml"),
        "cluster: delta\nrole: web\n",
    )
    .unwrap();
    let found = eventually(Duration::from_secs(3), &["web1.example.net"], || {
        pinged(&server, "registry", &["-F", "cluster=delta"])
    });
    assert_eq!(found, ["web1.example.net"]);
}

#[test]
fn a_stopped_node_leaves_the_registry_and_a_killed_one_expires() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start_jetstream();
    let stopped = start_node(dir.path(), &server, "web1.example.net", "bravo");
    let killed = start_node(dir.path(), &server, "web2.example.net", "bravo");
    let _staying = start_node(dir.path(), &server, "web3.example.net", "bravo");
    let all = ["web1.example.net", "web2.example.net", "web3.example.net"];
    assert_eq!(pinged(&server, "registry", &[]), all);
    stopped.terminate();
    stopped.finish();
    killed.signal("KILL");
    // The stopped node removed its entry; the killed one is gone once its entry expires.
    let found = eventually(Duration::from_secs(6), &["web3.example.net"], || {
        registered(&server)
    });
    assert_eq!(found, ["web3.example.net"]);
}

/// The identities in the registry, read through the library.
fn registered(server: &NatsServer) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let nats = Nats::connect(&NatsOptions::new(vec![server.url()]))
            .await
            .unwrap();
        let registry = Registry::open(&nats, &RegistrySection::default(), None)
            .await
            .unwrap();
        let nodes = registry.nodes().await.unwrap();
        nodes
            .into_iter()
            .map(|node| node.inventory.identity)
            .collect()
    })
}

#[test]
fn in_a_bucket_that_keeps_history_the_latest_value_counts_and_a_deletion_removes() {
    let server = NatsServer::start_jetstream();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let nats = Nats::connect(&NatsOptions::new(vec![server.url()]))
            .await
            .unwrap();
        // Someone else made the bucket, keeping five values of each key.
        let stream = async_nats::jetstream::stream::Config {
            name: "KV_kept".into(),
            subjects: vec!["$KV.kept.>".into()],
            max_messages_per_subject: 5,
            allow_rollup: true,
            deny_delete: true,
            ..Default::default()
        };
        nats.jetstream()
            .unwrap()
            .create_stream(stream)
            .await
            .unwrap();
        let section = RegistrySection {
            bucket: Some("kept".into()),
            ..RegistrySection::default()
        };
        let registry = Registry::open_or_create(&nats, &section).await.unwrap();
        let entry = |identity: &str, heartbeat| {
            (
                identity.to_string(),
                sealed_entry(identity, heartbeat, None),
            )
        };
        let writes = vec![entry("web1", 10), entry("web2", 10), entry("web2", 20)];
        registry.put_all(writes).await.unwrap();
        registry.remove("web1").await.unwrap();
        let nodes = registry.nodes().await.unwrap();
        let found: Vec<(String, u64)> = nodes
            .into_iter()
            .map(|node| (node.inventory.identity, node.inventory.heartbeat))
            .collect();
        assert_eq!(found, [("web2".to_string(), 20)]);
    });
}

#[test]
fn forged_registry_entries_are_dropped_by_a_secured_reader() {
    let server = NatsServer::start_jetstream();
    let ca = Authority::new("Puppet CA: test", KeyKind::EcdsaP256).unwrap();
    let stranger = Authority::new("Another CA", KeyKind::EcdsaP256).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let nats: Arc<dyn Transport> = Arc::new(
            Nats::connect(&NatsOptions::new(vec![server.url()]))
                .await
                .unwrap(),
        );
        let section = RegistrySection::default();
        let writer = Registry::open_or_create(nats.as_ref(), &section)
            .await
            .unwrap();
        let entry = |identity: &str, signer: Option<&dyn orchestrate::protocol::Signer>| {
            sealed_entry(identity, 30, signer)
        };
        let web1 = ca.credentials("web1.example.net").unwrap();
        let web2 = ca.credentials("web2.example.net").unwrap();
        let foreign = stranger.credentials("web4.example.net").unwrap();
        let genuine = entry("web1.example.net", Some(&web1));
        let mut tampered: Value =
            serde_json::from_slice(&entry("web2.example.net", Some(&web2))).unwrap();
        tampered["message"] =
            Value::String(tampered["message"].as_str().unwrap().replace("30", "31"));
        writer
            .put_all(vec![
                ("web1.example.net".into(), genuine.clone()),
                // Unsigned, signed by another node, by another CA, tampered with, under another key.
                ("ghost.example.net".into(), entry("ghost.example.net", None)),
                (
                    "web3.example.net".into(),
                    entry("web3.example.net", Some(&web1)),
                ),
                (
                    "web4.example.net".into(),
                    entry("web4.example.net", Some(&foreign)),
                ),
                (
                    "web2.example.net".into(),
                    serde_json::to_vec(&tampered).unwrap().into(),
                ),
                ("web5.example.net".into(), genuine),
                (
                    "junk.example.net".into(),
                    bytes::Bytes::from_static(b"{not json"),
                ),
            ])
            .await
            .unwrap();
        let client = ca.credentials("rip.mcollective").unwrap();
        let security = Arc::new(ClientSecurity::new(
            client,
            Arc::new(ca.trust().unwrap()),
            false,
        ));
        let reader = Registry::open(nats.as_ref(), &section, Some(security))
            .await
            .unwrap();
        let identities: Vec<String> = reader
            .nodes()
            .await
            .unwrap()
            .into_iter()
            .map(|node| node.inventory.identity)
            .collect();
        assert_eq!(identities, ["web1.example.net"]);
        // Without security, every readable entry under its own name is taken.
        let open = Registry::open(nats.as_ref(), &section, None).await.unwrap();
        assert_eq!(open.nodes().await.unwrap().len(), 5);
    });
}

/// A playbook in the seed's style that finds a cluster's nodes in the registry, whatever the
/// run's own method, and pings them.
const REGISTRY_PLAYBOOK: &str = r#"# Free top-scope variables, as the original playbooks were written.
if empty($cluster) { fail('Please specify a cluster to manage using $cluster') }
$servers = discover('rpcutil', { 'fact' => "cluster=${cluster}" }, { 'method' => 'registry' })
notice("${id} found ${servers}")
mcollective { 'ping':
  agent           => 'rpcutil',
  action          => 'ping',
  identity_filter => $servers,
}
"#;

#[test]
fn a_playbook_discovers_from_the_registry_by_its_own_call() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start_jetstream();
    let _nodes = bravo_and_charlie(dir.path(), &server);
    // The run itself discovers by broadcast: the call's method is the one that counts.
    let out = Test::new()
        .file("seed.pp", REGISTRY_PLAYBOOK)
        .args(["seed", "cluster=bravo", "--discovery-method", "broadcast"])
        .nats(&server)
        .status(0)
        .run();
    assert!(
        out.stdout
            .contains("Notice: rip found [web1.example.net, web2.example.net]\n"),
        "{}",
        out.whole()
    );
    assert!(
        out.stdout
            .contains("rpcutil#ping executed successfully on 2 nodes after 1 try"),
        "{}",
        out.whole()
    );
}

#[test]
fn a_playbook_asking_for_the_registry_where_there_is_none_fails_saying_so() {
    let server = NatsServer::start();
    let out = Test::new()
        .file("seed.pp", REGISTRY_PLAYBOOK)
        .args(["seed", "cluster=bravo"])
        .nats(&server)
        .run();
    assert!(matches!(out.status, 1 | 2), "{}", out.whole());
    assert!(
        out.stderr.contains(
            "discovery failed: registry discovery needs a node registry, and there is none"
        ),
        "{}",
        out.whole()
    );
    assert!(!out.stdout.contains("found"), "{}", out.whole());
}

#[test]
fn a_node_that_missed_its_heartbeat_is_reported_stale_in_the_plan_the_step_and_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start_jetstream();
    let config = node_config(
        dir.path(),
        "web1.example.net",
        "bravo",
        &server.url(),
        "puppet: {enabled: false}\nregistry: {heartbeat: 1s, expire_after: 30s}\n",
    );
    let frozen = start_agent(&config, &[]);
    let _fresh = start_node(dir.path(), &server, "web2.example.net", "bravo");
    // Frozen, it neither heartbeats nor answers; its entry stays until it expires.
    frozen.signal("STOP");
    std::thread::sleep(Duration::from_millis(3500));
    let plan = Test::new()
        .file("seed.pp", REGISTRY_PLAYBOOK)
        .args(["seed", "cluster=bravo", "--plan"])
        .nats(&server)
        .status(0)
        .run();
    assert!(
        plan.stdout
            .contains("Stale in the registry (missed their last heartbeat): web1.example.net\n"),
        "{}",
        plan.whole()
    );
    let run = Test::new()
        .file("seed.pp", REGISTRY_PLAYBOOK)
        .args(["seed", "cluster=bravo"])
        .nats(&server)
        .run();
    assert!(
        run.stdout
            .contains("1 of its nodes missed its last registry heartbeat: web1.example.net"),
        "{}",
        run.whole()
    );
    let rpc = Test::new()
        .args([
            "rpc",
            "rpcutil",
            "ping",
            "-F",
            "cluster=bravo",
            "--timeout",
            "1",
        ])
        .nats(&server)
        .status(1)
        .run();
    assert!(
        rpc.stderr.contains(
            "1 of the 2 nodes found in the registry missed their last heartbeat: web1.example.net"
        ),
        "{}",
        rpc.whole()
    );
    assert!(
        rpc.stdout.contains("web1.example.net  -  no response"),
        "{}",
        rpc.whole()
    );
    // `test => true` pings what was found, and fails on the node that does not answer.
    let tested = Test::new()
        .file(
            "tested.pp",
            "$n = discover({ 'fact' => 'cluster=bravo' }, { 'method' => 'registry', 'test' => true })\n\
             notice(\"found ${n}\")\n",
        )
        .args(["tested"])
        .nats(&server)
        .run();
    assert_ne!(tested.status, 0, "{}", tested.whole());
    assert!(
        tested
            .stderr
            .contains("1 of the 2 nodes found did not answer a ping: web1.example.net"),
        "{}",
        tested.whole()
    );
    frozen.signal("CONT");
}

// ---------------------------------------------------------------------------------------------
// Broadcast and registry discovery agree: random fleets served on a real broker, their entries
// written by the heartbeat, and random filters of every kind discovered both ways.

mod agreement {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use orchestrate::fleet::{FleetFile, SimulatedFleet};
    use orchestrate::protocol::{FactFilter, Filter};
    use orchestrate::registry::{DiscoveryMethod, Heartbeat, Registry, RegistrySection};
    use orchestrate::rpc::{ClientOptions, RpcClient};
    use orchestrate::stop::Stop;
    use orchestrate::transport::{Nats, NatsOptions, Transport};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    use serde_json::{json, Value};

    use super::NatsServer;

    const CLUSTERS: [&str; 3] = ["alpha", "bravo", "charlie"];
    const ROLES: [&str; 3] = ["web", "db", "lb"];
    const FAMILIES: [&str; 2] = ["debian", "redhat"];
    const CLASSES: [&str; 5] = ["role::web", "role::db", "app", "haproxy", "monitoring"];
    /// The agents the fleet file defines; every node runs rpcutil and discovery besides.
    const AGENTS: [&str; 3] = ["appmgr", "nrpe", "haproxy"];

    /// One simulated node: a role (its name's prefix), facts (any may be missing), classes
    /// and agents.
    #[derive(Clone, Debug)]
    struct NodeSpec {
        role: usize,
        cluster: Option<usize>,
        cpus: Option<u32>,
        family: Option<usize>,
        classes: Vec<usize>,
        agents: Vec<usize>,
    }

    fn node() -> impl Strategy<Value = NodeSpec> {
        (
            0..ROLES.len(),
            proptest::option::weighted(0.9, 0..CLUSTERS.len()),
            proptest::option::weighted(0.85, 1u32..=16),
            proptest::option::weighted(0.7, 0..FAMILIES.len()),
            proptest::sample::subsequence((0..CLASSES.len()).collect::<Vec<_>>(), 0..=3),
            proptest::sample::subsequence((0..AGENTS.len()).collect::<Vec<_>>(), 0..=3),
        )
            .prop_map(|(role, cluster, cpus, family, classes, agents)| NodeSpec {
                role,
                cluster,
                cpus,
                family,
                classes,
                agents,
            })
    }

    /// The fleet file of `nodes` (JSON is YAML), each named by its role and place.
    fn fleet_file(nodes: &[NodeSpec]) -> String {
        let action = json!({ "status": { "data": { "status": "running" } } });
        let agents: BTreeMap<&str, Value> = AGENTS.iter().map(|a| (*a, action.clone())).collect();
        let nodes: Vec<Value> = nodes
            .iter()
            .enumerate()
            .map(|(index, spec)| {
                let mut facts = serde_json::Map::new();
                facts.insert("role".into(), json!(ROLES[spec.role]));
                if let Some(cluster) = spec.cluster {
                    facts.insert("cluster".into(), json!(CLUSTERS[cluster]));
                }
                if let Some(cpus) = spec.cpus {
                    facts.insert("cpus".into(), json!(cpus));
                }
                if let Some(family) = spec.family {
                    facts.insert("os".into(), json!({ "family": FAMILIES[family] }));
                }
                json!({
                    "identity": format!("{}{index}.example.net", ROLES[spec.role]),
                    "facts": facts,
                    "classes": spec.classes.iter().map(|c| CLASSES[*c]).collect::<Vec<_>>(),
                    "agents": spec.agents.iter().map(|a| AGENTS[*a]).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({ "defaults": { "latency": 0 }, "agents": agents, "nodes": nodes }).to_string()
    }

    /// A statement of the compound language.
    fn statement() -> impl Strategy<Value = String> {
        prop_oneof![
            (0..CLUSTERS.len()).prop_map(|c| format!("cluster={}", CLUSTERS[c])),
            (0..CLUSTERS.len()).prop_map(|c| format!("cluster!={}", CLUSTERS[c])),
            (1u32..=16).prop_map(|n| format!("cpus>{n}")),
            (1u32..=16).prop_map(|n| format!("cpus<={n}")),
            Just("role=~/^(web|lb)$/".to_string()),
            (0..FAMILIES.len()).prop_map(|f| format!("os.family={}", FAMILIES[f])),
            (0..CLASSES.len()).prop_map(|c| CLASSES[c].to_string()),
            (0..AGENTS.len()).prop_map(|a| AGENTS[a].to_string()),
            Just("/^role::/".to_string()),
            (0..CLUSTERS.len()).prop_map(|c| format!("with('cluster=={}')", CLUSTERS[c])),
        ]
    }

    /// A compound filter: statements under `and`, `or`, `not` and parentheses.
    fn compound() -> impl Strategy<Value = String> {
        statement().prop_recursive(3, 12, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
                inner.clone().prop_map(|a| format!("not {a}")),
                inner.prop_map(|a| format!("!({a})")),
            ]
        })
    }

    /// A classic fact comparison.
    fn fact() -> impl Strategy<Value = FactFilter> {
        prop_oneof![
            (0..CLUSTERS.len()).prop_map(|c| format!("cluster={}", CLUSTERS[c])),
            (0..CLUSTERS.len()).prop_map(|c| format!("cluster!={}", CLUSTERS[c])),
            (1u32..=16).prop_map(|n| format!("cpus<{n}")),
            (1u32..=16).prop_map(|n| format!("cpus>={n}")),
            Just("cluster=~^(alpha|charlie)$".to_string()),
            (0..ROLES.len()).prop_map(|r| format!("role=={}", ROLES[r])),
            Just("role=~b".to_string()),
            (0..FAMILIES.len()).prop_map(|f| format!("os.family={}", FAMILIES[f])),
        ]
        .prop_map(|text| FactFilter::parse(&text).unwrap())
    }

    /// A filter of every kind but plain names (which both methods answer without looking).
    fn filter() -> impl Strategy<Value = Filter> {
        let class = prop_oneof![
            (0..CLASSES.len()).prop_map(|c| CLASSES[c].to_string()),
            Just("/^role::/".to_string()),
            Just("/mon/".to_string()),
        ];
        let agent = prop_oneof![
            (0..AGENTS.len()).prop_map(|a| AGENTS[a].to_string()),
            Just("/app/".to_string()),
        ];
        let identity = prop_oneof![
            Just("/^web/".to_string()),
            Just("/[13579]\\.example/".to_string()),
            Just("/^(db|lb)/".to_string()),
        ];
        (
            proptest::collection::vec(fact(), 0..=2),
            proptest::collection::vec(class, 0..=1),
            proptest::collection::vec(agent, 0..=1),
            proptest::collection::vec(identity, 0..=1),
            proptest::collection::vec(compound(), 0..=2),
        )
            .prop_map(|(fact, cf_class, agent, identity, compound)| Filter {
                fact,
                cf_class,
                agent,
                identity,
                compound,
            })
    }

    fn discovery_agent() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(vec!["rpcutil", "appmgr", "nrpe"])
    }

    /// What both methods found for each filter of one case.
    struct Found {
        filter: Filter,
        agent: &'static str,
        broadcast: Vec<String>,
        registry: Vec<String>,
    }

    /// Serves `nodes` in a collective and a bucket of the case's own, writes their entries,
    /// and discovers every filter both ways (the filters at once).
    async fn discover_both(
        transport: Arc<dyn Transport>,
        case: usize,
        nodes: &[NodeSpec],
        filters: Vec<(&'static str, Filter)>,
    ) -> Vec<Found> {
        let collective = format!("agree{case}");
        let section = RegistrySection {
            bucket: Some(format!("agree_{case}")),
            ..RegistrySection::default()
        };
        let file = FleetFile::parse(&fleet_file(nodes), "the generated fleet").unwrap();
        let served = SimulatedFleet::serve(file, transport.clone(), &collective)
            .await
            .unwrap();
        let stop = Stop::new();
        let registrations = served.registrations();
        let heartbeat = Heartbeat::new(transport.clone(), section.clone())
            .start(move || registrations.clone(), stop.clone())
            .await;
        let registry = Registry::open(transport.as_ref(), &section, None)
            .await
            .unwrap();
        let mut options = ClientOptions::for_user("agreement");
        options.collective = collective;
        options.discovery_window = Some(Duration::from_millis(150));
        options.discovery_timeout = Duration::from_secs(1);
        let client = RpcClient::new(transport, options).with_registry(Arc::new(registry));
        let mut discoveries = tokio::task::JoinSet::new();
        for (index, (agent, filter)) in filters.into_iter().enumerate() {
            let client = client.clone();
            discoveries.spawn(async move {
                let by = |method| client.discover_by(agent, &filter, Some(method));
                let broadcast = by(DiscoveryMethod::Broadcast).await.unwrap();
                let registry = by(DiscoveryMethod::Registry).await.unwrap();
                (
                    index,
                    Found {
                        filter: filter.clone(),
                        agent,
                        broadcast,
                        registry,
                    },
                )
            });
        }
        let mut found: Vec<(usize, Found)> = discoveries.join_all().await;
        found.sort_by_key(|(index, _)| *index);
        stop.request();
        heartbeat.await.unwrap();
        served.stop();
        found.into_iter().map(|(_, found)| found).collect()
    }

    #[test]
    fn broadcast_and_registry_discovery_give_the_same_nodes() {
        let server = NatsServer::start_jetstream();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let transport: Arc<dyn Transport> = runtime.block_on(async {
            Arc::new(
                Nats::connect(&NatsOptions::new(vec![server.url()]))
                    .await
                    .unwrap(),
            )
        });
        let cases = AtomicUsize::new(0);
        // How many filters chose some nodes but not all: the property is not vacuous.
        let telling = AtomicUsize::new(0);
        let mut runner = TestRunner::new(Config {
            cases: 14,
            failure_persistence: None,
            max_shrink_iters: 64,
            ..Config::default()
        });
        let strategy = (
            proptest::collection::vec(node(), 5..=30),
            proptest::collection::vec(
                (discovery_agent(), filter())
                    .prop_filter("a filter nodes accept", |(_, f)| f.check().is_ok()),
                3..=5,
            ),
        );
        let outcome = runner.run(&strategy, |(nodes, filters)| {
            let case = cases.fetch_add(1, Ordering::SeqCst);
            let found = runtime.block_on(discover_both(transport.clone(), case, &nodes, filters));
            for found in found {
                let Found {
                    filter,
                    agent,
                    broadcast,
                    registry,
                } = found;
                prop_assert_eq!(
                    &broadcast,
                    &registry,
                    "agent {} filter {:?} on the fleet {}",
                    agent,
                    filter,
                    fleet_file(&nodes)
                );
                if !broadcast.is_empty() && broadcast.len() < nodes.len() {
                    telling.fetch_add(1, Ordering::SeqCst);
                }
            }
            Ok::<(), TestCaseError>(())
        });
        if let Err(failure) = outcome {
            panic!("{failure}");
        }
        assert!(
            telling.load(Ordering::SeqCst) >= 5,
            "too few filters chose some nodes but not all: {}",
            telling.load(Ordering::SeqCst)
        );
    }
}
