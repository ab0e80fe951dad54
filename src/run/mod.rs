//! Running a playbook: evaluate it (discovery goes to the fleet), build the step graph, check
//! every step's parameters, then walk the graph and report.

mod dispatch;
pub mod mcollective;
pub mod puppet_run;
pub mod site_step;
pub mod step;

use std::sync::Arc;
use std::time::Instant;

use tokio::runtime::Handle;

use crate::dag::{self, Cycle};
use crate::eval::{EvalError, Evaluation, NodeQuery, QueryError, QueryErrorKind, Value};
use crate::graph::StepGraph;
use crate::protocol::Filter;
use crate::registry::DiscoveryMethod;
use crate::report::{self, Summary};
use crate::rpc::RpcClient;

use dispatch::Dispatcher;
pub use dispatch::RunContext;
pub use step::{Outcome, Step};

#[cfg(test)]
mod tests;

/// `discover()` and `get_fact()` during evaluation, through the same RPC client the steps use.
/// The evaluator is synchronous; it runs on its own thread and waits here for the answers.
pub struct RpcNodeQuery {
    pub rpc: RpcClient,
    pub handle: Handle,
}

impl NodeQuery for RpcNodeQuery {
    fn discover(
        &self,
        agent: &str,
        filter: &Filter,
        method: Option<DiscoveryMethod>,
    ) -> Result<Vec<String>, QueryError> {
        // The client adds the agent to the filter itself, after it has seen whether the
        // filter only names nodes (which needs no network). The registry asked of a client
        // without one is an error (RpcError::NoRegistry), never an empty list.
        self.handle
            .block_on(self.rpc.discover_by(agent, filter, method))
            .map_err(QueryError::request)
    }

    fn silent(&self, nodes: &[String]) -> Result<Vec<String>, QueryError> {
        let timeout = self.rpc.default_timeout();
        let inputs = serde_json::json!({});
        let call = self.rpc.call("rpcutil", "ping", &inputs, nodes, timeout);
        let result = self.handle.block_on(call).map_err(QueryError::request)?;
        let failed: Vec<String> = result
            .failed()
            .map(|reply| reply.identity.clone())
            .collect();
        let mut silent = result.missing;
        silent.extend(failed);
        silent.sort();
        Ok(silent)
    }

    fn get_fact(&self, fact: &str, filter: &Filter) -> Result<Value, QueryError> {
        let nodes = self.discover("rpcutil", filter, None)?;
        let node = match nodes.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(QueryError::new(
                    QueryErrorKind::NotOneNode,
                    "no node matches the filter",
                ))
            }
            many => {
                return Err(QueryError::new(
                    QueryErrorKind::NotOneNode,
                    format!(
                        "the filter matches {}; get_fact() needs exactly one",
                        mcollective::describe_nodes(many)
                    ),
                ))
            }
        };
        let data = serde_json::json!({ "fact": fact });
        let timeout = self.rpc.default_timeout();
        let result = self
            .handle
            .block_on(self.rpc.call(
                "rpcutil",
                "get_fact",
                &data,
                std::slice::from_ref(&node),
                timeout,
            ))
            .map_err(QueryError::request)?;
        match result.replies.first() {
            Some(reply) if reply.statuscode == 0 => Ok(Value::from(
                reply.data.get("value").unwrap_or(&serde_json::Value::Null),
            )),
            Some(reply) => Err(QueryError::new(
                QueryErrorKind::Refused,
                format!("{node}: {}", reply.statusmsg),
            )),
            None => Err(QueryError::new(
                QueryErrorKind::NoAnswer,
                format!("{node} did not answer"),
            )),
        }
    }
}

/// The steps of an evaluated playbook, checked, indexed like the graph's nodes.
pub struct Prepared {
    pub graph: StepGraph,
    pub steps: Vec<Option<Step>>,
}

/// Builds the DAG (a cycle is an error) and reads every step's parameters.
pub fn prepare(evaluation: &Evaluation) -> Result<Prepared, EvalError> {
    let catalog = &evaluation.catalog;
    let graph = StepGraph::build(catalog)?;
    let mut steps = vec![None; graph.graph.node_count()];
    for &node in &graph.steps {
        if let Some(id) = graph.graph[node].step() {
            let resource = catalog.get(id);
            let name = catalog.path_name(id);
            steps[node.index()] = Some(Step::from_resource(id, resource, name, &evaluation.repo)?);
        }
    }
    Ok(Prepared { graph, steps })
}

/// `--plan`: the steps in the order they would run, each with what it does, its targets,
/// and the steps it waits for.
pub fn plan_lines(prepared: &Prepared) -> Vec<String> {
    let order = prepared.graph.ordered_steps();
    let number = |n| order.iter().position(|o| *o == n).map_or(0, |p| p + 1);
    let dependencies = prepared.graph.reduced_dependencies();
    let mut lines = Vec::new();
    for (index, &node) in order.iter().enumerate() {
        let Some(step) = &prepared.steps[node.index()] else {
            continue;
        };
        let mut after: Vec<usize> = dependencies[node.index()]
            .iter()
            .map(|d| number(*d))
            .collect();
        after.sort();
        let after: Vec<String> = after.iter().map(|n| n.to_string()).collect();
        let after = if after.is_empty() {
            String::new()
        } else {
            format!(" [after {}]", after.join(", "))
        };
        lines.push(format!(
            "{:>3}. {}: {}{after}",
            index + 1,
            step.name,
            step.describe()
        ));
    }
    lines
}

/// Why a run ended before its end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The stop was forced: the run returned at once, leaving its running steps where they
    /// were (its output has said so).
    #[error("the run was stopped at once")]
    Stopped,
    /// The step graph has a cycle, which [`prepare`] refuses: a bug.
    #[error("the step graph has a cycle, which preparing the run should have refused")]
    Cycle(#[from] Cycle),
}

/// Walks the graph and returns the summary (already printed), with why the run stopped itself
/// when it did; returns at once when the stop is forced.
pub async fn run(prepared: &Prepared, context: Arc<RunContext>) -> Result<Summary, RunError> {
    let started = Instant::now();
    let mut dispatcher = Dispatcher {
        steps: &prepared.steps,
        context: context.clone(),
    };
    let walk = dag::walk(
        &prepared.graph.graph,
        &mut dispatcher,
        context.concurrency,
        &context.stop,
    );
    tokio::select! {
        // First, so a stop is announced before the walk acts on it.
        biased;
        () = report::run::until_forced(&context.stop, &context.reporter) => {
            return Err(RunError::Stopped)
        }
        walked = walk => walked?,
    }
    let mut summary = context.reporter.summary(started.elapsed());
    summary.stopped = context.stop.cause().map(str::to_string);
    context.reporter.print_summary(&summary);
    Ok(summary)
}
