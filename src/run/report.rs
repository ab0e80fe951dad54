//! What a run tells its user: a line per step as it finishes (each failure with its nodes
//! and their messages, each skipped step with the failure that caused it), a summary, and
//! a JSON report with every step's outcome for inspection afterwards.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use super::step::{NodeFailure, Outcome};

/// Prints step lines as they happen (steps run concurrently; a line is never interleaved).
#[derive(Default)]
pub struct Reporter {
    records: Mutex<Vec<StepRecord>>,
    /// Keep the records, print nothing (benchmarks).
    quiet: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step: String,
    /// `ok`, `failed`, `tolerated` (failed with fail_ok) or `skipped`.
    pub status: &'static str,
    pub summary: String,
    pub nodes: Vec<String>,
    pub failures: Vec<NodeFailure>,
    pub seconds: f64,
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
}

impl Summary {
    pub fn succeeded(&self) -> bool {
        self.failed == 0 && self.skipped == 0
    }
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
    pub fn step_finished(&self, step: &str, outcome: &Outcome, took: Duration) {
        let seconds = took.as_secs_f64();
        let record = match outcome {
            Outcome::Succeeded { summary, nodes } => {
                self.line(&format!("{step}: {summary} ({})", self::seconds(took)));
                StepRecord {
                    step: step.to_string(),
                    status: "ok",
                    summary: summary.clone(),
                    nodes: nodes.clone(),
                    failures: vec![],
                    seconds,
                }
            }
            Outcome::Failed {
                summary,
                failures,
                nodes,
                tolerated,
            } => {
                let note = if *tolerated {
                    " (fail_ok: the steps after it still run)"
                } else {
                    ""
                };
                let mut text = format!("{step}: {summary}{note} ({})", self::seconds(took));
                for failure in failures {
                    text.push_str(&format!("\n    {}: {}", failure.identity, failure.message));
                }
                self.line(&text);
                StepRecord {
                    step: step.to_string(),
                    status: if *tolerated { "tolerated" } else { "failed" },
                    summary: summary.clone(),
                    nodes: nodes.clone(),
                    failures: failures.clone(),
                    seconds,
                }
            }
            Outcome::Skipped { cause } => {
                self.line(&format!("{step}: skipped: {cause}"));
                StepRecord {
                    step: step.to_string(),
                    status: "skipped",
                    summary: cause.clone(),
                    nodes: vec![],
                    failures: vec![],
                    seconds: 0.0,
                }
            }
        };
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
        Summary {
            ok: records.iter().filter(|r| r.status == "ok").count(),
            failed: records.iter().filter(|r| r.status == "failed").count(),
            tolerated: records.iter().filter(|r| r.status == "tolerated").count(),
            skipped: records.iter().filter(|r| r.status == "skipped").count(),
            nodes: nodes.len(),
            seconds: took.as_secs_f64(),
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

/// `0.21s`, `12.3s`, `10s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 && s.fract() == 0.0 {
        format!("{s:.0}s")
    } else if s >= 10.0 {
        format!("{s:.1}s")
    } else {
        format!("{s:.2}s")
    }
}
