//! Security end to end: a real `orchestrate agent` on a real `nats-server`, certificates made
//! here (rcgen, through the crate's `Authority`). Every forged, tampered, replayed or
//! unauthorised request is sent as an attacker on the broker would send it, and each refusal
//! is observed on both sides: the client gets no reply, the node's log says why, and nothing
//! ran (an external agent that would have written a file did not).

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use orchestrate::protocol::{
    decode_reply, direct_subject, encode_signed_reply, encode_signed_request, new_request_id,
    reply_subject, unix_now, Filter, Reply, Request, RpcReplyBody, Signer,
};
use orchestrate::security::{Authority, Credentials, KeyKind};
use orchestrate::transport::{Nats, NatsOptions, Transport};
use serde_json::json;
use support::nats::NatsServer;
use support::{Process, Test};

const NODE: &str = "web1.example.net";

/// The CA, and the ssldir of each party under `dir`.
struct Pki {
    ca: Authority,
    dir: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        Pki {
            ca: Authority::new("Puppet CA: test", KeyKind::Ed25519).unwrap(),
            dir: dir.to_path_buf(),
        }
    }

    /// `name`'s certificate in Puppet's layout under `<dir>/<name>/ssl`; the ssldir.
    fn ssldir(&self, name: &str) -> PathBuf {
        let ssldir = self.dir.join(name).join("ssl");
        self.ca
            .issue(name)
            .unwrap()
            .write_ssldir(&ssldir, name, &self.ca.ca_pem())
            .unwrap();
        ssldir
    }

    fn credentials(&self, name: &str) -> Credentials {
        self.ca.credentials(name).unwrap()
    }
}

/// A node with security on: the `recorder` external agent (each run appends a line to
/// `log`), every action allowed by `default.policy`, audit in `audit.log`.
fn start_node(pki: &Pki, server: &NatsServer, log: &Path) -> Process {
    pki.ssldir(NODE);
    let folder = pki.dir.join(NODE);
    let agents = folder.join("agents");
    std::fs::create_dir_all(&agents).unwrap();
    let program = agents.join("recorder");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\ncat > /dev/null\necho ran >> '{}'\necho '{{\"data\": {{}}}}'\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        agents.join("recorder.yaml"),
        "description: records that it ran\nactions:\n  status:\n    description: records\n",
    )
    .unwrap();
    let policies = folder.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("default.policy"), "policy default allow\n").unwrap();
    let config = folder.join("agent.yaml");
    std::fs::write(
        &config,
        format!(
            "identity: {NODE}\nnats: {{servers: ['{}']}}\nagents_dir: agents\npuppet: {{enabled: false}}\n\
             security: {{ssldir: ssl, certname: {NODE}, policies: policies, audit_log: audit.log}}\n",
            server.url(),
        ),
    )
    .unwrap();
    Test::new()
        .args(["agent", "--config"])
        .arg(&config)
        .deadline(Duration::from_secs(60))
        .start(" serving ")
}

/// The client's configuration: the broker and `rip.mcollective`'s certificates.
fn client_config(pki: &Pki, server: &NatsServer) -> PathBuf {
    let ssldir = pki.ssldir("rip.mcollective");
    let config = pki.dir.join("client.yaml");
    std::fs::write(
        &config,
        format!(
            "nats: {{servers: ['{}']}}\nsecurity: {{ssldir: {}, certname: rip.mcollective}}\n",
            server.url(),
            ssldir.display()
        ),
    )
    .unwrap();
    config
}

/// A request for `recorder#status` on the node as `choria=rip.mcollective` would send it.
fn request() -> Request {
    let id = new_request_id();
    Request {
        reply_to: reply_subject("mcollective", "rip.mcollective", &id),
        id,
        sender: "rip.mcollective".into(),
        caller: "choria=rip.mcollective".into(),
        collective: "mcollective".into(),
        agent: "recorder".into(),
        action: "status".into(),
        data: json!({}),
        ttl: 60,
        time: unix_now(),
        filter: Filter::default(),
    }
}

/// What an attacker on the broker sends: raw bytes to the node's subject. Returns whether
/// any reply came within a second.
async fn send(nats: &Nats, payload: bytes::Bytes, reply_to: &str) -> bool {
    let mut replies = nats.subscribe(reply_to.to_string()).await.unwrap();
    nats.publish(direct_subject("mcollective", NODE), None, payload)
        .await
        .unwrap();
    nats.flush().await.unwrap();
    tokio::time::timeout(Duration::from_secs(1), replies.next())
        .await
        .is_ok()
}

