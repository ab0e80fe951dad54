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
mod serve;
#[cfg(test)]
pub mod spy;
mod template;

use std::path::PathBuf;

use crate::transport::TransportError;

pub use copies::made_identity;
pub use file::FleetFile;
pub use latency::Latency;
pub use range::expand_identity;
pub use serve::SimulatedFleet;

/// Why a fleet could not be read or served.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("cannot read fleet file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("cannot serve the fleet: {0}")]
    Transport(#[from] TransportError),
}
