//! `orchestrate run PLAYBOOK [NAME=VALUE...]` (or just `orchestrate PLAYBOOK ...`).

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser};

use super::setup::{self, at_least_one, Evaluated, PlaybookTarget};
use crate::eval::Value;
use crate::report::{self, Reporter};
use crate::rpc::RpcClient;
use crate::run::{self, RunContext};
use crate::stop::Stop;
use crate::Error;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: PlaybookTarget,
    /// Print the steps in the order they would run, with their targets; run nothing.
    #[arg(long)]
    pub plan: bool,
    /// How many independent steps may run at once.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = at_least_one)]
    pub concurrency: usize,
    /// Write every step's outcome, with each failed node and its message, as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// `orchestrate PLAYBOOK ...` parsed as the arguments of `run`.
#[derive(Debug, Parser)]
#[command(name = "orchestrate")]
pub struct RunCommand {
    #[command(flatten)]
    pub args: RunArgs,
}

pub fn run(args: RunArgs) -> Result<(), Error> {
    let Evaluated {
        runtime,
        fleet,
        evaluation,
    } = args.target.evaluate()?;
    let prepared =
        run::prepare(&evaluation).map_err(|e| setup::after_evaluation(e, &evaluation))?;
    let steps = prepared.graph.steps.len();
    let name = args.target.playbook.name(&args.target.repo.resolve());
    if args.plan {
        println!(
            "Plan for {name}: {steps} step{} {}; nothing is run",
            report::plural(steps),
            fleet.description
        );
        for line in run::plan_lines(&prepared) {
            println!("{line}");
        }
        let stale = fleet.rpc.as_ref().map(RpcClient::stale).unwrap_or_default();
        if !stale.is_empty() {
            println!(
                "Stale in the registry (missed their last heartbeat): {}",
                stale.join(", ")
            );
        }
        return Ok(());
    }
    println!(
        "Running {name}: {steps} step{} {}",
        report::plural(steps),
        fleet.description
    );
    let summary = runtime.block_on(async {
        // Watching the signals only now: until the run starts, Ctrl-C ends the process.
        let context = Arc::new(RunContext {
            rpc: fleet.rpc.clone(),
            reporter: Reporter::default(),
            concurrency: args.concurrency,
            stop: Stop::on_signals(),
        });
        let summary = run::run(&prepared, context.clone()).await?;
        if let Some(path) = &args.report {
            let requests = context
                .rpc
                .as_ref()
                .map(RpcClient::sent)
                .unwrap_or_default();
            let steps = context.reporter.records();
            report::run::write_report(path, &name, &summary, &steps, &requests)?;
        }
        Ok::<_, Error>(summary)
    })?;
    if let Some(cause) = summary.stopped {
        return Err(Error::Halted { cause });
    }
    if summary.failed > 0 || summary.skipped > 0 {
        return Err(Error::RunFailed);
    }
    if let Some(value) = evaluation
        .returned
        .as_ref()
        .filter(|v| !matches!(v, Value::Undef))
    {
        println!("{name} returned {value}");
    }
    Ok(())
}
