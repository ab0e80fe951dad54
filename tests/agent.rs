//! `orchestrate agent` end to end: daemon processes on a real `nats-server`, asked through
//! `orchestrate rpc`, with the shipped external agents and the real Puppet.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use orchestrate::security::Authority;
use serde_json::Value;
use support::certs::{self, KeyForm};
use support::nats::NatsServer;
use support::nodes::{node_config, start_agent};
use support::{Output, Process, Test};

/// The `puppet:` section of a node whose Puppet is Debian's `puppet apply` of `manifest`, with
/// all of Puppet's folders under `puppet` (never the machine's own).
fn puppet_apply(puppet: &Path, manifest: &Path) -> String {
    let settings: Vec<String> = [
        "vardir",
        "publicdir",
        "rundir",
        "confdir",
        "codedir",
        "logdir",
    ]
    .iter()
    .map(|name| format!("{name}: {}", puppet.join(name).display()))
    .collect();
    format!(
        "puppet:\n  bin: /usr/bin/puppet\n  apply: {}\n  settings: {{{}}}\n",
        manifest.display(),
        settings.join(", ")
    )
}

/// `orchestrate rpc --nats URL ARGS... --json`, parsed.
fn rpc(server: &NatsServer, args: &[&str]) -> Value {
    let output = rpc_output(server, args);
    serde_json::from_str(&output.stdout)
        .unwrap_or_else(|error| panic!("rpc {args:?}: {error}: {}", output.whole()))
}

/// The same, unparsed: for a request that fails.
fn rpc_output(server: &NatsServer, args: &[&str]) -> Output {
    Test::new()
        .arg("rpc")
        .nats(server)
        .args(["--json", "--discovery-timeout", "1"])
        .args(args)
        .run()
}

/// The replies by identity: (statuscode, statusmsg, data).
fn replies(result: &Value) -> Vec<(String, u64, String, Value)> {
    let mut replies: Vec<_> = result["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reply| {
            (
                reply["identity"].as_str().unwrap().to_string(),
                reply["statuscode"].as_u64().unwrap(),
                reply["statusmsg"].as_str().unwrap().to_string(),
                reply["data"].clone(),
            )
        })
        .collect();
    replies.sort_by(|a, b| a.0.cmp(&b.0));
    replies
}

/// A fleet with security on, as a real one runs: a CA, a broker requiring mutual TLS with
/// its certificates, each party's ssldir, and the nodes' action policies.
struct Secured {
    dir: PathBuf,
    ca: Authority,
    server: NatsServer,
}

impl Secured {
    fn new(dir: &Path) -> Secured {
        let ca = certs::authority("e2e");
        let server = certs::tls_broker(dir, &ca, &ca, "localhost");
        Secured {
            dir: dir.to_path_buf(),
            ca,
            server,
        }
    }

    /// `names`' certificates in one ssldir (a fleet's), and its path.
    fn ssldir(&self, folder: &str, names: &[&str]) -> PathBuf {
        let ssldir = self.dir.join(folder).join("ssl");
        for name in names {
            certs::write_ssldir(&ssldir, name, &self.ca, KeyForm::Ed25519, &self.ca.ca_pem());
        }
        ssldir
    }

    /// The `security:` section of a node, its `policies` (file name, text) written beside.
    fn node_section(&self, identity: &str, policies: &[(&str, &str)]) -> String {
        let ssldir = self.ssldir(identity, &[identity]);
        let folder = self.dir.join(identity).join("policies");
        std::fs::create_dir_all(&folder).unwrap();
        for (name, text) in policies {
            std::fs::write(folder.join(name), text).unwrap();
        }
        format!(
            "security: {{ssldir: {}, certname: {identity}, policies: {}, audit_log: {}}}\n",
            ssldir.display(),
            folder.display(),
            self.dir.join(identity).join("audit.log").display()
        )
    }

    /// A configuration file for `certname` (a client, or a simulated fleet holding certificates
    /// for `also`): the broker and the ssldir.
    fn config(&self, certname: &str, also: &[&str]) -> PathBuf {
        let mut names = vec![certname];
        names.extend_from_slice(also);
        let ssldir = self.ssldir(certname, &names);
        let path = self.dir.join(format!("{certname}.yaml"));
        std::fs::write(
            &path,
            format!(
                "nats: {{servers: ['{}']}}\nsecurity: {{ssldir: {}, certname: {certname}}}\n",
                self.server.url(),
                ssldir.display()
            ),
        )
        .unwrap();
        path
    }

