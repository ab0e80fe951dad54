//! The `puppet` agent: Choria's `puppet` RPC agent (REFERENCE.md section 3) over a Puppet:
//! the node's own ([`RealPuppet`]: Puppet's files and commands) or the simulated fleet's
//! (`fleet/puppet.rs`), behind [`PuppetBackend`]. Dispatch, input checks, the status and
//! every reply are here, once, so the demo fleet answers with the code a real node runs.
//!
//! | action | what it does |
//! |---|---|
//! | `disable` | takes the disable lock; fails "Already disabled" ([`ALREADY_DISABLED`]) |
//! | `enable` | releases it; fails "Already enabled" ([`ALREADY_ENABLED`]) |
//! | `status` | the lock, whether a catalog is applied, the daemon, the last run ([`Status`]) |
//! | `last_run_summary` | the last run's summary ([`LastRunReport`]) |
//! | `runonce` | starts a run in the background |
//!
//! An input of the wrong type or form is refused with statuscode 4, never coerced.

mod backend;
mod inputs;
mod lock;
mod paths;
mod real;
mod reply;
mod runs;
mod summary;

#[cfg(test)]
mod real_puppet_tests;

use std::sync::Arc;

use serde_json::json;

use super::config::PuppetConfig;
use super::{Agent, NodeInfo};
use crate::protocol::{statuscode, unix_now, Request, RpcReplyBody};
use crate::transport::BoxFuture;

pub use backend::{DisableError, EnableError, PuppetBackend, StartError, StartedRun};
pub use inputs::{InputError, RunOptions};
pub use paths::{PathsError, PuppetPaths};
pub use real::RealPuppet;
pub use reply::{State, Status, StatusReplyError, ALREADY_DISABLED, ALREADY_ENABLED};
pub use runs::FinishedRun;
pub use summary::{LastRunReport, ReportError, SummaryError};

/// Why `runonce` refuses while a catalog is applied, whoever started it.
const APPLYING: &str = "Puppet is currently applying a catalog, cannot run now";

/// The `puppet` agent over the Puppet `P`.
pub struct PuppetAgent<P = RealPuppet> {
    puppet: P,
}

impl PuppetAgent<RealPuppet> {
    /// The agent of the node's Puppet as `config` describes it, asking Puppet where its
    /// files are when the configuration does not say.
    pub fn new(config: &PuppetConfig) -> Result<PuppetAgent, PathsError> {
        RealPuppet::new(config).map(PuppetAgent::over)
    }

    pub fn paths(&self) -> &PuppetPaths {
        self.puppet.paths()
    }

    /// The run command with no `runonce` flags, as a line for messages.
    pub fn describe_command(&self) -> String {
        self.puppet.describe_command()
    }
}

impl<P: PuppetBackend> PuppetAgent<P> {
    pub fn over(puppet: P) -> PuppetAgent<P> {
        PuppetAgent { puppet }
    }

    /// The reply to `request`.
    pub fn answer(&self, request: &Request) -> RpcReplyBody {
        match request.action.as_str() {
            "disable" => self.disable(request),
            "enable" => self.enable(),
            "status" => RpcReplyBody::ok(self.status().to_data(unix_now())),
            "last_run_summary" => self.last_run_summary(request),
            "runonce" => self.run_once(request),
            other => RpcReplyBody::unknown_action("puppet", other),
        }
    }

    fn disable(&self, request: &Request) -> RpcReplyBody {
        let message = match inputs::disable_message(request, unix_now()) {
            Ok(message) => message,
            Err(error) => return invalid(error),
        };
        match self.puppet.disable(&message) {
            Ok(()) => RpcReplyBody::ok(json!({
                "status": format!("Successfully locked the Puppet agent: {message}"),
                "enabled": false,
            })),
            Err(error) => {
                let code = match error {
                    DisableError::Already(_) => ALREADY_DISABLED,
                    DisableError::Write { .. } => statuscode::UNKNOWN_ERROR,
                };
                RpcReplyBody::fail(code, format!("Could not disable Puppet: {error}"))
            }
        }
    }

