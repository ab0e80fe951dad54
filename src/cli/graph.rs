//! `orchestrate graph PLAYBOOK [NAME=VALUE...] --format dot|json`: the step DAG, drawn.

use clap::{Args, ValueEnum};

use super::setup::{self, Evaluated, PlaybookTarget};
use crate::graph::{to_dot, to_json, StepGraph};
use crate::Error;

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub target: PlaybookTarget,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz: `orchestrate graph app_cluster_upgrade ... | dot -Tsvg > steps.svg`.
    Dot,
    /// The steps in order, each with its parameters and the steps it waits for.
    Json,
}

pub fn run(args: GraphArgs) -> Result<(), Error> {
    let Evaluated { evaluation, .. } = args.target.evaluate()?;
    let graph = StepGraph::build(&evaluation.catalog)
        .map_err(|e| setup::after_evaluation(e, &evaluation))?;
    let text = match args.format {
        GraphFormat::Dot => to_dot(&graph, &evaluation.catalog),
        GraphFormat::Json => to_json(&graph, &evaluation.catalog),
    };
    print!("{text}");
    Ok(())
}
