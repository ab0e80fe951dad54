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
    /// Parse and validate Puppet manifests, as `puppet parser validate` does, and report every problem.
    Check(check::CheckArgs),
}

pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Check(args) => check::run(args),
    }
}
