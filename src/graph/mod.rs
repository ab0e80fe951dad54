//! The step graph: the catalog's steps as a petgraph DAG. A define instance or class becomes a
//! pair of empty nodes around what it contains (Puppet's "whits"), so an edge to a container
//! orders every step inside it without an edge per pair. A cycle is an error naming its steps.

mod export;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::dag;
use crate::eval::catalog::{Catalog, ResourceId};
use crate::eval::{EvalError, Origin};

pub use export::{to_dot, to_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// A resource that runs: an `mcollective` or `notify` step.
    Step(ResourceId),
    /// Where a container begins: everything inside comes after it.
    Start(ResourceId),
    /// Where a container ends: it comes after everything inside.
    End(ResourceId),
}

impl Node {
    pub fn step(&self) -> Option<ResourceId> {
        match self {
            Node::Step(id) => Some(*id),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct StepGraph {
    pub graph: DiGraph<Node, ()>,
    /// The steps in declaration order.
    pub steps: Vec<NodeIndex>,
}

impl StepGraph {
    /// Builds the DAG and checks it has no cycle.
    pub fn build(catalog: &Catalog) -> Result<StepGraph, EvalError> {
        let mut graph = DiGraph::new();
        let mut entry = Vec::with_capacity(catalog.resources.len());
        let mut exit = Vec::with_capacity(catalog.resources.len());
        let mut steps = Vec::new();
        for (id, resource) in catalog.resources.iter().enumerate() {
            if resource.is_container {
                let start = graph.add_node(Node::Start(id));
                let end = graph.add_node(Node::End(id));
                graph.add_edge(start, end, ());
                entry.push(start);
                exit.push(end);
            } else {
                let step = graph.add_node(Node::Step(id));
                steps.push(step);
                entry.push(step);
                exit.push(step);
            }
        }
        for (id, resource) in catalog.resources.iter().enumerate() {
            if let Some(container) = resource.container {
                graph.add_edge(entry[container], entry[id], ());
                graph.add_edge(exit[id], exit[container], ());
            }
        }
        for edge in &catalog.edges {
            graph.update_edge(exit[edge.from], entry[edge.to], ());
        }
        let built = StepGraph { graph, steps };
        built.check_acyclic(catalog)?;
        Ok(built)
    }

    /// A cycle is reported with the resources on it, at the relationship that closes it; it
    /// is read from its first step (in declaration order).
    fn check_acyclic(&self, catalog: &Catalog) -> Result<(), EvalError> {
        let first_step = |n: NodeIndex| (self.graph[n].step().is_none(), n.index());
        let Some(cycle) = dag::find_cycle(&self.graph, first_step) else {
            return Ok(());
        };
        let names: Vec<String> = cycle
            .vertices
            .iter()
            .filter_map(|n| self.resource_of(*n))
            .fold(Vec::<ResourceId>::new(), |mut acc, id| {
                // A container's start and end are both on the path: name it once.
                if !acc.contains(&id) {
                    acc.push(id);
                }
                acc
            })
            .into_iter()
            .map(|id| catalog.path_name(id))
            .collect();
        let origin = self.closing_edge(catalog, &cycle.vertices);
        let mut shown = names.clone();
        if let Some(first) = names.first() {
            shown.push(first.clone());
        }
        Err(EvalError::input(
            format!(
                "dependency cycle: {} depend on each other",
                names.join(", ")
            ),
            origin,
            "this relationship closes the cycle",
        )
        .with_help(format!("the cycle is {}", shown.join(" -> "))))
    }

    fn resource_of(&self, node: NodeIndex) -> Option<ResourceId> {
        match self.graph[node] {
            Node::Step(id) | Node::Start(id) | Node::End(id) => Some(id),
        }
    }

    /// The written relationship between two resources of the cycle, to point the diagnostic at.
    fn closing_edge(&self, catalog: &Catalog, component: &[NodeIndex]) -> Origin {
        let ids: Vec<ResourceId> = component
            .iter()
            .filter_map(|n| self.resource_of(*n))
            .collect();
        let within = |id: ResourceId| catalog.path(id).iter().any(|r| ids.contains(r));
        catalog
            .edges
            .iter()
            .rev()
            .find(|e| within(e.from) && within(e.to))
            .map(|e| e.origin)
            .unwrap_or_else(|| catalog.get(ids[0]).origin)
    }

    /// For each step, the steps it waits for directly (looking through containers).
    pub fn step_dependencies(&self, step: NodeIndex) -> Vec<NodeIndex> {
        let mut found = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<NodeIndex> = self
            .graph
            .edges_directed(step, Direction::Incoming)
            .map(|e| e.source())
            .collect();
        while let Some(node) = stack.pop() {
            if !seen.insert(node) {
                continue;
            }
            match self.graph[node] {
                Node::Step(_) => found.push(node),
                _ => stack.extend(
                    self.graph
                        .edges_directed(node, Direction::Incoming)
                        .map(|e| e.source()),
                ),
            }
        }
        found.sort();
        found
    }

    /// For each step (indexed by node), the steps it waits for, without those already implied
    /// by another (if C waits for B and B for A, C's list is just B), sorted.
    pub fn reduced_dependencies(&self) -> Vec<Vec<NodeIndex>> {
        let count = self.graph.node_count();
        let order = self.ordered_steps();
        let mut ancestors: Vec<fixedbitset::FixedBitSet> =
            vec![fixedbitset::FixedBitSet::with_capacity(count); count];
        let mut reduced = vec![Vec::new(); count];
        for &step in &order {
            let direct = self.step_dependencies(step);
            let mut all = fixedbitset::FixedBitSet::with_capacity(count);
            for d in &direct {
                all.insert(d.index());
                all.union_with(&ancestors[d.index()]);
            }
            reduced[step.index()] = direct
                .iter()
                .copied()
                .filter(|d| {
                    !direct
                        .iter()
                        .any(|o| o != d && ancestors[o.index()].contains(d.index()))
                })
                .collect();
            ancestors[step.index()] = all;
        }
        reduced
    }

    /// Steps in an order that respects every dependency, declaration order where free.
    pub fn ordered_steps(&self) -> Vec<NodeIndex> {
        dag::topological_order(&self.graph)
            .unwrap_or_default()
            .into_iter()
            .filter(|&n| self.graph[n].step().is_some())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::testing::evaluate_manifest;

    /// The step graph of `code`, or its error as `(message, help)`.
    fn build(code: &str) -> Result<StepGraph, (String, String)> {
        let evaluation = evaluate_manifest(code, &crate::run::step::Kinds).unwrap();
        StepGraph::build(&evaluation.catalog).map_err(|error| {
            let help = error.problem.help.clone().unwrap_or_default();
            (error.message().to_string(), help)
        })
    }

    #[test]
    fn a_cycle_through_a_define_names_it_once_from_the_first_step() {
        let (message, help) = build(
            "define pair() { notify { \"${title}-1\": } }\n\
             notify { 'a': } -> pair { 'p': } -> notify { 'b': } -> Notify['a']\n",
        )
        .unwrap_err();
        assert_eq!(
            message,
            "dependency cycle: Notify[a], Pair[p], Notify[b] depend on each other"
        );
        assert_eq!(
            help,
            "the cycle is Notify[a] -> Pair[p] -> Notify[b] -> Notify[a]"
        );
    }

    #[test]
    fn a_step_needing_itself_is_a_cycle() {
        let (message, _) = build("notify { 'a': require => Notify['a'] }\n").unwrap_err();
        assert_eq!(message, "dependency cycle: Notify[a] depend on each other");
    }

    #[test]
    fn steps_are_ordered_by_their_dependencies_then_as_declared() {
        let graph = build(
            "notify { 'late': require => Notify['first'] }\n\
             notify { 'free': }\n\
             notify { 'first': }\n",
        )
        .unwrap();
        let order: Vec<usize> = graph.ordered_steps().iter().map(|n| n.index()).collect();
        // Declared late (0), free (1), first (2): late waits for first.
        assert_eq!(order, [1, 2, 0]);
    }
}
