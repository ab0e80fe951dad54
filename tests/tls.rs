//! Mutual TLS to a real `nats-server` (`tls { verify: true }`), with certificates made by
//! rcgen for each test: `orchestrate rpc` pings a real `orchestrate agent` over TLS, every
//! refused certificate and missing file is a clear error naming the file (exit 2), and the
//! configuration `orchestrate broker-config` writes lets each certificate use only its own
//! subjects, as the broker itself answers.
//!
//! Names: the CA `Puppet CA: <test>`, the broker `localhost` (IP SAN 127.0.0.1), clients
//! `rip.mcollective`, nodes `web1.example.net`: CN and DNS SAN, client and server auth.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestrate::security::{Authority, CertFiles};
use support::certs::{authority, tls_broker, write_ssldir, KeyForm};
use support::nats::NatsServer;
use support::{Output, Process, Test};

/// A CA and a folder of Puppet ssldirs, one per certificate name.
struct Site {
    dir: tempfile::TempDir,
    ca: Authority,
}

impl Site {
    fn new(name: &str) -> Site {
        Site {
            dir: tempfile::tempdir().unwrap(),
            ca: authority(name),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `<dir>/<name>/ssl`, Puppet's layout for `name`, issued by this CA.
    fn ssldir(&self, name: &str) -> (PathBuf, CertFiles) {
        self.ssldir_issued_by(name, &self.ca)
    }

    /// The same with the certificate from `issuer` (the CA file stays this site's).
    fn ssldir_issued_by(&self, name: &str, issuer: &Authority) -> (PathBuf, CertFiles) {
        self.ssldir_with(name, issuer, KeyForm::Ecdsa)
    }

    /// The same with a key of `form`.
    fn ssldir_with(&self, name: &str, issuer: &Authority, form: KeyForm) -> (PathBuf, CertFiles) {
        let ssldir = self.path(name).join("ssl");
        let files = write_ssldir(&ssldir, name, issuer, form, &self.ca.ca_pem());
        (ssldir, files)
    }

    /// A broker requiring a client certificate from this CA, its own certificate from
    /// `issuer`.
    fn broker_issued_by(&self, issuer: &Authority) -> NatsServer {
        self.broker_named("localhost", issuer)
    }

    /// A broker whose certificate is made out to `name` (and `127.0.0.1` for `localhost`).
    fn broker_named(&self, name: &str, issuer: &Authority) -> NatsServer {
        tls_broker(&self.path(name), &self.ca, issuer, name)
    }

    fn broker(&self) -> NatsServer {
        self.broker_issued_by(&self.ca)
    }

    /// A client configuration: `url`, and a security section on `name`'s ssldir.
    fn client_config(&self, name: &str, url: &str, ssldir: &Path) -> PathBuf {
        let path = self.path(name).join("config.yaml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            format!(
                "nats: {{servers: ['{url}']}}\nsecurity: {{ssldir: {}, certname: {name}}}\n",
                ssldir.display()
            ),
        )
        .unwrap();
        path
    }

    /// A node daemon's configuration: `url`, its security section on its ssldir, and a
    /// policy that allows every request (what the node may be asked is not this test's).
    fn agent_config(&self, identity: &str, url: &str, ssldir: &Path) -> PathBuf {
        let folder = self.path(identity);
        let policies = folder.join("policies");
        std::fs::create_dir_all(&policies).unwrap();
        std::fs::write(policies.join("default.policy"), "policy default allow\n").unwrap();
        let path = folder.join("agent.yaml");
        std::fs::write(
            &path,
            format!(
                "identity: {identity}\nnats: {{servers: ['{url}']}}\npuppet: {{enabled: false}}\n\
                 security: {{ssldir: {}, certname: {identity}, policies: {}}}\n",
                ssldir.display(),
                policies.display()
            ),
        )
        .unwrap();
        path
    }
}

/// `orchestrate agent --config FILE`, serving until dropped.
fn start_agent(config: &Path) -> Process {
    Test::new()
        .args(["agent", "--config"])
        .arg(config)
        .deadline(Duration::from_secs(10))
        .start(" serving ")
}

/// `orchestrate rpc rpcutil ping --config FILE ARGS --json`, to its end.
fn ping(config: &Path, args: &[&str]) -> Output {
    Test::new()
        .args([
            "rpc",
            "rpcutil",
            "ping",
            "--json",
            "--discovery-timeout",
            "1",
            "--config",
        ])
        .arg(config)
        .args(args)
        .run()
}

/// The identities that answered a `--json` rpc, sorted.
fn answered(output: &Output) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", output.whole()));
    let mut names: Vec<String> = report["replies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|reply| reply["statuscode"] == 0)
        .map(|reply| reply["identity"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[track_caller]
fn assert_refused(output: &Output, expected: &str) {
    assert_eq!(output.status, 2, "{}", output.whole());
    assert!(
        output.stderr.contains(expected),
        "no {expected:?} in\n{}",
        output.whole()
    );
}

/// Every key kind through a real handshake: the client's RSA in PKCS#1 (as Puppet's CA
/// issues), the node's Ed25519, the fleet's ECDSA P-256.
#[test]
fn a_ping_goes_to_a_real_agent_and_a_fleet_over_mutual_tls() {
    let site = Site::new("ping");
    let mut server = site.broker();
    let (node_ssl, node_files) = site.ssldir_with("web1.example.net", &site.ca, KeyForm::Ed25519);
    let agent_config = site.agent_config("web1.example.net", &server.tls_url(), &node_ssl);
    let check = Test::new()
        .args(["agent", "--check", "--config"])
        .arg(&agent_config)
        .status(0)
        .run();
    assert!(
        check.stdout.contains(&format!(
            "broker TLS: ca {}, cert {}, key {}\n",
            node_files.ca.display(),
            node_files.cert.display(),
            node_files.key.display()
        )),
        "{}",
        check.whole()
    );
    let mut agent = start_agent(&agent_config);
    let (client_ssl, _) = site.ssldir_with("rip.mcollective", &site.ca, KeyForm::RsaPkcs1);
    let client = site.client_config("rip.mcollective", &server.tls_url(), &client_ssl);
    let direct = ping(&client, &["-I", "web1.example.net"]);
    assert_eq!(direct.status, 0, "{}", direct.whole());
    assert_eq!(answered(&direct), ["web1.example.net"]);

    // A broker restarted: the agent reconnects over TLS with the same certificates.
    server.restart();
    agent.wait_for_stderr("reconnected to the broker");
    assert_eq!(
        answered(&ping(&client, &["-I", "web1.example.net"])),
        ["web1.example.net"]
    );

    // orchestrate fleet on explicit nats.tls files, reached with a nats:// URL: the
    // configuration, not the URL, asks for TLS. Its nodes sign with their own certificates
    // from the same ssldir.
    let (fleet_ssl, fleet_files) = site.ssldir("fleet.example.net");
    for node in ["node00001.example.net", "node00002.example.net"] {
        write_ssldir(
            &fleet_ssl,
            node,
            &site.ca,
            KeyForm::Ecdsa,
            &site.ca.ca_pem(),
        );
    }
    let fleet_config = site.path("fleet.yaml");
    std::fs::write(
        &fleet_config,
        format!(
            "nats:\n  servers: ['{}']\n  tls: {{ca: {}, cert: {}, key: {}}}\n\
             security: {{ssldir: {}, certname: fleet.example.net}}\n",
            server.url(),
            fleet_files.ca.display(),
            fleet_files.cert.display(),
            fleet_files.key.display(),
            fleet_ssl.display()
        ),
    )
    .unwrap();
    let _fleet = Test::new()
        .args(["fleet", "--nodes", "2", "--config"])
        .arg(&fleet_config)
        .start("Serving");
    let broadcast = ping(&client, &[]);
    assert_eq!(broadcast.status, 0, "{}", broadcast.whole());
    assert_eq!(
        answered(&broadcast),
        [
            "node00001.example.net",
            "node00002.example.net",
            "web1.example.net"
        ]
    );
}

#[test]
fn a_client_certificate_from_another_ca_is_refused_by_the_broker() {
    let site = Site::new("ours");
    let server = site.broker();
    let stranger = authority("theirs");
    let (ssl, files) = site.ssldir_issued_by("rip.mcollective", &stranger);
    let out = ping(
        &site.client_config("rip.mcollective", &server.tls_url(), &ssl),
        &[],
    );
    assert_refused(
        &out,
        &format!(
            "error: the broker at {} refused the certificate {} (",
            server.tls_url(),
            files.cert.display()
        ),
    );
}

#[test]
fn a_broker_certificate_from_another_ca_is_refused_by_the_client() {
    let site = Site::new("ours");
    let server = site.broker_issued_by(&authority("impostor"));
    let (ssl, files) = site.ssldir("rip.mcollective");
    let out = ping(
        &site.client_config("rip.mcollective", &server.tls_url(), &ssl),
        &[],
    );
    assert_refused(
        &out,
        &format!(
            "error: the broker at {} has a certificate that does not chain to the CA in {}\n",
            server.tls_url(),
            files.ca.display()
        ),
    );
}

#[test]
fn a_broker_certificate_for_another_host_is_refused_by_the_client() {
    let site = Site::new("ours");
    let server = site.broker_named("broker.example.net", &site.ca);
    let (ssl, _) = site.ssldir("rip.mcollective");
    let out = ping(
        &site.client_config("rip.mcollective", &server.tls_url(), &ssl),
        &[],
    );
    assert_refused(
        &out,
        &format!(
            "error: the broker's certificate at {} is not made out to 127.0.0.1 (it names broker.example.net)\n",
            server.tls_url()
        ),
    );
}

#[test]
fn missing_files_are_named_by_the_client_and_the_agent() {
    let site = Site::new("missing");
    let server = site.broker();
    let empty = site.path("empty-ssl");
    let client = site.client_config("rip.mcollective", &server.tls_url(), &empty);
    assert_refused(
        &ping(&client, &[]),
        &format!(
            "error: cannot read the NATS TLS CA certificate {}: No such file",
            empty.join("certs/ca.pem").display()
        ),
    );
    let (ssl, files) = site.ssldir("web1.example.net");
    std::fs::remove_file(&files.key).unwrap();
    let started = Instant::now();
    let agent = Test::new()
        .args(["agent", "--config"])
        .arg(site.agent_config("web1.example.net", &server.tls_url(), &ssl))
        .deadline(Duration::from_secs(10))
        .run();
    // The daemon loads its signing key first; either way the file is named.
    assert_refused(&agent, &format!("cannot read {}", files.key.display()));
    assert!(started.elapsed() < Duration::from_secs(5), "no retrying");
}

#[test]
fn an_agent_whose_certificate_the_broker_refuses_stops_at_once() {
    let site = Site::new("ours");
    let server = site.broker();
    let (ssl, files) = site.ssldir_issued_by("web1.example.net", &authority("theirs"));
    let out = Test::new()
        .args(["agent", "--config"])
        .arg(site.agent_config("web1.example.net", &server.url(), &ssl))
        .deadline(Duration::from_secs(10))
        .run();
    assert_refused(
        &out,
        &format!("refused the certificate {}", files.cert.display()),
    );
}

#[test]
fn a_tls_broker_without_certificates_configured_says_so() {
    let site = Site::new("plain");
    let server = site.broker();
    let out = Test::new()
        .args(["rpc", "rpcutil", "ping"])
        .args(["--nats", &server.tls_url()])
        .run();
    assert_refused(
        &out,
        &format!(
            "error: the broker at {} needs TLS and the handshake failed",
            server.tls_url()
        ),
    );
    assert!(out
        .stderr
        .contains("set nats.tls {ca, cert, key} or a security section"));
}

#[test]
fn a_broker_without_tls_is_named_as_such() {
    let site = Site::new("plain");
    let server = NatsServer::start();
    let (ssl, _) = site.ssldir("rip.mcollective");
    let out = ping(
        &site.client_config("rip.mcollective", &server.url(), &ssl),
        &[],
    );
    assert_refused(
        &out,
        &format!(
            "error: the broker at {} does not speak TLS (it answered the TLS handshake with",
            server.url()
        ),
    );
    assert!(
        out.stderr.contains("or set nats.tls: false"),
        "{}",
        out.whole()
    );
}

/// One connection speaking NATS's text protocol over TLS with a certificate, as any client
/// could: what the broker answers, permission errors included, is read as it comes.
struct Session {
    stream: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

impl Session {
    /// Connected and past CONNECT: the broker has mapped the certificate to a user.
    fn open(server: &NatsServer, files: &CertFiles) -> Session {
        let mut tcp = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        tcp.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        read_info(&mut tcp);
        let config = orchestrate::transport::TlsFiles {
            ca: files.ca.clone(),
            cert: files.cert.clone(),
            key: files.key.clone(),
        }
        .client_config()
        .unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let mut session = Session {
            stream: rustls::StreamOwned::new(connection, tcp),
        };
        session.send(r#"CONNECT {"verbose":false,"pedantic":false,"tls_required":true}"#);
        let answer = session.sync();
        assert_eq!(answer, "", "the broker let {} in", files.cert.display());
        session
    }

    fn send(&mut self, line: &str) {
        self.stream.write_all(line.as_bytes()).unwrap();
        self.stream.write_all(b"\r\n").unwrap();
        self.stream.flush().unwrap();
    }

    /// Publishes `payload` on `subject`.
    fn publish(&mut self, subject: &str, payload: &str) {
        self.send(&format!("PUB {subject} {}\r\n{payload}", payload.len()));
    }

    /// PING, and everything the broker sent before its PONG (it answers in order, so every
    /// error about what was sent before is in it).
    fn sync(&mut self) -> String {
        self.send("PING");
        let text = self.read_until(|seen| seen.contains("PONG\r\n"), Duration::from_secs(5));
        text.replace("PONG\r\n", "")
    }

    /// What arrives within `wait`.
    fn read_for(&mut self, wait: Duration) -> String {
        self.read_until(|_| false, wait)
    }

    fn read_until(&mut self, done: impl Fn(&str) -> bool, wait: Duration) -> String {
        let started = Instant::now();
        let mut seen = String::new();
        let mut buffer = [0u8; 4096];
        while !done(&seen) && started.elapsed() < wait {
            match self.stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => seen.push_str(&String::from_utf8_lossy(&buffer[..read])),
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(error) => panic!("{error}; so far: {seen}"),
            }
        }
        seen
    }
}

/// The broker's INFO line, which comes before TLS.
fn read_info(tcp: &mut TcpStream) {
    let mut info = Vec::new();
    let mut byte = [0u8; 1];
    while !info.ends_with(b"\r\n") {
        tcp.read_exact(&mut byte).unwrap();
        info.push(byte[0]);
    }
    assert!(info.starts_with(b"INFO "));
}

#[test]
fn with_broker_config_each_certificate_uses_only_its_own_subjects() {
    let site = Site::new("acl");
    let (broker_ssl, _) = site.ssldir("localhost");
    let conf = site.path("broker-config.conf");
    Test::new()
        .arg("broker-config")
        .args([
            "--ssldir",
            broker_ssl.to_str().unwrap(),
            "--certname",
            "localhost",
        ])
        .args(["--client", "rip.mcollective", "--client", "bob.mcollective"])
        .args(["--node", "web1.example.net", "--node", "web2.example.net"])
        .arg("--jetstream")
        .arg(site.path("jetstream"))
        .arg("--output")
        .arg(&conf)
        .status(0)
        .stdout("")
        .run();
    let server = NatsServer::start_with_config(&conf);
    let (_, bob) = site.ssldir("bob.mcollective");
    let (web1_ssl, web1) = site.ssldir("web1.example.net");
    let (_, web2) = site.ssldir("web2.example.net");

    // The daemon's own subscriptions and inbox are all it is granted.
    let agent_config = site.agent_config("web1.example.net", &server.tls_url(), &web1_ssl);
    let agent = start_agent(&agent_config);
    assert!(
        !agent.stderr_so_far().contains("Permissions Violation"),
        "{}",
        agent.stderr_so_far()
    );

    // orchestrate rpc as rip: a signed request through the permissions, and its reply back
    // on rip's own reply subjects, by discovery and directly.
    let (rip_ssl, _) = site.ssldir("rip.mcollective");
    let rip_config = site.client_config("rip.mcollective", &server.tls_url(), &rip_ssl);
    // Discovery from the registry, which web1 wrote its entry in: reading it is allowed too.
    let by_registry = ["--discovery-method", "registry"];
    for args in [&[][..], &["-I", "web1.example.net"][..], &by_registry[..]] {
        let out = ping(&rip_config, args);
        assert_eq!(out.status, 0, "{}", out.whole());
        assert_eq!(answered(&out), ["web1.example.net"]);
        assert!(
            !out.stderr.contains("Permissions Violation"),
            "{}",
            out.whole()
        );
    }

    let mut node = Session::open(&server, &web1);
    node.send("SUB mcollective.node.web1.example.net 1");
    node.send("SUB mcollective.broadcast.agent.> 2");
    assert_eq!(node.sync(), "");

    // A node's certificate cannot send a request: the broker says so, nothing arrives.
    let mut other_node = Session::open(&server, &web2);
    other_node.publish("mcollective.node.web1.example.net", "forged");
    other_node.publish("mcollective.broadcast.agent.rpcutil", "forged");
    let denied = other_node.sync();
    assert!(
        denied.contains(
            "-ERR 'Permissions Violation for Publish to \"mcollective.node.web1.example.net\"'"
        ) && denied.contains(
            "-ERR 'Permissions Violation for Publish to \"mcollective.broadcast.agent.rpcutil\"'"
        ),
        "{denied}"
    );
    assert_eq!(node.read_for(Duration::from_millis(500)), "");
    // Nor write another node's registry entry, nor remove it.
    other_node.publish("$KV.orchestrate_nodes.web1.example.net", "forged");
    assert!(
        other_node.sync().contains(
            "-ERR 'Permissions Violation for Publish to \"$KV.orchestrate_nodes.web1.example.net\"'"
        ),
        "a node may write only its own registry entry"
    );

    // A client's certificate can, to one node and to all.
    let rip = CertFiles {
        ca: rip_ssl.join("certs/ca.pem"),
        cert: rip_ssl.join("certs/rip.mcollective.pem"),
        key: rip_ssl.join("private_keys/rip.mcollective.pem"),
    };
    let mut client = Session::open(&server, &rip);
    client.publish("mcollective.node.web1.example.net", "hello");
    client.publish("mcollective.broadcast.agent.rpcutil", "all");
    assert_eq!(client.sync(), "");
    let received = node.read_until(
        |seen| seen.contains("hello") && seen.contains("all"),
        Duration::from_secs(5),
    );
    assert!(
        received.contains("MSG mcollective.node.web1.example.net 1 5\r\nhello"),
        "{received}"
    );
    assert!(
        received.contains("MSG mcollective.broadcast.agent.rpcutil 2 3\r\nall"),
        "{received}"
    );

    // A client reads its own replies, not another client's; a node cannot read requests
    // meant for another node; replies are what a node may publish.
    client.send("SUB mcollective.reply.rip.mcollective.> 1");
    client.send("SUB mcollective.reply.bob.mcollective.> 2");
    let subscribed = client.sync();
    assert_eq!(
        subscribed,
        "-ERR 'Permissions Violation for Subscription to \"mcollective.reply.bob.mcollective.>\"'\r\n"
    );
    other_node.send("SUB mcollective.node.web1.example.net 1");
    assert!(other_node
        .sync()
        .contains("Permissions Violation for Subscription"));
    other_node.publish("mcollective.reply.rip.mcollective.0123", "pong");
    assert_eq!(other_node.sync(), "");
    let reply = client.read_until(|seen| seen.contains("pong"), Duration::from_secs(5));
    assert!(
        reply.contains("MSG mcollective.reply.rip.mcollective.0123 1 4"),
        "{reply}"
    );
    // bob, a client too, can send requests but not read rip's replies.
    let mut bob = Session::open(&server, &bob);
    bob.send("SUB mcollective.reply.> 1");
    assert!(bob
        .sync()
        .contains("Permissions Violation for Subscription"));

    // A certificate of the CA whose name is not listed is not let in.
    let (carol_ssl, carol) = site.ssldir("carol.mcollective");
    let out = ping(
        &site.client_config("carol.mcollective", &server.tls_url(), &carol_ssl),
        &[],
    );
    assert_refused(
        &out,
        &format!(
            "accepted the certificate {} but maps it to no user it knows",
            carol.cert.display()
        ),
    );
    drop(agent);
}