    fn audit(&self, identity: &str) -> String {
        std::fs::read_to_string(self.dir.join(identity).join("audit.log")).unwrap_or_default()
    }
}

/// Publishes raw bytes on `subject` with the NATS text protocol, as any client could.
fn publish_raw(server: &NatsServer, subject: &str, payload: &[u8]) {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut frame = format!(
        "CONNECT {{\"verbose\":false}}\r\nPUB {subject} {}\r\n",
        payload.len()
    )
    .into_bytes();
    frame.extend_from_slice(payload);
    frame.extend_from_slice(b"\r\nPING\r\n");
    stream.write_all(&frame).unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 512];
    while !seen.contains("PONG") {
        let read = stream.read(&mut buffer).unwrap();
        assert!(read > 0, "the server closed the connection: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
}

#[test]
fn check_prints_what_would_be_served() {
    let dir = tempfile::tempdir().unwrap();
    let config = node_config(
        dir.path(),
        "web6.example.net",
        "bravo",
        "nats://127.0.0.1:1",
        "puppet: {enabled: false}\n",
    );
    let stdout = Test::new()
        .args(["agent", "--check", "--config"])
        .arg(&config)
        .status(0)
        .run()
        .stdout;
    assert!(stdout.contains("identity: web6.example.net\n"), "{stdout}");
    assert!(stdout.contains("classes: app, role::web\n"), "{stdout}");
    assert!(
        stdout.contains("agents: appmgr, discovery, nrpe, rpcutil\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  mcollective.broadcast.agent.appmgr\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  mcollective.node.web6.example.net\n"),
        "{stdout}"
    );
}

#[test]
fn bad_configurations_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("concurrency: 0\n", "concurrency must be at least 1"),
        (
            "identity: 'two words'\n",
            "cannot be part of a NATS subject",
        ),
        ("puppet: {enabled: false}\n", "no broker: set nats.servers"),
        (
            "puppet: {bin: /nonexistent/puppet}\nnats: {servers: [nats://127.0.0.1:1]}\n",
            "the puppet agent",
        ),
        (
            "agents_dir: /nonexistent\npuppet: {enabled: false}\n",
            "cannot read the agents folder",
        ),
    ];
    for (text, expected) in cases {
        let config = dir.path().join("agent.yaml");
        std::fs::write(&config, text).unwrap();
        let out = Test::new().args(["agent", "--config"]).arg(&config).run();
        assert_eq!(out.status, 2, "{text}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{text}: {}", out.stderr);
    }
    Test::new()
        .args(["agent", "--config", "/nonexistent/agent.yaml"])
        .status(2)
        .run();
}

/// Two daemons on one broker: discovery by fact and class, the shipped appmgr, inputs refused
/// before the program runs, garbage dropped, and a SIGTERM that answers the request in hand.
#[test]
fn agents_on_a_real_broker() {
    let server = NatsServer::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let env = [
        ("APPMGR_STATE_DIR", state.display().to_string()),
        ("APPMGR_UPGRADE_SECONDS", "1.5".to_string()),
    ];
    let no_puppet = "puppet: {enabled: false}\n";
    let web6 = start_agent(
        &node_config(dir.path(), "web6.example.net", "bravo", &url, no_puppet),
        &env,
    );
    let web1 = start_agent(
        &node_config(dir.path(), "web1.example.net", "alfa", &url, no_puppet),
        &env,
    );

    let bravo = rpc(&server, &["rpcutil", "ping", "-F", "cluster=bravo"]);
    let names: Vec<String> = replies(&bravo).into_iter().map(|reply| reply.0).collect();
    assert_eq!(names, ["web6.example.net"]);
    let by_class = rpc(&server, &["rpcutil", "ping", "-C", "role::web"]);
    assert_eq!(replies(&by_class).len(), 2);

    for garbage in [&b"garbage"[..], b"{}", b""] {
        publish_raw(&server, "mcollective.node.web6.example.net", garbage);
        publish_raw(&server, "mcollective.broadcast.agent.rpcutil", garbage);
    }

    let upgraded = rpc(&server, &["appmgr", "upgrade", "revision=21", "-C", "app"]);
    for (identity, code, message, data) in replies(&upgraded) {
        assert_eq!((code, message.as_str()), (0, "OK"), "{identity}");
        assert_eq!(data["message"], "upgraded to revision 21");
    }
    let status = rpc(&server, &["appmgr", "status", "-I", "web1.example.net"]);
    assert_eq!(replies(&status)[0].3["revision"], 21);
    let missing = rpc(&server, &["appmgr", "upgrade", "-I", "web1.example.net"]);
    assert_eq!(replies(&missing)[0].1, 3);
    let wrong = rpc(
        &server,
        &[
            "appmgr",
            "upgrade",
            "revision=[1]",
            "-I",
            "web1.example.net",
        ],
    );
    let (_, code, message, _) = &replies(&wrong)[0];
    assert_eq!(
        (*code, message.as_str()),
        (
            4,
            "Input revision must be an integer or a string, not an array"
        )
    );
    let check = rpc(
        &server,
        &[
            "nrpe",
            "runcommand",
            "command=check_load",
            "-I",
            "web6.example.net",
        ],
    );
    assert_eq!(replies(&check)[0].3["command"], "check_load");

    // SIGTERM while an upgrade (1.5 s) is in hand: the reply still comes, then exit 0.
    let caller = Test::new()
        .arg("rpc")
        .nats(&server)
        .args(["--json", "appmgr", "upgrade", "revision=22"])
        .args(["-I", "web6.example.net"])
        .spawn();
    std::thread::sleep(Duration::from_millis(700));
    web6.terminate();
    assert_eq!(web6.finish().status, 0);
    let answered: Value = serde_json::from_str(&caller.finish().stdout).unwrap();
    assert_eq!(replies(&answered)[0].3["revision"], 22, "{answered}");
    // Gone: no longer answers.
    let gone = rpc_output(
        &server,
        &[
            "rpcutil",
            "ping",
            "-I",
            "web6.example.net",
            "--timeout",
            "1",
        ],
    );
    assert_eq!(gone.status, 1, "{}", gone.whole());
    let web1_answers = rpc(&server, &["rpcutil", "ping", "-I", "web1.example.net"]);
    assert_eq!(replies(&web1_answers)[0].1, 0);
    drop(web1);
}

