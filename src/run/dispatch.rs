//! The dispatcher of a playbook run: the walk of the step graph ([`crate::dag::walk`]) asks it
//! what each vertex is; it runs a step on its own task, reports each step as it finishes or is
//! skipped, and says whether it passed. Container vertices only order the steps inside them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use petgraph::graph::NodeIndex;
use tokio::task::JoinError;

use crate::dag::{Job, Skip, Visit, Visitor};
use crate::report::{Reporter, StepRecord, StepStatus};
use crate::rpc::RpcClient;
use crate::stop::Stop;

use super::step::{Outcome, Step, StepKind};

/// What the run needs from the rest of the program.
pub struct RunContext {
    pub rpc: Option<RpcClient>,
    pub reporter: Reporter,
    pub concurrency: usize,
    /// Asked for, the run starts no new step; steps that can stop at a safe point (a site
    /// run between batches) watch it too. Forced, the run returns at once.
    pub stop: Stop,
}

/// Runs and reports the steps of one walk; `steps` is indexed like the graph's vertices.
pub(super) struct Dispatcher<'a> {
    pub steps: &'a [Option<Step>],
    pub context: Arc<RunContext>,
}

impl Dispatcher<'_> {
    fn name(&self, vertex: NodeIndex) -> &str {
        self.steps[vertex.index()]
            .as_ref()
            .map_or("", |step| step.name.as_str())
    }
}

/// One step to run, on its own task.
pub(super) struct StepJob {
    step: Step,
    context: Arc<RunContext>,
}

impl Job for StepJob {
    /// What came of the step, and how long it took.
    type Done = (Outcome, Duration);

    async fn run(self) -> (Outcome, Duration) {
        let started = Instant::now();
        let outcome = run_step(&self.step, &self.context).await;
        (outcome, started.elapsed())
    }
}

impl Visitor for Dispatcher<'_> {
    type Job = StepJob;

    fn visit(&mut self, vertex: NodeIndex) -> Visit<StepJob> {
        match &self.steps[vertex.index()] {
            Some(step) => Visit::Run(StepJob {
                step: step.clone(),
                context: self.context.clone(),
            }),
            None => Visit::Pass,
        }
    }

    fn finished(
        &mut self,
        vertex: NodeIndex,
        done: Result<(Outcome, Duration), JoinError>,
    ) -> bool {
        // A step's task that panicked is a failed step, never a lost one.
        let (outcome, took) = done.unwrap_or_else(|error| (crashed(&error), Duration::ZERO));
        let passed = !outcome.blocks_dependents();
        if let Outcome::Halted { cause, .. } = &outcome {
            // As a first Ctrl-C does: nothing new starts, the running steps end.
            self.context.stop.request_because(cause.clone());
        }
        let record = record(self.name(vertex).to_string(), outcome, took);
        self.context.reporter.step_finished(record);
        passed
    }

    fn skipped(&mut self, vertex: NodeIndex, why: Skip) {
        if self.steps[vertex.index()].is_none() {
            return;
        }
        let cause = match why {
            Skip::Failed(failed) => format!("{} failed", self.name(failed)),
            Skip::Stopped => match self.context.stop.cause() {
                Some(cause) => format!("not run: {cause}"),
                None => "not run: the run was interrupted".to_string(),
            },
        };
        let record = record(
            self.name(vertex).to_string(),
            Outcome::Skipped { cause },
            Duration::ZERO,
        );
        self.context.reporter.step_finished(record);
    }
}

/// A step's outcome as the report keeps it.
fn record(step: String, outcome: Outcome, took: Duration) -> StepRecord {
    let (status, summary, nodes, failures) = match outcome {
        Outcome::Succeeded { summary, nodes } => (StepStatus::Ok, summary, nodes, vec![]),
        Outcome::Failed {
            summary,
            failures,
            nodes,
            tolerated,
        } => {
            let status = if tolerated {
                StepStatus::Tolerated
            } else {
                StepStatus::Failed
            };
            (status, summary, nodes, failures)
        }
        Outcome::Skipped { cause } => (StepStatus::Skipped, cause, vec![], vec![]),
        Outcome::Halted { summary, nodes, .. } => (StepStatus::Failed, summary, nodes, vec![]),
    };
    StepRecord {
        step,
        status,
        summary,
        nodes,
        failures,
        seconds: took.as_secs_f64(),
        took,
    }
}

fn crashed(error: &JoinError) -> Outcome {
    Outcome::Failed {
        summary: format!("the step stopped unexpectedly (a bug, please report it): {error}"),
        failures: vec![],
        nodes: vec![],
        tolerated: false,
    }
}

async fn run_step(step: &Step, context: &RunContext) -> Outcome {
    match &step.kind {
        StepKind::Notify { message } => Outcome::Succeeded {
            summary: message.clone(),
            nodes: vec![],
        },
        StepKind::PuppetRun(p) => match &context.rpc {
            Some(rpc) => p.run(&step.name, rpc, &context.stop).await,
            None => no_fleet("puppet_run", p.nodes.fail_ok),
        },
        StepKind::Site(s) => match &context.rpc {
            Some(rpc) => s.run(&step.name, rpc, &context.stop).await,
            None => no_fleet("site_run", s.fail_ok),
        },
        StepKind::Mcollective(m) => match &context.rpc {
            Some(rpc) => m.run(&step.name, rpc, &context.reporter).await,
            None => no_fleet(&format!("{}#{}", m.agent, m.action), m.fail_ok),
        },
    }
}

fn no_fleet(what: &str, fail_ok: bool) -> Outcome {
    Outcome::Failed {
        summary: format!(
            "{what} cannot run: no fleet is configured (give --fleet FILE or --nats URL)"
        ),
        failures: vec![],
        nodes: vec![],
        tolerated: fail_ok,
    }
}
