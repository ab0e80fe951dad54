//! A simulated Puppet agent behind Choria's `puppet` RPC agent: enable/disable lock, runs that
//! take time, and the last run's summary. `runonce` starts a run lasting `run_duration`; while
//! it lasts `status` says "applying a catalog"; once over, `lastrun` moves past the run's
//! `initiated_at` and `last_run_summary` reports the file's resource counts. A node with
//! `catalog_failed` gets no catalog: its runs end with a summary that has no resources
//! section, reported as the node agent reports it (`catalog_failed`, null counts).

use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::agent::{flag_input, string_input, Agent, NodeInfo};
use crate::protocol::{statuscode, unix_now, Request, RpcReplyBody};
use crate::transport::BoxFuture;

/// How long before the fleet started the node's previous (successful) run happened.
const PREVIOUS_RUN_AGO_SECS: u64 = 1800;

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

/// One node's Puppet agent.
pub(crate) struct PuppetAgent {
    spec: PuppetSpec,
    state: Mutex<PuppetState>,
}

struct PuppetState {
    disabled_message: Option<String>,
    running: Option<Run>,
    last: RunSummary,
}

struct Run {
    initiated_at: u64,
    ends: Instant,
    noop: bool,
}

#[derive(Clone)]
struct RunSummary {
    lastrun: u64,
    /// The catalog failed: no resources section, no counts.
    catalog_failed: bool,
    failed: u64,
    changed: u64,
    out_of_sync: u64,
    total: u64,
    total_time: f64,
    config_version: String,
}

impl PuppetAgent {
    pub fn new(spec: PuppetSpec) -> PuppetAgent {
        let lastrun = unix_now().saturating_sub(PREVIOUS_RUN_AGO_SECS);
        let disabled_message = spec.disabled.then(|| {
            spec.disable_message
                .clone()
                .unwrap_or_else(|| "disabled in the fleet file".to_string())
        });
        let last = RunSummary {
            lastrun,
            catalog_failed: false,
            failed: 0,
            changed: 0,
            out_of_sync: 0,
            total: spec.total_resources,
            total_time: spec.run_duration.as_secs_f64(),
            config_version: lastrun.to_string(),
        };
        PuppetAgent {
            spec,
            state: Mutex::new(PuppetState {
                disabled_message,
                running: None,
                last,
            }),
        }
    }

    fn answer(&self, request: &Request) -> RpcReplyBody {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.finish_run(&self.spec);
        match request.action.as_str() {
            "disable" => state.disable(request),
            "enable" => state.enable(),
            "status" => RpcReplyBody::ok(state.status(&self.spec)),
            "last_run_summary" => RpcReplyBody::ok(state.last.to_json()),
            "runonce" => state.run_once(&self.spec, request),
            other => RpcReplyBody::unknown_action("puppet", other),
        }
    }
}

impl PuppetState {
    /// Records a run whose time is over as the last run.
    fn finish_run(&mut self, spec: &PuppetSpec) {
        let Some(run) = self.running.take_if(|run| Instant::now() >= run.ends) else {
            return;
        };
        let (failed, changed) = (spec.failed_resources, spec.changed_resources);
        let lastrun = run.initiated_at + spec.run_duration.as_secs();
        tracing::debug!(
            initiated_at = run.initiated_at,
            lastrun,
            failed,
            catalog_failed = spec.catalog_failed,
            "simulated Puppet run finished"
        );
        self.last = RunSummary {
            lastrun,
            catalog_failed: spec.catalog_failed,
            failed,
            changed: if run.noop { 0 } else { changed },
            out_of_sync: failed + changed,
            total: spec.total_resources,
            total_time: spec.run_duration.as_secs_f64(),
            config_version: run.initiated_at.to_string(),
        };
    }

    fn disable(&mut self, request: &Request) -> RpcReplyBody {
        if let Some(message) = &self.disabled_message {
            return RpcReplyBody::fail(
                statuscode::ABORTED,
                format!("Could not disable Puppet: Already disabled: {message}"),
            );
        }
        let message = string_input(request, "message")
            .map(str::to_string)
            .unwrap_or_else(|| format!("Disabled via orchestrate by {}", request.caller));
        let status = format!("Successfully locked the Puppet agent: {message}");
        self.disabled_message = Some(message);
        RpcReplyBody::ok(json!({ "status": status, "enabled": false }))
    }

