//! What a playbook run tells its user: a line per step as it finishes (each failure with its
//! nodes and their messages, each skipped step with the failure that caused it), a summary,
//! and a JSON report with every step's outcome for inspection afterwards (`--report FILE`).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use super::seconds;
use crate::rpc::NodeFailure;
use crate::stop::Stop;

/// Prints step lines as they happen (steps run concurrently; a line is never interleaved).
#[derive(Default)]
pub struct Reporter {
    records: Mutex<Vec<StepRecord>>,
    /// Keep the records, print nothing (benchmarks).
    quiet: bool,
}

/// How a step ended, as the report writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Ok,
    Failed,
    /// Failed with `fail_ok`: reported, but the steps after it still run.
    Tolerated,
    Skipped,
}

/// What came of one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step: String,
    pub status: StepStatus,
    /// What it did; for a skipped step, why it did not run.
    pub summary: String,
    pub nodes: Vec<String>,
    pub failures: Vec<NodeFailure>,
    pub seconds: f64,
    /// How long it took, as the step line shows it.
    #[serde(skip)]
    pub took: Duration,
}

/// The counts the summary line prints and the exit code depends on.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub ok: usize,
    pub failed: usize,
    /// Failed with `fail_ok`: reported, but not a failure of the run.
    pub tolerated: usize,
    pub skipped: usize,
    pub nodes: usize,
    pub seconds: f64,
    /// Why the run stopped itself before its end (`the broker at URL is unreachable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl Summary {
    pub fn succeeded(&self) -> bool {
        self.failed == 0 && self.skipped == 0
    }
}

/// The `--report` file cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl WriteError {
    /// Why, as the system says it (`NotFound` for a missing directory).
    pub fn kind(&self) -> std::io::ErrorKind {
        self.source.kind()
    }
}

/// Writes the JSON report of the run of `playbook` to `path`:
/// `{"playbook", "summary", "steps": [every step's record]}`.
pub fn write_report(
    path: &Path,
    playbook: &str,
    summary: &Summary,
    steps: &[StepRecord],
) -> Result<(), WriteError> {
    let report = serde_json::json!({
        "playbook": playbook,
        "summary": summary,
        "steps": steps,
    });
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    std::fs::write(path, text + "\n").map_err(|source| WriteError {
        path: path.to_path_buf(),
        source,
    })
}

impl Reporter {
    /// A reporter that keeps every record and prints nothing.
    pub fn quiet() -> Reporter {
        Reporter {
            quiet: true,
            ..Reporter::default()
        }
    }

    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// Prints a finished step and keeps its record.
    pub fn step_finished(&self, record: StepRecord) {
        let step = &record.step;
        let summary = &record.summary;
        let took = seconds(record.took);
        match record.status {
            StepStatus::Ok => self.line(&format!("{step}: {summary} ({took})")),
            StepStatus::Failed | StepStatus::Tolerated => {
                let note = if record.status == StepStatus::Tolerated {
                    " (fail_ok: the steps after it still run)"
                } else {
                    ""
                };
                let mut text = format!("{step}: {summary}{note} ({took})");
                for failure in &record.failures {
                    text.push_str(&format!("\n    {}: {}", failure.identity, failure.message));
                }
                self.line(&text);
            }
            StepStatus::Skipped => self.line(&format!("{step}: skipped: {summary}")),
        }
        if let Ok(mut records) = self.records.lock() {
            records.push(record);
        }
    }

    pub fn records(&self) -> Vec<StepRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn summary(&self, took: Duration) -> Summary {
        let records = self.records();
        let nodes: BTreeSet<&String> = records.iter().flat_map(|r| r.nodes.iter()).collect();
        let count = |status| records.iter().filter(|r| r.status == status).count();
        Summary {
            ok: count(StepStatus::Ok),
            failed: count(StepStatus::Failed),
            tolerated: count(StepStatus::Tolerated),
            skipped: count(StepStatus::Skipped),
            nodes: nodes.len(),
            seconds: took.as_secs_f64(),
            stopped: None,
        }
    }

    pub fn print_summary(&self, summary: &Summary) {
        let verdict = if summary.failed > 0 {
            "failed"
        } else if summary.skipped > 0 {
            "interrupted"
        } else {
            "succeeded"
        };
        let tolerated = if summary.tolerated > 0 {
            format!(" ({} tolerated)", summary.tolerated)
        } else {
            String::new()
        };
        self.line(&format!(
            "Run {verdict}: {} step{} ok, {} failed{tolerated}, {} skipped; {} node{}; {}",
            summary.ok,
            if summary.ok == 1 { "" } else { "s" },
            summary.failed + summary.tolerated,
            summary.skipped,
            summary.nodes,
            if summary.nodes == 1 { "" } else { "s" },
            seconds(Duration::from_secs_f64(summary.seconds))
        ));
    }
}

/// Tells the user of a playbook run what a stop does, as it comes: the first signal (or the
/// run itself, when it cannot go on) lets the running steps finish and starts nothing new, the
/// second signal abandons them. Returns once the stop is forced (never, if it is not), having
/// said so; the run is to be dropped then.
pub async fn until_forced(stop: &Stop, reporter: &Reporter) {
    stop.requested().await;
    match stop.cause() {
        Some(cause) => reporter.line(&format!(
            "Stopping: {cause}; waiting for the running steps to end; no new step starts"
        )),
        None => reporter
            .line("Interrupted: waiting for the running steps to finish; no new step starts"),
    }
    stop.forced().await;
    reporter.line(
        "Stopped at once: the steps that were running were abandoned part way; check their nodes",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_that_cannot_be_written_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/report.json");
        let error = write_report(&path, "upgrade", &Summary::default(), &[]).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("cannot write {}: ", path.display())),
            "{text}"
        );
    }

    #[test]
    fn the_report_keeps_every_record_with_its_status() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let reporter = Reporter::quiet();
        reporter.step_finished(StepRecord {
            step: "Notify[a]".into(),
            status: StepStatus::Tolerated,
            summary: "no".into(),
            nodes: vec!["web1".into()],
            failures: vec![],
            seconds: 0.5,
            took: Duration::from_millis(500),
        });
        let summary = reporter.summary(Duration::from_secs(1));
        assert_eq!((summary.tolerated, summary.nodes), (1, 1));
        write_report(&path, "upgrade", &summary, &reporter.records()).unwrap();
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(written["steps"][0]["status"], "tolerated");
        assert_eq!(written["steps"][0].get("took"), None);
        assert_eq!(written["playbook"], "upgrade");
    }
}
