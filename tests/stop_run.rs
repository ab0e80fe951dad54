//! A second signal forces the stop: `orchestrate run` and `orchestrate site` return at once,
//! say what they left where, and exit with 130, as a process ended by SIGINT does in a shell.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary with `args` in `dir`, its stdout piped.
fn start(dir: &Path, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orchestrate"))
        .args(args)
        .current_dir(dir)
        .env("USER", "rip")
        .env("NO_COLOR", "1")
        .env_remove("ORCHESTRATE_REPO")
        .env_remove("ORCHESTRATE_FLEET")
        .env_remove("ORCHESTRATE_ENVIRONMENTPATH")
        .env_remove("NATS_URL")
        .env_remove("ORCHESTRATE_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

/// Reads lines into `seen` until one contains `text`.
fn read_until(stdout: &mut BufReader<ChildStdout>, seen: &mut String, text: &str) {
    loop {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).unwrap();
        seen.push_str(&line);
        assert!(read > 0, "the output ended before '{text}':\n{seen}");
        if line.contains(text) {
            return;
        }
    }
}

fn terminate(child: &Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

/// Signals once `first` is out, again once `second` is, and returns the exit code, the whole
/// output and how long the process took to end after the second signal.
fn stop_twice(dir: &Path, args: &[&str], first: &str, second: &str) -> (i32, String, Duration) {
    let (mut child, mut stdout) = start(dir, args);
    let mut seen = String::new();
    // A moment after each line, so the signal reaches a process watching for it.
    read_until(&mut stdout, &mut seen, first);
    std::thread::sleep(Duration::from_millis(500));
    terminate(&child);
    read_until(&mut stdout, &mut seen, second);
    std::thread::sleep(Duration::from_millis(200));
    terminate(&child);
    let forced = Instant::now();
    stdout.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    (status.code().expect("an exit code"), seen, forced.elapsed())
}

#[test]
fn a_second_signal_stops_a_playbook_run_at_once_with_130() {
    let fleet = std::fs::read_to_string(repo_root().join("playbooks/fleet.yaml")).unwrap();
    let code = "mcollective { 'slow': agent => 'rpcutil', action => 'ping', identity_filter => 'ghost.example.net', timeout => 30 }\n\
                -> notify { 'after': }\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stop.pp"), code).unwrap();
    std::fs::write(dir.path().join("fleet.yaml"), fleet).unwrap();
    let (status, stdout, took) = stop_twice(
        dir.path(),
        &["stop"],
        "Running stop",
        "Interrupted: waiting for the running steps to finish; no new step starts",
    );
    assert_eq!(status, 130, "{stdout}");
    assert!(took < Duration::from_secs(10), "{took:?}\n{stdout}");
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
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slow.yaml"),
        "nodes:\n- identity: dev[1-4].example.net\n  puppet: {run_duration: 60s}\n",
    )
    .unwrap();
    let graph = repo_root().join("tests/fixtures/site/lamp.json");
    let (status, stdout, took) = stop_twice(
        dir.path(),
        &[
            "site",
            "--graph",
            graph.to_str().unwrap(),
            "--yes",
            "--poll-interval",
            "0.1",
            "--fleet",
            "slow.yaml",
        ],
        "Running Puppet on 1 node of group 1",
        "Interrupted: the batch under way finishes, then the run stops with every node disabled (Ctrl-C again to stop at once)",
    );
    assert_eq!(status, 130, "{stdout}");
    assert!(took < Duration::from_secs(10), "{took:?}\n{stdout}");
    assert!(
        stdout.trim_end().ends_with(
            "Stopped at once: Puppet is left disabled on the site's nodes, except perhaps those of the batch that was running; check them"
        ),
        "{stdout}"
    );
}
