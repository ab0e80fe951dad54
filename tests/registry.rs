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
    let _nodes = [
        start_node(dir.path(), &server, "web1.example.net", "bravo"),
        start_node(dir.path(), &server, "web2.example.net", "bravo"),
        start_node(dir.path(), &server, "web3.example.net", "charlie"),
    ];
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
            let inventory = Inventory {
                identity: identity.to_string(),
                collectives: vec!["mcollective".into()],
                heartbeat: 30,
                ..Inventory::default()
            };
            bytes::Bytes::from(inventory.seal(signer).unwrap())
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
    let _nodes = [
        start_node(dir.path(), &server, "web1.example.net", "bravo"),
        start_node(dir.path(), &server, "web2.example.net", "bravo"),
        start_node(dir.path(), &server, "web3.example.net", "charlie"),
    ];
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
