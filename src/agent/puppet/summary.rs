//! `last_run_summary.yaml`, the summary Puppet writes after every run, and what the
//! `last_run_summary` action reports from it.
//!
//! A run whose catalog failed shows no `resources` section (`puppet agent`), or leaves the
//! file untouched (`puppet apply`, which then only exits non-zero). Choria filled the missing
//! counts with zeros, so such a run passed as a success. Here the counts are `null` and
//! `catalog_failed` is true: whoever checks `failed_resources > 0` must also check it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::reply::whole_seconds;
use super::runs::FinishedRun;

/// Why the summary file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Yaml {
        path: PathBuf,
        source: serde_yaml_ng::Error,
    },
    #[error("{} is not a run summary", path.display())]
    NotASummary { path: PathBuf },
}

/// The summary file, read as JSON values; None when there is none (Puppet never ran).
pub fn read(path: &Path) -> Result<Option<Value>, SummaryError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SummaryError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let summary: Value = serde_yaml_ng::from_str(&text).map_err(|source| SummaryError::Yaml {
        path: path.to_path_buf(),
        source,
    })?;
    if !summary.is_object() {
        return Err(SummaryError::NotASummary {
            path: path.to_path_buf(),
        });
    }
    Ok(Some(summary))
}

/// When the summarised run ended (`time.last_run`), 0 when unknown.
pub fn last_run(summary: Option<&Value>) -> u64 {
    summary
        .and_then(|summary| field(summary, "time", "last_run"))
        .and_then(whole_seconds)
        .unwrap_or(0)
}

/// `summary[section][name]`: what `Value::pointer("/section/name")` finds, without parsing a
/// pointer (every `status` reads one).
fn field<'a>(summary: &'a Value, section: &str, name: &str) -> Option<&'a Value> {
    summary.get(section)?.get(name)
}

/// The last run as this agent sees it: the summary file's, unless a run started here ended
/// after it without writing one (its catalog failed), which then is the last run.
pub fn last_completed_run(summary: Option<&Value>, own: Option<&FinishedRun>) -> u64 {
    let file = last_run(summary);
    match own {
        Some(run) if wrote_no_summary(file, run) => run.finished_at,
        _ => file,
    }
}

/// Whether `run` failed without its own summary: the file's last run predates it.
fn wrote_no_summary(file_last_run: u64, run: &FinishedRun) -> bool {
    !run.succeeded() && file_last_run < run.initiated_at
}

/// The `last_run_summary` reply data. The agent writes it with [`report`]; the site run reads
/// it back with [`LastRunReport::from_data`] (from Choria's agent too, which sends no
/// `catalog_failed`: what is absent reads as null).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LastRunReport {
    /// The counts and times are the summary file's values as they are; a count is null when
    /// the run has no resources section.
    pub failed_resources: Value,
    pub changed_resources: Value,
    pub out_of_sync_resources: Value,
    pub corrective_change_resources: Value,
    pub total_resources: Value,
    pub total_time: Value,
    pub config_retrieval_time: Value,
    /// When the last run ended (Unix seconds; read whole or not).
    #[serde(deserialize_with = "optional_seconds")]
    pub lastrun: Option<u64>,
    pub since_lastrun: Option<u64>,
    pub config_version: Option<String>,
    /// The run applied nothing: no resources section, or no summary written at all.
    pub catalog_failed: Option<bool>,
    /// The summary file as Puppet wrote it.
    pub summary: Value,
    pub logs: Vec<Value>,
    /// Why the last run failed, when it wrote no summary to say so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_failure: Option<String>,
}

/// Reply data that is not a run summary report.
#[derive(Debug, thiserror::Error)]
#[error("the run summary reply cannot be read: {0}")]
pub struct ReportError(#[from] serde_json::Error);

/// An optional time in Unix seconds, as [`whole_seconds`] reads it.
fn optional_seconds<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?
        .as_ref()
        .and_then(whole_seconds))
}