    fn enable(&self) -> RpcReplyBody {
        match self.puppet.enable() {
            Ok(true) => RpcReplyBody::ok(
                json!({ "status": "Successfully enabled the Puppet agent", "enabled": true }),
            ),
            Ok(false) => {
                RpcReplyBody::fail(ALREADY_ENABLED, "Could not enable Puppet: Already enabled")
            }
            Err(error) => RpcReplyBody::fail(
                statuscode::UNKNOWN_ERROR,
                format!("Could not enable Puppet: {error}"),
            ),
        }
    }

    fn status(&self) -> Status {
        let disable_message = self.puppet.disabled_message();
        let applying = self.puppet.applying();
        let daemon_present = self.puppet.daemon_present();
        let summary = self.puppet.summary().unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot read the last run summary");
            None
        });
        let lastrun =
            summary::last_completed_run(summary.as_deref(), self.puppet.last_finished().as_ref());
        Status {
            enabled: disable_message.is_none(),
            applying,
            daemon_present,
            lastrun,
            disable_message: disable_message.unwrap_or_default(),
        }
    }

    fn last_run_summary(&self, request: &Request) -> RpcReplyBody {
        if let Err(error) = inputs::check_logs(request) {
            return invalid(error);
        }
        let own = self.puppet.last_finished();
        match self.puppet.summary() {
            Ok(None) if own.is_none() => RpcReplyBody::fail(
                statuscode::ABORTED,
                format!(
                    "Puppet has not run yet: there is no {}",
                    self.puppet.summary_file().display()
                ),
            ),
            Ok(found) => {
                let found = found.map(Arc::unwrap_or_clone);
                RpcReplyBody::ok(summary::report(found, own.as_ref()).into_data())
            }
            Err(error) => RpcReplyBody::fail(statuscode::UNKNOWN_ERROR, error.to_string()),
        }
    }

    fn run_once(&self, request: &Request) -> RpcReplyBody {
        if let Some(message) = self.puppet.disabled_message() {
            return RpcReplyBody::fail(
                statuscode::ABORTED,
                format!("Puppet is disabled: '{message}'"),
            );
        }
        if self.puppet.applying() {
            return RpcReplyBody::fail(statuscode::ABORTED, APPLYING);
        }
        let options = match RunOptions::from_request(request) {
            Ok(options) => options,
            Err(error) => return invalid(error),
        };
        match self.puppet.start_run(&options) {
            Ok(started) => RpcReplyBody::ok(json!({
                "summary": format!("Started a Puppet run using the '{}' command", started.command),
                "initiated_at": started.initiated_at,
            })),
            Err(StartError::Busy) => RpcReplyBody::fail(statuscode::ABORTED, APPLYING),
            Err(error) => RpcReplyBody::fail(
                statuscode::UNKNOWN_ERROR,
                format!("Could not start Puppet: {error}"),
            ),
        }
    }
}

fn invalid(error: InputError) -> RpcReplyBody {
    RpcReplyBody::fail(statuscode::INVALID_DATA, error.to_string())
}

impl<P: PuppetBackend> Agent for PuppetAgent<P> {
    fn handle<'a>(
        &'a self,
        _node: &'a NodeInfo,
        request: &'a Request,
    ) -> BoxFuture<'a, RpcReplyBody> {
        Box::pin(std::future::ready(self.answer(request)))
    }
}

