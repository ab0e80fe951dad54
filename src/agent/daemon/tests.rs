//! The daemon over the in-process broker: the same encoded messages NATS would carry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::agent::NodeInfo;
use crate::protocol::{
    decode_reply, encode_request, new_request_id, reply_subject, statuscode, FactFilter, Filter,
    Request, RpcReplyBody,
};
use crate::transport::{BoxFuture, InProcess};

/// An agent whose `work` action takes `delay` and which counts how many run at once.
struct SlowAgent {
    delay: Duration,
    running: AtomicUsize,
    most: AtomicUsize,
}

impl SlowAgent {
    fn new(delay: Duration) -> Arc<SlowAgent> {
        Arc::new(SlowAgent {
            delay,
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        })
    }
}

impl Agent for SlowAgent {
    fn handle<'a>(
        &'a self,
        _node: &'a NodeInfo,
        _request: &'a Request,
    ) -> BoxFuture<'a, RpcReplyBody> {
        Box::pin(async move {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            RpcReplyBody::ok(json!({"done": true}))
        })
    }
}

fn settings(dir: &std::path::Path, concurrency: usize) -> DaemonSettings {
    DaemonSettings {
        identity: "web1.example.net".into(),
        collective: "mcollective".into(),
        facts: Some(dir.join("facts.yaml")),
        classes: Some(dir.join("classes.txt")),
        concurrency,
        action_timeout: Duration::from_secs(5),
        security: None,
    }
}

struct Running {
    transport: Arc<dyn Transport>,
    stop: Stop,
    served: tokio::task::JoinHandle<Result<(), TransportError>>,
}

async fn start(daemon: Daemon) -> Running {
    let transport: Arc<dyn Transport> = Arc::new(InProcess::new());
    let stop = Stop::new();
    let served = tokio::spawn({
        let (transport, stop) = (transport.clone(), stop.clone());
        async move { Arc::new(daemon).serve(transport, &stop).await }
    });
    // The subscriptions are in place once the daemon answers a ping.
    let running = Running {
        transport,
        stop,
        served,
    };
    for _ in 0..100 {
        if running
            .call(
                "web1.example.net",
                "rpcutil",
                "ping",
                json!({}),
                Filter::default(),
                50,
            )
            .await
            .is_some()
        {
            return running;
        }
    }
    panic!("the daemon never answered");
}

impl Running {
    /// Sends a request to `to` (an identity, or "*" for the agent's broadcast subject) and
    /// waits up to `wait_ms` for one reply.
    async fn call(
        &self,
        to: &str,
        agent: &str,
        action: &str,
        data: Value,
        filter: Filter,
        wait_ms: u64,
    ) -> Option<RpcReplyBody> {
        let mut replies = self.send(to, agent, action, data, filter).await;
        let message = tokio::time::timeout(Duration::from_millis(wait_ms), replies.next())
            .await
            .ok()??;
        let reply = decode_reply(&message.payload).unwrap();
        assert_eq!(reply.sender, "web1.example.net");
        Some(reply.rpc_body().unwrap())
    }

    async fn send(
        &self,
        to: &str,
        agent: &str,
        action: &str,
        data: Value,
        filter: Filter,
    ) -> Subscription {
        // A fresh id per request: replies come back on the request's own subject.
        let id = new_request_id();
        let request = Request {
            reply_to: reply_subject("mcollective", "orch", &id),
            id,
            ..Request::example(agent, action, data, filter)
        };
        let replies = self
            .transport
            .subscribe(request.reply_to.clone())
            .await
            .unwrap();
        let subject = if to == "*" {
            broadcast_subject("mcollective", agent)
        } else {
            direct_subject("mcollective", to)
        };
        self.transport
            .publish(subject, None, encode_request(&request).unwrap())
            .await
            .unwrap();
        replies
    }

    async fn stop(self) -> Result<(), TransportError> {
        self.stop.request();
        self.served.await.unwrap()
    }
}

