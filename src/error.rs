//! The one error type of the command line, and the exit code each kind maps to.

use std::path::PathBuf;

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
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::CheckFailed { .. } => 1,
            Error::PathNotFound { .. } | Error::Read { .. } | Error::Io(_) => 2,
            Error::Internal { .. } => 3,
        }
    }

    /// Whether the message still needs printing (a failed check has printed its diagnostics).
    pub fn is_reported(&self) -> bool {
        matches!(self, Error::CheckFailed { .. } | Error::Internal { .. })
    }
}
