//! Where the environment graph comes from: the environment's own Puppet code (the default), a
//! graph saved earlier, or a Puppet Server 5/6 that still computes it. Each gives the same
//! `EnvironmentGraph`; the ordering and the run never know which.

mod environment;
mod error;
mod file;
mod puppetserver;

use std::path::PathBuf;

pub use environment::{from_environment, manifest_files};
pub use error::{SourceError, SourceErrorKind};
pub use file::from_file;
pub use puppetserver::{from_puppetserver, TlsFiles};

use super::EnvironmentGraph;

/// Which source to read the graph from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphSource {
    /// `<path>/<name>/manifests/*.pp` and `<path>/<name>/modules/`, evaluated here.
    Environment { path: PathBuf, name: String },
    /// A graph saved earlier (`orchestrate site --plan --format json`).
    File(PathBuf),
    /// `GET <url>/puppet/v3/environment/<environment>` over mutual TLS.
    PuppetServer {
        url: String,
        environment: String,
        tls: TlsFiles,
    },
}

/// Reads the environment graph from its source.
pub fn load(source: &GraphSource) -> Result<EnvironmentGraph, SourceError> {
    match source {
        GraphSource::Environment { path, name } => from_environment(path, name),
        GraphSource::File(path) => from_file(path),
        GraphSource::PuppetServer {
            url,
            environment,
            tls,
        } => from_puppetserver(url, environment, tls),
    }
}
