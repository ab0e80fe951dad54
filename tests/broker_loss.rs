//! A lost broker is one clear failure. Real nats-server, a simulated fleet served by a real
//! `orchestrate fleet`, the run in another real process; the broker is killed part way.
//!
//! - Killed in the middle of a playbook whose steps wait 30 s and try 10 times: the run ends
//!   within the reconnect grace (5 s by default), saying "the broker at URL is unreachable",
//!   the later steps not started, exit 1 (it used to take 10 × 30 s, every node "no response").
//! - Killed during discovery: the same error, not the playbook's own "Could not find any
//!   servers" that an empty discovery led to; lost for a moment, the discovery is made again.
//! - Restarted within the grace (the default, 5 s): the run goes on and succeeds.
//! - The site run stops the same way, and says what it leaves where.

mod support;

use std::time::{Duration, Instant};

use support::nats::NatsServer;
use support::{repo_root, Output, Process, Test};

/// `orchestrate fleet --fleet FLEET` on `server`, serving until dropped.
fn start_fleet(server: &NatsServer, fleet: &str) -> Process {
    Test::new()
        .file("fleet.yaml", fleet)
        .args(["fleet", "--fleet", "fleet.yaml"])
        .nats(server)
        .start("Serving")
}

/// slow1 answers each request 3 s after it: the broker goes while a reply is due.
const FLEET: &str = "nodes:\n  - identity: slow1.example.net\n    latency: 3s\n    facts: {cluster: bravo}\n  - identity: web1.example.net\n    facts: {cluster: bravo}\n";

/// Three steps in a row, each waiting 30 s for its replies, 10 tries; and one on its own,
/// which waits for a slot (`--concurrency 1`).
const FOUR_STEPS: &str = "\
mcollective { 'first':\n  agent => 'rpcutil', action => 'ping', identity_filter => ['slow1.example.net'],\n  timeout => 30, tries => 10, try_sleep_time => 1,\n}\n\
-> mcollective { 'second':\n  agent => 'rpcutil', action => 'ping', fact_filter => 'cluster=bravo',\n  timeout => 30, tries => 10, try_sleep_time => 1,\n}\n\
-> mcollective { 'third':\n  agent => 'rpcutil', action => 'ping', identity_filter => ['web1.example.net'],\n  timeout => 30, tries => 10, try_sleep_time => 1,\n}\n\
mcollective { 'elsewhere':\n  agent => 'rpcutil', action => 'ping', identity_filter => ['web1.example.net'],\n  timeout => 30, tries => 10,\n}\n";

/// The message every failure must carry.
fn unreachable(server: &NatsServer) -> String {
    format!("the broker at {} is unreachable", server.url())
}

/// How long the process takes to end from now, and what it printed.
fn timed_finish(run: Process) -> (Output, Duration) {
    let killed = Instant::now();
    let out = run.finish();
    (out, killed.elapsed())
}

