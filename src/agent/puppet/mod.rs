//! The `puppet` agent on a real node: Choria's `puppet` RPC agent (REFERENCE.md section 3)
//! done with Puppet's own files and commands, so it agrees with `puppet agent --disable`,
//! a Puppet daemon and runs started by hand.
//!
//! | action | what it does |
//! |---|---|
//! | `disable` | writes `agent_disabled_lockfile`; fails "Already disabled" |
//! | `enable` | removes it |
//! | `status` | reads the locks, the daemon's PID file and `last_run_summary.yaml` |
//! | `last_run_summary` | reads `last_run_summary.yaml` (see [`summary`]) |
//! | `runonce` | starts the run command in the background |

mod lock;
mod paths;
mod runs;
mod summary;

#[cfg(test)]
mod real_puppet_tests;

use std::path::PathBuf;

use regex::Regex;
use serde_json::{json, Value};

use super::config::PuppetConfig;
use super::{Agent, NodeInfo};
use crate::protocol::{statuscode, unix_now, Request, RpcReplyBody};
use crate::transport::BoxFuture;

pub use paths::PuppetPaths;
pub use runs::{FinishedRun, RunTracker};

/// Drives the node's Puppet.
pub struct PuppetAgent {
    paths: PuppetPaths,
    /// The run command before `runonce`'s flags: `puppet agent --onetime --no-daemonize` or
    /// `puppet apply`, with the configured settings.
    command: Vec<String>,
    /// `puppet apply`'s manifest, which goes last.
    manifest: Option<PathBuf>,
    log: Option<PathBuf>,
    runs: RunTracker,
}

impl PuppetAgent {
    /// The agent for `config`, asking Puppet where its files are when the configuration
    /// does not say.
    pub fn new(config: &PuppetConfig) -> Result<PuppetAgent, String> {
        let paths = PuppetPaths::resolve(config)?;
        Ok(PuppetAgent::with_paths(config, paths))
    }

    pub fn with_paths(config: &PuppetConfig, paths: PuppetPaths) -> PuppetAgent {
        let mut command = vec![config.bin.display().to_string()];
        match &config.apply {
            Some(_) => command.push("apply".into()),
            None => command.extend(["agent", "--onetime", "--no-daemonize"].map(String::from)),
        }
        command.extend(paths::setting_args(&config.settings));
        PuppetAgent {
            paths,
            command,
            manifest: config.apply.clone(),
            log: config.log.clone(),
            runs: RunTracker::default(),
        }
    }

    pub fn paths(&self) -> &PuppetPaths {
        &self.paths
    }

    /// The run command with no `runonce` flags, as a line for messages.
    pub fn describe_command(&self) -> String {
        let mut words = self.command.clone();
        words.extend(self.manifest.iter().map(|path| path.display().to_string()));
        words.join(" ")
    }

    fn answer(&self, request: &Request) -> RpcReplyBody {
        match request.action.as_str() {
            "disable" => self.disable(request),
            "enable" => self.enable(),
            "status" => RpcReplyBody::ok(self.status()),
            "last_run_summary" => self.last_run_summary(request),
            "runonce" => self.run_once(request),
            other => RpcReplyBody::unknown_action("puppet", other),
        }
    }

    fn disable(&self, request: &Request) -> RpcReplyBody {
        let message = match request.data.get("message") {
            None | Some(Value::Null) => format!(
                "Disabled via orchestrate by {} at {}",
                request.caller,
                unix_now()
            ),
            Some(Value::String(message)) => message.clone(),
            Some(_) => return invalid("message must be a string"),
        };
        match lock::disable(&self.paths.agent_disabled_lockfile, &message) {
            Ok(()) => RpcReplyBody::ok(json!({
                "status": format!("Successfully locked the Puppet agent: {message}"),
                "enabled": false,
            })),
            Err(lock::DisableError::Already(current)) => RpcReplyBody::fail(
                statuscode::ABORTED,
                format!("Could not disable Puppet: Already disabled: {current}"),
            ),
            Err(lock::DisableError::Io(error)) => RpcReplyBody::fail(
                statuscode::UNKNOWN_ERROR,
                format!(
                    "Could not disable Puppet: cannot write {}: {error}",
                    self.paths.agent_disabled_lockfile.display()
                ),
            ),
        }
    }

