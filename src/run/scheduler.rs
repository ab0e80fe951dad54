//! Walks the step DAG on tokio: a step starts when everything before it has succeeded, up to
//! `concurrency` steps at once; a failed step skips its dependents and only them. Ctrl-C
//! stops starting steps, lets the running ones finish, and reports the rest as not run.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use petgraph::graph::NodeIndex;
use petgraph::Direction;
use tokio::task::JoinSet;

use crate::graph::{Node, StepGraph};
use crate::rpc::RpcClient;
use crate::site::run::Interrupt;

use super::report::Reporter;
use super::step::{Outcome, Step, StepKind};

/// What the scheduler needs from the rest of the run.
pub struct RunContext {
    pub rpc: Option<RpcClient>,
    pub reporter: Reporter,
    pub concurrency: usize,
    /// Raised when the run is asked to stop; steps that can stop at a safe point (a site run
    /// between batches) watch it.
    pub interrupt: Interrupt,
}

/// Runs every step; returns when all have finished, been skipped, or the run was interrupted.
pub async fn run_graph(graph: &StepGraph, steps: &[Option<Step>], context: Arc<RunContext>) {
    let mut walk = Walk::new(graph);
    let mut running: JoinSet<(NodeIndex, Outcome, Duration)> = JoinSet::new();
    let mut tasks = std::collections::HashMap::new();
    let mut interrupted = false;
    let stop = crate::stop::Stop::on_signals();
    let interrupt = stop.requested();
    tokio::pin!(interrupt);
    loop {
        while let Some(node) = walk.next_ready() {
            match (graph.graph[node], walk.blocked_by(node), interrupted) {
                (Node::Step(_), Some(cause), _) => {
                    let step = steps[node.index()]
                        .as_ref()
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    let outcome = Outcome::Skipped { cause };
                    context
                        .reporter
                        .step_finished(&step, &outcome, Duration::ZERO);
                    walk.finish(node, &outcome, &step);
                }
                (Node::Step(_), None, true) => {
                    let step = steps[node.index()]
                        .as_ref()
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    let outcome = Outcome::Skipped {
                        cause: "not run: the run was interrupted".into(),
                    };
                    context
                        .reporter
                        .step_finished(&step, &outcome, Duration::ZERO);
                    walk.finish(node, &outcome, &step);
                }
                (Node::Step(_), None, false) => {
                    if running.len() >= context.concurrency.max(1) {
                        walk.defer(node);
                        break;
                    }
                    let Some(step) = steps[node.index()].clone() else {
                        continue;
                    };
                    let context = context.clone();
                    let task = running.spawn(async move {
                        let started = Instant::now();
                        let outcome = run_step(&step, &context).await;
                        (node, outcome, started.elapsed())
                    });
                    tasks.insert(task.id(), node);
                }
                (_, cause, _) => {
                    let outcome = match cause {
                        Some(cause) => Outcome::Skipped { cause },
                        None => Outcome::Succeeded {
                            summary: String::new(),
                            nodes: vec![],
                        },
                    };
                    walk.finish_container(node, &outcome);
                }
            }
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            finished = running.join_next() => {
                let (node, outcome, took) = match finished {
                    Some(Ok(done)) => done,
                    // A step's task that panicked is a failed step, never a lost one.
                    Some(Err(error)) => match tasks.get(&error.id()) {
                        Some(&node) => (node, crashed(&error), Duration::ZERO),
                        None => continue,
                    },
                    None => continue,
                };
                let name = steps[node.index()].as_ref().map(|s| s.name.clone()).unwrap_or_default();
                context.reporter.step_finished(&name, &outcome, took);
                walk.finish(node, &outcome, &name);
                walk.undefer();
            }
            _ = &mut interrupt, if !interrupted => {
                interrupted = true;
                context.interrupt.raise();
                context.reporter.line("Interrupted: waiting for the running steps to finish; no new step starts");
                walk.undefer();
            }
        }
    }
}

fn crashed(error: &tokio::task::JoinError) -> Outcome {
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
            Some(rpc) => p.run(&step.name, rpc, &context.interrupt).await,
            None => no_fleet("puppet_run", p.nodes.fail_ok),
        },
        StepKind::Site(s) => match &context.rpc {
            Some(rpc) => s.run(&step.name, rpc, &context.interrupt).await,
            None => no_fleet("site_run", s.fail_ok),
        },
        StepKind::Mcollective(m) => match &context.rpc {
            Some(rpc) => m.run(&step.name, rpc, &context.reporter).await,
            None => Outcome::Failed {
                summary: format!(
                    "{}#{} cannot run: no fleet is configured (give --fleet FILE or --nats URL)",
                    m.agent, m.action
                ),
                failures: vec![],
                nodes: vec![],
                tolerated: m.fail_ok,
            },
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

/// The bookkeeping of the walk: how many predecessors each node still waits for, and which
/// failed step (if any) blocks it.
struct Walk<'g> {
    graph: &'g StepGraph,
    waiting: Vec<usize>,
    blocked: Vec<Option<String>>,
    ready: VecDeque<NodeIndex>,
    deferred: VecDeque<NodeIndex>,
}

impl<'g> Walk<'g> {
    fn new(graph: &'g StepGraph) -> Walk<'g> {
        let g = &graph.graph;
        let waiting: Vec<usize> = g
            .node_indices()
            .map(|n| g.edges_directed(n, Direction::Incoming).count())
            .collect();
        let ready = g
            .node_indices()
            .filter(|n| waiting[n.index()] == 0)
            .collect();
        Walk {
            graph,
            blocked: vec![None; waiting.len()],
            waiting,
            ready,
            deferred: VecDeque::new(),
        }
    }

    fn next_ready(&mut self) -> Option<NodeIndex> {
        self.ready.pop_front()
    }

    fn defer(&mut self, node: NodeIndex) {
        self.deferred.push_back(node);
    }

    /// Steps held back by the concurrency limit go first once a slot frees.
    fn undefer(&mut self) {
        while let Some(node) = self.deferred.pop_back() {
            self.ready.push_front(node);
        }
    }

    fn blocked_by(&self, node: NodeIndex) -> Option<String> {
        self.blocked[node.index()].clone()
    }

    fn finish(&mut self, node: NodeIndex, outcome: &Outcome, name: &str) {
        let cause = match outcome {
            Outcome::Skipped { cause } => {
                self.blocked[node.index()].clone().or(Some(cause.clone()))
            }
            o if o.blocks_dependents() => Some(format!("{name} failed")),
            _ => None,
        };
        self.release(node, cause);
    }

    fn finish_container(&mut self, node: NodeIndex, outcome: &Outcome) {
        let cause = match outcome {
            Outcome::Skipped { cause } => Some(cause.clone()),
            _ => None,
        };
        self.release(node, cause);
    }

    fn release(&mut self, node: NodeIndex, cause: Option<String>) {
        let successors: Vec<NodeIndex> = self
            .graph
            .graph
            .neighbors_directed(node, Direction::Outgoing)
            .collect();
        for next in successors {
            if let Some(cause) = &cause {
                if self.blocked[next.index()].is_none() {
                    self.blocked[next.index()] = Some(cause.clone());
                }
            }
            self.waiting[next.index()] -= 1;
            if self.waiting[next.index()] == 0 {
                self.ready.push_back(next);
            }
        }
    }
}
