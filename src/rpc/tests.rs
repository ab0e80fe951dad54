//! The client and the simulated fleet together over the in-process transport.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;

use super::*;
use crate::fleet::{FleetFile, SimulatedFleet};
use crate::protocol::{
    decode_reply, decode_request, encode_reply, statuscode, FactFilter, Reply, RpcReplyBody,
};
use crate::transport::{InProcess, Transport};

fn fixture(path: &str) -> FleetFile {
    FleetFile::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

fn options() -> ClientOptions {
    ClientOptions {
        sender_id: "orch.example.net".into(),
        discovery_window: Some(Duration::from_millis(100)),
        ..ClientOptions::for_user("rip")
    }
}

async fn serve(fleet: FleetFile) -> (RpcClient, SimulatedFleet, InProcess) {
    let broker = InProcess::new();
    let transport: Arc<dyn Transport> = Arc::new(broker.clone());
    let served = SimulatedFleet::serve(fleet, transport.clone(), "mcollective")
        .await
        .unwrap();
    (RpcClient::new(transport, options()), served, broker)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|name| name.to_string()).collect()
}

fn fact(text: &str) -> Filter {
    Filter {
        fact: vec![FactFilter::parse(text).unwrap()],
        ..Filter::default()
    }
}

#[tokio::test]
async fn the_repository_fleets_load() {
    assert_eq!(fixture("playbooks/fleet.yaml").node_count(), 16);
    assert_eq!(
        fixture("tests/fixtures/fleets/upgrade_fails.yaml").node_count(),
        12
    );
    assert_eq!(
        fixture("tests/fixtures/fleets/bench_1000.yaml").node_count(),
        1002
    );
}

#[tokio::test]
async fn discovers_by_class_fact_and_agent() {
    let (client, _fleet, _) = serve(fixture("playbooks/fleet.yaml")).await;
    let by_class = Filter {
        cf_class: vec!["haproxy".into()],
        ..Filter::default()
    };
    assert_eq!(
        client.discover("rpcutil", &by_class).await.unwrap(),
        ["lb1.example.net"]
    );
    let bravo = client
        .discover("appmgr", &fact("cluster=bravo"))
        .await
        .unwrap();
    assert_eq!(
        bravo,
        names(&[
            "web6.example.net",
            "web7.example.net",
            "web8.example.net",
            "web9.example.net"
        ])
    );
    let notifiers = client
        .discover("angelianotify", &Filter::default())
        .await
        .unwrap();
    assert_eq!(
        notifiers,
        names(&["notify1.example.net", "notify2.example.net"])
    );
    let by_regex = Filter {
        identity: vec!["/^web[12]\\./".into()],
        ..Filter::default()
    };
    let found = client.discover("rpcutil", &by_regex).await.unwrap();
    assert_eq!(found, names(&["web1.example.net", "web2.example.net"]));
    assert_eq!(
        client
            .discover("rpcutil", &Filter::default())
            .await
            .unwrap()
            .len(),
        16
    );
}

