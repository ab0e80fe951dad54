//! The Puppet runs this agent starts: the run command in the background, in its own process
//! group (a Ctrl-C meant for the daemon must not kill a run half way), watched by a thread
//! that reaps it and records how it ended.
//!
//! Why track our own runs when Puppet has a catalog-run lock? `puppet apply` takes no lock
//! (measured on Puppet 7.23), and `puppet agent` takes it only after a few seconds of start-up;
//! without this a `status` right after `runonce` would say "idling". And a `puppet apply`
//! whose catalog fails writes no `last_run_summary.yaml` at all: only the exit status tells.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};

use super::backend::StartError;
use crate::protocol::unix_now;

/// Runs started here: the one going on, and the last one finished.
#[derive(Clone, Default)]
pub struct RunTracker {
    state: Arc<Mutex<RunState>>,
}

#[derive(Default)]
struct RunState {
    running: Option<u64>,
    finished: Option<FinishedRun>,
}

/// A run started here that has ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishedRun {
    pub initiated_at: u64,
    pub finished_at: u64,
    /// The exit code; None when killed by a signal.
    pub exit_code: Option<i32>,
}

impl FinishedRun {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
}

impl RunTracker {
    fn lock(&self) -> MutexGuard<'_, RunState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a run started here is still going.
    pub fn is_running(&self) -> bool {
        self.lock().running.is_some()
    }

    pub fn last_finished(&self) -> Option<FinishedRun> {
        self.lock().finished.clone()
    }

    /// Starts `command` in the background; its output is appended to `log` or discarded.
    /// Returns when it started (Unix seconds). Fails when a run started here still goes, or
    /// the program cannot be started.
    pub fn start(&self, command: &[String], log: Option<&Path>) -> Result<u64, StartError> {
        let Some((program, args)) = command.split_first() else {
            return Err(StartError::EmptyCommand);
        };
        let mut state = self.lock();
        if state.running.is_some() {
            return Err(StartError::Busy);
        }
        let (stdout, stderr) = match log {
            Some(path) => output_to(path)?,
            None => (Stdio::null(), Stdio::null()),
        };
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .map_err(|source| StartError::Spawn {
                program: program.clone(),
                source,
            })?;
        let initiated_at = unix_now();
        state.running = Some(initiated_at);
        drop(state);
        let tracker = self.clone();
        let spawned = std::thread::Builder::new()
            .name("puppet-run".into())
            .spawn(move || {
                let exit_code = match child.wait() {
                    Ok(status) => status.code(),
                    Err(error) => {
                        tracing::warn!(%error, "lost track of a Puppet run");
                        None
                    }
                };
                tracing::info!(?exit_code, "a Puppet run finished");
                let mut state = tracker.lock();
                state.running = None;
                state.finished = Some(FinishedRun {
                    initiated_at,
                    finished_at: unix_now(),
                    exit_code,
                });
            });
        if let Err(error) = spawned {
            // Without a watcher the run would look endless; say so rather than hide it.
            self.lock().running = None;
            return Err(StartError::Watch(error));
        }
        Ok(initiated_at)
    }
}

/// A run's stdout and stderr, both appended to the log at `path`.
fn output_to(path: &Path) -> Result<(Stdio, Stdio), StartError> {
    let cannot_open = |source| StartError::OpenLog {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(cannot_open)?;
    let copy = file.try_clone().map_err(cannot_open)?;
    Ok((Stdio::from(file), Stdio::from(copy)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn wait_until_idle(tracker: &RunTracker) {
        for _ in 0..200 {
            if !tracker.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the run did not end");
    }

    #[test]
    fn a_run_is_tracked_until_it_ends() {
        let tracker = RunTracker::default();
        let command: Vec<String> = ["sh", "-c", "sleep 0.2; exit 3"].map(String::from).into();
        let started = tracker.start(&command, None).unwrap();
        assert!(tracker.is_running());
        assert!(matches!(
            tracker.start(&command, None),
            Err(StartError::Busy)
        ));
        wait_until_idle(&tracker);
        let finished = tracker.last_finished().unwrap();
        assert_eq!(finished.initiated_at, started);
        assert_eq!(finished.exit_code, Some(3));
        assert!(!finished.succeeded());
    }

    #[test]
    fn output_goes_to_the_log_and_bad_commands_fail() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("runs.log");
        let tracker = RunTracker::default();
        let command: Vec<String> = ["sh", "-c", "echo out; echo err >&2"]
            .map(String::from)
            .into();
        tracker.start(&command, Some(&log)).unwrap();
        wait_until_idle(&tracker);
        assert!(tracker.last_finished().unwrap().succeeded());
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "out\nerr\n");
        let error = tracker
            .start(&["/nonexistent/puppet".to_string()], None)
            .unwrap_err();
        assert!(matches!(error, StartError::Spawn { .. }), "{error}");
        assert!(error
            .to_string()
            .starts_with("cannot start /nonexistent/puppet: "));
        assert!(!tracker.is_running());
        assert!(matches!(
            tracker.start(&[], None),
            Err(StartError::EmptyCommand)
        ));
        let unwritable = dir.path().join("no/such/dir/runs.log");
        assert!(matches!(
            tracker.start(&command, Some(&unwritable)),
            Err(StartError::OpenLog { .. })
        ));
    }
}
