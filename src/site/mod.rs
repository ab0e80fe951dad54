//! The site run: an environment's applications, the order their nodes must run Puppet in, and
//! the run itself, group by group.

pub mod graph;

pub use graph::{Component, EnvironmentGraph};