    fn enable(&mut self) -> RpcReplyBody {
        if self.disabled_message.take().is_none() {
            return RpcReplyBody::fail(
                statuscode::ABORTED,
                "Could not enable Puppet: Already enabled",
            );
        }
        RpcReplyBody::ok(
            json!({ "status": "Successfully enabled the Puppet agent", "enabled": true }),
        )
    }

    fn status(&self, spec: &PuppetSpec) -> Value {
        let applying = self.running.is_some();
        let enabled = self.disabled_message.is_none();
        let idling = spec.daemon && !applying;
        let status = if !enabled {
            "disabled"
        } else if applying {
            "applying a catalog"
        } else if idling {
            "idling"
        } else {
            "stopped"
        };
        let since_lastrun = unix_now().saturating_sub(self.last.lastrun);
        json!({
            "applying": applying,
            "idling": idling,
            "enabled": enabled,
            "daemon_present": spec.daemon,
            "lastrun": self.last.lastrun,
            "since_lastrun": since_lastrun,
            "status": status,
            "disable_message": self.disabled_message.clone().unwrap_or_default(),
            "message": format!("Currently {status}; last completed run {since_lastrun} seconds ago"),
        })
    }

    fn run_once(&mut self, spec: &PuppetSpec, request: &Request) -> RpcReplyBody {
        if let Some(message) = &self.disabled_message {
            return RpcReplyBody::fail(
                statuscode::ABORTED,
                format!("Puppet is disabled: '{message}'"),
            );
        }
        if self.running.is_some() {
            return RpcReplyBody::fail(
                statuscode::ABORTED,
                "Puppet is currently applying a catalog, cannot run now",
            );
        }
        let initiated_at = unix_now();
        let noop = flag_input(request, "noop");
        tracing::debug!(caller = %request.caller, initiated_at, noop, "simulated Puppet run started");
        self.running = Some(Run {
            initiated_at,
            ends: Instant::now() + spec.run_duration,
            noop,
        });
        let mode = if noop { " --noop" } else { "" };
        RpcReplyBody::ok(json!({
            "summary": format!("Started a Puppet run using the 'puppet agent --onetime --no-daemonize --no-splay{mode}' command"),
            "initiated_at": initiated_at,
        }))
    }
}

impl RunSummary {
    fn to_json(&self) -> Value {
        if self.catalog_failed {
            return self.failed_catalog_json();
        }
        let summary = json!({
            "version": { "config": self.config_version, "puppet": "7.23.0" },
            "resources": { "failed": self.failed, "changed": self.changed,
                           "out_of_sync": self.out_of_sync, "total": self.total },
            "time": { "last_run": self.lastrun, "total": self.total_time, "config_retrieval": 0.5 },
            "events": { "failure": self.failed, "success": self.changed, "total": self.failed + self.changed },
        });
        json!({
            "failed_resources": self.failed,
            "changed_resources": self.changed,
            "out_of_sync_resources": self.out_of_sync,
            "total_resources": self.total,
            "total_time": self.total_time,
            "config_retrieval_time": 0.5,
            "lastrun": self.lastrun,
            "since_lastrun": unix_now().saturating_sub(self.lastrun),
            "config_version": self.config_version,
            "catalog_failed": false,
            "summary": summary,
        })
    }

    /// What `puppet agent` writes when it gets no catalog (no resources section), reported
    /// as the node agent reports it (src/agent/puppet/summary.rs).
    fn failed_catalog_json(&self) -> Value {
        json!({
            "failed_resources": null,
            "changed_resources": null,
            "out_of_sync_resources": null,
            "corrective_change_resources": null,
            "total_resources": null,
            "total_time": 0.5,
            "config_retrieval_time": 0.5,
            "lastrun": self.lastrun,
            "since_lastrun": unix_now().saturating_sub(self.lastrun),
            "config_version": null,
            "catalog_failed": true,
            "summary": {
                "version": { "config": null, "puppet": "7.23.0" },
                "time": { "last_run": self.lastrun, "total": 0.5, "config_retrieval": 0.5 },
            },
        })
    }
}

