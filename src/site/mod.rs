//! The site run: an environment's applications, the order their nodes must run Puppet in, and
//! the run itself, group by group.

pub mod graph;
pub mod order;
pub mod plan;
pub mod run;
pub mod source;

pub use graph::{Component, EnvironmentGraph};
pub use source::{load, GraphSource, SourceError, SourceErrorKind, TlsFiles};