/// A request to the `puppet` agent, for tests.
#[cfg(test)]
pub(crate) fn request(action: &str, data: serde_json::Value) -> Request {
    Request::example("puppet", action, data, Default::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn agent(dir: &std::path::Path, run: &str) -> PuppetAgent {
        let config = PuppetConfig {
            bin: "sh".into(),
            ..PuppetConfig::default()
        };
        let paths = PuppetPaths {
            agent_disabled_lockfile: dir.join("disabled.lock"),
            agent_catalog_run_lockfile: dir.join("run.lock"),
            lastrunfile: dir.join("last_run_summary.yaml"),
            pidfile: dir.join("agent.pid"),
            classfile: None,
        };
        let mut puppet = RealPuppet::with_paths(&config, paths);
        puppet.command = vec!["sh".into(), "-c".into(), run.into(), "puppet".into()];
        PuppetAgent::over(puppet)
    }

    fn status_of(agent: &PuppetAgent) -> Value {
        agent.answer(&request("status", json!({}))).data
    }

    #[test]
    fn status_follows_the_lock_files() {
        let dir = tempfile::tempdir().unwrap();
        let agent = agent(dir.path(), "true");
        let status = status_of(&agent);
        assert_eq!(status["status"], "stopped");
        assert_eq!(status["lastrun"], 0);
        std::fs::write(dir.path().join("agent.pid"), std::process::id().to_string()).unwrap();
        assert_eq!(status_of(&agent)["status"], "idling");
        assert_eq!(status_of(&agent)["daemon_present"], true);
        std::fs::write(dir.path().join("run.lock"), std::process::id().to_string()).unwrap();
        let status = status_of(&agent);
        assert_eq!(status["status"], "applying a catalog");
        assert_eq!(status["idling"], false);
        let refused = agent.answer(&request("runonce", json!({})));
        assert_eq!(refused.statuscode, statuscode::ABORTED);
        assert!(refused.statusmsg.contains("currently applying"));
        std::fs::write(dir.path().join("disabled.lock"), "").unwrap();
        let status = status_of(&agent);
        assert_eq!(status["status"], "disabled");
        assert_eq!(status["applying"], true);
        assert_eq!(status["disable_message"], "");
    }

    #[test]
    fn runonce_flags_are_checked_and_passed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("args");
        let agent = agent(dir.path(), &format!("echo \"$@\" > {}", out.display()));
        for (data, message) in [
            (json!({"noop": "yes"}), "noop must be a boolean"),
            (json!({"tags": ["ok", "--evil"]}), "is not a Puppet tag"),
            (json!({"tags": 3}), "tags must be"),
            (json!({"environment": "Prod uction"}), "environment must be"),
        ] {
            let reply = agent.answer(&request("runonce", data));
            assert_eq!(reply.statuscode, statuscode::INVALID_DATA);
            assert!(reply.statusmsg.contains(message), "{}", reply.statusmsg);
        }
        let reply = agent.answer(&request(
            "runonce",
            json!({"force": true, "splay": true, "noop": false, "tags": "a::b,c", "environment": "prod_1", "use_cached_catalog": false}),
        ));
        assert_eq!(reply.statuscode, statuscode::OK, "{}", reply.statusmsg);
        assert!(reply.data["initiated_at"].as_u64().unwrap() >= unix_now() - 5);
        for _ in 0..200 {
            if !agent.puppet.applying() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "--no-noop --no-splay --no-use_cached_catalog --tags a::b,c --environment prod_1\n"
        );
        assert_eq!(
            agent.answer(&request("reboot", json!({}))).statuscode,
            statuscode::UNKNOWN_ACTION
        );
        assert_eq!(
            agent
                .answer(&request("disable", json!({"message": 5})))
                .statuscode,
            statuscode::INVALID_DATA
        );
    }

    #[test]
    fn the_default_commands() {
        let agent = RealPuppet::with_paths(
            &PuppetConfig::default(),
            PuppetPaths {
                agent_disabled_lockfile: "/d".into(),
                agent_catalog_run_lockfile: "/c".into(),
                lastrunfile: "/l".into(),
                pidfile: "/p".into(),
                classfile: None,
            },
        );
        assert_eq!(
            agent.describe_command(),
            "puppet agent --onetime --no-daemonize"
        );
        let mut masterless = PuppetConfig {
            apply: Some("/etc/puppet/site.pp".into()),
            ..PuppetConfig::default()
        };
        masterless.settings.insert("vardir".into(), "/v".into());
        let agent = RealPuppet::with_paths(&masterless, agent.paths().clone());
        assert_eq!(
            agent.describe_command(),
            "puppet apply --vardir /v /etc/puppet/site.pp"
        );
    }
}
