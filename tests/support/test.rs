//! [`Test`]: one run of the `orchestrate` binary, built up and then run, after casey/just's
//! test builder.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::env::{CLEARED, PINNED};
use super::nats::NatsServer;
use super::process::{Expected, Process};
use super::repo_root;

/// The longest a run may take from [`Test::run`] or [`Process::finish`] until it exits before
/// it counts as hung: it is killed and the test fails instead of stalling the suite.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// One run of the binary, built up and then run:
///
/// ```ignore
/// Test::new()
///     .file("hello.pp", "notice('hi')\n")
///     .args(["check", "hello.pp"])
///     .stdout("")
///     .stderr("checked 1 file(s): 1 ok, 0 with problems\n")
///     .status(0)
///     .run();
///
/// let out = Test::new().args(["app_cluster_upgrade", "cluster=bravo"]).run();
/// insta::assert_snapshot!(out.whole());
/// ```
///
/// - **Where:** from the project's root (so `playbooks/` is the repository and paths like
///   `tests/fixtures/...` work), or, once [`Test::file`] wrote a file, in the test's own
///   scratch folder; [`Test::current_dir`] picks any other.
/// - **Environment:** every variable the binary reads is removed or pinned
///   (support/env.rs); [`Test::env`] sets one for this run on top.
/// - **Stdin:** the text of [`Test::stdin`], empty by default, then closed: never a terminal.
/// - **Expectations:** [`Test::status`], [`Test::stdout`] and [`Test::stderr`] are compared
///   exactly when the run ends, all mismatches reported together; what is not given is not
///   checked. The [`Output`](super::Output) is returned for further checks and snapshots.
/// - **Deadline:** a run must exit within [`DEADLINE`] of [`Test::run`] or
///   [`Process::finish`] ([`Test::deadline`] for another); past it, it is killed and the test
///   fails with what it printed so far.
/// - **Long-running processes:** [`Test::spawn`] and [`Test::start`] (waits for a first line,
///   like `orchestrate agent`'s "serving") give a [`Process`], killed when dropped. It reads
///   stdout and stderr line by line as they come ([`Process::wait_for_stdout`],
///   [`Process::wait_for_stderr`], within 30 s), takes signals by name
///   ([`Process::signal`], [`Process::terminate`]) and tells when it runs a program of its
///   own ([`Process::wait_for_a_child`]).
#[must_use]
pub struct Test {
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    current_dir: Option<PathBuf>,
    scratch: Option<tempfile::TempDir>,
    stdin: String,
    expected: Expected,
    deadline: Duration,
}

impl Test {
    /// A run of the binary with no arguments, from the project's root, expecting nothing.
    pub fn new() -> Test {
        Test {
            args: Vec::new(),
            env: Vec::new(),
            current_dir: None,
            scratch: None,
            stdin: String::new(),
            expected: Expected::default(),
            deadline: DEADLINE,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Test {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args(self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Test {
        args.into_iter().fold(self, Test::arg)
    }

    /// `--nats URL` of a test's broker.
    pub fn nats(self, server: &NatsServer) -> Test {
        self.args(["--nats", &server.url()])
    }

    /// Sets `key` for this run, over what the harness removed or pinned.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Test {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// [`Test::env`] for each pair.
    pub fn envs<K, V>(self, vars: impl IntoIterator<Item = (K, V)>) -> Test
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        vars.into_iter()
            .fold(self, |test, (key, value)| test.env(key, value))
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Test {
        self.current_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Writes `content` to `path` in the test's scratch folder (made by the first file), where
    /// the binary then runs: a scratch repository of playbooks, a folder to check.
    pub fn file(mut self, path: &str, content: impl AsRef<[u8]>) -> Test {
        let scratch = self
            .scratch
            .get_or_insert_with(|| tempfile::tempdir().expect("a scratch folder"));
        let full = scratch.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
        self
    }

    /// What the binary reads on stdin (instead of nothing).
    pub fn stdin(mut self, text: impl Into<String>) -> Test {
        self.stdin = text.into();
        self
    }

    /// How long [`Test::run`] or [`Process::finish`] waits for the exit; [`DEADLINE`] unless
    /// given.
    pub fn deadline(mut self, deadline: Duration) -> Test {
        self.deadline = deadline;
        self
    }

    /// The exit code the run must end with.
    pub fn status(mut self, code: i32) -> Test {
        self.expected.status = Some(code);
        self
    }

    /// The whole stdout the run must print.
    pub fn stdout(mut self, text: impl Into<String>) -> Test {
        self.expected.stdout = Some(text.into());
        self
    }

    /// The whole stderr the run must print.
    pub fn stderr(mut self, text: impl Into<String>) -> Test {
        self.expected.stderr = Some(text.into());
        self
    }

    /// Runs the binary to its end and checks the expectations.
    #[track_caller]
    pub fn run(self) -> super::Output {
        self.spawn().finish()
    }

    /// Starts the binary and returns while it runs.
    pub fn spawn(self) -> Process {
        let command = self.command();
        Process::spawn(
            command,
            self.stdin,
            self.expected,
            self.deadline,
            self.scratch,
        )
    }

    /// Starts a long-running process (`orchestrate agent`, `orchestrate fleet`) and waits for
    /// its first line on stdout, which must contain `ready`: it is serving from then on.
    #[track_caller]
    pub fn start(self, ready: &str) -> Process {
        let mut process = self.spawn();
        let first = process.next_line();
        assert!(
            first.contains(ready),
            "the first line is not {ready:?}: {first:?}\n--- stderr\n{}",
            process.stderr_so_far()
        );
        process
    }

    /// The command [`Test::spawn`] runs: the binary, the environment cleared and pinned
    /// (support/env.rs), then this test's own variables, folder and arguments.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orchestrate"));
        for key in CLEARED {
            command.env_remove(key);
        }
        command
            .envs(PINNED.iter().copied())
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .current_dir(self.working_dir())
            .args(&self.args);
        command
    }

    fn working_dir(&self) -> &Path {
        match (&self.current_dir, &self.scratch) {
            (Some(dir), _) => dir,
            (None, Some(scratch)) => scratch.path(),
            (None, None) => repo_root(),
        }
    }
}

impl Default for Test {
    fn default() -> Test {
        Test::new()
    }
}
