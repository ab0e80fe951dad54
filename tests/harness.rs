//! The harness of the other integration tests (tests/support/), tested: that every run gets
//! the clean environment, that its normaliser replaces what varies and nothing else, and that
//! its expectations, deadline and kill-on-drop guard fail or stop what they must, and that a
//! running process is read line by line and seen running programs of its own.

mod support;

use std::ffi::OsStr;
use std::time::Duration;

use support::env::{CLEARED, PINNED};
use support::nats::NatsServer;
use support::{normalise, Test};

/// What the command does to `key`: None when it leaves it alone, Some(None) when it removes
/// it, Some(Some(value)) when it sets it.
fn env_of(test: &Test, key: &str) -> Option<Option<String>> {
    test.command()
        .get_envs()
        .find(|(name, _)| *name == OsStr::new(key))
        .map(|(_, value)| value.map(|value| value.to_string_lossy().into_owned()))
}

#[test]
fn every_run_removes_what_the_binary_reads_and_pins_what_lands_in_outputs() {
    let test = Test::new();
    for key in CLEARED {
        assert_eq!(env_of(&test, key), Some(None), "{key} is not removed");
    }
    for (key, value) in PINNED {
        assert_eq!(env_of(&test, key), Some(Some(value.to_string())), "{key}");
    }
}

#[test]
fn a_tests_own_variables_win_over_the_harness() {
    let test = Test::new()
        .env("NATS_URL", "nats://127.0.0.1:1")
        .env("USER", "someone");
    assert_eq!(
        env_of(&test, "NATS_URL"),
        Some(Some("nats://127.0.0.1:1".into()))
    );
    assert_eq!(env_of(&test, "USER"), Some(Some("someone".into())));
}

#[test]
fn the_normaliser_replaces_times_stamps_ports_pongs_and_scratch_folders() {
    let scratch = tempfile::tempdir().unwrap();
    let text = format!(
        "ok (0.04s), 0.50s, 12s; in 1.25 seconds\n\
         2025-01-31 12:00:00 nats://127.0.0.1:40123 {{\"pong\":1796164033}}\n\
         {}/fleet.yaml\n",
        scratch.path().display()
    );
    assert_eq!(
        normalise(&text),
        "ok (<t>), <t>, <t>; in <t> seconds\n\
         <time> nats://127.0.0.1:<port> {\"pong\":<time>}\n\
         <tmp>/fleet.yaml\n"
    );
}

#[test]
fn the_normaliser_leaves_the_rest_alone() {
    let text = "web1.example.net  0  OK  checked 2 file(s): s3 tls 1.5 revision=20\n";
    assert_eq!(normalise(text), text);
}

#[test]
fn stdin_reaches_the_binary() {
    let out = Test::new()
        .args(["rpc", "rpcutil", "ping", "--identity-file", "/dev/stdin"])
        .stdin("web2.example.net\nweb1.example.net # a comment\n")
        .status(0)
        .run();
    assert!(
        out.stdout.starts_with("web1.example.net  0  OK")
            && out.stdout.contains("\nweb2.example.net  0  OK"),
        "{}",
        out.whole()
    );
}

#[test]
fn the_scratch_folder_is_where_the_binary_runs() {
    Test::new()
        .file("nested/hello.pp", "notice('hi')\n")
        .args(["check", "nested/hello.pp"])
        .stderr("checked 1 file(s): 1 ok, 0 with problems\n")
        .status(0)
        .run();
}

#[test]
#[should_panic(expected = "exit code 0 instead of 3")]
fn a_wrong_exit_code_fails_the_test() {
    Test::new().arg("--version").status(3).run();
}

#[test]
#[should_panic(expected = "stdout differs\n--- want\nnot the version\n--- have\norchestrate ")]
fn a_wrong_stdout_fails_the_test() {
    Test::new()
        .arg("--version")
        .stdout("not the version\n")
        .run();
}

#[test]
#[should_panic(expected = "stderr differs")]
fn a_wrong_stderr_fails_the_test() {
    Test::new().arg("--version").stderr("a warning\n").run();
}

#[test]
#[should_panic(expected = "hung: still running after 1s")]
fn a_run_past_its_deadline_fails_the_test() {
    let server = NatsServer::start();
    Test::new()
        .args(["fleet", "--nodes", "1"])
        .nats(&server)
        .deadline(Duration::from_secs(1))
        .run();
}

#[test]
fn a_started_process_is_killed_when_dropped() {
    let server = NatsServer::start();
    let fleet = Test::new()
        .args(["fleet", "--nodes", "1"])
        .nats(&server)
        .start("Serving 1 node");
    let pid = fleet.id().to_string();
    drop(fleet);
    let alive = std::process::Command::new("kill")
        .args(["-0", &pid])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!alive.success(), "process {pid} still runs");
}

#[test]
fn waiting_for_a_line_passes_over_the_lines_before_it() {
    let mut ping = Test::new()
        .args(["rpc", "rpcutil", "ping", "--identity-file", "/dev/stdin"])
        .stdin("web1.example.net\nweb2.example.net\n")
        .status(0)
        .spawn();
    let line = ping.wait_for_stdout("web2.example.net");
    assert!(line.starts_with("web2.example.net  0  OK"), "{line}");
    ping.finish();
}

#[test]
#[should_panic(expected = "stdout ended before \"web3.example.net\"")]
fn waiting_for_a_line_that_never_comes_fails_the_test() {
    let mut ping = Test::new()
        .args(["rpc", "rpcutil", "ping", "--identity-file", "/dev/stdin"])
        .stdin("web1.example.net\n")
        .spawn();
    ping.wait_for_stdout("web3.example.net");
}

#[test]
fn stderr_is_read_line_by_line_too() {
    let mut check = Test::new()
        .file("hello.pp", "notice('hi')\n")
        .args(["check", "hello.pp"])
        .status(0)
        .spawn();
    assert_eq!(
        check.wait_for_stderr("checked"),
        "checked 1 file(s): 1 ok, 0 with problems"
    );
    check.finish();
}

#[test]
fn a_process_running_a_program_of_its_own_has_a_child() {
    let server = NatsServer::start();
    let state = tempfile::tempdir().unwrap();
    let config = format!(
        "identity: web1.example.net\nnats: {{servers: ['{}']}}\nagents_dir: {}\npuppet: {{enabled: false}}\n",
        server.url(),
        support::repo_root().join("playbooks/agent/agents").display()
    );
    let agent = Test::new()
        .file("agent.yaml", config)
        .args(["agent", "--config", "agent.yaml"])
        .env("APPMGR_STATE_DIR", state.path())
        .env("APPMGR_UPGRADE_SECONDS", "1.5")
        .start(" serving ");
    assert!(!agent.has_a_child(), "a child before any request");
    let _caller = Test::new()
        .arg("rpc")
        .nats(&server)
        .args(["appmgr", "upgrade", "revision=7", "-I", "web1.example.net"])
        .spawn();
    agent.wait_for_a_child();
}

/// A reader that goes away early (`| head -1`) ends the binary quietly, with no panic.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_orchestrate"))
        .args(["rpc", "rpcutil", "ping", "--fleet"])
        .arg(support::repo_root().join("playbooks/fleet.yaml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
}