fn signed(request: &Request, signer: &Credentials) -> bytes::Bytes {
    encode_signed_request(request, Some(signer as &dyn Signer)).unwrap()
}

/// Changes the JSON of the request inside the secure layer after signing (the signature no
/// longer matches), or the transport's reply subject (which is not signed).
fn tamper(wire: &[u8], inner: impl Fn(&mut serde_json::Value)) -> bytes::Bytes {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut transport: serde_json::Value = serde_json::from_slice(wire).unwrap();
    let mut secure: serde_json::Value =
        serde_json::from_slice(&engine.decode(transport["data"].as_str().unwrap()).unwrap())
            .unwrap();
    inner(&mut secure);
    transport["data"] = engine.encode(secure.to_string()).into();
    bytes::Bytes::from(transport.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_forged_request_is_refused_and_logged_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let server = NatsServer::start();
    let ran = dir.path().join("ran.log");
    let node = start_node(&pki, &server, &ran);
    let nats = Nats::connect(&NatsOptions::new(vec![server.url()]))
        .await
        .unwrap();
    let rip = pki.credentials("rip.mcollective");

    // The genuine request is answered: the node works.
    let genuine = request();
    assert!(send(&nats, signed(&genuine, &rip), &genuine.reply_to).await);
    let ran_before = std::fs::read_to_string(&ran).unwrap_or_default();

    let other_ca = Authority::new("another CA", KeyKind::Ed25519).unwrap();
    let expired = pki
        .ca
        .issue_with("rip.mcollective", |params| {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        })
        .unwrap()
        .credentials()
        .unwrap();
    let server_only = pki
        .ca
        .issue_with("rip.mcollective", |params| {
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        })
        .unwrap()
        .credentials()
        .unwrap();
    let outsider = pki.credentials("mallory.example.net");
    let with = |change: &dyn Fn(&mut Request)| {
        let mut request = request();
        change(&mut request);
        request
    };
    let replayed = request();
    let replayed_wire = signed(&replayed, &rip);
    assert!(send(&nats, replayed_wire.clone(), &replayed.reply_to).await);

    let cases: Vec<(&str, bytes::Bytes, String, &str)> = vec![
        {
            let r = request();
            (
                "unsigned",
                encode_signed_request(&r, None).unwrap(),
                r.reply_to,
                "unsigned",
            )
        },
        {
            let r = request();
            let stranger = other_ca.credentials("rip.mcollective").unwrap();
            (
                "another CA",
                signed(&r, &stranger),
                r.reply_to,
                "certificate sent is refused",
            )
        },
        {
            let r = request();
            (
                "expired certificate",
                signed(&r, &expired),
                r.reply_to,
                "certificate sent is refused",
            )
        },
        {
            let r = request();
            (
                "no client-auth usage",
                signed(&r, &server_only),
                r.reply_to,
                "certificate sent is refused",
            )
        },
        {
            let r = with(&|r| r.caller = "choria=bob.mcollective".into());
            (
                "callerid of another",
                signed(&r, &rip),
                r.reply_to,
                "is not the signer's",
            )
        },
        {
            let r = with(&|r| r.caller = "choria=rip.mcollective,x".into());
            (
                "callerid with a suffix",
                signed(&r, &rip),
                r.reply_to,
                "is not the signer's",
            )
        },
        {
            let r = with(&|r| r.caller = "choria=mallory.example.net".into());
            (
                "caller not allowed",
                signed(&r, &outsider),
                r.reply_to,
                "allowed_callers",
            )
        },
        {
            let r = request();
            let wire = tamper(&signed(&r, &rip), |secure| {
                let text = secure["message"]
                    .as_str()
                    .unwrap()
                    .replace("\"ttl\":60", "\"ttl\":59");
                secure["message"] = text.into();
            });
            (
                "tampered body",
                wire,
                r.reply_to,
                "signature does not match",
            )
        },
        {
            let r = request();
            let redirected = reply_subject("mcollective", "mallory", &r.id);
            let wire = signed(&r, &rip);
            let mut transport: serde_json::Value = serde_json::from_slice(&wire).unwrap();
            transport["headers"]["reply-to"] = redirected.clone().into();
            (
                "tampered reply subject",
                bytes::Bytes::from(transport.to_string()),
                redirected,
                "reply",
            )
        },
        (
            "replay",
            replayed_wire,
            replayed.reply_to.clone(),
            "a replay",
        ),
        {
            let r = with(&|r| r.time = unix_now() - 120);
            ("time in the past", signed(&r, &rip), r.reply_to, "expired")
        },
        {
            let r = with(&|r| r.time = unix_now() + 120);
            (
                "time in the future",
                signed(&r, &rip),
                r.reply_to,
                "from the future",
            )
        },
        {
            let r = with(&|r| r.ttl = 3600);
            ("ttl above max_ttl", signed(&r, &rip), r.reply_to, "max_ttl")
        },
    ];
    let mut refused = 0;
    for (name, wire, reply_to, logged) in &cases {
        let answered = send(&nats, wire.clone(), reply_to).await;
        assert!(!answered, "{name}: the node answered");
        refused += 1;
        let log = node.stderr_so_far();
        assert!(
            log.contains(logged),
            "{name}: the node's log lacks {logged:?}:\n{log}"
        );
    }
    assert_eq!(refused, cases.len(), "100% refused");
    let ran_after = std::fs::read_to_string(&ran).unwrap_or_default();
    assert_eq!(
        ran_before.lines().count() + 1,
        ran_after.lines().count(),
        "only the replayed request's first sending ran"
    );
    node.terminate();
}

/// A reply signed by another node's certificate is no reply: the client reports the node
/// that did not answer, and a forged "OK" cannot turn a failure into success.
#[test]
fn a_forged_reply_is_ignored_by_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let server = NatsServer::start();
    let config = client_config(&pki, &server);
    let forger = pki.credentials("web2.example.net");
    let url = server.url();
    // The forger answers every request to ghost.example.net as ghost, signed with web2's key.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (nats, mut requests) = runtime.block_on(async {
        let nats = Arc::new(Nats::connect(&NatsOptions::new(vec![url])).await.unwrap());
        let requests = nats
            .subscribe(direct_subject("mcollective", "ghost.example.net"))
            .await
            .unwrap();
        nats.flush().await.unwrap();
        (nats, requests)
    });
    let forging = runtime.spawn(async move {
        while let Some(message) = requests.next().await {
            let request = orchestrate::protocol::decode_request(&message.payload).unwrap();
            let reply = Reply::rpc(
                &request.id,
                "ghost.example.net",
                &request.agent,
                unix_now(),
                &RpcReplyBody::ok(json!({"pong": 1})),
            )
            .unwrap();
            let wire = encode_signed_reply(&reply, Some(&forger as &dyn Signer)).unwrap();
            assert_eq!(decode_reply(&wire).unwrap().sender, "ghost.example.net");
            nats.publish(request.reply_to, None, wire).await.unwrap();
            nats.flush().await.unwrap();
        }
    });
    let out = Test::new()
        .args([
            "rpc",
            "rpcutil",
            "ping",
            "-I",
            "ghost.example.net",
            "--timeout",
            "2",
            "--config",
        ])
        .arg(&config)
        .status(1)
        .run();
    assert!(
        out.stdout.contains("ghost.example.net  -  no response"),
        "{}",
        out.whole()
    );
    assert!(
        out.stderr.contains("dropping a reply that fails its check"),
        "{}",
        out.whole()
    );
    assert!(out.stderr.contains("signed by"), "{}", out.whole());
    forging.abort();
}