#[tokio::test]
async fn windowed_discovery_ends_soon_after_the_last_reply() {
    let (client, _fleet, _) = serve(fixture("playbooks/fleet.yaml")).await;
    let started = Instant::now();
    let found = client.discover("nrpe", &Filter::default()).await.unwrap();
    assert_eq!(found.len(), 10);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn discovery_without_window_waits_the_timeout_and_empty_is_not_an_error() {
    let (client, _fleet, _) = serve(fixture("playbooks/fleet.yaml")).await;
    let client = RpcClient::new(
        client.transport().clone(),
        ClientOptions {
            discovery_window: None,
            discovery_timeout: Duration::from_millis(200),
            ..options()
        },
    );
    let started = Instant::now();
    assert!(client
        .discover("rpcutil", &fact("cluster=charlie"))
        .await
        .unwrap()
        .is_empty());
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn identity_only_discovery_needs_no_network() {
    let broker = InProcess::new();
    broker.close();
    let client = RpcClient::new(Arc::new(broker), options());
    let filter = Filter {
        identity: names(&["web2.example.net", "web1.example.net", "web2.example.net"]),
        ..Filter::default()
    };
    let found = client.discover("rpcutil", &filter).await.unwrap();
    assert_eq!(found, names(&["web1.example.net", "web2.example.net"]));
    let error = client
        .discover("rpcutil", &fact("cluster=bravo"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), RpcErrorKind::Transport);
}

const WITH_A_SILENT_NODE: &str = r#"
agents:
  appmgr:
    status: {data: {status: running}}
nodes:
  - identity: web[1-3].example.net
    agents: [appmgr]
  - identity: web4.example.net
    agents: [appmgr]
    silent: true
"#;

#[tokio::test]
async fn a_silent_node_is_missing_after_the_timeout() {
    let (client, _fleet, _) = serve(FleetFile::parse(WITH_A_SILENT_NODE, "inline").unwrap()).await;
    let targets = names(&[
        "web4.example.net",
        "web2.example.net",
        "web1.example.net",
        "web3.example.net",
    ]);
    let started = Instant::now();
    let timeout = Duration::from_millis(300);
    let result = client
        .call("appmgr", "status", &json!({}), &targets, timeout)
        .await
        .unwrap();
    assert!(started.elapsed() >= timeout);
    let answered: Vec<&str> = result
        .replies
        .iter()
        .map(|reply| reply.identity.as_str())
        .collect();
    assert_eq!(
        answered,
        ["web1.example.net", "web2.example.net", "web3.example.net"]
    );
    assert_eq!(result.missing, ["web4.example.net"]);
    assert!(result
        .replies
        .iter()
        .all(|reply| reply.data == json!({"status": "running"})));
    assert!(!result.all_ok());
}

#[tokio::test]
async fn a_call_returns_as_soon_as_every_target_answered() {
    let (client, _fleet, _) = serve(fixture("playbooks/fleet.yaml")).await;
    let targets = client
        .discover("appmgr", &fact("cluster=bravo"))
        .await
        .unwrap();
    let started = Instant::now();
    let result = client
        .call(
            "appmgr",
            "upgrade",
            &json!({"revision": 20}),
            &targets,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(result.all_ok());
    assert_eq!(result.replies.len(), 4);
    assert_eq!(result.replies[0].data["revision"], 20);
    assert_eq!(result.replies[0].data["status"], "upgraded to revision 20");
}

#[tokio::test]
async fn scripted_failures_come_first_then_the_default_reply() {
    let (client, _fleet, _) = serve(fixture("tests/fixtures/fleets/upgrade_fails.yaml")).await;
    let targets = client
        .discover("appmgr", &fact("cluster=bravo"))
        .await
        .unwrap();
    assert_eq!(targets.len(), 4);
    let revision = json!({"revision": 20});
    let upgrade = || {
        client.call(
            "appmgr",
            "upgrade",
            &revision,
            &targets,
            Duration::from_secs(2),
        )
    };
    for _ in 0..2 {
        let result = upgrade().await.unwrap();
        let failed: Vec<&NodeReply> = result.failed().collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].identity, "web6.example.net");
        assert_eq!(failed[0].statuscode, statuscode::ABORTED);
        assert_eq!(failed[0].statusmsg, "Could not upgrade: disk full on /srv");
    }
    assert!(upgrade().await.unwrap().all_ok());
}

#[tokio::test]
async fn unknown_actions_agents_and_missing_inputs_are_statuscodes() {
    let (client, _fleet, _) = serve(fixture("playbooks/fleet.yaml")).await;
    let web1 = names(&["web1.example.net"]);
    let timeout = Duration::from_secs(2);
    let action = client
        .call("appmgr", "reboot", &json!({}), &web1, timeout)
        .await
        .unwrap();
    assert_eq!(action.replies[0].statuscode, statuscode::UNKNOWN_ACTION);
    assert_eq!(
        action.replies[0].statusmsg,
        "Unknown action reboot for agent appmgr"
    );
    let agent = client
        .call("haproxy", "disable", &json!({}), &web1, timeout)
        .await
        .unwrap();
    assert_eq!(agent.replies[0].statuscode, statuscode::UNKNOWN_ACTION);
    assert_eq!(agent.replies[0].statusmsg, "Unknown agent haproxy");
    let input = client
        .call("appmgr", "upgrade", &json!({}), &web1, timeout)
        .await
        .unwrap();
    assert_eq!(input.replies[0].statuscode, statuscode::MISSING_DATA);
    let ping = client
        .call("rpcutil", "ping", &serde_json::Value::Null, &web1, timeout)
        .await
        .unwrap();
    assert!(ping.replies[0].data["pong"].is_u64());
}

#[tokio::test]
async fn unknown_nodes_are_missing_and_bad_identities_are_errors() {
    let (client, _fleet, _) = serve(fixture("playbooks/fleet.yaml")).await;
    let targets = names(&["nosuch.example.net"]);
    let result = client
        .call(
            "rpcutil",
            "ping",
            &json!({}),
            &targets,
            Duration::from_millis(100),
        )
        .await
        .unwrap();
    assert_eq!(result.missing, targets);
    let bad = client
        .call(
            "rpcutil",
            "ping",
            &json!({}),
            &names(&["a b"]),
            Duration::from_millis(100),
        )
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), RpcErrorKind::InvalidTarget);
    let none = client
        .call("rpcutil", "ping", &json!({}), &[], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(none, CallResult::default());
}

