//! Running an external agent's program once: the request on its stdin, its stdout and stderr
//! collected, killed when it overruns.
//!
//! The program runs in a process group of its own, and a timeout kills the whole group: a
//! script's children (a `sleep`, a package manager) would otherwise live on and hold its
//! output open. Waiting is a poll of `try_wait` from the async side rather than a blocking
//! `wait` on a thread, so the kill can never hit a process that was already reaped (whose PID
//! the system may have given to another).

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

/// The most of a program's stdout kept: a reply bigger than this is refused, not buffered.
pub const MAX_STDOUT: u64 = 16 << 20;
/// The most of stderr kept, for messages and the log.
const MAX_STDERR: u64 = 64 << 10;
/// The longest pause between two looks at whether the program has ended.
const MAX_POLL: Duration = Duration::from_millis(50);

/// How a run of a program ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It exited, with this code (None: killed by a signal).
    Exited {
        code: Option<i32>,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
    },
    /// It ran longer than allowed and was killed.
    TimedOut,
    /// It could not be started.
    NotStarted(String),
}

/// Runs `program` with `input` on its stdin, for at most `timeout`. Dropping the future kills
/// the program (the daemon's own deadline, or a shutdown).
pub async fn run(program: &Path, input: Vec<u8>, timeout: Duration) -> Outcome {
    let spawned = Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(child) => Guard(Some(child)),
        Err(error) => return Outcome::NotStarted(error.to_string()),
    };
    let (Some(stdin), Some(stdout), Some(stderr)) = child.pipes() else {
        return Outcome::NotStarted("no pipes to the program".into());
    };
    let group = child.0.as_ref().map(Child::id).unwrap_or_default();
    // Each pipe on its own thread: a program that writes a lot before reading its input, or
    // fills stderr, must not stall against us. The writer is never joined: a program may exit
    // without reading its input while something it started keeps the pipe open.
    std::thread::spawn(move || {
        let mut stdin = stdin;
        let _ = stdin.write_all(&input);
    });
    let stdout = read_on_thread(stdout, MAX_STDOUT + 1);
    let stderr = read_on_thread(stderr, MAX_STDERR);
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let code = loop {
        match child.try_wait() {
            Ok(Some(code)) => break code,
            Ok(None) => {}
            Err(error) => return Outcome::NotStarted(format!("lost the program: {error}")),
        }
        if Instant::now() >= deadline {
            child.kill();
            return Outcome::TimedOut;
        }
        tokio::time::sleep(pause.min(deadline - Instant::now())).await;
        pause = (pause * 2).min(MAX_POLL);
    };
    // The program is gone; its output ends once whatever it left running in the background
    // lets go of the pipes, which must also happen within the time allowed.
    let output = tokio::time::timeout_at(deadline, async {
        (
            stdout.await.unwrap_or_default(),
            stderr.await.unwrap_or_default(),
        )
    })
    .await;
    match output {
        Ok((stdout, stderr)) => Outcome::Exited {
            code,
            stdout,
            stderr,
        },
        Err(_) => {
            // The leader is reaped, but its group lives while its members do, and a group's
            // ID is not handed out again while the group exists.
            kill_group(group);
            Outcome::TimedOut
        }
    }
}

/// Sends SIGKILL to process group `group`. std has no killpg; the kill command sends to a
/// group given a negative ID.
fn kill_group(group: u32) -> bool {
    group != 0
        && Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}

fn read_on_thread(pipe: impl Read + Send + 'static, limit: u64) -> oneshot::Receiver<Vec<u8>> {
    let (sender, receiver) = oneshot::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut limited = pipe.take(limit);
        let _ = limited.read_to_end(&mut kept);
        // Drain the rest so the program is not blocked writing into a full pipe.
        let _ = std::io::copy(&mut limited.into_inner(), &mut std::io::sink());
        let _ = sender.send(kept);
    });
    receiver
}

/// A child process that is killed, with its process group, unless it has been reaped.
struct Guard(Option<Child>);

impl Guard {
    fn pipes(
        &mut self,
    ) -> (
        Option<std::process::ChildStdin>,
        Option<std::process::ChildStdout>,
        Option<std::process::ChildStderr>,
    ) {
        match &mut self.0 {
            Some(child) => (child.stdin.take(), child.stdout.take(), child.stderr.take()),
            None => (None, None, None),
        }
    }

    /// The exit code once the program has ended; the child is then reaped.
    fn try_wait(&mut self) -> std::io::Result<Option<Option<i32>>> {
        let Some(child) = &mut self.0 else {
            return Ok(Some(None));
        };
        let status = child.try_wait()?;
        if let Some(status) = status {
            self.0 = None;
            return Ok(Some(status.code()));
        }
        Ok(None)
    }

    /// Kills the process group, then reaps the child on a thread of its own.
    fn kill(&mut self) {
        let Some(mut child) = self.0.take() else {
            return;
        };
        // The child has not been reaped, so its PID, which is its group's ID, is still its own.
        if !kill_group(child.id()) {
            let _ = child.kill();
        }
        std::thread::spawn(move || {
            let _ = child.wait();
        });
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        let path = dir.join("agent");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[tokio::test]
    async fn input_in_output_out() {
        let dir = tempfile::tempdir().unwrap();
        let program = script(dir.path(), "cat; echo warning >&2; exit 2");
        let outcome = run(&program, b"{\"a\":1}".to_vec(), Duration::from_secs(10)).await;
        assert_eq!(
            outcome,
            Outcome::Exited {
                code: Some(2),
                stdout: b"{\"a\":1}".to_vec(),
                stderr: b"warning\n".to_vec()
            }
        );
        let missing = run(&dir.path().join("none"), Vec::new(), Duration::from_secs(1)).await;
        assert!(matches!(missing, Outcome::NotStarted(_)));
    }

    /// The timeout kills the program and what it started; nothing keeps running.
    #[tokio::test]
    async fn a_timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("still-running");
        let program = script(
            dir.path(),
            &format!("(sleep 1; touch {}) & sleep 30", marker.display()),
        );
        let started = std::time::Instant::now();
        let outcome = run(&program, Vec::new(), Duration::from_millis(200)).await;
        assert_eq!(outcome, Outcome::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "a child of the killed program lived on");
    }

    /// A program that exits but leaves something holding its output is cut off at the timeout.
    #[tokio::test]
    async fn output_held_open_after_exit_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let program = script(dir.path(), "sleep 30 & echo started");
        let started = std::time::Instant::now();
        let outcome = run(&program, Vec::new(), Duration::from_millis(300)).await;
        assert_eq!(outcome, Outcome::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn dropping_the_run_kills_the_program() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("finished");
        let program = script(dir.path(), &format!("sleep 1; touch {}", marker.display()));
        let cancelled = tokio::time::timeout(
            Duration::from_millis(200),
            run(&program, Vec::new(), Duration::from_secs(30)),
        )
        .await;
        assert!(cancelled.is_err());
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists());
    }
}