#[tokio::test]
async fn a_request_in_a_reply_out_and_garbage_dropped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("facts.yaml"), "cluster: bravo\n").unwrap();
    std::fs::write(dir.path().join("classes.txt"), "role::web\nsettings\n").unwrap();
    let daemon = start(Daemon::new(settings(dir.path(), 4))).await;
    for garbage in [
        &b"not json"[..],
        b"",
        b"{\"protocol\":\"choria:transport:1\"}",
    ] {
        daemon
            .transport
            .publish(
                direct_subject("mcollective", "web1.example.net"),
                None,
                garbage.to_vec().into(),
            )
            .await
            .unwrap();
    }
    let inventory = daemon
        .call(
            "web1.example.net",
            "rpcutil",
            "inventory",
            json!({}),
            Filter::default(),
            2000,
        )
        .await
        .unwrap();
    assert_eq!(inventory.data["agents"], json!(["discovery", "rpcutil"]));
    assert_eq!(inventory.data["classes"], json!(["role::web", "settings"]));
    assert_eq!(inventory.data["facts"]["cluster"], "bravo");
    let by_fact = Filter {
        fact: vec![FactFilter::parse("cluster=bravo").unwrap()],
        ..Filter::default()
    };
    let discovered = daemon
        .call("*", "discovery", "ping", json!({}), by_fact, 2000)
        .await;
    assert_eq!(discovered.unwrap().data, json!("pong"));
    let other_cluster = Filter {
        fact: vec![FactFilter::parse("cluster=alfa").unwrap()],
        ..Filter::default()
    };
    assert_eq!(
        daemon
            .call("*", "discovery", "ping", json!({}), other_cluster, 300)
            .await,
        None
    );
    let by_class = Filter {
        cf_class: vec!["role::web".into()],
        ..Filter::default()
    };
    assert!(daemon
        .call("*", "rpcutil", "ping", json!({}), by_class, 2000)
        .await
        .is_some());
    let unknown = daemon
        .call(
            "web1.example.net",
            "appmgr",
            "status",
            json!({}),
            Filter::default(),
            2000,
        )
        .await
        .unwrap();
    assert_eq!(unknown.statuscode, statuscode::UNKNOWN_ACTION);
    daemon.stop().await.unwrap();
}

#[tokio::test]
async fn facts_and_classes_are_re_read_when_they_change() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("facts.yaml"), "cluster: alfa\n").unwrap();
    let daemon = start(Daemon::new(settings(dir.path(), 4))).await;
    let fact = |value: Option<RpcReplyBody>| value.unwrap().data["value"].clone();
    let ask = || {
        daemon.call(
            "web1.example.net",
            "rpcutil",
            "get_fact",
            json!({"fact": "cluster"}),
            Filter::default(),
            2000,
        )
    };
    assert_eq!(fact(ask().await), "alfa");
    std::fs::write(dir.path().join("facts.json"), "").unwrap();
    std::fs::write(dir.path().join("facts.yaml"), "cluster: bravo\n").unwrap();
    assert_eq!(fact(ask().await), "bravo");
    std::fs::write(dir.path().join("classes.txt"), "haproxy\n").unwrap();
    let by_class = Filter {
        cf_class: vec!["haproxy".into()],
        ..Filter::default()
    };
    assert!(daemon
        .call("*", "discovery", "ping", json!({}), by_class, 2000)
        .await
        .is_some());
    daemon.stop().await.unwrap();
}

#[tokio::test]
async fn requests_beyond_the_limit_wait_their_turn() {
    let dir = tempfile::tempdir().unwrap();
    let slow = SlowAgent::new(Duration::from_millis(150));
    let mut daemon = Daemon::new(settings(dir.path(), 2));
    daemon.add_agent("slow", slow.clone(), Duration::from_secs(5));
    let daemon = start(daemon).await;
    let mut waiting = Vec::new();
    for _ in 0..6 {
        waiting.push(
            daemon
                .send(
                    "web1.example.net",
                    "slow",
                    "work",
                    json!({}),
                    Filter::default(),
                )
                .await,
        );
    }
    for replies in &mut waiting {
        let message = tokio::time::timeout(Duration::from_secs(5), replies.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            decode_reply(&message.payload)
                .unwrap()
                .rpc_body()
                .unwrap()
                .statuscode,
            0
        );
    }
    assert_eq!(slow.most.load(Ordering::SeqCst), 2);
    daemon.stop().await.unwrap();
}

