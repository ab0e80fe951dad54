//! The command line: clap definitions, one file per verb.

mod check;

use clap::{Parser, Subcommand};

use crate::Error;

#[derive(Debug, Parser)]
#[command(
    name = "orchestrate",
    version,
    about = "Run orchestration playbooks written in the Puppet language against fleets of nodes"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse Puppet manifests and report every syntax problem.
    Check(check::CheckArgs),
}

pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Check(args) => check::run(args),
    }
}
