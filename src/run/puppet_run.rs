//! The `puppet_run` step: Puppet on any set of nodes, safely, as the site run does it for one
//! group: check every node is enabled, disable them all, then per batch of sorted certnames
//! enable, run once, wait for the run to be seen and to end, disable and check it; enable all
//! on success, leave all disabled on failure.
//!
//! ```puppet
//! puppet_run { 'web': fact_filter => 'cluster=bravo', batch_size => 2 }
//! ```

use std::path::Path;
use std::time::Duration;

use crate::eval::steps::{param, Fallback, ParamType, StepArgs, StepParam, StepType};
use crate::eval::EvalError;
use crate::report::{Progress, SiteOutcome, SiteStatus};
use crate::rpc::RpcClient;
use crate::site::run::{self as site_run, RunSettings};
use crate::stop::Stop;

use super::mcollective::{self, describe_nodes, McollectiveStep};
use super::step::{Outcome, StepKind};

#[derive(Debug, Clone)]
pub struct PuppetRunStep {
    /// The node selection (filters, `limit_nodes`, `batch_size`, `timeout`, `fail_ok`), read
    /// as the `mcollective` step reads it, for the `puppet` agent.
    pub nodes: McollectiveStep,
    pub poll_interval: Duration,
    pub run_timeout: Duration,
}

pub const TYPE: StepType = StepType {
    name: "puppet_run",
    aliases: &[],
    params: &[
        mcollective::IDENTITY_FILTER,
        mcollective::CLASS_FILTER,
        mcollective::FACT_FILTER,
        mcollective::AGENT_FILTER,
        mcollective::COMPOUND_FILTER,
        mcollective::LIMIT_NODES,
        mcollective::BATCH_SIZE,
        mcollective::TIMEOUT,
        POLL_INTERVAL,
        RUN_TIMEOUT,
        mcollective::FAIL_OK,
    ],
};

/// How often a Puppet step asks whether a run has started and ended, and how long a run may
/// take; the site run's defaults when not given.
pub(crate) const POLL_INTERVAL: StepParam = param(
    "poll_interval",
    ParamType::Duration { zero: true },
    Fallback::Absent,
);
pub(crate) const RUN_TIMEOUT: StepParam = param(
    "run_timeout",
    ParamType::Duration { zero: true },
    Fallback::Absent,
);

pub fn build(args: &StepArgs<'_>, _: &Path) -> Result<StepKind, EvalError> {
    PuppetRunStep::from_args(args).map(|step| StepKind::PuppetRun(Box::new(step)))
}

/// `poll_interval` and `run_timeout`, the site run's defaults when not given.
pub(crate) fn waits(args: &StepArgs<'_>) -> Result<(Duration, Duration), EvalError> {
    let defaults = RunSettings::new("", "");
    Ok((
        args.duration("poll_interval")?
            .unwrap_or(defaults.poll_interval),
        args.duration("run_timeout")?
            .unwrap_or(defaults.run_timeout),
    ))
}

impl PuppetRunStep {
    pub fn from_args(args: &StepArgs<'_>) -> Result<PuppetRunStep, EvalError> {
        let (poll_interval, run_timeout) = waits(args)?;
        Ok(PuppetRunStep {
            nodes: McollectiveStep::selection(args, "puppet".into(), "runonce".into())?,
            poll_interval,
            run_timeout,
        })
    }

    pub fn describe(&self) -> String {
        let described = self.nodes.describe();
        let targets = described.trim_start_matches("puppet#runonce ");
        format!("puppet run {targets}")
    }

    pub async fn run(&self, name: &str, rpc: &RpcClient, stop: &Stop) -> Outcome {
        let failed = |summary: String, failures, nodes| Outcome::Failed {
            summary,
            failures,
            nodes,
            tolerated: self.nodes.fail_ok,
        };
        let targets = match self.nodes.targets(rpc).await {
            Ok(targets) if targets.is_empty() => {
                return failed(
                    "puppet run failed: Did not discover any nodes matching criteria".into(),
                    vec![],
                    vec![],
                )
            }
            Ok(targets) => targets,
            Err(error) => {
                let summary = format!("puppet run failed: {error}");
                return Outcome::request_failed(summary, &error.0, vec![], self.nodes.fail_ok);
            }
        };
        let mut settings = RunSettings::new(name, rpc.options().caller_id.clone());
        settings.batch = self.nodes.batch_size;
        settings.poll_interval = self.poll_interval;
        settings.run_timeout = self.run_timeout;
        settings.request_timeout = self.nodes.timeout.unwrap_or(rpc.default_timeout());
        let progress = Progress::for_step(name);
        let outcome = site_run::run_site(
            rpc,
            std::slice::from_ref(&targets),
            &settings,
            &progress,
            stop,
        )
        .await;
        site_outcome(outcome, &settings, self.nodes.fail_ok, &progress)
    }
}

/// A site run's outcome as a step's.
pub(crate) fn site_outcome(
    outcome: SiteOutcome,
    settings: &RunSettings,
    fail_ok: bool,
    progress: &Progress,
) -> Outcome {
    if outcome.succeeded() {
        return Outcome::Succeeded {
            summary: format!(
                "Puppet ran successfully on {}",
                describe_nodes(&outcome.ran)
            ),
            nodes: outcome.nodes,
        };
    }
    let lines = crate::report::site::outcome_lines(&outcome, &settings.what);
    for line in lines.iter().skip(1) {
        progress.plain(line);
    }
    if let SiteStatus::Unreachable { reason, .. } = outcome.status {
        return Outcome::Halted {
            summary: format!("puppet run stopped: {reason}"),
            cause: reason,
            nodes: outcome.nodes,
        };
    }
    let summary = match &outcome.status {
        SiteStatus::Refused { reason } => format!(
            "puppet run refused: {}",
            reason.lines().next().unwrap_or_default()
        ),
        SiteStatus::Failed { reason } => format!(
            "puppet run failed: could not {reason}; Puppet left disabled on {}",
            describe_nodes(&outcome.nodes)
        ),
        SiteStatus::Interrupted | SiteStatus::Succeeded | SiteStatus::Unreachable { .. } => {
            "puppet run interrupted".into()
        }
    };
    Outcome::Failed {
        summary,
        failures: outcome.failures,
        nodes: outcome.nodes,
        tolerated: fail_ok,
    }
}
