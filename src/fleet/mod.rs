//! The simulated fleet: nodes described in a fleet file (docs/fleet.md), answering Choria
//! requests over any transport with the same node-side code a real node runs.

mod build;
mod copies;
mod defined;
mod file;
mod latency;
mod puppet;
mod range;
mod scripted;
mod security;
mod serve;
#[cfg(test)]
pub mod spy;
mod template;

use std::path::PathBuf;

use crate::transport::TransportError;

pub use copies::made_identity;
pub use file::{FleetFile, FleetProblem};
pub use latency::Latency;
pub use range::{expand_identity, RangeError};
pub use security::FleetSecurity;
pub use serve::SimulatedFleet;

/// Why a fleet could not be read or served. Its variants are its kinds: callers match them
/// (and an `Invalid` file's [`FleetProblem`]).
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("cannot read fleet file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {source}")]
    Parse {
        origin: String,
        source: serde_yaml_ng::Error,
    },
    #[error("{origin}: {problem}")]
    Invalid {
        origin: String,
        #[source]
        problem: FleetProblem,
    },
    #[error("cannot serve the fleet: {0}")]
    Transport(#[from] TransportError),
    #[error("the fleet's security: {problem}")]
    Security { problem: String },
}
