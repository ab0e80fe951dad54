//! The node's own Puppet, done with Puppet's own files and commands, so the agent agrees with
//! `puppet agent --disable`, a Puppet daemon and runs started by hand: the disable lock and
//! the PID files ([`lock`](super::lock)), `last_run_summary.yaml`
//! ([`summary`](super::summary)), and runs started as processes ([`runs`](super::runs)).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::backend::{DisableError, EnableError, PuppetBackend, StartError, StartedRun};
use super::inputs::RunOptions;
use super::lock;
use super::paths::{self, PathsError, PuppetPaths};
use super::runs::{FinishedRun, RunTracker};
use super::summary::{self, SummaryError};
use crate::agent::config::PuppetConfig;

/// Puppet as installed on this node.
pub struct RealPuppet {
    paths: PuppetPaths,
    /// The run command before `runonce`'s flags: `puppet agent --onetime --no-daemonize` or
    /// `puppet apply`, with the configured settings.
    pub(super) command: Vec<String>,
    /// `puppet apply`'s manifest, which goes last.
    manifest: Option<PathBuf>,
    log: Option<PathBuf>,
    runs: RunTracker,
}

impl RealPuppet {
    /// The Puppet `config` describes, asking Puppet where its files are when the
    /// configuration does not say.
    pub fn new(config: &PuppetConfig) -> Result<RealPuppet, PathsError> {
        let paths = PuppetPaths::resolve(config)?;
        Ok(RealPuppet::with_paths(config, paths))
    }

    pub fn with_paths(config: &PuppetConfig, paths: PuppetPaths) -> RealPuppet {
        let mut command = vec![config.bin.display().to_string()];
        match &config.apply {
            Some(_) => command.push("apply".into()),
            None => command.extend(["agent", "--onetime", "--no-daemonize"].map(String::from)),
        }
        command.extend(paths::setting_args(&config.settings));
        RealPuppet {
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
        self.run_command(&RunOptions::default()).join(" ")
    }

    /// The command, the flags, then `puppet apply`'s manifest.
    fn run_command(&self, options: &RunOptions) -> Vec<String> {
        let mut command = self.command.clone();
        command.extend(options.flags());
        command.extend(self.manifest.iter().map(|path| path.display().to_string()));
        command
    }
}

impl PuppetBackend for RealPuppet {
    fn disabled_message(&self) -> Option<String> {
        lock::disabled_message(&self.paths.agent_disabled_lockfile)
    }

    fn disable(&self, message: &str) -> Result<(), DisableError> {
        lock::disable(&self.paths.agent_disabled_lockfile, message)
    }

    fn enable(&self) -> Result<bool, EnableError> {
        lock::enable(&self.paths.agent_disabled_lockfile)
    }

    /// A catalog-run lock naming a live process, or a run started here going on: `puppet
    /// apply` takes no lock, and `puppet agent` takes it only after its start-up.
    fn applying(&self) -> bool {
        self.runs.is_running() || lock::pid_file_is_live(&self.paths.agent_catalog_run_lockfile)
    }

    fn daemon_present(&self) -> bool {
        lock::pid_file_is_live(&self.paths.pidfile)
    }

    fn summary(&self) -> Result<Option<Arc<Value>>, SummaryError> {
        Ok(summary::read(&self.paths.lastrunfile)?.map(Arc::new))
    }

    fn summary_file(&self) -> &Path {
        &self.paths.lastrunfile
    }

    fn last_finished(&self) -> Option<FinishedRun> {
        self.runs.last_finished()
    }

    fn start_run(&self, options: &RunOptions) -> Result<StartedRun, StartError> {
        let command = self.run_command(options);
        let initiated_at = self.runs.start(&command, self.log.as_deref())?;
        Ok(StartedRun {
            command: command.join(" "),
            initiated_at,
        })
    }
}
