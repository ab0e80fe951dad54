//! The simulated fleet's Puppet, behind the one `puppet` agent (`agent/puppet`): an
//! enable/disable lock, runs that take time, and the summary each run leaves. `runonce` starts
//! a run lasting `run_duration`; while it lasts the agent says "applying a catalog"; once over,
//! the summary is of that run (`time.last_run` past its start) with the spec's resource
//! counts. A node with `catalog_failed` gets no catalog: its runs leave a summary with no
//! resources section, as `puppet agent` does.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::agent::puppet::{
    DisableError, EnableError, FinishedRun, PuppetBackend, RunOptions, StartError, StartedRun,
    SummaryError,
};
use crate::protocol::unix_now;

/// How long before the fleet started the node's previous (successful) run happened.
const PREVIOUS_RUN_AGO_SECS: u64 = 1800;

/// The run command a simulated node says it starts, before `runonce`'s flags.
const RUN_COMMAND: &str = "puppet agent --onetime --no-daemonize";

/// Where a simulated node's summary would be: Puppet's default.
const SUMMARY_FILE: &str = "/opt/puppetlabs/puppet/public/last_run_summary.yaml";

/// The Puppet version the summaries name.
const PUPPET_VERSION: &str = "7.23.0";

/// A node's `puppet:` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PuppetSpec {
    #[serde(
        default = "default_run_duration",
        deserialize_with = "crate::duration::deserialize"
    )]
    pub run_duration: Duration,
    /// Resources that fail in every run `runonce` starts.
    #[serde(default)]
    pub failed_resources: u64,
    #[serde(default)]
    pub changed_resources: u64,
    #[serde(default = "default_total_resources")]
    pub total_resources: u64,
    /// Every run `runonce` starts fails to compile its catalog and applies nothing.
    #[serde(default)]
    pub catalog_failed: bool,
    /// Whether the agent starts disabled.
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub disable_message: Option<String>,
    /// Whether the Puppet daemon runs (status "idling") or not ("stopped").
    #[serde(default = "yes")]
    pub daemon: bool,
}

fn default_run_duration() -> Duration {
    Duration::from_secs(2)
}

fn default_total_resources() -> u64 {
    100
}

fn yes() -> bool {
    true
}

/// One node's simulated Puppet.
pub(crate) struct SimulatedPuppet {
    spec: PuppetSpec,
    state: Mutex<PuppetState>,
}

struct PuppetState {
    disabled_message: Option<String>,
    running: Option<Run>,
    /// `last_run_summary.yaml` as the last run left it, shared with the agent's readers.
    summary: Arc<Value>,
    finished: Option<FinishedRun>,
}

struct Run {
    initiated_at: u64,
    ends: Instant,
    noop: bool,
}

/// What a run's summary says.
struct RunCounts {
    failed: u64,
    changed: u64,
    total: u64,
}

impl SimulatedPuppet {
    pub fn new(spec: PuppetSpec) -> SimulatedPuppet {
        let lastrun = unix_now().saturating_sub(PREVIOUS_RUN_AGO_SECS);
        let disabled_message = spec.disabled.then(|| {
            spec.disable_message
                .clone()
                .unwrap_or_else(|| "disabled in the fleet file".to_string())
        });
        let previous = RunCounts {
            failed: 0,
            changed: 0,
            total: spec.total_resources,
        };
        let summary = applied_summary(&previous, lastrun, lastrun, spec.run_duration);
        SimulatedPuppet {
            spec,
            state: Mutex::new(PuppetState {
                disabled_message,
                running: None,
                summary: Arc::new(summary),
                finished: None,
            }),
        }
    }

    /// The state as it is now: a run whose time is over has ended.
    fn state(&self) -> MutexGuard<'_, PuppetState> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.finish_run(&self.spec);
        state
    }
}

