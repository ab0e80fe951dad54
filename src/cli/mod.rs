//! The command line: clap definitions, one file per verb.

mod agent;
mod broker;
mod broker_config;
mod check;
mod fleet;
mod graph;
mod list;
mod logging;
mod rpc;
mod run;
mod setup;
mod site;

use clap::{Parser, Subcommand};

use crate::Error;

#[derive(Debug, Parser)]
#[command(
    name = "orchestrate",
    version,
    about = "Run orchestration playbooks written in the Puppet language against fleets of nodes",
    after_help = "Run a playbook with `orchestrate PLAYBOOK [NAME=VALUE...]` (short for `orchestrate run`), e.g.\n  orchestrate app_cluster_upgrade cluster=bravo revision=20"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a playbook: `orchestrate run app_cluster_upgrade cluster=bravo revision=20`.
    Run(run::RunArgs),
    /// Parse and validate Puppet manifests, as `puppet parser validate` does, and report every problem.
    Check(check::CheckArgs),
    /// List the playbooks of the repository with their parameters and what they do.
    List(list::ListArgs),
    /// Draw a playbook's step graph (Graphviz DOT or JSON) without running it.
    Graph(graph::GraphArgs),
    /// Call one action on nodes and print their replies: `orchestrate rpc rpcutil ping --fact cluster=bravo`.
    Rpc(rpc::RpcArgs),
    /// The site's ordered Puppet run: `orchestrate site --environment production [--plan]`.
    Site(site::SiteArgs),
    /// Serve a simulated fleet on NATS until Ctrl-C: `orchestrate fleet --nats URL --fleet FILE`.
    Fleet(fleet::FleetServeArgs),
    /// The node daemon: serve this node's agents on NATS until SIGTERM: `orchestrate agent --config FILE`.
    Agent(agent::AgentArgs),
    /// Write a nats-server configuration for a real fleet: mutual TLS, each certificate its own subjects.
    BrokerConfig(broker_config::BrokerConfigArgs),
    /// `orchestrate PLAYBOOK [NAME=VALUE...]` runs a playbook.
    #[command(external_subcommand)]
    Playbook(Vec<String>),
}

/// The command line; `orchestrate PLAYBOOK ...` is read as `orchestrate run PLAYBOOK ...`.
pub fn parse() -> Cli {
    let cli = Cli::parse();
    match cli.command {
        Command::Playbook(words) => {
            let argv = std::iter::once("orchestrate".to_string()).chain(words);
            let args = run::RunCommand::parse_from(argv).args;
            Cli {
                command: Command::Run(args),
            }
        }
        other => Cli { command: other },
    }
}

pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::run(args),
        Command::List(args) => list::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Site(args) => site::run(args),
        Command::Fleet(args) => fleet::run(args),
        Command::Rpc(args) => rpc::run(args),
        Command::Agent(args) => agent::run(args),
        Command::BrokerConfig(args) => broker_config::run(args),
        Command::Playbook(words) => Err(Error::usage(format!(
            "cannot run {}: parse the command line with cli::parse",
            words.join(" ")
        ))),
    }
}