/// The `puppet` agent over NATS driving the real `puppet apply`: disable, status, enable,
/// runonce, wait until idle, and the failed resource in the real last_run_summary.yaml.
#[test]
fn a_real_puppet_run_through_the_daemon() {
    let server = NatsServer::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let puppet = dir.path().join("puppet");
    let manifest = dir.path().join("site.pp");
    std::fs::write(&manifest, "exec { '/bin/false': }\nnotify { 'hello': }\n").unwrap();
    let extra = puppet_apply(&puppet, &manifest);
    let agent = start_agent(
        &node_config(dir.path(), "db1.example.net", "bravo", &url, &extra),
        &[],
    );
    let ask = |action: &str, inputs: &[&str]| {
        let mut args = vec!["puppet", action, "-I", "db1.example.net"];
        args.extend_from_slice(inputs);
        replies(&rpc(&server, &args)).remove(0)
    };
    assert_eq!(ask("disable", &["message=deploy freeze"]).1, 0);
    let status = ask("status", &[]).3;
    assert_eq!(
        (
            status["status"].as_str(),
            status["disable_message"].as_str()
        ),
        (Some("disabled"), Some("deploy freeze"))
    );
    let refused = ask("runonce", &[]);
    assert_eq!(
        (refused.1, refused.2.as_str()),
        (1, "Puppet is disabled: 'deploy freeze'")
    );
    assert_eq!(ask("enable", &[]).3["enabled"], true);
    let started = ask("runonce", &["force=true"]);
    assert_eq!(started.1, 0, "{}", started.2);
    let initiated_at = started.3["initiated_at"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let status = ask("status", &[]).3;
        if status["applying"] == false && status["lastrun"].as_u64().unwrap() >= initiated_at {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run never finished: {status}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let summary = ask("last_run_summary", &[]).3;
    assert_eq!(summary["failed_resources"], 1, "{summary}");
    assert_eq!(summary["catalog_failed"], false);
    assert_eq!(summary["summary"]["resources"]["failed"], 1);
    agent.terminate();
    assert_eq!(agent.finish().status, 0);
}

/// The app_cluster_upgrade playbook, unchanged, through three `orchestrate agent` processes
/// (cluster bravo's web servers, with the shipped appmgr and nrpe) and a simulated fleet on
/// NATS (the load balancer, the notification servers and cluster alfa), with security on
/// everywhere: mutual TLS to the broker, signed requests and replies, and policies on the
/// real nodes that allow exactly what the playbook needs.
#[test]
fn app_cluster_upgrade_through_three_agents_and_a_simulated_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let secured = Secured::new(dir.path());
    let url = secured.server.url();
    let simulated = [
        "web1.example.net",
        "web2.example.net",
        "web3.example.net",
        "web4.example.net",
        "web5.example.net",
        "lb1.example.net",
        "notify1.example.net",
        "notify2.example.net",
    ];
    let _fleet = Test::new()
        .args(["fleet", "--config"])
        .arg(secured.config("fleet.example.net", &simulated))
        .args(["--fleet", "tests/fixtures/agent/fleet-without-bravo.yaml"])
        .start("Serving 8 nodes");
    let env = [
        ("APPMGR_STATE_DIR", dir.path().display().to_string()),
        // The check must not depend on how busy the test machine is.
        ("NRPE_LOAD_LIMIT", "1000".to_string()),
    ];
    let policies = [
        (
            "appmgr.policy",
            "policy default deny\nallow\tchoria=rip.mcollective\tupgrade\tcluster=bravo\t*\n",
        ),
        (
            "nrpe.policy",
            "policy default deny\nallow\tchoria=rip.mcollective\truncommand\t*\t*\n",
        ),
        (
            "rpcutil.policy",
            "policy default deny\nallow\tchoria=rip.mcollective\tping\t*\t*\n",
        ),
    ];
    let _agents: Vec<Process> = ["web6", "web7", "web8"]
        .iter()
        .map(|name| {
            let identity = format!("{name}.example.net");
            let extra = format!(
                "puppet: {{enabled: false}}\n{}",
                secured.node_section(&identity, &policies)
            );
            start_agent(
                &node_config(dir.path(), &identity, "bravo", &url, &extra),
                &env,
            )
        })
        .collect();
    let client = secured.config("rip.mcollective", &[]);
    let stdout = Test::new()
        .args([
            "app_cluster_upgrade",
            "cluster=bravo",
            "revision=20",
            "--config",
        ])
        .arg(&client)
        .status(0)
        .run()
        .stdout;
    assert!(
        stdout.contains("appmgr#upgrade executed successfully on 3 nodes after 1 try"),
        "{stdout}"
    );
    assert!(
        stdout.contains("nrpe#runcommand executed successfully on 3 nodes"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rip updated 3 node cluster bravo to revision 20"),
        "{stdout}"
    );
    for name in ["web6", "web7", "web8"] {
        let identity = format!("{name}.example.net");
        let state =
            std::fs::read_to_string(dir.path().join(format!("appmgr-{identity}.json"))).unwrap();
        assert!(state.contains("\"revision\": 20"), "{state}");
        let audit = secured.audit(&identity);
        assert!(audit.contains("\"action\":\"upgrade\""), "{audit}");
        assert!(!audit.contains("\"decision\":\"deny\""), "{audit}");
    }
    // What the playbook does not need stays shut: the policies allow nothing else.
    let status = Test::new()
        .args([
            "rpc",
            "appmgr",
            "status",
            "-I",
            "web6.example.net",
            "--config",
        ])
        .arg(&client)
        .status(1)
        .run();
    assert!(
        status
            .stdout
            .contains("You are not authorized to call this agent or action"),
        "{}",
        status.whole()
    );
}

/// An agent killed (SIGKILL, no goodbye) while it runs a step's action: the step waits its
/// timeout, then fails naming that node as not answering, and what depends on it is skipped.
#[test]
fn an_agent_killed_in_the_middle_of_a_step_is_named_and_its_dependents_skipped() {
    let server = NatsServer::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("APPMGR_STATE_DIR", dir.path().display().to_string()),
        ("APPMGR_UPGRADE_SECONDS", "2".to_string()),
    ];
    let no_puppet = "puppet: {enabled: false}\n";
    let mut agents: Vec<Process> = ["web6", "web7"]
        .iter()
        .map(|name| {
            let config = node_config(
                dir.path(),
                &format!("{name}.example.net"),
                "bravo",
                &url,
                no_puppet,
            );
            start_agent(&config, &env)
        })
        .collect();
    let playbook = dir.path().join("upgrade.pp");
    std::fs::write(
        &playbook,
        "mcollective { 'upgrade':\n  agent => 'appmgr', action => 'upgrade', arguments => { 'revision' => 5 },\n  identity_filter => ['web6.example.net', 'web7.example.net'], timeout => 4,\n}\n-> notify { 'after': }\n",
    )
    .unwrap();
    let run = Test::new()
        .arg("run")
        .arg(&playbook)
        .nats(&server)
        .status(1)
        .spawn();
    // The upgrade takes 2 s on each node; kill web7 while it works.
    std::thread::sleep(Duration::from_millis(800));
    let web7 = agents.pop().unwrap();
    web7.signal("KILL");
    let stdout = run.finish().stdout;
    assert!(
        stdout.contains("appmgr#upgrade failed on 1 of 2 nodes after 1 try"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    web7.example.net: no response"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Notify[after]: skipped: Mcollective[upgrade] failed"),
        "{stdout}"
    );
    drop(web7);
}

/// The site run end to end: two `orchestrate agent` processes whose `puppet` agent runs
/// Debian's `puppet apply`, ordered by Puppet's own example environment (the database on
/// foo before the web server on bar). Group 1 runs before group 2, and both nodes are enabled
/// again at the end.
#[test]
fn a_site_run_drives_real_puppet_in_group_order() {
    let dir = tempfile::tempdir().unwrap();
    let secured = Secured::new(dir.path());
    let url = secured.server.url();
    let puppet_policy = "policy default deny\nallow\tchoria=rip.mcollective\tstatus disable enable runonce last_run_summary\t*\t*\n";
    let marks = dir.path().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let agents: Vec<Process> = ["foo.example.com", "bar.example.com"]
        .iter()
        .map(|identity| {
            let puppet = dir.path().join(format!("puppet-{identity}"));
            let manifest = dir.path().join(format!("{identity}.pp"));
            // Each run records when it happened, to the nanosecond.
            std::fs::write(
                &manifest,
                format!(
                    "exec {{ 'mark': command => \"/bin/sh -c 'date +%s%N > {}/{identity}'\" }}\n",
                    marks.display()
                ),
            )
            .unwrap();
            let extra = puppet_apply(&puppet, &manifest)
                + &secured.node_section(identity, &[("puppet.policy", puppet_policy)]);
            start_agent(
                &node_config(dir.path(), identity, "site", &url, &extra),
                &[],
            )
        })
        .collect();
    let client = secured.config("rip.mcollective", &[]);
    let stdout = Test::new()
        .args(["site", "--environment", "production", "--yes"])
        .args(["--poll-interval", "0.5"])
        .args(["--environmentpath", "tests/fixtures/site/puppet_example"])
        .arg("--config")
        .arg(&client)
        .deadline(Duration::from_secs(300))
        .status(0)
        .run()
        .stdout;
    let mark = |identity: &str| -> u128 {
        std::fs::read_to_string(marks.join(identity))
            .unwrap_or_else(|_| panic!("{identity} never ran Puppet:\n{stdout}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert!(
        mark("foo.example.com") < mark("bar.example.com"),
        "the producer's node must run first"
    );
    for identity in ["foo.example.com", "bar.example.com"] {
        let status = Test::new()
            .args([
                "rpc", "--json", "puppet", "status", "-I", identity, "--config",
            ])
            .arg(&client)
            .run();
        let status: Value = serde_json::from_str(&status.stdout).unwrap();
        let (_, code, _, data) = replies(&status).remove(0);
        assert_eq!(code, 0);
        assert_eq!(
            data["enabled"], true,
            "{identity} must be enabled again: {data}"
        );
    }
    drop(agents);
}

/// The flood's first weapon: a request whose reply subject is 5 KB. Published, it would be a
/// line nats-server refuses, and the broker would drop the node with everything in flight.
/// The node refuses it at intake, keeps its connection, and answers the ping after it.
#[test]
fn a_five_kilobyte_reply_subject_does_not_cost_the_node_its_connection() {
    use orchestrate::protocol::{encode_request, new_request_id, Filter, Request};
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = node_config(
        dir.path(),
        "web6.example.net",
        "bravo",
        &server.url(),
        "puppet: {enabled: false}\n",
    );
    let mut agent = start_agent(&config, &[]);
    let id = new_request_id();
    let request = Request {
        reply_to: format!("mcollective.reply.{}.{id}", "x".repeat(5000)),
        id,
        sender: "attacker".into(),
        caller: "choria=mallory.mcollective".into(),
        collective: "mcollective".into(),
        agent: "rpcutil".into(),
        action: "ping".into(),
        data: serde_json::json!({}),
        ttl: 60,
        time: orchestrate::protocol::unix_now(),
        filter: Filter::default(),
        sensitive_inputs: Vec::new(),
    };
    let wire = encode_request(&request).unwrap();
    publish_raw(&server, "mcollective.node.web6.example.net", &wire);
    agent.wait_for_stderr("the reply subject");

    let ping = rpc(&server, &["rpcutil", "ping", "-I", "web6.example.net"]);
    assert_eq!(replies(&ping).len(), 1, "{ping}");
    let log = agent.stderr_so_far();
    assert!(!log.contains("disconnected"), "{log}");
}