impl Agent for PuppetAgent {
    fn handle<'a>(
        &'a self,
        _node: &'a NodeInfo,
        request: &'a Request,
    ) -> BoxFuture<'a, RpcReplyBody> {
        let reply = self.answer(request);
        Box::pin(async move { reply })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Filter;

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

    fn ask(agent: &PuppetAgent, action: &str, data: Value) -> RpcReplyBody {
        agent.answer(&Request {
            id: "1".into(),
            sender: "s".into(),
            caller: "choria=rip.mcollective".into(),
            collective: "mcollective".into(),
            agent: "puppet".into(),
            action: action.into(),
            data,
            ttl: 60,
            time: unix_now(),
            filter: Filter::default(),
            reply_to: "r".into(),
        })
    }

    #[test]
    fn disable_and_enable_lock_and_refuse_twice() {
        let agent = PuppetAgent::new(spec(Duration::ZERO, 0));
        let disabled = ask(&agent, "disable", json!({"message": "maintenance by rip"}));
        assert_eq!(disabled.statuscode, 0);
        assert_eq!(disabled.data["enabled"], false);
        let again = ask(&agent, "disable", json!({}));
        assert_eq!(again.statuscode, statuscode::ABORTED);
        assert!(again.statusmsg.contains("Already disabled"));
        let status = ask(&agent, "status", json!({}));
        assert_eq!(status.data["status"], "disabled");
        assert_eq!(status.data["disable_message"], "maintenance by rip");
        let run = ask(&agent, "runonce", json!({}));
        assert_eq!(run.statuscode, statuscode::ABORTED);
        assert_eq!(run.statusmsg, "Puppet is disabled: 'maintenance by rip'");
        assert_eq!(ask(&agent, "enable", json!({})).data["enabled"], true);
        assert_eq!(
            ask(&agent, "enable", json!({})).statuscode,
            statuscode::ABORTED
        );
        assert_eq!(ask(&agent, "status", json!({})).data["status"], "idling");
    }

    #[tokio::test]
    async fn a_run_applies_for_its_duration_then_reports() {
        let agent = PuppetAgent::new(spec(Duration::from_millis(150), 2));
        let before = ask(&agent, "status", json!({})).data["lastrun"]
            .as_u64()
            .unwrap();
        let started = ask(&agent, "runonce", json!({"force": true}));
        assert_eq!(started.statuscode, 0);
        let initiated_at = started.data["initiated_at"].as_u64().unwrap();
        assert!(initiated_at > before);
        let applying = ask(&agent, "status", json!({}));
        assert_eq!(applying.data["applying"], true);
        assert_eq!(applying.data["status"], "applying a catalog");
        assert_eq!(
            ask(&agent, "runonce", json!({})).statuscode,
            statuscode::ABORTED
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
        assert_eq!(
            ask(&agent, "reboot", json!({})).statuscode,
            statuscode::UNKNOWN_ACTION
        );
    }

    #[tokio::test]
    async fn a_failed_catalog_reports_as_the_node_agent_does() {
        let mut failing = spec(Duration::ZERO, 0);
        failing.catalog_failed = true;
        let agent = PuppetAgent::new(failing);
        let before = ask(&agent, "last_run_summary", json!({}));
        assert_eq!(before.data["catalog_failed"], false);
        let started = ask(&agent, "runonce", json!({"force": true}));
        let initiated_at = started.data["initiated_at"].as_u64().unwrap();
        let summary = ask(&agent, "last_run_summary", json!({}));
        assert_eq!(summary.data["catalog_failed"], true);
        assert_eq!(summary.data["failed_resources"], Value::Null);
        assert!(summary.data["summary"].get("resources").is_none());
        assert!(summary.data["lastrun"].as_u64().unwrap() >= initiated_at);
        assert!(crate::site::run::verdict(&summary.data, initiated_at).is_err());
        assert_eq!(crate::site::run::verdict(&before.data, 0), Ok(()));
    }

    #[test]
    fn a_stopped_daemon_and_a_fleet_file_lock() {
        let mut stopped = spec(Duration::ZERO, 0);
        stopped.daemon = false;
        assert_eq!(
            ask(&PuppetAgent::new(stopped), "status", json!({})).data["status"],
            "stopped"
        );
        let mut locked = spec(Duration::ZERO, 0);
        locked.disabled = true;
        let status = ask(&PuppetAgent::new(locked), "status", json!({}));
        assert_eq!(status.data["enabled"], false);
        assert_eq!(status.data["disable_message"], "disabled in the fleet file");
    }
}