/// What a spy on `mcollective.>` sees is Choria v1 on the wire.
#[tokio::test]
async fn the_wire_carries_choria_v1() {
    let (client, _fleet, broker) = serve(fixture("playbooks/fleet.yaml")).await;
    let mut spy = broker.subscribe("mcollective.>".into()).await.unwrap();
    let targets = names(&["lb1.example.net"]);
    let data = json!({"server": "web6.example.net", "backend": "app"});
    client
        .call(
            "haproxy",
            "disable",
            &data,
            &targets,
            Duration::from_secs(2),
        )
        .await
        .unwrap();

    let sent = spy.next().await.unwrap();
    assert_eq!(sent.subject, "mcollective.node.lb1.example.net");
    let transport: serde_json::Value = serde_json::from_slice(&sent.payload).unwrap();
    assert_eq!(transport["protocol"], "choria:transport:1");
    assert_eq!(transport["headers"]["mc_sender"], "orch.example.net");
    let request = decode_request(&sent.payload).unwrap();
    assert_eq!(request.id.len(), 32);
    assert_eq!(request.caller, "choria=rip.mcollective");
    assert_eq!(request.collective, "mcollective");
    assert_eq!(
        (request.agent.as_str(), request.action.as_str()),
        ("haproxy", "disable")
    );
    assert_eq!(request.data, data);
    assert_eq!(
        request.reply_to,
        format!("mcollective.reply.orch.example.net.{}", request.id)
    );
    assert_eq!(transport["headers"]["reply-to"], request.reply_to);

    let answer = spy.next().await.unwrap();
    assert_eq!(answer.subject, request.reply_to);
    let reply = decode_reply(&answer.payload).unwrap();
    assert_eq!(reply.sender, "lb1.example.net");
    assert_eq!(reply.request_id, request.id);
    assert_eq!(reply.rpc_body().unwrap().data["status"], "disabled");
}

/// Replies that do not decode, fail the hash, come from a node not asked, or repeat are
/// dropped; the real reply still counts.
#[tokio::test]
async fn stray_and_forged_replies_are_dropped() {
    let broker = InProcess::new();
    let mut node = broker.subscribe("mcollective.node.>".into()).await.unwrap();
    let responder = broker.clone();
    tokio::spawn(async move {
        let message = node.next().await.unwrap();
        let request = decode_request(&message.payload).unwrap();
        let reply_from = |sender: &str| {
            let reply = Reply::rpc(
                &request.id,
                sender,
                "rpcutil",
                0,
                &RpcReplyBody::ok(json!({"n": sender})),
            );
            encode_reply(&reply.unwrap()).unwrap()
        };
        let tampered = {
            let text = String::from_utf8(reply_from("web1.example.net").to_vec()).unwrap();
            let mut transport: serde_json::Value = serde_json::from_str(&text).unwrap();
            transport["data"] = json!("eyJwcm90b2NvbCI6ImNob3JpYTpzZWN1cmU6cmVwbHk6MSIsIm1lc3NhZ2UiOiJ4IiwiaGFzaCI6IngifQ==");
            Bytes::from(transport.to_string())
        };
        for payload in [
            Bytes::from_static(b"garbage"),
            tampered,
            reply_from("intruder.example.net"),
            reply_from("web1.example.net"),
            reply_from("web1.example.net"),
        ] {
            responder
                .publish(request.reply_to.clone(), None, payload)
                .await
                .unwrap();
        }
    });
    let client = RpcClient::new(Arc::new(broker), options());
    let targets = names(&["web1.example.net", "web2.example.net"]);
    let result = client
        .call(
            "rpcutil",
            "ping",
            &json!({}),
            &targets,
            Duration::from_millis(300),
        )
        .await
        .unwrap();
    assert_eq!(result.replies.len(), 1);
    assert_eq!(result.replies[0].identity, "web1.example.net");
    assert_eq!(result.missing, ["web2.example.net"]);
}