impl LastRunReport {
    pub fn from_data(data: &Value) -> Result<LastRunReport, ReportError> {
        Ok(LastRunReport::deserialize(data)?)
    }

    pub fn to_data(&self) -> Value {
        // Every field is a JSON value, a number, a string or a list: nothing that cannot be
        // written (a map with other keys than strings).
        serde_json::to_value(self).expect("a run summary report is plain JSON")
    }

    /// [`to_data`](Self::to_data), the summary moved into the data rather than copied.
    pub fn into_data(mut self) -> Value {
        let summary = std::mem::take(&mut self.summary);
        let mut data = self.to_data();
        data["summary"] = summary;
        data
    }

    /// The count of failed resources, when the report has one.
    pub fn failed(&self) -> Option<u64> {
        self.failed_resources.as_u64()
    }

    /// Whether the summary is there but has no resources section: the catalog failed, even
    /// when the counts say 0 (Choria's agent filled the missing counts with zeros).
    pub fn summary_lacks_resources(&self) -> bool {
        self.summary.is_object() && !self.summary.get("resources").is_some_and(Value::is_object)
    }
}

/// The report of the last run, from the summary file and the last run started here.
pub fn report(summary: Option<Value>, own: Option<&FinishedRun>) -> LastRunReport {
    let file_last_run = last_run(summary.as_ref());
    let failed_run = own.filter(|run| wrote_no_summary(file_last_run, run));
    let resources = summary
        .as_ref()
        .and_then(|summary| summary.get("resources"))
        .filter(|resources| resources.is_object() && failed_run.is_none());
    let count = |name: &str| {
        resources
            .map(|resources| resources.get(name).cloned().unwrap_or(json!(0)))
            .unwrap_or(Value::Null)
    };
    let time = |name: &str| {
        summary
            .as_ref()
            .and_then(|summary| field(summary, "time", name))
            .cloned()
            .unwrap_or(json!(0))
    };
    let lastrun = last_completed_run(summary.as_ref(), own);
    let config_version = summary
        .as_ref()
        .and_then(|summary| field(summary, "version", "config"))
        .filter(|version| !version.is_null())
        .map(|version| match version {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        });
    LastRunReport {
        failed_resources: count("failed"),
        changed_resources: count("changed"),
        out_of_sync_resources: count("out_of_sync"),
        corrective_change_resources: count("corrective_change"),
        total_resources: count("total"),
        total_time: time("total"),
        config_retrieval_time: time("config_retrieval"),
        lastrun: Some(lastrun),
        since_lastrun: Some(crate::protocol::unix_now().saturating_sub(lastrun)),
        config_version,
        catalog_failed: Some(resources.is_none()),
        summary: summary.unwrap_or(Value::Null),
        logs: Vec::new(),
        run_failure: failed_run.map(|run| {
            format!(
                "the Puppet run started at {} ended with {} and wrote no summary",
                run.initiated_at,
                match run.exit_code {
                    Some(code) => format!("exit code {code}"),
                    None => "a signal".to_string(),
                }
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(yaml: &str) -> Value {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    fn report(summary: Option<Value>, own: Option<&FinishedRun>) -> Value {
        super::report(summary, own).to_data()
    }

    const APPLIED: &str = "version: {config: 1795308301, puppet: 7.23.0}\n\
        resources: {changed: 2, corrective_change: 0, failed: 1, out_of_sync: 3, total: 8}\n\
        time: {config_retrieval: 0.18, total: 3.04, last_run: 1795308284}\n";

    #[test]
    fn counts_come_from_the_resources_section() {
        let data = report(Some(summary(APPLIED)), None);
        assert_eq!(data["failed_resources"], 1);
        assert_eq!(data["changed_resources"], 2);
        assert_eq!(data["out_of_sync_resources"], 3);
        assert_eq!(data["total_resources"], 8);
        assert_eq!(data["total_time"], 3.04);
        assert_eq!(data["config_retrieval_time"], 0.18);
        assert_eq!(data["lastrun"], 1795308284u64);
        assert_eq!(data["config_version"], "1795308301");
        assert_eq!(data["catalog_failed"], false);
        assert_eq!(data["summary"]["version"]["puppet"], "7.23.0");
    }

    /// What `puppet agent` writes when it gets no catalog: no resources section.
    #[test]
    fn a_summary_without_resources_is_a_failed_catalog() {
        let data = report(
            Some(summary(
                "version: {config: null, puppet: 7.23.0}\ntime: {last_run: 1795308290}\n",
            )),
            None,
        );
        assert_eq!(data["failed_resources"], Value::Null);
        assert_eq!(data["total_resources"], Value::Null);
        assert_eq!(data["catalog_failed"], true);
        assert_eq!(data["lastrun"], 1795308290u64);
        assert_eq!(data["config_version"], Value::Null);
    }

    /// What `puppet apply` leaves when its catalog fails: the previous run's summary, and an
    /// exit code.
    #[test]
    fn a_failed_run_that_wrote_nothing_is_the_last_run() {
        let failed = FinishedRun {
            initiated_at: 1795308290,
            finished_at: 1795308295,
            exit_code: Some(1),
        };
        let data = report(Some(summary(APPLIED)), Some(&failed));
        assert_eq!(data["catalog_failed"], true);
        assert_eq!(data["failed_resources"], Value::Null);
        assert_eq!(data["lastrun"], 1795308295u64);
        assert!(data["run_failure"]
            .as_str()
            .unwrap()
            .contains("exit code 1"));
        // A failed run that did write its summary is reported from the summary.
        let earlier = FinishedRun {
            initiated_at: 1795308280,
            ..failed
        };
        let data = report(Some(summary(APPLIED)), Some(&earlier));
        assert_eq!(data["catalog_failed"], false);
        assert_eq!(data["failed_resources"], 1);
        assert_eq!(data["lastrun"], 1795308284u64);
    }

    #[test]
    fn the_report_reads_back_as_written_and_from_choria() {
        let failed = FinishedRun {
            initiated_at: 1795308290,
            finished_at: 1795308295,
            exit_code: Some(1),
        };
        let written = super::report(Some(summary(APPLIED)), Some(&failed));
        let read = LastRunReport::from_data(&written.to_data()).unwrap();
        assert_eq!(read, written);
        assert_eq!(written.clone().into_data(), written.to_data());
        assert!(read.run_failure.is_some());
        // Choria's agent: no catalog_failed, no run_failure, counts filled with zeros.
        let choria = json!({"failed_resources": 0, "lastrun": 1795308284.0, "config_version": "x",
                            "summary": {"time": {"last_run": 1795308284}}});
        let read = LastRunReport::from_data(&choria).unwrap();
        assert_eq!(read.lastrun, Some(1795308284));
        assert_eq!(read.catalog_failed, None);
        assert_eq!(read.failed(), Some(0));
        assert!(read.summary_lacks_resources());
        assert!(LastRunReport::from_data(&json!({"catalog_failed": "no"})).is_err());
    }

    #[test]
    fn reading_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last_run_summary.yaml");
        assert!(matches!(read(&path), Ok(None)));
        std::fs::write(&path, APPLIED).unwrap();
        assert_eq!(last_run(read(&path).unwrap().as_ref()), 1795308284);
        std::fs::write(&path, "- not\n- a summary\n").unwrap();
        assert!(matches!(read(&path), Err(SummaryError::NotASummary { .. })));
        std::fs::write(&path, "a: [").unwrap();
        let error = read(&path).unwrap_err();
        assert!(matches!(error, SummaryError::Yaml { .. }), "{error}");
        assert!(error
            .to_string()
            .starts_with(&format!("cannot read {}: ", path.display())));
    }
}
