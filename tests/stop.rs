//! Stopping the long-running commands with signals. Real nats-server, real processes.
//!
//! - The one stop signal, as an operator stopping a node sends it: SIGTERM ends `orchestrate
//!   agent` and `orchestrate fleet` promptly whatever their connection to the broker is doing
//!   (connecting, connected, reconnecting, in the middle of a request), with exit 0.
//! - A second signal forces the stop: `orchestrate run` and `orchestrate site` return at
//!   once, say what they left where, and exit with 130, as a process ended by SIGINT does in
//!   a shell.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::nats::{free_port, NatsServer};
use support::{repo_root, Output, Process, Test};

/// How long a stopped process may take to exit when nothing is in hand.
const PROMPTLY: Duration = Duration::from_secs(5);

/// The configuration of an `orchestrate agent` of identity `web1.example.net` on `url`, with
/// the shipped external agents and no Puppet.
fn agent_config(url: &str) -> String {
    format!(
        "identity: web1.example.net\nnats: {{servers: ['{url}']}}\nagents_dir: {}\npuppet: {{enabled: false}}\n",
        repo_root().join("playbooks/agent/agents").display()
    )
}

/// `orchestrate agent` on `url` (see [`agent_config`]) with `env`, which must exit 0 within
/// `deadline` of [`Process::finish`].
fn agent(url: &str, env: &[(&str, String)], deadline: Duration) -> Test {
    Test::new()
        .file("agent.yaml", agent_config(url))
        .args(["agent", "--config", "agent.yaml"])
        .envs(env.iter().cloned())
        .deadline(deadline)
        .status(0)
}

/// The same, started: serving.
fn serving_agent(url: &str, env: &[(&str, String)], deadline: Duration) -> Process {
    agent(url, env, deadline).start(" serving ")
}

/// `orchestrate rpc` asking web1 for an appmgr upgrade, running in the background; it must
/// finish within 20 s of [`Process::finish`].
fn upgrade(url: &str) -> Process {
    Test::new()
        .args(["rpc", "--nats", url, "--json", "appmgr", "upgrade"])
        .args(["revision=7", "-I", "web1.example.net", "--timeout", "20"])
        .deadline(Duration::from_secs(20))
        .spawn()
}