impl PuppetState {
    /// Records a run whose time is over as the last run.
    fn finish_run(&mut self, spec: &PuppetSpec) {
        let Some(run) = self.running.take_if(|run| Instant::now() >= run.ends) else {
            return;
        };
        let lastrun = run.initiated_at + spec.run_duration.as_secs();
        tracing::debug!(
            initiated_at = run.initiated_at,
            lastrun,
            failed = spec.failed_resources,
            catalog_failed = spec.catalog_failed,
            "simulated Puppet run finished"
        );
        self.summary = Arc::new(if spec.catalog_failed {
            failed_catalog_summary(lastrun)
        } else {
            let counts = RunCounts {
                failed: spec.failed_resources,
                changed: if run.noop { 0 } else { spec.changed_resources },
                total: spec.total_resources,
            };
            applied_summary(&counts, run.initiated_at, lastrun, spec.run_duration)
        });
        // `puppet agent --onetime` exits 1 when its catalog fails, 0 otherwise.
        self.finished = Some(FinishedRun {
            initiated_at: run.initiated_at,
            finished_at: lastrun,
            exit_code: Some(if spec.catalog_failed { 1 } else { 0 }),
        });
    }
}

/// The summary of a run that applied its catalog (configuration version: when it started).
fn applied_summary(
    counts: &RunCounts,
    initiated_at: u64,
    lastrun: u64,
    run_duration: Duration,
) -> Value {
    json!({
        "version": { "config": initiated_at.to_string(), "puppet": PUPPET_VERSION },
        "resources": { "failed": counts.failed, "changed": counts.changed,
                       "out_of_sync": counts.failed + counts.changed, "total": counts.total },
        "time": { "last_run": lastrun, "total": run_duration.as_secs_f64(), "config_retrieval": 0.5 },
        "events": { "failure": counts.failed, "success": counts.changed,
                    "total": counts.failed + counts.changed },
    })
}

/// What `puppet agent` writes when it gets no catalog: no resources section.
fn failed_catalog_summary(lastrun: u64) -> Value {
    json!({
        "version": { "config": null, "puppet": PUPPET_VERSION },
        "time": { "last_run": lastrun, "total": 0.5, "config_retrieval": 0.5 },
    })
}

impl PuppetBackend for SimulatedPuppet {
    fn disabled_message(&self) -> Option<String> {
        self.state().disabled_message.clone()
    }

    fn disable(&self, message: &str) -> Result<(), DisableError> {
        let mut state = self.state();
        if let Some(current) = &state.disabled_message {
            return Err(DisableError::Already(current.clone()));
        }
        state.disabled_message = Some(message.to_string());
        Ok(())
    }

    fn enable(&self) -> Result<bool, EnableError> {
        Ok(self.state().disabled_message.take().is_some())
    }

    fn applying(&self) -> bool {
        self.state().running.is_some()
    }

    fn daemon_present(&self) -> bool {
        self.spec.daemon
    }

    fn summary(&self) -> Result<Option<Arc<Value>>, SummaryError> {
        Ok(Some(Arc::clone(&self.state().summary)))
    }

    fn summary_file(&self) -> &Path {
        Path::new(SUMMARY_FILE)
    }

    fn last_finished(&self) -> Option<FinishedRun> {
        self.state().finished.clone()
    }

