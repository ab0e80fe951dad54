//! `orchestrate`: runs orchestration playbooks written in the Puppet language against fleets of
//! nodes over NATS, and runs a whole site's Puppet in the order its applications need.

pub mod agent;
pub mod cli;
pub mod config;
pub mod cores;
pub mod dag;
pub mod duration;
pub mod error;
pub mod eval;
pub mod fleet;
pub mod graph;
pub mod lang;
pub mod protocol;
pub mod registry;
pub mod report;
pub mod rpc;
pub mod run;
pub mod security;
pub mod site;
pub mod stop;
pub mod transport;

pub use error::Error;

/// The key forms only openssl makes, for the unit tests (the integration tests' own file).
#[cfg(test)]
#[path = "../tests/support/openssl.rs"]
mod openssl;
