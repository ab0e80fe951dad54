//! A running `orchestrate` ([`Process`]), what it printed ([`Output`]), and the expectations
//! checked when it ends.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::normalise::normalise;

/// How long a starting process may take to print its first line, and how long
/// [`Process::wait_for_stdout`] and [`Process::wait_for_stderr`] wait for theirs.
const LINE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`Process::wait_for_a_child`] waits for the process to start a program.
const CHILD_TIMEOUT: Duration = Duration::from_secs(10);

/// What a finished run printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Exit code, stdout and stderr in one text, normalised (support/normalise.rs): the form
    /// the snapshots keep, and a test's message when it fails.
    pub fn whole(&self) -> String {
        normalise(&self.unnormalised())
    }

    fn unnormalised(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// What the run must end with; what is None is not checked.
#[derive(Default)]
pub struct Expected {
    pub status: Option<i32>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

impl Expected {
    /// Fails the test with every difference at once, and the whole output.
    #[track_caller]
    fn check(&self, output: &Output) {
        let mismatches: Vec<String> = [
            self.status
                .filter(|want| *want != output.status)
                .map(|want| format!("exit code {} instead of {want}", output.status)),
            text_mismatch("stdout", self.stdout.as_deref(), &output.stdout),
            text_mismatch("stderr", self.stderr.as_deref(), &output.stderr),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert!(
            mismatches.is_empty(),
            "the run did not end as expected:\n{}\n\n{}",
            mismatches.join("\n"),
            output.unnormalised()
        );
    }
}

/// How `have` differs from `want`, when `want` is given and it does.
fn text_mismatch(name: &str, want: Option<&str>, have: &str) -> Option<String> {
    want.filter(|want| *want != have)
        .map(|want| format!("{name} differs\n--- want\n{want}--- have\n{have}--- end"))
}

/// A running binary, killed when dropped so no test leaves one behind. Its stdout and stderr
/// are read all along (it never blocks on a full pipe), and also line by line as they come.
pub struct Process {
    child: Child,
    lines: Receiver<String>,
    stderr_lines: Receiver<String>,
    stdout: Pipe,
    stderr: Pipe,
    expected: Expected,
    deadline: Duration,
    /// The scratch folder the process runs in lives as long as the process.
    _scratch: Option<tempfile::TempDir>,
}

impl Process {
    pub(super) fn spawn(
        mut command: Command,
        stdin: String,
        expected: Expected,
        deadline: Duration,
        scratch: Option<tempfile::TempDir>,
    ) -> Process {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        feed(child.stdin.take().unwrap(), stdin);
        let (line_sender, lines) = mpsc::channel();
        let stdout = Pipe::drain(child.stdout.take().unwrap(), Some(line_sender));
        let (stderr_sender, stderr_lines) = mpsc::channel();
        let stderr = Pipe::drain(child.stderr.take().unwrap(), Some(stderr_sender));
        Process {
            child,
            lines,
            stderr_lines,
            stdout,
            stderr,
            expected,
            deadline,
            _scratch: scratch,
        }
    }

    /// The process id, for signals and checks from outside.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The next line on stdout, without its newline; fails the test when none comes in time.
    #[track_caller]
    pub fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(LINE_TIMEOUT) {
            Ok(line) => line,
            Err(error) => panic!(
                "no line on stdout ({error})\n--- stderr\n{}",
                self.stderr.so_far()
            ),
        }
    }

    /// Reads stdout line by line until one contains `text`, and returns it (the lines before
    /// it are passed over, and [`Process::next_line`] goes on after it). Fails the test when
    /// stdout ends first or no such line comes within 30 s, with the lines it passed over.
    #[track_caller]
    pub fn wait_for_stdout(&mut self, text: &str) -> String {
        let found = wait_for_line(&self.lines, text);
        found.unwrap_or_else(|why| panic!("stdout {why}\n--- stderr\n{}", self.stderr.so_far()))
    }

    /// [`Process::wait_for_stdout`] on stderr, the log: its own lines, read as they come.
    #[track_caller]
    pub fn wait_for_stderr(&mut self, text: &str) -> String {
        let found = wait_for_line(&self.stderr_lines, text);
        found.unwrap_or_else(|why| panic!("stderr {why}\n--- stdout\n{}", self.stdout.so_far()))
    }

    /// Whether the process runs a program of its own right now (one of its threads has a
    /// child, per Linux's `/proc/<pid>/task/<tid>/children`): for `orchestrate agent`, an
    /// external agent's program, a request in hand.
    pub fn has_a_child(&self) -> bool {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.id()));
        tasks.into_iter().flatten().flatten().any(|task| {
            std::fs::read_to_string(task.path().join("children"))
                .is_ok_and(|children| !children.trim().is_empty())
        })
    }

    /// Waits until [`Process::has_a_child`]; fails the test when it has none within 10 s.
    #[track_caller]
    pub fn wait_for_a_child(&self) {
        let started = Instant::now();
        while !self.has_a_child() {
            assert!(
                started.elapsed() < CHILD_TIMEOUT,
                "the process started no program within {CHILD_TIMEOUT:?}\n--- stderr\n{}",
                self.stderr.so_far()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the process printed on stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr.so_far()
    }

    /// Sends `signal` (`TERM`, `KILL`...) as `kill` does.
    #[track_caller]
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} {} failed", self.id());
    }

    /// SIGTERM, what `kill` and service managers send.
    #[track_caller]
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Waits for the exit (killing the process and failing the test past the deadline), then
    /// checks the expectations.
    #[track_caller]
    pub fn finish(mut self) -> Output {
        let status = self.exit_within_deadline();
        let Some(code) = status.code() else {
            panic!(
                "ended by a signal ({status})\n--- stdout\n{}--- stderr\n{}",
                self.stdout.so_far(),
                self.stderr.so_far()
            )
        };
        let output = Output {
            status: code,
            stdout: self.stdout.finish(),
            stderr: self.stderr.finish(),
        };
        self.expected.check(&output);
        output
    }

    #[track_caller]
    fn exit_within_deadline(&mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .expect("the process can be waited for")
            {
                return status;
            }
            if started.elapsed() > self.deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "hung: still running after {:?}\n--- stdout\n{}--- stderr\n{}",
                    self.deadline,
                    self.stdout.so_far(),
                    self.stderr.so_far()
                );
            }
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