/// The genuine way in: `orchestrate rpc` with the client's certificates.
#[test]
fn a_signed_client_is_answered_with_signed_replies() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let server = NatsServer::start();
    let ran = dir.path().join("ran.log");
    let node = start_node(&pki, &server, &ran);
    let config = client_config(&pki, &server);
    let out = Test::new()
        .args(["rpc", "rpcutil", "ping", "-I", NODE, "--config"])
        .arg(&config)
        .status(0)
        .run();
    assert!(
        out.stdout.starts_with(&format!("{NODE}  0  OK")),
        "{}",
        out.whole()
    );
    let log = node.stderr_so_far();
    assert!(log.contains("caller=choria=rip.mcollective"), "{log}");
    // Unsigned, the same client is refused.
    let unsigned = pki.dir.join("unsigned.yaml");
    std::fs::write(
        &unsigned,
        format!("nats: {{servers: ['{}']}}\n", server.url()),
    )
    .unwrap();
    let out = Test::new()
        .args([
            "rpc",
            "rpcutil",
            "ping",
            "-I",
            NODE,
            "--timeout",
            "1",
            "--config",
        ])
        .arg(&unsigned)
        .status(1)
        .run();
    assert!(out.stdout.contains("no response"), "{}", out.whole());
    node.terminate();
}