    fn enable(&self) -> RpcReplyBody {
        match lock::enable(&self.paths.agent_disabled_lockfile) {
            Ok(true) => RpcReplyBody::ok(
                json!({ "status": "Successfully enabled the Puppet agent", "enabled": true }),
            ),
            Ok(false) => RpcReplyBody::fail(
                statuscode::ABORTED,
                "Could not enable Puppet: Already enabled",
            ),
            Err(error) => RpcReplyBody::fail(
                statuscode::UNKNOWN_ERROR,
                format!(
                    "Could not enable Puppet: cannot remove {}: {error}",
                    self.paths.agent_disabled_lockfile.display()
                ),
            ),
        }
    }

    /// Applying while a catalog-run lock names a live process or a run started here goes on
    /// (reported even while disabled: a run may be under way when someone disables, and
    /// "disable, then wait until idle" relies on seeing it).
    fn applying(&self) -> bool {
        self.runs.is_running() || lock::pid_file_is_live(&self.paths.agent_catalog_run_lockfile)
    }

    fn status(&self) -> Value {
        let disable_message = lock::disabled_message(&self.paths.agent_disabled_lockfile);
        let enabled = disable_message.is_none();
        let applying = self.applying();
        let daemon_present = lock::pid_file_is_live(&self.paths.pidfile);
        let idling = daemon_present && !applying;
        let status = if !enabled {
            "disabled"
        } else if applying {
            "applying a catalog"
        } else if idling {
            "idling"
        } else {
            "stopped"
        };
        let summary = summary::read(&self.paths.lastrunfile).unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot read the last run summary");
            None
        });
        let lastrun =
            summary::last_completed_run(summary.as_ref(), self.runs.last_finished().as_ref());
        let since_lastrun = unix_now().saturating_sub(lastrun);
        json!({
            "applying": applying,
            "idling": idling,
            "enabled": enabled,
            "daemon_present": daemon_present,
            "lastrun": lastrun,
            "since_lastrun": since_lastrun,
            "status": status,
            "disable_message": disable_message.unwrap_or_default(),
            "message": format!("Currently {status}; last completed run {since_lastrun} seconds ago"),
        })
    }

    fn last_run_summary(&self, request: &Request) -> RpcReplyBody {
        if request
            .data
            .get("logs")
            .is_some_and(|logs| !logs.is_boolean() && !logs.is_null())
        {
            return invalid("logs must be a boolean");
        }
        let own = self.runs.last_finished();
        match summary::read(&self.paths.lastrunfile) {
            Ok(None) if own.is_none() => RpcReplyBody::fail(
                statuscode::ABORTED,
                format!(
                    "Puppet has not run yet: there is no {}",
                    self.paths.lastrunfile.display()
                ),
            ),
            Ok(found) => RpcReplyBody::ok(summary::report(found, own.as_ref())),
            Err(error) => RpcReplyBody::fail(statuscode::UNKNOWN_ERROR, error),
        }
    }

    fn run_once(&self, request: &Request) -> RpcReplyBody {
        if let Some(message) = lock::disabled_message(&self.paths.agent_disabled_lockfile) {
            return RpcReplyBody::fail(
                statuscode::ABORTED,
                format!("Puppet is disabled: '{message}'"),
            );
        }
        if self.applying() {
            return RpcReplyBody::fail(
                statuscode::ABORTED,
                "Puppet is currently applying a catalog, cannot run now",
            );
        }
        let flags = match run_flags(request) {
            Ok(flags) => flags,
            Err(reply) => return reply,
        };
        let mut command = self.command.clone();
        command.extend(flags);
        command.extend(self.manifest.iter().map(|path| path.display().to_string()));
        match self.runs.start(&command, self.log.as_deref()) {
            Ok(initiated_at) => RpcReplyBody::ok(json!({
                "summary": format!("Started a Puppet run using the '{}' command", command.join(" ")),
                "initiated_at": initiated_at,
            })),
            Err(error) if error.contains("currently applying") => {
                RpcReplyBody::fail(statuscode::ABORTED, error)
            }
            Err(error) => RpcReplyBody::fail(
                statuscode::UNKNOWN_ERROR,
                format!("Could not start Puppet: {error}"),
            ),
        }
    }
}

fn invalid(message: impl Into<String>) -> RpcReplyBody {
    RpcReplyBody::fail(statuscode::INVALID_DATA, message)
}