    fn start_run(&self, options: &RunOptions) -> Result<StartedRun, StartError> {
        let mut state = self.state();
        if state.running.is_some() {
            return Err(StartError::Busy);
        }
        let initiated_at = unix_now();
        let noop = options.noop == Some(true);
        tracing::debug!(initiated_at, noop, "simulated Puppet run started");
        state.running = Some(Run {
            initiated_at,
            ends: Instant::now() + self.spec.run_duration,
            noop,
        });
        let command = std::iter::once(RUN_COMMAND.to_string())
            .chain(options.flags())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(StartedRun {
            command,
            initiated_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::puppet::{request, PuppetAgent, ALREADY_DISABLED, ALREADY_ENABLED};
    use crate::protocol::{statuscode, RpcReplyBody};

    fn spec(run_duration: Duration, failed: u64) -> PuppetSpec {
        PuppetSpec {
            run_duration,
            failed_resources: failed,
            changed_resources: 3,
            total_resources: 50,
            catalog_failed: false,
            disabled: false,
            disable_message: None,
            daemon: true,
        }
    }

    fn simulated(spec: PuppetSpec) -> PuppetAgent<SimulatedPuppet> {
        PuppetAgent::over(SimulatedPuppet::new(spec))
    }

    fn ask(agent: &PuppetAgent<SimulatedPuppet>, action: &str, data: Value) -> RpcReplyBody {
        agent.answer(&request(action, data))
    }

    #[test]
    fn disable_and_enable_lock_and_refuse_twice() {
        let agent = simulated(spec(Duration::ZERO, 0));
        let disabled = ask(&agent, "disable", json!({"message": "maintenance by rip"}));
        assert_eq!(disabled.statuscode, 0);
        assert_eq!(disabled.data["enabled"], false);
        let again = ask(&agent, "disable", json!({}));
        assert_eq!(again.statuscode, ALREADY_DISABLED);
        assert_eq!(
            again.statusmsg,
            "Could not disable Puppet: Already disabled: maintenance by rip"
        );
        let status = ask(&agent, "status", json!({}));
        assert_eq!(status.data["status"], "disabled");
        assert_eq!(status.data["disable_message"], "maintenance by rip");
        let run = ask(&agent, "runonce", json!({}));
        assert_eq!(run.statuscode, statuscode::ABORTED);
        assert_eq!(run.statusmsg, "Puppet is disabled: 'maintenance by rip'");
        assert_eq!(ask(&agent, "enable", json!({})).data["enabled"], true);
        assert_eq!(ask(&agent, "enable", json!({})).statuscode, ALREADY_ENABLED);
        assert_eq!(ask(&agent, "status", json!({})).data["status"], "idling");
    }

    #[tokio::test]
    async fn a_run_applies_for_its_duration_then_reports() {
        let agent = simulated(spec(Duration::from_millis(150), 2));
        let before = ask(&agent, "status", json!({})).data["lastrun"]
            .as_u64()
            .unwrap();
        let started = ask(&agent, "runonce", json!({"force": true}));
        assert_eq!(started.statuscode, 0);
        assert_eq!(
            started.data["summary"],
            "Started a Puppet run using the 'puppet agent --onetime --no-daemonize --no-splay' command"
        );
        let initiated_at = started.data["initiated_at"].as_u64().unwrap();
        assert!(initiated_at > before);
        let applying = ask(&agent, "status", json!({}));
        assert_eq!(applying.data["applying"], true);
        assert_eq!(applying.data["status"], "applying a catalog");
        let busy = ask(&agent, "runonce", json!({}));
        assert_eq!(busy.statuscode, statuscode::ABORTED);
        assert_eq!(
            busy.statusmsg,
            "Puppet is currently applying a catalog, cannot run now"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let idle = ask(&agent, "status", json!({}));
        assert_eq!(idle.data["applying"], false);
        assert!(idle.data["lastrun"].as_u64().unwrap() >= initiated_at);
        let summary = ask(&agent, "last_run_summary", json!({"logs": false}));
        assert_eq!(summary.data["failed_resources"], 2);
        assert_eq!(summary.data["changed_resources"], 3);
        assert_eq!(summary.data["total_resources"], 50);
        assert_eq!(summary.data["summary"]["resources"]["failed"], 2);
        assert_eq!(summary.data["config_version"], initiated_at.to_string());
        assert_eq!(
            ask(&agent, "reboot", json!({})).statuscode,
            statuscode::UNKNOWN_ACTION
        );
    }

    #[tokio::test]
    async fn a_noop_run_changes_nothing() {
        let agent = simulated(spec(Duration::ZERO, 0));
        let started = ask(&agent, "runonce", json!({"noop": true}));
        assert!(started.data["summary"]
            .as_str()
            .unwrap()
            .ends_with("--no-daemonize --noop' command"));
        let summary = ask(&agent, "last_run_summary", json!({}));
        assert_eq!(summary.data["changed_resources"], 0);
        assert_eq!(summary.data["catalog_failed"], false);
    }

    #[tokio::test]
    async fn a_failed_catalog_reports_as_the_node_agent_does() {
        let mut failing = spec(Duration::ZERO, 0);
        failing.catalog_failed = true;
        let agent = simulated(failing);
        let before = ask(&agent, "last_run_summary", json!({}));
        assert_eq!(before.data["catalog_failed"], false);
        let started = ask(&agent, "runonce", json!({"force": true}));
        let initiated_at = started.data["initiated_at"].as_u64().unwrap();
        let summary = ask(&agent, "last_run_summary", json!({}));
        assert_eq!(summary.data["catalog_failed"], true);
        assert_eq!(summary.data["failed_resources"], Value::Null);
        assert_eq!(summary.data["config_version"], Value::Null);
        assert!(summary.data["summary"].get("resources").is_none());
        assert!(summary.data["lastrun"].as_u64().unwrap() >= initiated_at);
        assert!(crate::site::run::verdict(&summary.data, initiated_at).is_err());
        assert!(crate::site::run::verdict(&before.data, 0).is_ok());
    }

    #[test]
    fn a_stopped_daemon_and_a_fleet_file_lock() {
        let mut stopped = spec(Duration::ZERO, 0);
        stopped.daemon = false;
        assert_eq!(
            ask(&simulated(stopped), "status", json!({})).data["status"],
            "stopped"
        );
        let mut locked = spec(Duration::ZERO, 0);
        locked.disabled = true;
        let status = ask(&simulated(locked), "status", json!({}));
        assert_eq!(status.data["enabled"], false);
        assert_eq!(status.data["disable_message"], "disabled in the fleet file");
    }

    /// Where the simulation used to differ from a real node: it coerced inputs of the wrong
    /// type (a `noop` of "yes" ran a real run, a `message` of 5 took the default) and took any
    /// `logs`; it now refuses them with statuscode 4, as a real node does.
    #[test]
    fn bad_inputs_are_refused_as_on_a_real_node() {
        let agent = simulated(spec(Duration::from_secs(60), 0));
        for (action, data, message) in [
            ("runonce", json!({"noop": "yes"}), "noop must be a boolean"),
            ("runonce", json!({"force": 1}), "force must be a boolean"),
            (
                "runonce",
                json!({"tags": ["ok", "--evil"]}),
                "\"--evil\" is not a Puppet tag",
            ),
            (
                "runonce",
                json!({"environment": "Prod uction"}),
                "environment must be a Puppet environment name (lowercase letters, digits, _)",
            ),
            ("disable", json!({"message": 5}), "message must be a string"),
            (
                "last_run_summary",
                json!({"logs": "no"}),
                "logs must be a boolean",
            ),
        ] {
            let reply = ask(&agent, action, data);
            assert_eq!(reply.statuscode, statuscode::INVALID_DATA, "{action}");
            assert_eq!(reply.statusmsg, message);
        }
        // Nothing was started or locked by the refused requests.
        let status = ask(&agent, "status", json!({})).data;
        assert_eq!(status["applying"], false);
        assert_eq!(status["enabled"], true);
    }

    /// The default disable message names the time, as a real node's does.
    #[test]
    fn the_default_disable_message_names_the_caller_and_the_time() {
        let agent = simulated(spec(Duration::ZERO, 0));
        let before = unix_now();
        let disabled = ask(&agent, "disable", json!({}));
        let message = disabled.data["status"].as_str().unwrap();
        let at: u64 = message
            .strip_prefix("Successfully locked the Puppet agent: Disabled via orchestrate by choria=rip.mcollective at ")
            .unwrap_or_else(|| panic!("{message}"))
            .parse()
            .unwrap();
        assert!(at >= before && at <= unix_now(), "{message}");
    }

    /// The reply data of a simulated node is the real agent's, field for field.
    #[test]
    fn the_summary_has_the_fields_of_a_real_nodes() {
        let agent = simulated(spec(Duration::ZERO, 0));
        let summary = ask(&agent, "last_run_summary", json!({})).data;
        assert_eq!(summary["logs"], json!([]));
        assert_eq!(summary["corrective_change_resources"], 0);
        let fields: Vec<&String> = summary.as_object().unwrap().keys().collect();
        assert_eq!(
            fields,
            [
                "catalog_failed",
                "changed_resources",
                "config_retrieval_time",
                "config_version",
                "corrective_change_resources",
                "failed_resources",
                "lastrun",
                "logs",
                "out_of_sync_resources",
                "since_lastrun",
                "summary",
                "total_resources",
                "total_time"
            ]
        );
    }
}