#[tokio::test]
async fn an_action_past_its_timeout_is_answered_statuscode_5() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::new(settings(dir.path(), 2));
    daemon.add_agent(
        "slow",
        SlowAgent::new(Duration::from_secs(10)),
        Duration::from_millis(100),
    );
    let daemon = start(daemon).await;
    let reply = daemon
        .call(
            "web1.example.net",
            "slow",
            "work",
            json!({}),
            Filter::default(),
            3000,
        )
        .await
        .unwrap();
    assert_eq!(reply.statuscode, statuscode::UNKNOWN_ERROR);
    assert_eq!(reply.statusmsg, "slow#work did not finish within 0.1 s");
    daemon.stop().await.unwrap();
}

/// A stop answers the requests in hand, takes no new ones, and returns.
#[tokio::test]
async fn stopping_answers_what_is_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::new(settings(dir.path(), 4));
    daemon.add_agent(
        "slow",
        SlowAgent::new(Duration::from_millis(400)),
        Duration::from_secs(5),
    );
    let mut daemon = start(daemon).await;
    let mut in_flight = daemon
        .send(
            "web1.example.net",
            "slow",
            "work",
            json!({}),
            Filter::default(),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    daemon.stop.request();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut too_late = daemon
        .send(
            "web1.example.net",
            "rpcutil",
            "ping",
            json!({}),
            Filter::default(),
        )
        .await;
    let served = tokio::time::timeout(Duration::from_secs(5), &mut daemon.served).await;
    assert!(matches!(served, Ok(Ok(Ok(())))), "{served:?}");
    let answered = tokio::time::timeout(Duration::from_millis(100), in_flight.next()).await;
    let reply = decode_reply(&answered.unwrap().unwrap().payload).unwrap();
    assert_eq!(reply.rpc_body().unwrap().data, json!({"done": true}));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), too_late.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_closed_transport_ends_serving_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let broker = InProcess::new();
    let transport: Arc<dyn Transport> = Arc::new(broker.clone());
    let daemon = Arc::new(Daemon::new(settings(dir.path(), 1)));
    let served = tokio::spawn(async move { daemon.serve(transport, &Stop::new()).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    broker.close();
    let result = tokio::time::timeout(Duration::from_secs(2), served)
        .await
        .unwrap()
        .unwrap();
    assert!(result.unwrap_err().to_string().contains("closed"));
}

#[test]
fn a_daemon_from_a_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let agents = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/agent/agents");
    let config = AgentConfig::parse(&format!(
        "identity: web1.example.net\ncollective: dc1\nagents_dir: {}\npuppet: {{enabled: false}}\n",
        agents.display()
    ))
    .unwrap();
    let daemon = Daemon::from_config(&config).unwrap();
    assert_eq!(
        daemon.subjects(),
        [
            "dc1.broadcast.agent.appmgr",
            "dc1.broadcast.agent.discovery",
            "dc1.broadcast.agent.nrpe",
            "dc1.broadcast.agent.rpcutil",
            "dc1.node.web1.example.net",
        ]
    );
    let node = daemon.node();
    assert_eq!(node.limit("appmgr"), Some(Duration::from_secs(62)));
    assert_eq!(node.limit("rpcutil"), Some(Duration::from_secs(60)));
    let _ = dir;
    let broken = AgentConfig::parse("puppet: {bin: /nonexistent/puppet}\n").unwrap();
    let error = Daemon::from_config(&broken).err().unwrap();
    assert_eq!(
        error.kind(),
        crate::agent::config::ConfigErrorKind::Puppet,
        "{error}"
    );
    assert!(error.to_string().contains("the puppet agent"), "{error}");
}