#[tokio::test]
async fn a_closed_transport_is_an_error_not_a_node_failure() {
    let broker = InProcess::new();
    let client = RpcClient::new(Arc::new(broker.clone()), options());
    broker.close();
    let error = client
        .call(
            "rpcutil",
            "ping",
            &json!({}),
            &names(&["web1.example.net"]),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), RpcErrorKind::Transport);
}

#[tokio::test]
async fn a_stopped_fleet_no_longer_answers() {
    let (client, fleet, _) = serve(fixture("playbooks/fleet.yaml")).await;
    fleet.stop();
    let result = client
        .call(
            "rpcutil",
            "ping",
            &json!({}),
            &names(&["web1.example.net"]),
            Duration::from_millis(100),
        )
        .await
        .unwrap();
    assert_eq!(result.missing.len(), 1);
}

#[tokio::test]
async fn the_puppet_agent_over_the_wire() {
    let (client, _fleet, _) = serve(fixture("playbooks/fleet.yaml")).await;
    let notify1 = names(&["notify1.example.net"]);
    let timeout = Duration::from_secs(2);
    let status = client
        .call("puppet", "status", &json!({}), &notify1, timeout)
        .await
        .unwrap();
    assert_eq!(status.replies[0].data["status"], "idling");
    let disabled = client
        .call(
            "puppet",
            "disable",
            &json!({"message": "orchestrating"}),
            &notify1,
            timeout,
        )
        .await
        .unwrap();
    assert!(disabled.all_ok());
    let refused = client
        .call("puppet", "runonce", &json!({}), &notify1, timeout)
        .await
        .unwrap();
    assert_eq!(
        refused.replies[0].statusmsg,
        "Puppet is disabled: 'orchestrating'"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_nodes_answer() {
    let (client, _fleet, _) = serve(fixture("tests/fixtures/fleets/bench_1000.yaml")).await;
    let bravo = client
        .discover("appmgr", &fact("cluster=bravo"))
        .await
        .unwrap();
    assert_eq!(bravo.len(), 1000);
    let result = client
        .call(
            "rpcutil",
            "ping",
            &json!({}),
            &bravo,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(result.replies.len(), 1000);
    assert!(result.missing.is_empty());
}

/// The client's own record: every request (discovery, direct, broadcast) with its id, agent,
/// action, targets or filter, time and redacted inputs; marked inputs travel in the request.
#[tokio::test]
async fn the_client_records_what_it_sent_with_sensitive_inputs_redacted() {
    let (rpc, _fleet, broker) = serve(fixture("playbooks/fleet.yaml")).await;
    let mut seen = broker.subscribe("mcollective.node.>".into()).await.unwrap();
    let marking = rpc.marking_sensitive(&names(&["password", "absent"]));
    let targets = marking
        .discover("rpcutil", &fact("cluster=bravo"))
        .await
        .unwrap();
    let data = json!({"user": "app", "password": "hunter2"});
    marking
        .call(
            "rpcutil",
            "ping",
            &data,
            &targets[..1],
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    let wire = decode_request(&seen.next().await.unwrap().payload).unwrap();
    assert_eq!(
        wire.sensitive_inputs,
        ["password"],
        "only the inputs it has"
    );
    assert_eq!(wire.data["password"], "hunter2", "the node gets the secret");
    let sent = rpc.sent();
    assert_eq!(sent.len(), 2, "the clone records into the same log");
    assert_eq!(
        (sent[0].agent.as_str(), sent[0].action.as_str()),
        ("discovery", "ping")
    );
    assert!(sent[0].targets.is_empty());
    assert_eq!(
        sent[0].filter.as_ref().unwrap().fact,
        fact("cluster=bravo").fact
    );
    assert_eq!(sent[1].request_id, wire.id);
    assert_eq!(sent[1].targets, targets[..1]);
    assert_eq!(sent[1].time, wire.time);
    assert_eq!(
        sent[1].data,
        json!({"user": "app", "password": crate::protocol::REDACTED})
    );
}

/// A fleet file's `policies:` folder (beside the file) applies to every simulated node; the
/// embedded default without it allows everything.
#[tokio::test]
async fn a_fleet_with_policies_denies_what_they_deny() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::write(
        dir.path().join("policies/rpcutil.policy"),
        "policy default deny\nallow\t*\tping\tcluster=alfa\t*\n",
    )
    .unwrap();
    let file = dir.path().join("fleet.yaml");
    std::fs::write(
        &file,
        "policies: policies\nnodes:\n  - {identity: a1, facts: {cluster: alfa}}\n  - {identity: b1, facts: {cluster: bravo}}\n",
    )
    .unwrap();
    let fleet = FleetFile::load(&file).unwrap();
    assert_eq!(
        fleet.policies(),
        Some(dir.path().join("policies").as_path())
    );
    let (rpc, _fleet, _) = serve(fleet).await;
    let nodes = names(&["a1", "b1"]);
    let ping = rpc
        .call(
            "rpcutil",
            "ping",
            &json!({}),
            &nodes,
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    let codes: Vec<(String, u8)> = ping
        .replies
        .iter()
        .map(|reply| (reply.identity.clone(), reply.statuscode))
        .collect();
    assert_eq!(codes, [("a1".into(), 0), ("b1".into(), 1)]);
    assert_eq!(ping.replies[1].statusmsg, crate::agent::NOT_AUTHORIZED);
    let discovered = rpc.discover("rpcutil", &Filter::default()).await.unwrap();
    assert_eq!(discovered, nodes, "discovery is not subject to policies");
    let open = FleetFile::parse("nodes: [{identity: c1}]", "inline").unwrap();
    assert_eq!(open.policies(), None);
    let (rpc, _open, _) = serve(open).await;
    let inventory = rpc
        .call(
            "rpcutil",
            "inventory",
            &json!({}),
            &names(&["c1"]),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    assert_eq!(
        inventory.replies[0].statuscode, 0,
        "allow-all without policies"
    );
}

/// Signed replies that pile up are checked together on all cores: a thousand nodes' signed
/// replies with a hundred forgeries among them (other names, unsigned) give the thousand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_signed_replies_are_checked_together_and_forgeries_still_dropped() {
    use crate::fleet::FleetSecurity;
    use crate::security::{Authority, KeyKind, SecuritySection};

    let broker = InProcess::new();
    let transport: Arc<dyn Transport> = Arc::new(broker.clone());
    let authority = Arc::new(Authority::new("test CA", KeyKind::EcdsaP256).unwrap());
    let nodes = FleetSecurity::issued_by(authority.clone(), &SecuritySection::default()).unwrap();
    let fleet = fixture("tests/fixtures/fleets/bench_1000.yaml");
    let _served =
        SimulatedFleet::serve_secured(fleet, transport.clone(), "mcollective", Some(&nodes))
            .await
            .unwrap();
    let mut broadcasts = broker
        .subscribe("mcollective.broadcast.agent.rpcutil".into())
        .await
        .unwrap();
    let forger = broker.clone();
    tokio::spawn(async move {
        let request = decode_request(&broadcasts.next().await.unwrap().payload).unwrap();
        for n in 0..100 {
            let sender = format!("intruder{n}.example.net");
            let reply = Reply::rpc(
                &request.id,
                &sender,
                "rpcutil",
                0,
                &RpcReplyBody::ok(json!({})),
            );
            let payload = encode_reply(&reply.unwrap()).unwrap();
            forger
                .publish(request.reply_to.clone(), None, payload)
                .await
                .unwrap();
        }
    });
    let client = crate::security::ClientSecurity::new(
        authority.credentials("rip.mcollective").unwrap(),
        Arc::new(authority.trust().unwrap()),
        false,
    );
    let rpc = RpcClient::secured(transport, options(), Arc::new(client));
    let bravo = fact("cluster=bravo");
    let expected = rpc.discover("rpcutil", &bravo).await.unwrap();
    assert_eq!(expected.len(), 1000);
    let result = rpc
        .broadcast_call(
            "rpcutil",
            "ping",
            &json!({}),
            &bravo,
            &expected,
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    let answered: Vec<&str> = result
        .replies
        .iter()
        .map(|reply| reply.identity.as_str())
        .collect();
    assert_eq!(answered, expected);
    assert!(result.missing.is_empty());
}
