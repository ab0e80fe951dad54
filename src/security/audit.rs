//! The node's audit log (docs/security.md, "The audit log"): one JSON object per line, Choria's
//! fields (`timestamp`, `request_id`, `request_time`, `caller`, `sender`, `agent`, `action`,
//! `data`) plus `decision` and `reason`, for every request that reaches authorization, allowed
//! or denied. The file is mode 0600.
//!
//! Requests only hand their line to a writer thread (a bounded queue: a request waits only if
//! the disk falls [`QUEUE`] lines behind); the thread writes each line with one `write` to a
//! file opened for appending, so lines of concurrent requests never interleave.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::policy::Effect;

/// How many lines may wait for the writer before a request waits for room.
pub const QUEUE: usize = 4096;

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// When the node decided, Choria's layout: `2026-12-02T20:47:15.123456+0000`.
    pub timestamp: String,
    pub request_id: String,
    /// The request's own `time`, Unix seconds.
    pub request_time: u64,
    pub caller: String,
    pub sender: String,
    pub agent: String,
    pub action: String,
    /// The inputs, sensitive ones redacted.
    pub data: serde_json::Value,
    /// `allow` or `deny`.
    pub decision: String,
    pub reason: String,
}

impl AuditEntry {
    /// Now's timestamp in Choria's layout.
    pub fn now() -> String {
        chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6f%z")
            .to_string()
    }

    pub fn decided(effect: Effect) -> String {
        effect.as_str().to_string()
    }
}

/// Why the audit log cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open the audit log {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make the audit log {} private (mode 0600): {source}", path.display())]
    Private {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the audit log's writer: {0}")]
    Thread(#[source] std::io::Error),
}

/// What kind of [`AuditError`] it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditErrorKind {
    Open,
    Private,
    Thread,
}

impl AuditError {
    pub fn kind(&self) -> AuditErrorKind {
        match self {
            AuditError::Open { .. } => AuditErrorKind::Open,
            AuditError::Private { .. } => AuditErrorKind::Private,
            AuditError::Thread(_) => AuditErrorKind::Thread,
        }
    }
}

/// An open audit log. Dropping it lets the writer finish the queued lines and stop.
pub struct AuditLog {
    path: PathBuf,
    queue: mpsc::Sender<Job>,
}

enum Job {
    Line(Vec<u8>),
    /// Answered once every line before it is written.
    Sync(oneshot::Sender<()>),
}

impl AuditLog {
    /// Opens (creating with mode 0600) `path` for appending and starts its writer. An existing
    /// file others could read is made 0600, with a warning.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        let file = open_private(path)?;
        let (queue, jobs) = mpsc::channel(QUEUE);
        let name = path.to_path_buf();
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || write_lines(file, &name, jobs))
            .map_err(AuditError::Thread)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            queue,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues `entry`'s line; waits only while the queue is full.
    pub async fn record(&self, entry: &AuditEntry) {
        let mut line = match serde_json::to_vec(entry) {
            Ok(line) => line,
            Err(error) => {
                return tracing::error!(%error, request = %entry.request_id, "cannot audit a request")
            }
        };
        line.push(b'\n');
        if self.queue.send(Job::Line(line)).await.is_err() {
            tracing::error!(request = %entry.request_id, "the audit log's writer is gone");
        }
    }

    /// Returns once every line recorded before is written (a stopping daemon; tests).
    pub async fn sync(&self) {
        let (done, written) = oneshot::channel();
        if self.queue.send(Job::Sync(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> Result<File, AuditError> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    let private = |source| AuditError::Private {
        path: path.to_path_buf(),
        source,
    };
    let mode = file.metadata().map_err(private)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777), "the audit log was readable by others: made 0600");
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(private)?;
    }
    Ok(file)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> Result<File, AuditError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        })
}

/// The writer thread: each line in one `write_all` to the append-mode file, until every
/// [`AuditLog`] handle is gone.
fn write_lines(mut file: File, path: &Path, mut jobs: mpsc::Receiver<Job>) {
    while let Some(job) = jobs.blocking_recv() {
        match job {
            Job::Line(line) => {
                if let Err(error) = file.write_all(&line) {
                    tracing::error!(path = %path.display(), %error, "cannot write the audit log");
                }
            }
            Job::Sync(done) => {
                let _ = file.sync_data();
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, decision: Effect) -> AuditEntry {
        AuditEntry {
            timestamp: AuditEntry::now(),
            request_id: id.into(),
            request_time: 1_700_000_000,
            caller: "choria=rip.mcollective".into(),
            sender: "client.example.net".into(),
            agent: "puppet".into(),
            action: "disable".into(),
            data: serde_json::json!({"message": "maintenance"}),
            decision: AuditEntry::decided(decision),
            reason: "denied by the default of puppet.policy".into(),
        }
    }

    fn lines(path: &Path) -> Vec<AuditEntry> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn a_new_log_is_0600_and_holds_one_json_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path).unwrap();
        log.record(&entry("a", Effect::Allow)).await;
        log.record(&entry("b", Effect::Deny)).await;
        log.sync().await;
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        let written = lines(&path);
        assert_eq!(written.len(), 2);
        assert_eq!(written[0].decision, "allow");
        assert_eq!(
            written[1],
            entry("b", Effect::Deny).with(&written[1].timestamp)
        );
        let raw = std::fs::read_to_string(&path).unwrap();
        let first: serde_json::Value = serde_json::from_str(raw.lines().next().unwrap()).unwrap();
        let keys: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in [
            "timestamp",
            "request_id",
            "request_time",
            "caller",
            "sender",
            "agent",
            "action",
            "data",
            "decision",
            "reason",
        ] {
            assert!(keys.contains(&key), "{key} missing from {raw}");
        }
        let stamp = &written[0].timestamp;
        assert!(
            chrono::DateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.6f%z").is_ok(),
            "{stamp}"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn an_existing_log_others_can_read_is_made_private_and_appended_to() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        std::fs::write(&path, "{\"old\":1}\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        log.record(&entry("c", Effect::Allow)).await;
        log.sync().await;
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\"old\":1}\n{"), "{text}");
    }

    #[tokio::test]
    async fn concurrent_requests_never_interleave_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = std::sync::Arc::new(AuditLog::open(&path).unwrap());
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..8 {
            let log = log.clone();
            tasks.spawn(async move {
                for n in 0..200 {
                    let mut big = entry(&format!("{task}-{n}"), Effect::Allow);
                    big.data = serde_json::json!({"blob": "x".repeat(5000)});
                    log.record(&big).await;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        log.sync().await;
        let written = lines(&path);
        assert_eq!(written.len(), 1600);
        assert!(written
            .iter()
            .all(|e| e.data["blob"].as_str().unwrap().len() == 5000));
    }

    #[test]
    fn a_log_that_cannot_be_opened_says_which_file() {
        let error = AuditLog::open(Path::new("/nonexistent/dir/audit.log"))
            .err()
            .unwrap();
        assert_eq!(error.kind(), AuditErrorKind::Open);
        assert!(
            error.to_string().contains("/nonexistent/dir/audit.log"),
            "{error}"
        );
    }

    impl AuditEntry {
        fn with(mut self, timestamp: &str) -> AuditEntry {
            self.timestamp = timestamp.to_string();
            self
        }
    }
}
