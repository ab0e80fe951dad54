//! The binary over a real `nats-server`: a simulated fleet served by `orchestrate fleet` in
//! one process, playbooks and ad-hoc requests from another, the broker started per test on a
//! free loopback port. Whole outputs are compared with times, ports and pong times normalised.
//! Every child runs under a deadline: a hang fails the test instead of stalling the suite.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::nats::{free_port, NatsServer};

/// The longest any one command of these tests may take before it counts as hung.
const DEADLINE: Duration = Duration::from_secs(60);

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary with a clean environment: no broker or configuration from the developer's own.
fn orchestrate(args: &[&str]) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("orchestrate"));
    command
        .current_dir(repo_root())
        .env("USER", "rip")
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env_remove("NATS_URL")
        .env_remove("ORCHESTRATE_CONFIG")
        .env_remove("ORCHESTRATE_REPO")
        .env_remove("ORCHESTRATE_FLEET")
        .env_remove("RUST_LOG")
        .args(args);
    command
}

struct Output {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    /// Exit code, stdout and stderr in one text, normalised.
    fn whole(&self) -> String {
        normalise(&format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        ))
    }
}

fn normalise(text: &str) -> String {
    let rules = [
        (r"\d+(\.\d+)?s\b", "<t>"),
        (r"nats://127\.0\.0\.1:\d+", "nats://127.0.0.1:<port>"),
        (r#""pong":\d+"#, r#""pong":<time>"#),
    ];
    rules
        .iter()
        .fold(text.to_string(), |text, (pattern, with)| {
            regex::Regex::new(pattern)
                .unwrap()
                .replace_all(&text, *with)
                .to_string()
        })
}

/// Runs the binary to its end, killing it and failing the test past `deadline`.
fn run_within(mut command: Command, deadline: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "hung: still running after {deadline:?}\n--- stdout\n{}--- stderr\n{}",
                stdout.join().unwrap(),
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status: status.code().expect("exit code"),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn run(args: &[&str]) -> Output {
    run_within(orchestrate(args), DEADLINE)
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// `orchestrate fleet` serving until dropped.
struct FleetProcess {
    child: Child,
}

impl FleetProcess {
    /// Starts `orchestrate fleet --nats URL <args>` and waits for its "Serving" line, after
    /// which its subscriptions are in place.
    fn start(server: &NatsServer, args: &[&str]) -> FleetProcess {
        let url = server.url();
        let mut full = vec!["fleet", "--nats", url.as_str()];
        full.extend_from_slice(args);
        let mut child = orchestrate(&full)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("orchestrate fleet starts");
        let stdout = child.stdout.take().unwrap();
        let (lines, ready) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut fleet = FleetProcess { child };
        match ready.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.starts_with("Serving") => {}
            other => {
                let _ = fleet.child.kill();
                panic!("orchestrate fleet did not start: {other:?}");
            }
        }
        fleet
    }
}

impl Drop for FleetProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_upgrade_runs_over_nats_as_on_the_embedded_fleet() {
    let server = NatsServer::start();
    let _fleet = FleetProcess::start(&server, &["--fleet", "playbooks/fleet.yaml"]);
    let out = run(&[
        "app_cluster_upgrade",
        "cluster=bravo",
        "revision=20",
        "--nats",
        &server.url(),
    ]);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn broadcast_discovery_by_class_and_by_fact() {
    let server = NatsServer::start();
    let _fleet = FleetProcess::start(&server, &["--fleet", "playbooks/fleet.yaml"]);
    let url = server.url();
    let by_class = run(&[
        "rpc", "rpcutil", "ping", "--class", "haproxy", "--nats", &url,
    ]);
    insta::assert_snapshot!("rpc_by_class", by_class.whole());
    let by_fact = run(&[
        "rpc",
        "rpcutil",
        "get_fact",
        "fact=cluster",
        "--fact",
        "cluster=bravo",
        "--nats",
        &url,
    ]);
    insta::assert_snapshot!("rpc_by_fact", by_fact.whole());
    let nobody = run(&[
        "rpc",
        "rpcutil",
        "ping",
        "-F",
        "cluster=nosuch",
        "--nats",
        &url,
    ]);
    assert_eq!(nobody.status, 1, "{}", nobody.whole());
    assert!(
        nobody.stdout.contains("no node matched"),
        "{}",
        nobody.whole()
    );
}

#[test]
fn a_node_that_never_answers_is_named_after_the_timeout() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let fleet = write(
        dir.path(),
        "fleet.yaml",
        "nodes:\n  - identity: web1.example.net\n  - identity: db1.example.net\n    silent: true\n",
    );
    let _fleet = FleetProcess::start(&server, &["--fleet", &fleet]);
    let out = run(&[
        "rpc",
        "rpcutil",
        "ping",
        "-I",
        "web1.example.net",
        "-I",
        "db1.example.net",
        "--timeout",
        "1",
        "--nats",
        &server.url(),
    ]);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn a_broker_restarted_in_the_middle_of_a_run_does_not_hang_it() {
    let mut server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    // slow1 answers 3 s after each request: the broker goes down while a reply is due.
    let fleet = write(
        dir.path(),
        "fleet.yaml",
        "nodes:\n  - identity: slow1.example.net\n    latency: 3s\n  - identity: web1.example.net\n",
    );
    write(
        dir.path(),
        "restart.pp",
        "mcollective { 'slow':\n  agent => 'rpcutil', action => 'ping', identity_filter => ['slow1.example.net'],\n  timeout => 5, tries => 4, try_sleep_time => 1,\n}\n\
         -> mcollective { 'after':\n  agent => 'rpcutil', action => 'ping', identity_filter => ['web1.example.net'],\n  timeout => 5, tries => 4, try_sleep_time => 1,\n}\n",
    );
    let _fleet = FleetProcess::start(&server, &["--fleet", &fleet]);
    let url = server.url();
    let repo = dir.path().to_str().unwrap();
    let command = orchestrate(&["restart", "--repo", repo, "--nats", &url]);
    let runner = std::thread::spawn(move || run_within(command, DEADLINE));
    std::thread::sleep(Duration::from_millis(1500));
    server.stop();
    std::thread::sleep(Duration::from_millis(1000));
    server.restart();
    let out = runner.join().expect("the run finished within the deadline");
    // Either outcome is fine; hanging, or failing without saying why, is not.
    match out.status {
        0 => assert!(
            out.stdout.contains("Run succeeded: 2 steps ok"),
            "{}",
            out.whole()
        ),
        1 => assert!(out.stdout.contains("failed"), "{}", out.whole()),
        _ => panic!("unexpected exit\n{}", out.whole()),
    }
    assert!(
        out.stderr.contains("disconnected from the broker"),
        "the lost connection is logged\n{}",
        out.whole()
    );
    assert!(
        out.stderr.contains("reconnected to the broker"),
        "{}",
        out.whole()
    );
}

#[test]
fn an_unreachable_broker_is_a_clear_error_with_exit_code_2() {
    let url = format!("nats://127.0.0.1:{}", free_port());
    for args in [
        vec!["rpc", "rpcutil", "ping", "--nats", &url],
        vec![
            "app_cluster_upgrade",
            "cluster=bravo",
            "revision=20",
            "--nats",
            &url,
        ],
        vec!["fleet", "--nodes", "3", "--nats", &url],
    ] {
        let out = run(&args);
        assert_eq!(out.status, 2, "{}", out.whole());
        assert!(
            out.stderr
                .contains("error: cannot connect to NATS at nats://127.0.0.1:"),
            "{}",
            out.whole()
        );
    }
}

#[test]
fn the_configuration_file_names_the_broker_and_the_collective() {
    let server = NatsServer::start();
    let _fleet = FleetProcess::start(&server, &["--nodes", "25", "--collective", "lab"]);
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "config.yaml",
        &format!(
            "nats:\n  servers: [{}]\ncollective: lab\ndiscovery: {{timeout: 2s, window: 200ms}}\n",
            server.url()
        ),
    );
    let mut command = orchestrate(&["rpc", "rpcutil", "ping", "--json"]);
    command.env("ORCHESTRATE_CONFIG", &config);
    let out = run_within(command, DEADLINE);
    assert_eq!(out.status, 0, "{}", out.whole());
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(report["summary"]["ok"], 25);
    assert_eq!(report["replies"][24]["identity"], "node00025.example.net");
    // The default collective has no nodes.
    let elsewhere = run(&[
        "rpc",
        "rpcutil",
        "ping",
        "--config",
        &config,
        "--collective",
        "mcollective",
    ]);
    assert_eq!(elsewhere.status, 1, "{}", elsewhere.whole());
    let tls = write(
        dir.path(),
        "tls.yaml",
        "nats:\n  servers: [nats://127.0.0.1:4222]\n  tls: {ca: ca.pem, cert: me.pem, key: me.key}\n",
    );
    let refused = run(&["rpc", "rpcutil", "ping", "--config", &tls]);
    assert_eq!(refused.status, 2, "{}", refused.whole());
    assert!(
        refused.stderr.contains("TLS is not supported yet"),
        "{}",
        refused.whole()
    );
}

#[test]
fn the_fleet_verb_needs_a_broker_and_nodes() {
    let no_broker = run(&["fleet", "--nodes", "3"]);
    assert_eq!(no_broker.status, 2, "{}", no_broker.whole());
    assert!(
        no_broker.stderr.contains("give --nats URL"),
        "{}",
        no_broker.whole()
    );
    let nothing = run(&["fleet", "--nats", "nats://127.0.0.1:1"]);
    assert_eq!(nothing.status, 2, "{}", nothing.whole());
    assert!(
        nothing.stderr.contains("--fleet FILE, --nodes N"),
        "{}",
        nothing.whole()
    );
}