/// The first line from `lines` that contains `text`, within [`LINE_TIMEOUT`]; else why not,
/// with the lines passed over.
fn wait_for_line(lines: &Receiver<String>, text: &str) -> Result<String, String> {
    let started = Instant::now();
    let mut passed = Vec::new();
    loop {
        let left = LINE_TIMEOUT.saturating_sub(started.elapsed());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(text) => return Ok(line),
            Ok(line) => passed.push(line),
            Err(error) => {
                let why = match error {
                    mpsc::RecvTimeoutError::Timeout => {
                        format!("showed no {text:?} within {LINE_TIMEOUT:?}")
                    }
                    mpsc::RecvTimeoutError::Disconnected => format!("ended before {text:?}"),
                };
                return Err(format!("{why}; the lines before:\n{}", passed.join("\n")));
            }
        }
    }
}

/// Writes `text` to the process's stdin and closes it, from a thread of its own so a process
/// that does not read cannot block the test.
fn feed(mut stdin: ChildStdin, text: String) {
    if text.is_empty() {
        return;
    }
    std::thread::spawn(move || {
        let _ = stdin.write_all(text.as_bytes());
    });
}

/// One of the process's output pipes, read to its end by a thread: the bytes so far, and
/// each line as it comes when someone listens.
struct Pipe {
    bytes: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Pipe {
    fn drain(pipe: impl Read + Send + 'static, lines: Option<Sender<String>>) -> Pipe {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&bytes);
        let reader = std::thread::spawn(move || {
            let mut pipe = BufReader::new(pipe);
            let mut line = Vec::new();
            while pipe.read_until(b'\n', &mut line).is_ok_and(|read| read > 0) {
                kept.lock().unwrap().extend_from_slice(&line);
                if let Some(lines) = &lines {
                    let text = String::from_utf8_lossy(&line);
                    let _ = lines.send(text.trim_end_matches('\n').to_string());
                }
                line.clear();
            }
        });
        Pipe {
            bytes,
            reader: Some(reader),
        }
    }

    fn so_far(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }

    /// Everything, once the pipe is closed.
    fn finish(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the pipe's reader");
        }
        String::from_utf8(self.bytes.lock().unwrap().clone()).expect("UTF-8 output")
    }
}