/// The command-line flags for `runonce`'s inputs. Every value is checked, as each becomes a
/// word of a command line.
fn run_flags(request: &Request) -> Result<Vec<String>, RpcReplyBody> {
    let flag = |name: &str| -> Result<Option<bool>, RpcReplyBody> {
        match request.data.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(*value)),
            Some(_) => Err(invalid(format!("{name} must be a boolean"))),
        }
    };
    let mut flags = Vec::new();
    let force = flag("force")?.unwrap_or(false);
    let splay = if force { Some(false) } else { flag("splay")? };
    for (name, value) in [
        ("noop", flag("noop")?),
        ("splay", splay),
        ("use_cached_catalog", flag("use_cached_catalog")?),
    ] {
        match value {
            Some(true) => flags.push(format!("--{name}")),
            Some(false) => flags.push(format!("--no-{name}")),
            None => {}
        }
    }
    if let Some(tags) = tags_input(request)? {
        flags.extend(["--tags".to_string(), tags]);
    }
    match request.data.get("environment") {
        None | Some(Value::Null) => {}
        Some(Value::String(environment)) if valid_environment(environment) => {
            flags.extend(["--environment".to_string(), environment.clone()]);
        }
        Some(_) => {
            return Err(invalid(
                "environment must be a Puppet environment name (lowercase letters, digits, _)",
            ))
        }
    }
    Ok(flags)
}

/// `tags`: a comma-separated string or a list of tags, as Puppet's `--tags` takes them.
fn tags_input(request: &Request) -> Result<Option<String>, RpcReplyBody> {
    let tags: Vec<&str> = match request.data.get("tags") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text.split(',').map(str::trim).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or_else(|| invalid("tags must be strings")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("tags must be a string or a list of strings")),
    };
    let pattern = Regex::new(r"\A[a-z0-9_][a-z0-9_:.\-]*\z").expect("a valid regex");
    if let Some(bad) = tags.iter().find(|tag| !pattern.is_match(tag)) {
        return Err(invalid(format!("{bad:?} is not a Puppet tag")));
    }
    Ok((!tags.is_empty()).then(|| tags.join(",")))
}

fn valid_environment(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
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

/// A request to the `puppet` agent, for tests.
#[cfg(test)]
pub(crate) fn request(action: &str, data: Value) -> Request {
    Request {
        id: "0123456789abcdef0123456789abcdef".into(),
        sender: "orch".into(),
        caller: "choria=rip.mcollective".into(),
        collective: "mcollective".into(),
        agent: "puppet".into(),
        action: action.into(),
        data,
        ttl: 60,
        time: unix_now(),
        filter: Default::default(),
        reply_to: "mcollective.reply.orch.0123456789abcdef0123456789abcdef".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(dir: &std::path::Path, run: &str) -> PuppetAgent {
        let config = PuppetConfig {
            bin: PathBuf::from("sh"),
            ..PuppetConfig::default()
        };
        let paths = PuppetPaths {
            agent_disabled_lockfile: dir.join("disabled.lock"),
            agent_catalog_run_lockfile: dir.join("run.lock"),
            lastrunfile: dir.join("last_run_summary.yaml"),
            pidfile: dir.join("agent.pid"),
            classfile: None,
        };
        let mut agent = PuppetAgent::with_paths(&config, paths);
        agent.command = vec!["sh".into(), "-c".into(), run.into(), "puppet".into()];
        agent
    }

    #[test]
    fn status_follows_the_lock_files() {
        let dir = tempfile::tempdir().unwrap();
        let agent = agent(dir.path(), "true");
        let status = agent.status();
        assert_eq!(status["status"], "stopped");
        assert_eq!(status["lastrun"], 0);
        std::fs::write(dir.path().join("agent.pid"), std::process::id().to_string()).unwrap();
        assert_eq!(agent.status()["status"], "idling");
        assert_eq!(agent.status()["daemon_present"], true);
        std::fs::write(dir.path().join("run.lock"), std::process::id().to_string()).unwrap();
        let status = agent.status();
        assert_eq!(status["status"], "applying a catalog");
        assert_eq!(status["idling"], false);
        let refused = agent.answer(&request("runonce", json!({})));
        assert_eq!(refused.statuscode, statuscode::ABORTED);
        assert!(refused.statusmsg.contains("currently applying"));
        std::fs::write(dir.path().join("disabled.lock"), "").unwrap();
        let status = agent.status();
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
            if !agent.applying() {
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
        let agent = PuppetAgent::with_paths(
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
        let agent = PuppetAgent::with_paths(&masterless, agent.paths.clone());
        assert_eq!(
            agent.describe_command(),
            "puppet apply --vardir /v /etc/puppet/site.pp"
        );
    }
}
