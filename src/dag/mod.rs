//! Directed acyclic graphs over petgraph, whatever their vertices are: the one check that a
//! graph has no cycle and, when it has one, which; the one topological order; and the one
//! concurrent walk ([`walk`]). The step graph of a playbook and the order of a site's nodes both
//! use them. A leaf module: it uses nothing of the crate but the stop signal.

mod walk;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

pub use walk::{walk, Done, Job, Skip, Visit, Visitor};

/// A cycle of a graph: its vertices in order, each with an edge to the next, the last with an
/// edge to the first (a vertex with an edge to itself is a cycle of one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the graph has a cycle through {} vertices", .vertices.len())]
pub struct Cycle {
    pub vertices: Vec<NodeIndex>,
}

impl Cycle {
    /// The edges around the cycle, `(from, to)`, the last back to the first vertex.
    pub fn edges(&self) -> impl Iterator<Item = (NodeIndex, NodeIndex)> + '_ {
        let next = self.vertices.iter().cycle().skip(1);
        self.vertices.iter().copied().zip(next.copied())
    }
}

/// The vertices of `graph` so that every edge goes forward, the smallest ready vertex (by index,
/// which is insertion order) first; None when the graph has a cycle ([`find_cycle`] names it).
pub fn topological_order<N, E>(graph: &DiGraph<N, E>) -> Option<Vec<NodeIndex>> {
    let mut waiting: Vec<usize> = graph
        .node_indices()
        .map(|n| graph.neighbors_directed(n, Direction::Incoming).count())
        .collect();
    let mut ready: BTreeSet<NodeIndex> = graph
        .node_indices()
        .filter(|n| waiting[n.index()] == 0)
        .collect();
    let mut order = Vec::with_capacity(graph.node_count());
    while let Some(vertex) = ready.pop_first() {
        order.push(vertex);
        for next in graph.neighbors_directed(vertex, Direction::Outgoing) {
            waiting[next.index()] -= 1;
            if waiting[next.index()] == 0 {
                ready.insert(next);
            }
        }
    }
    (order.len() == graph.node_count()).then_some(order)
}

/// One cycle of `graph`, None when it has none. Of the strongly connected components that are
/// cycles, the one holding the smallest vertex by `key`; in it, a shortest way from that vertex
/// back to itself, neighbours tried in `key` order, so the cycle named is the same every time.
pub fn find_cycle<N, E, K: Ord>(
    graph: &DiGraph<N, E>,
    key: impl Fn(NodeIndex) -> K,
) -> Option<Cycle> {
    let is_cycle = |component: &Vec<NodeIndex>| {
        component.len() > 1 || graph.contains_edge(component[0], component[0])
    };
    let (start, component) = tarjan_scc(graph)
        .into_iter()
        .filter(is_cycle)
        .filter_map(|component| {
            let start = component.iter().copied().min_by_key(|&v| key(v))?;
            Some((start, component))
        })
        .min_by_key(|(start, _)| key(*start))?;
    let members: HashSet<NodeIndex> = component.into_iter().collect();
    // Breadth first inside the component, back to `start`.
    let mut came_from: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = graph
            .neighbors_directed(at, Direction::Outgoing)
            .filter(|n| members.contains(n))
            .collect();
        next.sort_by_key(|&n| key(n));
        next.dedup();
        for n in next {
            if n == start {
                let mut vertices = vec![at];
                while let Some(&before) = came_from.get(vertices.last()?) {
                    vertices.push(before);
                }
                vertices.reverse();
                return Some(Cycle { vertices });
            }
            if let std::collections::hash_map::Entry::Vacant(entry) = came_from.entry(n) {
                entry.insert(at);
                queue.push_back(n);
            }
        }
    }
    None
}

/// Checks `graph` has no cycle; the cycle, named by vertex index, when it has one.
pub fn check_acyclic<N, E>(graph: &DiGraph<N, E>) -> Result<(), Cycle> {
    match petgraph::algo::toposort(graph, None) {
        Ok(_) => Ok(()),
        Err(_) => Err(find_cycle(graph, |v| v.index()).unwrap_or(Cycle {
            vertices: Vec::new(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A graph of `count` vertices numbered from 0, with `edges`.
    pub(super) fn graph(count: usize, edges: &[(usize, usize)]) -> DiGraph<usize, ()> {
        let mut graph = DiGraph::new();
        for n in 0..count {
            graph.add_node(n);
        }
        for &(from, to) in edges {
            graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), ());
        }
        graph
    }

    fn indices(vertices: &[NodeIndex]) -> Vec<usize> {
        vertices.iter().map(|v| v.index()).collect()
    }

    #[test]
    fn the_order_respects_every_edge_and_insertion_order_where_free() {
        let graph = graph(5, &[(3, 1), (4, 0)]);
        let order = topological_order(&graph).unwrap();
        assert_eq!(indices(&order), [2, 3, 1, 4, 0]);
    }

    #[test]
    fn a_graph_with_a_cycle_has_no_order() {
        let graph = graph(3, &[(0, 1), (1, 2), (2, 1)]);
        assert_eq!(topological_order(&graph), None);
        assert_eq!(check_acyclic(&graph).unwrap_err().vertices.len(), 2);
    }

    #[test]
    fn the_cycle_named_starts_at_its_smallest_vertex_and_is_a_shortest_one() {
        // 0 -> 1 -> 2 -> 3 -> 0 and the shortcut 1 -> 3.
        let graph = graph(5, &[(4, 2), (2, 3), (3, 0), (0, 1), (1, 2), (1, 3)]);
        let cycle = find_cycle(&graph, |v| v.index()).unwrap();
        assert_eq!(indices(&cycle.vertices), [0, 1, 3]);
        let edges: Vec<(usize, usize)> =
            cycle.edges().map(|(a, b)| (a.index(), b.index())).collect();
        assert_eq!(edges, [(0, 1), (1, 3), (3, 0)]);
        // Another key, another start.
        let cycle = find_cycle(&graph, |v| std::cmp::Reverse(v.index())).unwrap();
        assert_eq!(indices(&cycle.vertices), [3, 0, 1]);
    }

    #[test]
    fn a_vertex_needing_itself_is_a_cycle_of_one() {
        let graph = graph(2, &[(0, 1), (1, 1)]);
        let cycle = check_acyclic(&graph).unwrap_err();
        assert_eq!(indices(&cycle.vertices), [1]);
        assert_eq!(cycle.edges().count(), 1);
    }

    #[test]
    fn of_two_cycles_the_one_with_the_smallest_vertex_is_named() {
        let graph = graph(5, &[(3, 4), (4, 3), (1, 2), (2, 1)]);
        let cycle = find_cycle(&graph, |v| v.index()).unwrap();
        assert_eq!(indices(&cycle.vertices), [1, 2]);
        assert!(check_acyclic(&graph).is_err());
        assert!(check_acyclic(&super::tests::graph(3, &[(0, 1), (1, 2)])).is_ok());
    }
}