#[test]
fn a_broker_killed_mid_run_stops_it_within_the_grace_with_one_clear_error() {
    let mut server = NatsServer::start();
    let _fleet = start_fleet(&server, FLEET);
    let scratch = tempfile::tempdir().unwrap();
    let report = scratch.path().join("report.json");
    let mut run = Test::new()
        .file("lost.pp", FOUR_STEPS)
        .args(["lost", "--concurrency", "1", "--report"])
        .arg(&report)
        .nats(&server)
        .deadline(Duration::from_secs(20))
        .status(1)
        .spawn();
    run.wait_for_stdout("Running lost: 4 steps");
    // Step 1 waits for slow1's reply, due 3 s after its request.
    std::thread::sleep(Duration::from_millis(1000));
    server.stop();
    let (out, took) = timed_finish(run);
    let whole = out.whole();
    eprintln!("broker killed mid-step: the run ended {took:?} later");
    // The default grace (5 s), well under one step's timeout (30 s).
    assert!(took < Duration::from_secs(9), "{took:?}\n{whole}");
    assert!(
        took >= Duration::from_secs(4),
        "the grace is waited: {took:?}\n{whole}"
    );
    let lost = unreachable(&server);
    let first = out
        .stdout
        .lines()
        .find(|line| line.starts_with("Mcollective[first]:"))
        .unwrap_or_else(|| panic!("{whole}"));
    assert!(
        first.contains(&format!("rpcutil#ping failed: {lost}")),
        "{whole}"
    );
    // Those after it are skipped for its failure, the one on its own for the lost broker.
    for later in ["second", "third"] {
        let skipped = format!("Mcollective[{later}]: skipped: Mcollective[first] failed");
        assert!(out.stdout.contains(&skipped), "{whole}");
    }
    let elsewhere = format!("Mcollective[elsewhere]: skipped: not run: {lost}");
    assert!(out.stdout.contains(&elsewhere), "{whole}");
    assert!(!out.stdout.contains("no response"), "{whole}");
    assert!(!out.stdout.contains("try 1 of 10"), "no retry: {whole}");
    assert!(
        out.stdout
            .contains("Run failed: 0 steps ok, 1 failed, 3 skipped"),
        "{whole}"
    );
    assert!(
        out.stderr
            .lines()
            .any(|line| line.starts_with(&format!("error: the run stopped: {lost}"))),
        "{whole}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let stopped = report["summary"]["stopped"].as_str().unwrap_or_default();
    assert!(stopped.starts_with(&lost), "{report}");
    assert_eq!(report["steps"][0]["status"], "failed", "{report}");
}

#[test]
fn a_request_of_the_rpc_verb_fails_the_same_way() {
    let mut server = NatsServer::start();
    let _fleet = start_fleet(&server, FLEET);
    let run = Test::new()
        .args([
            "rpc",
            "rpcutil",
            "ping",
            "-I",
            "slow1.example.net",
            "--timeout",
            "30",
        ])
        .nats(&server)
        .deadline(Duration::from_secs(20))
        .status(1)
        .spawn();
    std::thread::sleep(Duration::from_millis(1500));
    server.stop();
    let (out, took) = timed_finish(run);
    let whole = out.whole();
    eprintln!("broker killed during `orchestrate rpc`: it ended {took:?} later");
    assert!(took < Duration::from_secs(9), "{took:?}\n{whole}");
    let error = format!("error: {}", unreachable(&server));
    assert!(
        out.stderr.lines().any(|line| line.starts_with(&error)),
        "{whole}"
    );
    assert!(!out.stdout.contains("no response"), "{whole}");
}

/// Discovery that takes its whole 4 s (no window), so the broker goes in the middle of it.
const DISCOVERING: &str = "\
$servers = discover({'fact' => 'cluster=bravo'})\n\
if $servers.empty { fail('Could not find any servers') }\n\
mcollective { 'ping': agent => 'rpcutil', action => 'ping', identity_filter => $servers }\n";

#[test]
fn a_broker_killed_during_discovery_is_the_same_error_not_an_empty_fleet() {
    let mut server = NatsServer::start();
    let _fleet = start_fleet(&server, FLEET);
    let run = Test::new()
        .file("config.yaml", "nats: {reconnect_grace: 2s}\n")
        .file("discovering.pp", DISCOVERING)
        .args(["discovering", "--config", "config.yaml"])
        .args(["--discovery-timeout", "4", "--discovery-window", "0"])
        .nats(&server)
        .deadline(Duration::from_secs(20))
        .status(1)
        .spawn();
    std::thread::sleep(Duration::from_millis(1500));
    server.stop();
    let (out, took) = timed_finish(run);
    let whole = out.whole();
    eprintln!("broker killed during discovery: the run ended {took:?} later");
    assert!(took < Duration::from_secs(6), "{took:?}\n{whole}");
    // The evaluation's error is the broker's (the playbook's own line is only quoted).
    let error = format!("× discovery failed: {}", unreachable(&server));
    assert!(out.stderr.contains(&error), "{whole}");
    assert!(
        !out.stderr.contains("× Could not find any servers"),
        "{whole}"
    );
    assert!(
        !out.stdout.contains("Running discovering"),
        "nothing ran: {whole}"
    );
}

#[test]
fn a_discovery_that_lost_the_broker_for_a_moment_is_made_again() {
    let mut server = NatsServer::start();
    let _fleet = start_fleet(&server, FLEET);
    let run = Test::new()
        .file("discovering.pp", DISCOVERING)
        .args([
            "discovering",
            "--discovery-timeout",
            "4",
            "--discovery-window",
            "0",
        ])
        .nats(&server)
        .deadline(Duration::from_secs(30))
        .status(0)
        .spawn();
    std::thread::sleep(Duration::from_millis(1500));
    server.restart();
    let out = run.finish();
    let whole = out.whole();
    assert!(out.stderr.contains("discovering again"), "{whole}");
    // Both nodes, though the first discovery lost the broker part way.
    assert!(
        out.stdout
            .contains("rpcutil#ping executed successfully on 2 nodes"),
        "{whole}"
    );
}

#[test]
fn a_broker_back_within_the_grace_lets_the_run_go_on() {
    let mut server = NatsServer::start();
    let _fleet = start_fleet(&server, FLEET);
    let short = FOUR_STEPS.replace("timeout => 30, tries => 10", "timeout => 5, tries => 3");
    let mut run = Test::new()
        .file("back.pp", short)
        .args(["back", "--concurrency", "1"])
        .nats(&server)
        .deadline(Duration::from_secs(45))
        .status(0)
        .spawn();
    run.wait_for_stdout("Running back: 4 steps");
    std::thread::sleep(Duration::from_millis(1000));
    server.stop();
    std::thread::sleep(Duration::from_millis(1000));
    let restarting = Instant::now();
    server.restart();
    eprintln!("broker restarted in {:?}", restarting.elapsed());
    let out = run.finish();
    let whole = out.whole();
    assert!(out.stdout.contains("Run succeeded: 4 steps ok"), "{whole}");
    assert!(!whole.contains("unreachable"), "{whole}");
    assert!(out.stderr.contains("reconnected to the broker"), "{whole}");
}

/// Four nodes whose Puppet runs take 3 s each.
const SLOW_PUPPET: &str =
    "nodes:\n- identity: dev[1-4].example.net\n  puppet: {run_duration: 3s}\n";

#[test]
fn a_site_run_stops_the_same_way_and_says_what_it_leaves_where() {
    let mut server = NatsServer::start();
    let _fleet = start_fleet(&server, SLOW_PUPPET);
    let mut run = Test::new()
        .file("config.yaml", "nats: {reconnect_grace: 2s}\n")
        .args(["site", "--graph"])
        .arg(repo_root().join("tests/fixtures/site/lamp.json"))
        .args(["--yes", "--poll-interval", "0.2", "--config", "config.yaml"])
        .nats(&server)
        .deadline(Duration::from_secs(20))
        .status(1)
        .spawn();
    run.wait_for_stdout("Running Puppet on 1 node of group 1");
    server.stop();
    let (out, took) = timed_finish(run);
    let whole = out.whole();
    eprintln!("broker killed during a site run: it ended {took:?} later");
    assert!(took < Duration::from_secs(6), "{took:?}\n{whole}");
    let lost = unreachable(&server);
    assert!(
        out.stdout
            .contains(&format!("The site run of production stopped: {lost}")),
        "{whole}"
    );
    assert!(
        out.stdout.contains("Puppet may be left disabled"),
        "{whole}"
    );
    assert!(!out.stdout.contains("succeeded"), "{whole}");
    assert!(!out.stdout.contains("no response"), "{whole}");
}