fn appmgr_env(dir: &Path, seconds: &str) -> [(&'static str, String); 2] {
    [
        ("APPMGR_STATE_DIR", dir.display().to_string()),
        ("APPMGR_UPGRADE_SECONDS", seconds.to_string()),
    ]
}

/// Whether a line after the first (the "serving" that [`Test::start`] waited for) says
/// `Stopped`.
fn says_stopped_after_serving(out: &Output) -> bool {
    out.stdout
        .lines()
        .skip(1)
        .any(|line| line.contains("Stopped"))
}

#[test]
fn the_daemon_stops_while_connecting_to_a_broker_not_up_yet() {
    let url = format!("nats://127.0.0.1:{}", free_port());
    let mut agent = agent(&url, &[], PROMPTLY).spawn();
    // The second attempt (1 s after the first): the daemon is waiting for its broker, its
    // signal handlers surely in place.
    agent.wait_for_stderr("cannot reach the broker yet");
    agent.wait_for_stderr("cannot reach the broker yet");
    agent.terminate();
    agent.finish();
}

#[test]
fn the_daemon_stops_while_connected() {
    let server = NatsServer::start();
    let agent = serving_agent(&server.url(), &[], PROMPTLY);
    agent.terminate();
    let out = agent.finish();
    assert!(says_stopped_after_serving(&out), "{}", out.whole());
}

/// The bug this test is for: the daemon waited for ever for a broker that had gone to take
/// its last replies, so SIGTERM did not end it.
#[test]
fn the_daemon_stops_while_reconnecting_to_a_broker_gone_away() {
    let mut server = NatsServer::start();
    let mut agent = serving_agent(&server.url(), &[], PROMPTLY);
    server.stop();
    agent.wait_for_stderr("disconnected from the broker; reconnecting");
    agent.terminate();
    let out = agent.finish();
    assert!(says_stopped_after_serving(&out), "{}", out.whole());
}

#[test]
fn the_daemon_stopped_mid_request_answers_it_first() {
    let server = NatsServer::start();
    let state = tempfile::tempdir().unwrap();
    let env = appmgr_env(state.path(), "1.5");
    let agent = serving_agent(&server.url(), &env, Duration::from_secs(10));
    let caller = upgrade(&server.url());
    agent.wait_for_a_child();
    agent.terminate();
    agent.finish();
    let answered = caller.finish();
    let result: Value = serde_json::from_str(&answered.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", answered.whole()));
    let reply = &result["replies"][0];
    assert_eq!(reply["statuscode"], 0, "{result}");
    assert_eq!(reply["data"]["revision"], 7, "{result}");
}

/// With the broker gone there is nobody to answer: the daemon gives the request in hand up
/// after a short grace instead of waiting for the action (6 s here) and the broker.
#[test]
fn the_daemon_stopped_mid_request_with_the_broker_gone_gives_up_soon() {
    let mut server = NatsServer::start();
    let state = tempfile::tempdir().unwrap();
    let env = appmgr_env(state.path(), "6");
    let mut agent = serving_agent(&server.url(), &env, PROMPTLY);
    // Killed when dropped at the end: nobody answers it.
    let _caller = upgrade(&server.url());
    agent.wait_for_a_child();
    server.stop();
    agent.wait_for_stderr("disconnected from the broker; reconnecting");
    let stopped = Instant::now();
    agent.terminate();
    agent.finish();
    assert!(stopped.elapsed() < Duration::from_millis(4500));
}

/// `orchestrate fleet` of 3 nodes on `server`, serving; it must exit 0 promptly once stopped.
fn fleet(server: &NatsServer) -> Process {
    Test::new()
        .args(["fleet", "--nodes", "3"])
        .nats(server)
        .deadline(PROMPTLY)
        .status(0)
        .start("Serving 3 nodes")
}

#[test]
fn the_fleet_stops_while_connected() {
    let server = NatsServer::start();
    let fleet = fleet(&server);
    fleet.terminate();
    let out = fleet.finish();
    assert!(says_stopped_after_serving(&out), "{}", out.whole());
}

#[test]
fn the_fleet_stops_while_reconnecting_to_a_broker_gone_away() {
    let mut server = NatsServer::start();
    let mut fleet = fleet(&server);
    server.stop();
    fleet.wait_for_stderr("disconnected from the broker; reconnecting");
    fleet.terminate();
    let out = fleet.finish();
    assert!(says_stopped_after_serving(&out), "{}", out.whole());
}

/// How long a forced stop may take, from the second signal to the exit.
const AT_ONCE: Duration = Duration::from_secs(10);

/// Runs `test`, signals once `first` is out on stdout, again once `second` is, and returns
/// the output (which must end with 130 within [`AT_ONCE`]) and how long the process took to
/// end after the second signal.
fn stop_twice(test: Test, first: &str, second: &str) -> (Output, Duration) {
    let mut run = test.deadline(AT_ONCE).status(130).spawn();
    // A moment after each line, so the signal reaches a process watching for it.
    run.wait_for_stdout(first);
    std::thread::sleep(Duration::from_millis(500));
    run.terminate();
    run.wait_for_stdout(second);
    std::thread::sleep(Duration::from_millis(200));
    run.terminate();
    let forced = Instant::now();
    let out = run.finish();
    (out, forced.elapsed())
}

#[test]
fn a_second_signal_stops_a_playbook_run_at_once_with_130() {
    let fleet = std::fs::read_to_string(repo_root().join("playbooks/fleet.yaml")).unwrap();
    let code = "mcollective { 'slow': agent => 'rpcutil', action => 'ping', identity_filter => 'ghost.example.net', timeout => 30 }\n\
                -> notify { 'after': }\n";
    let test = Test::new()
        .file("stop.pp", code)
        .file("fleet.yaml", fleet)
        .arg("stop");
    let (out, took) = stop_twice(
        test,
        "Running stop",
        "Interrupted: waiting for the running steps to finish; no new step starts",
    );
    let stdout = &out.stdout;
    assert!(took < AT_ONCE, "{took:?}\n{stdout}");
    assert!(
        stdout.ends_with(
            "Stopped at once: the steps that were running were abandoned part way; check their nodes\n"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("Run interrupted"), "{stdout}");
}

#[test]
fn a_second_signal_stops_a_site_run_at_once_with_130() {
    let graph = repo_root().join("tests/fixtures/site/lamp.json");
    let test = Test::new()
        .file(
            "slow.yaml",
            "nodes:\n- identity: dev[1-4].example.net\n  puppet: {run_duration: 60s}\n",
        )
        .args(["site", "--graph"])
        .arg(graph)
        .args(["--yes", "--poll-interval", "0.1", "--fleet", "slow.yaml"]);
    let (out, took) = stop_twice(
        test,
        "Running Puppet on 1 node of group 1",
        "Interrupted: the batch under way finishes, then the run stops with every node disabled (Ctrl-C again to stop at once)",
    );
    let stdout = &out.stdout;
    assert!(took < AT_ONCE, "{took:?}\n{stdout}");
    assert!(
        stdout.trim_end().ends_with(
            "Stopped at once: Puppet is left disabled on the site's nodes, except perhaps those of the batch that was running; check them"
        ),
        "{stdout}"
    );
}
