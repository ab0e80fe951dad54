//! The one error type of the command line, and the exit code each kind maps to.

use std::path::PathBuf;

use crate::eval::{EvalErrorKind, EvalFailure};

/// Exit codes: 0 success; 1 the run or the check failed; 2 bad usage or bad input; 3 a bug.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `check` found problems; they have been printed.
    #[error("{files} file(s) with problems")]
    CheckFailed { files: usize },
    #[error("{}: no such file or directory", path.display())]
    PathNotFound { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A bug: the parser panicked on this file.
    #[error("internal error while checking {}: please report this file", path.display())]
    Internal { path: PathBuf },
    /// The command line is wrong (a malformed argument, a playbook that does not exist).
    #[error("{message}")]
    Usage { message: String },
    /// The playbook could not be evaluated: `fail()`, a mistake in it, or discovery failing.
    #[error("{}", .0.error.message())]
    Evaluation(Box<EvalFailure>),
    /// A step failed; the run's output has said which.
    #[error("the run failed")]
    RunFailed,
    /// The run stopped because it could not go on (the cause: the broker at URL is
    /// unreachable); its output has said which steps did not run.
    #[error("the run stopped: {cause}")]
    Halted { cause: String },
    /// The fleet file cannot be used, or the simulated fleet cannot be served.
    #[error(transparent)]
    Fleet(#[from] crate::fleet::FleetError),
    /// The site's environment graph cannot be had: a mistake in the environment's code (a
    /// diagnostic), a bad graph file, a Puppet Server that refuses.
    #[error("{}", .0.message())]
    Site(Box<crate::site::source::SourceError>),
    /// Stopped at once by a second signal; the output has said what was left where.
    #[error("stopped at once")]
    Stopped,
    /// The `--report` file cannot be written.
    #[error(transparent)]
    Report(#[from] crate::report::WriteError),
    /// The site cannot be ordered: a cycle, a missing producer, an unknown `--instance`.
    #[error(transparent)]
    SiteOrder(#[from] crate::site::order::OrderError),
    /// A bug: the run's step graph had a cycle after all.
    #[error("internal error: {0}")]
    Run(crate::run::RunError),
    /// The broker cannot be reached (the message says where and why).
    #[error("{}", .0.message())]
    Connect(#[source] crate::transport::TransportError),
    /// The broker failed a connected client (a subscription refused, the connection lost).
    #[error(transparent)]
    Broker(crate::transport::TransportError),
    /// A request could not be sent or its replies collected.
    #[error(transparent)]
    Rpc(#[from] crate::rpc::RpcError),
    /// The node daemon's configuration cannot be used.
    #[error(transparent)]
    AgentConfig(#[from] crate::agent::config::ConfigError),
    /// The configuration file (src/config.rs) cannot be used.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The `security:` section cannot be used: certificates missing or wrong, a bad caller
    /// regex.
    #[error(transparent)]
    Security(#[from] crate::security::SecurityError),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::CheckFailed { .. } | Error::RunFailed | Error::Halted { .. } => 1,
            // Lost part way: the request failed, the command line was fine.
            Error::Rpc(error) if error.kind() == crate::rpc::RpcErrorKind::Unreachable => 1,
            Error::Evaluation(failure) => match failure.error.kind() {
                EvalErrorKind::Fail | EvalErrorKind::Fleet => 1,
                _ => 2,
            },
            Error::PathNotFound { .. }
            | Error::Read { .. }
            | Error::Io(_)
            | Error::Usage { .. }
            | Error::Site(_)
            | Error::Fleet(_)
            | Error::Connect(_)
            | Error::Broker(_)
            | Error::Rpc(_)
            | Error::AgentConfig(_)
            | Error::Config(_)
            | Error::Security(_)
            | Error::Report(_)
            | Error::SiteOrder(_) => 2,
            Error::Internal { .. } | Error::Run(_) => 3,
            // As a shell reports a process ended by SIGINT: 128 + 2.
            Error::Stopped => 130,
        }
    }

    /// Whether the message still needs printing (a failed check or run has printed its own).
    pub fn is_reported(&self) -> bool {
        matches!(
            self,
            Error::CheckFailed { .. } | Error::Internal { .. } | Error::RunFailed | Error::Stopped
        )
    }

    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
        }
    }
}

impl From<crate::run::RunError> for Error {
    fn from(error: crate::run::RunError) -> Error {
        match error {
            crate::run::RunError::Stopped => Error::Stopped,
            bug => Error::Run(bug),
        }
    }
}
