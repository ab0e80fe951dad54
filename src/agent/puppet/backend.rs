//! What the `puppet` agent needs of a Puppet: its disable lock, whether it is applying a
//! catalog, its daemon, its last run summary, and a way to start a run. Two Puppets implement
//! it: the node's own ([`RealPuppet`](super::RealPuppet): Puppet's files and commands) and the
//! simulated fleet's (`fleet/puppet.rs`). Everything said over RPC is decided in the agent, once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::inputs::RunOptions;
use super::runs::FinishedRun;
use super::summary::SummaryError;

/// A Puppet the `puppet` agent drives. Each call looks at the Puppet as it is now: a run may
/// end between two calls, as it may on a real node.
pub trait PuppetBackend: Send + Sync + 'static {
    /// The disable lock's message; None when Puppet is enabled. A lock without a message
    /// gives "".
    fn disabled_message(&self) -> Option<String>;

    /// Takes the disable lock with `message`; fails when it is taken already.
    fn disable(&self, message: &str) -> Result<(), DisableError>;

    /// Releases the disable lock; false when there was none.
    fn enable(&self) -> Result<bool, EnableError>;

    /// Whether a catalog is being applied now.
    fn applying(&self) -> bool;

    /// Whether the Puppet daemon runs.
    fn daemon_present(&self) -> bool;

    /// `last_run_summary.yaml` as JSON values; None when Puppet has written none. Shared, not
    /// copied: every `status` reads it, and a Puppet that keeps its summary (the simulated
    /// one) hands out the one it has.
    fn summary(&self) -> Result<Option<Arc<Value>>, SummaryError>;

    /// Where the summary is, to name it when there is none.
    fn summary_file(&self) -> &Path;

    /// The last run started through [`start_run`](Self::start_run) that has ended.
    fn last_finished(&self) -> Option<FinishedRun>;

    /// Starts a run in the background with `options`.
    fn start_run(&self, options: &RunOptions) -> Result<StartedRun, StartError>;
}

/// A run that has started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedRun {
    /// The command line it runs, for the reply.
    pub command: String,
    /// When it started (Unix seconds).
    pub initiated_at: u64,
}

/// Why the agent could not be disabled.
#[derive(Debug, thiserror::Error)]
pub enum DisableError {
    /// Disabled already, with that message.
    #[error("Already disabled: {0}")]
    Already(String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Why the agent could not be enabled.
#[derive(Debug, thiserror::Error)]
#[error("cannot remove {}: {source}", path.display())]
pub struct EnableError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Why a run could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A run started here still goes.
    #[error("a Puppet run started here is still going")]
    Busy,
    #[error("the run command is empty")]
    EmptyCommand,
    #[error("cannot open {}: {source}", path.display())]
    OpenLog {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// No thread could be had to watch the run, so its end would go unseen.
    #[error("cannot watch the Puppet run: {0}")]
    Watch(#[source] std::io::Error),
}
