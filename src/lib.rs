//! `orchestrate`: runs orchestration playbooks written in the Puppet language against fleets of
//! nodes over NATS, and runs a whole site's Puppet in the order its applications need.

pub mod cli;
pub mod error;
pub mod lang;

pub use error::Error;
