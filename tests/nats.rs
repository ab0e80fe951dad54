//! The binary over a real `nats-server`: a simulated fleet served by `orchestrate fleet` in
//! one process, playbooks and ad-hoc requests from another, the broker started per test on a
//! free loopback port. Whole outputs are compared with times, ports and pong times normalised.
//! Every child runs under a deadline: a hang fails the test instead of stalling the suite.

mod support;

use std::path::Path;
use std::time::Duration;

use support::nats::{free_port, NatsServer};
use support::{Output, Process, Test};

/// `orchestrate ARGS` from the project's root, to its end.
fn run(args: &[&str]) -> Output {
    Test::new().args(args).run()
}

/// `orchestrate ARGS --nats URL` of the test's broker, to its end.
fn run_on(server: &NatsServer, args: &[&str]) -> Output {
    Test::new().args(args).nats(server).run()
}

/// `orchestrate fleet --nats URL ARGS`, serving until dropped: once its "Serving" line is
/// out, its subscriptions are in place.
fn start_fleet(server: &NatsServer, args: &[&str]) -> Process {
    Test::new()
        .arg("fleet")
        .nats(server)
        .args(args)
        .start("Serving")
}

/// Writes `text` to `dir/name`; the path, for an argument.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_upgrade_runs_over_nats_as_on_the_embedded_fleet() {
    let server = NatsServer::start();
    let _fleet = start_fleet(&server, &["--fleet", "playbooks/fleet.yaml"]);
    let out = run_on(
        &server,
        &["app_cluster_upgrade", "cluster=bravo", "revision=20"],
    );
    insta::assert_snapshot!(out.whole());
}

#[test]
fn broadcast_discovery_by_class_and_by_fact() {
    let server = NatsServer::start();
    let _fleet = start_fleet(&server, &["--fleet", "playbooks/fleet.yaml"]);
    let by_class = run_on(&server, &["rpc", "rpcutil", "ping", "--class", "haproxy"]);
    insta::assert_snapshot!("rpc_by_class", by_class.whole());
    let by_fact = run_on(
        &server,
        &[
            "rpc",
            "rpcutil",
            "get_fact",
            "fact=cluster",
            "--fact",
            "cluster=bravo",
        ],
    );
    insta::assert_snapshot!("rpc_by_fact", by_fact.whole());
    let nobody = run_on(&server, &["rpc", "rpcutil", "ping", "-F", "cluster=nosuch"]);
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
    let _fleet = start_fleet(&server, &["--fleet", &fleet]);
    let out = run_on(
        &server,
        &[
            "rpc",
            "rpcutil",
            "ping",
            "-I",
            "web1.example.net",
            "-I",
            "db1.example.net",
            "--timeout",
            "1",
        ],
    );
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
    let _fleet = start_fleet(&server, &["--fleet", &fleet]);
    let run = Test::new()
        .args(["restart", "--repo"])
        .arg(dir.path())
        .nats(&server)
        .spawn();
    std::thread::sleep(Duration::from_millis(1500));
    server.stop();
    std::thread::sleep(Duration::from_millis(1000));
    server.restart();
    let out = run.finish();
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
    let _fleet = start_fleet(&server, &["--nodes", "25", "--collective", "lab"]);
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "config.yaml",
        &format!(
            "nats:\n  servers: [{}]\ncollective: lab\ndiscovery: {{timeout: 2s, window: 200ms}}\n",
            server.url()
        ),
    );
    let out = Test::new()
        .args(["rpc", "rpcutil", "ping", "--json"])
        .env("ORCHESTRATE_CONFIG", &config)
        .status(0)
        .run();
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
    // TLS files are read before connecting (tests/tls.rs has TLS itself), from the
    // configuration's folder.
    let refused = run(&["rpc", "rpcutil", "ping", "--config", &tls]);
    assert_eq!(refused.status, 2, "{}", refused.whole());
    let ca = dir.path().join("ca.pem");
    assert!(
        refused.stderr.contains(&format!(
            "cannot read the NATS TLS CA certificate {}",
            ca.display()
        )),
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
