//! The one stop signal, as an operator stopping a node sends it: SIGTERM ends `orchestrate
//! agent` and `orchestrate fleet` promptly whatever their connection to the broker is doing
//! (connecting, connected, reconnecting, in the middle of a request), with exit 0. Real
//! nats-server, real processes.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::nats::{free_port, NatsServer};

const BIN: &str = env!("CARGO_BIN_EXE_orchestrate");

/// How long a stopped process may take to exit when nothing is in hand.
const PROMPTLY: Duration = Duration::from_secs(5);

/// A running `orchestrate` with its stdout and stderr read line by line; killed if the test
/// ends without it exiting.
struct Process {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Process {
    fn start(args: &[&str], env: &[(&str, String)]) -> Process {
        let mut child = Command::new(BIN)
            .args(args)
            .env_remove("ORCHESTRATE_CONFIG")
            .env_remove("NATS_URL")
            .env_remove("RUST_LOG")
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Process {
            child,
            stdout,
            stderr,
        }
    }

    /// An `orchestrate agent` of identity `web1.example.net` on `url`, with the shipped
    /// external agents and no Puppet.
    fn agent(dir: &Path, url: &str, env: &[(&str, String)]) -> Process {
        let config = agent_config(dir, url);
        Process::start(&["agent", "--config", config.to_str().unwrap()], env)
    }

    /// Waits for a line of stdout containing `text`.
    fn stdout_shows(&self, text: &str) {
        wait_for_line(&self.stdout, text, "stdout");
    }

    /// Waits for a line of the log (stderr) containing `text`.
    fn log_shows(&self, text: &str) {
        wait_for_line(&self.stderr, text, "the log");
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The exit code, which must come within `within`.
    fn exits_within(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "still running {within:?} after the stop; log: {:?}",
                self.stderr.try_iter().collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process has a child of its own now (an external agent's program running).
    fn has_a_child(&self) -> bool {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id()));
        tasks.into_iter().flatten().flatten().any(|task| {
            std::fs::read_to_string(task.path().join("children"))
                .is_ok_and(|children| !children.trim().is_empty())
        })
    }

    /// Waits until the process runs a program of its own: a request is in hand.
    fn wait_for_a_child(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.has_a_child() {
            assert!(Instant::now() < deadline, "no request in hand");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A channel of the lines `source` writes, read on a thread of its own so the process never
/// blocks on a full pipe.
fn lines(source: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(source).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

fn wait_for_line(lines: &Receiver<String>, text: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(text) => return,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("{what} never showed {text:?}: {seen:#?}");
}

fn agents_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/agent/agents")
}

fn agent_config(dir: &Path, url: &str) -> PathBuf {
    let config = dir.join("agent.yaml");
    std::fs::write(
        &config,
        format!(
            "identity: web1.example.net\nnats: {{servers: ['{url}']}}\nagents_dir: {}\npuppet: {{enabled: false}}\n",
            agents_dir().display()
        ),
    )
    .unwrap();
    config
}

/// `orchestrate rpc` asking web1 for an appmgr upgrade, running in the background.
fn upgrade(url: &str) -> Child {
    Command::new(BIN)
        .args(["rpc", "--nats", url, "--json", "appmgr", "upgrade"])
        .args(["revision=7", "-I", "web1.example.net", "--timeout", "20"])
        .env_remove("ORCHESTRATE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn output_within(mut child: Child, within: Duration) -> Output {
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the caller did not finish within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn appmgr_env(dir: &Path, seconds: &str) -> [(&'static str, String); 2] {
    [
        ("APPMGR_STATE_DIR", dir.display().to_string()),
        ("APPMGR_UPGRADE_SECONDS", seconds.to_string()),
    ]
}

#[test]
fn the_daemon_stops_while_connecting_to_a_broker_not_up_yet() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("nats://127.0.0.1:{}", free_port());
    let mut agent = Process::agent(dir.path(), &url, &[]);
    // The second attempt (1 s after the first): the daemon is waiting for its broker, its
    // signal handlers surely in place.
    agent.log_shows("cannot reach the broker yet");
    agent.log_shows("cannot reach the broker yet");
    agent.terminate();
    assert_eq!(agent.exits_within(PROMPTLY), Some(0));
}

#[test]
fn the_daemon_stops_while_connected() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut agent = Process::agent(dir.path(), &server.url(), &[]);
    agent.stdout_shows(" serving ");
    agent.terminate();
    assert_eq!(agent.exits_within(PROMPTLY), Some(0));
    agent.stdout_shows("Stopped");
}

/// The bug this test is for: the daemon waited for ever for a broker that had gone to take
/// its last replies, so SIGTERM did not end it.
#[test]
fn the_daemon_stops_while_reconnecting_to_a_broker_gone_away() {
    let mut server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut agent = Process::agent(dir.path(), &server.url(), &[]);
    agent.stdout_shows(" serving ");
    server.stop();
    agent.log_shows("disconnected from the broker; reconnecting");
    agent.terminate();
    assert_eq!(agent.exits_within(PROMPTLY), Some(0));
    agent.stdout_shows("Stopped");
}

#[test]
fn the_daemon_stopped_mid_request_answers_it_first() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let env = appmgr_env(dir.path(), "1.5");
    let mut agent = Process::agent(dir.path(), &server.url(), &env);
    agent.stdout_shows(" serving ");
    let caller = upgrade(&server.url());
    agent.wait_for_a_child();
    agent.terminate();
    assert_eq!(agent.exits_within(Duration::from_secs(10)), Some(0));
    let answered = output_within(caller, Duration::from_secs(20));
    let result: Value = serde_json::from_slice(&answered.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&answered.stderr)));
    let reply = &result["replies"][0];
    assert_eq!(reply["statuscode"], 0, "{result}");
    assert_eq!(reply["data"]["revision"], 7, "{result}");
}

/// With the broker gone there is nobody to answer: the daemon gives the request in hand up
/// after a short grace instead of waiting for the action (6 s here) and the broker.
#[test]
fn the_daemon_stopped_mid_request_with_the_broker_gone_gives_up_soon() {
    let mut server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let env = appmgr_env(dir.path(), "6");
    let mut agent = Process::agent(dir.path(), &server.url(), &env);
    agent.stdout_shows(" serving ");
    let mut caller = upgrade(&server.url());
    agent.wait_for_a_child();
    server.stop();
    agent.log_shows("disconnected from the broker; reconnecting");
    let stopped = Instant::now();
    agent.terminate();
    assert_eq!(agent.exits_within(PROMPTLY), Some(0));
    assert!(stopped.elapsed() < Duration::from_millis(4500));
    let _ = caller.kill();
    let _ = caller.wait();
}

fn fleet(url: &str) -> Process {
    Process::start(&["fleet", "--nats", url, "--nodes", "3"], &[])
}

#[test]
fn the_fleet_stops_while_connected() {
    let server = NatsServer::start();
    let mut fleet = fleet(&server.url());
    fleet.stdout_shows("Serving 3 nodes");
    fleet.terminate();
    assert_eq!(fleet.exits_within(PROMPTLY), Some(0));
    fleet.stdout_shows("Stopped");
}

#[test]
fn the_fleet_stops_while_reconnecting_to_a_broker_gone_away() {
    let mut server = NatsServer::start();
    let mut fleet = fleet(&server.url());
    fleet.stdout_shows("Serving 3 nodes");
    server.stop();
    fleet.log_shows("disconnected from the broker; reconnecting");
    fleet.terminate();
    assert_eq!(fleet.exits_within(PROMPTLY), Some(0));
    fleet.stdout_shows("Stopped");
}
