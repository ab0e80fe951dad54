//! The order a site's nodes run Puppet in, worked out on the graph of COMPONENTS: an edge from
//! each component producing a capability to each component consuming it. Nodes then fall into
//! the fewest ordered groups such that every consumer's node runs after its producers' nodes.
//!
//! Why components and not nodes merged first (as Choria did): a node hosting both the producer
//! and the consumer of one capability is no obstacle, as its own Puppet run orders the two; a
//! per-node merge sees the node waiting for itself and calls that a cycle. Here only component
//! edges between different nodes constrain the order of nodes.

use std::collections::{HashMap, HashSet};
use std::fmt;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::graph::EnvironmentGraph;
use crate::dag;

/// One component of the site: its application, its reference and its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentRef<'g> {
    pub application: &'g str,
    pub component: &'g str,
    pub node: &'g str,
}

/// Why a site cannot be ordered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// Capabilities consumed that no component of the environment produces.
    #[error("{}", missing_text(.0))]
    MissingProducer(Vec<Missing>),
    /// Nodes that need each other: each must run before the next, the last before the first.
    #[error("{}", cycle_text(.0))]
    Cycle(Vec<Link>),
    /// `--instance` names no application of the environment.
    #[error("the {environment} environment has no application {instance}; it has {}", known_text(.known))]
    UnknownInstance {
        environment: String,
        instance: String,
        known: Vec<String>,
    },
}

/// A consumed capability with no producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub capability: String,
    pub consumer: String,
    pub node: String,
}

/// Why `from` must run before `to`: `producer` on `from` produces `capability` for `consumer`
/// on `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub from: String,
    pub to: String,
    pub producer: String,
    pub capability: String,
    pub consumer: String,
}

fn missing_text(missing: &[Missing]) -> String {
    missing
        .iter()
        .map(|m| {
            format!(
                "{} is consumed by {} on {} but no component produces it",
                m.capability, m.consumer, m.node
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn cycle_text(links: &[Link]) -> String {
    let mut nodes: Vec<&str> = links.iter().map(|l| l.from.as_str()).collect();
    nodes.sort();
    nodes.dedup();
    let mut text = if nodes.len() == 1 {
        format!(
            "the components on {} need each other, so no Puppet run can order them:",
            nodes[0]
        )
    } else {
        format!(
            "the nodes {} need each other, so no order of Puppet runs satisfies them:",
            nodes.join(", ")
        )
    };
    for link in links {
        text.push_str(&format!(
            "\n  {} on {} produces {} for {} on {}",
            link.producer, link.from, link.capability, link.consumer, link.to
        ));
    }
    text
}

fn known_text(known: &[String]) -> String {
    if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    }
}

/// The groups of nodes in run order, each sorted by certname.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeGroups {
    pub groups: Vec<Vec<String>>,
}

/// The components `instance` selects (every component without one), in the graph's order.
pub fn components<'g>(
    graph: &'g EnvironmentGraph,
    instance: Option<&str>,
) -> Result<Vec<ComponentRef<'g>>, OrderError> {
    if let Some(instance) = instance {
        if !graph.applications.contains_key(instance) {
            let mut known: Vec<String> = graph.applications.keys().cloned().collect();
            known.sort();
            return Err(OrderError::UnknownInstance {
                environment: graph.environment.clone(),
                instance: instance.to_string(),
                known,
            });
        }
    }
    Ok(graph
        .applications
        .iter()
        .filter(|(name, _)| instance.is_none_or(|wanted| wanted == name.as_str()))
        .flat_map(|(application, components)| {
            components.iter().map(move |(component, c)| ComponentRef {
                application,
                component,
                node: &c.node,
            })
        })
        .collect())
}

/// Orders the nodes of `graph` (of one application with `instance`). A capability produced
/// only outside the instance is taken as there already: its producer is not part of this run.
pub fn order(graph: &EnvironmentGraph, instance: Option<&str>) -> Result<NodeGroups, OrderError> {
    let selected = components(graph, instance)?;
    // Producers across the whole environment: a consumer of a capability nobody produces
    // anywhere is an error of its own, never a cycle.
    let mut produced_anywhere: HashSet<&str> = HashSet::new();
    for component in graph.applications.values().flat_map(|a| a.values()) {
        produced_anywhere.extend(component.produces.iter().map(String::as_str));
    }
    let mut components: DiGraph<ComponentRef, &str> = DiGraph::with_capacity(selected.len(), 0);
    let mut producers: HashMap<&str, Vec<NodeIndex>> = HashMap::new();
    let mut consumers: Vec<(NodeIndex, &str)> = Vec::new();
    let mut missing = Vec::new();
    for reference in &selected {
        let index = components.add_node(*reference);
        let component = &graph.applications[reference.application][reference.component];
        for capability in &component.produces {
            producers.entry(capability).or_default().push(index);
        }
        for capability in &component.consumes {
            if produced_anywhere.contains(capability.as_str()) {
                consumers.push((index, capability));
            } else {
                missing.push(Missing {
                    capability: capability.clone(),
                    consumer: reference.component.to_string(),
                    node: reference.node.to_string(),
                });
            }
        }
    }
    if !missing.is_empty() {
        return Err(OrderError::MissingProducer(missing));
    }
    for (consumer, capability) in consumers {
        for &producer in producers.get(capability).map(Vec::as_slice).unwrap_or(&[]) {
            if producer != consumer {
                components.add_edge(producer, consumer, capability);
            }
        }
    }

    // The node graph: one edge per pair of different nodes a component edge joins, with the
    // first component edge that made it, to name it in a cycle.
    let mut nodes: DiGraph<&str, Link> = DiGraph::new();
    let mut node_index: HashMap<&str, NodeIndex> = HashMap::new();
    for reference in &selected {
        node_index
            .entry(reference.node)
            .or_insert_with(|| nodes.add_node(reference.node));
    }
    let mut joined: HashSet<(NodeIndex, NodeIndex)> = HashSet::new();
    for edge in components.edge_references() {
        let (producer, consumer) = (components[edge.source()], components[edge.target()]);
        if producer.node == consumer.node {
            continue;
        }
        let (from, to) = (node_index[producer.node], node_index[consumer.node]);
        if joined.insert((from, to)) {
            nodes.add_edge(
                from,
                to,
                Link {
                    from: producer.node.to_string(),
                    to: consumer.node.to_string(),
                    producer: producer.component.to_string(),
                    capability: edge.weight().to_string(),
                    consumer: consumer.component.to_string(),
                },
            );
        }
    }

    let Some(sorted) = dag::topological_order(&nodes) else {
        return Err(OrderError::Cycle(node_cycle(&nodes)));
    };
    // Components that need each other on one node: its own Puppet run cannot order them.
    if dag::topological_order(&components).is_none() {
        return Err(OrderError::Cycle(component_cycle(&components)));
    }

    // Longest-path layering: a node's group is one after the latest of its producers' nodes,
    // which gives the fewest groups.
    let mut layer = vec![0usize; nodes.node_count()];
    for &node in &sorted {
        let latest = nodes
            .neighbors_directed(node, Direction::Incoming)
            .map(|before| layer[before.index()] + 1)
            .max()
            .unwrap_or(0);
        layer[node.index()] = latest;
    }
    let count = layer.iter().max().map_or(0, |most| most + 1);
    let mut groups = vec![Vec::new(); count];
    for node in nodes.node_indices() {
        groups[layer[node.index()]].push(nodes[node].to_string());
    }
    for group in &mut groups {
        group.sort();
    }
    Ok(NodeGroups { groups })
}

/// One cycle of the node graph, as the links around it, starting at its smallest node.
fn node_cycle(nodes: &DiGraph<&str, Link>) -> Vec<Link> {
    cycle_edges(nodes, |index| nodes[index])
        .filter_map(|(from, to)| nodes.find_edge(from, to))
        .map(|edge| nodes[edge].clone())
        .collect()
}

/// One cycle among components (all on one node, or the node graph would have one).
fn component_cycle(components: &DiGraph<ComponentRef, &str>) -> Vec<Link> {
    cycle_edges(components, |index| components[index].component)
        .filter_map(|(from, to)| {
            let edge = components.find_edge(from, to)?;
            let (producer, consumer) = (components[from], components[to]);
            Some(Link {
                from: producer.node.to_string(),
                to: consumer.node.to_string(),
                producer: producer.component.to_string(),
                capability: components[edge].to_string(),
                consumer: consumer.component.to_string(),
            })
        })
        .collect()
}

/// The edges of one cycle of `graph`, read from its smallest vertex by `name`, neighbours by
/// name, so the cycle named is the same every time.
fn cycle_edges<'g, N, E>(
    graph: &DiGraph<N, E>,
    name: impl Fn(NodeIndex) -> &'g str,
) -> impl Iterator<Item = (NodeIndex, NodeIndex)> {
    let cycle = dag::find_cycle(graph, name).map(|cycle| cycle.edges().collect::<Vec<_>>());
    cycle.into_iter().flatten()
}

impl fmt::Display for NodeGroups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (number, group) in self.groups.iter().enumerate() {
            writeln!(f, "{}: {}", number + 1, group.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::graph::{lamp, Component};
    use indexmap::IndexMap;

    /// `(application, component, produces, consumes, node)`.
    type Row<'a> = (&'a str, &'a str, &'a [&'a str], &'a [&'a str], &'a str);

    /// A graph from rows.
    fn site(rows: &[Row]) -> EnvironmentGraph {
        let mut applications: IndexMap<String, IndexMap<String, Component>> = IndexMap::new();
        for (application, component, produces, consumes, node) in rows {
            applications
                .entry(application.to_string())
                .or_default()
                .insert(
                    component.to_string(),
                    Component {
                        produces: produces.iter().map(|s| s.to_string()).collect(),
                        consumes: consumes.iter().map(|s| s.to_string()).collect(),
                        node: node.to_string(),
                    },
                );
        }
        EnvironmentGraph {
            environment: "production".into(),
            applications,
            code_id: None,
        }
    }

    fn groups(graph: &EnvironmentGraph) -> Vec<Vec<String>> {
        order(graph, None).unwrap().groups
    }

    #[test]
    fn the_seeds_lamp_site_is_the_database_then_the_web_servers() {
        assert_eq!(
            groups(&lamp()),
            [
                vec!["dev1.example.net"],
                vec!["dev2.example.net", "dev3.example.net", "dev4.example.net"]
            ]
        );
    }

    #[test]
    fn three_tiers_are_three_groups() {
        let graph = site(&[
            ("Shop[s]", "Shop::Lb[s]", &[], &["Http[s]"], "lb"),
            (
                "Shop[s]",
                "Shop::App[s-1]",
                &["Http[s]"],
                &["Sql[s]"],
                "app1",
            ),
            (
                "Shop[s]",
                "Shop::App[s-2]",
                &["Http[s]"],
                &["Sql[s]"],
                "app2",
            ),
            ("Shop[s]", "Shop::Db[s]", &["Sql[s]"], &[], "db"),
        ]);
        assert_eq!(
            groups(&graph),
            [vec!["db"], vec!["app1", "app2"], vec!["lb"]]
        );
    }

    #[test]
    fn a_node_hosting_producer_and_consumer_runs_in_one_group() {
        let graph = site(&[
            ("Lamp[a]", "Lamp::Mysql[a]", &["Sql[a]"], &[], "all"),
            ("Lamp[a]", "Lamp::Webapp[a]", &[], &["Sql[a]"], "all"),
            ("Lamp[a]", "Lamp::Webapp[b]", &[], &["Sql[a]"], "web"),
        ]);
        assert_eq!(groups(&graph), [vec!["all"], vec!["web"]]);
    }

    #[test]
    fn nodes_that_need_each_other_are_a_cycle_named_with_both() {
        let graph = site(&[
            ("X[x]", "X::Db[x]", &["Sql[x]"], &[], "a"),
            ("X[x]", "X::Web[x]", &[], &["Sql[x]"], "b"),
            ("Y[y]", "Y::Db[y]", &["Sql[y]"], &[], "b"),
            ("Y[y]", "Y::Web[y]", &[], &["Sql[y]"], "a"),
        ]);
        let error = order(&graph, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the nodes a, b need each other, so no order of Puppet runs satisfies them:\n  \
             X::Db[x] on a produces Sql[x] for X::Web[x] on b\n  \
             Y::Db[y] on b produces Sql[y] for Y::Web[y] on a"
        );
        // Each application alone orders fine.
        assert_eq!(
            order(&graph, Some("X[x]")).unwrap().groups,
            [vec!["a"], vec!["b"]]
        );
    }

    #[test]
    fn components_of_one_node_that_need_each_other_are_a_cycle_too() {
        let graph = site(&[
            ("X[x]", "X::A[x]", &["P[x]"], &["Q[x]"], "one"),
            ("X[x]", "X::B[x]", &["Q[x]"], &["P[x]"], "one"),
        ]);
        let error = order(&graph, None).unwrap_err().to_string();
        assert!(
            error.starts_with("the components on one need each other"),
            "{error}"
        );
        assert!(error.contains("X::A[x] on one produces P[x] for X::B[x] on one"));
    }

    #[test]
    fn a_capability_nobody_produces_is_its_own_error() {
        let graph = site(&[(
            "Lamp[app9]",
            "Lamp::Webapp[app9-1]",
            &[],
            &["Sql[app9]"],
            "dev2",
        )]);
        assert_eq!(
            order(&graph, None).unwrap_err().to_string(),
            "Sql[app9] is consumed by Lamp::Webapp[app9-1] on dev2 but no component produces it"
        );
    }

    #[test]
    fn an_instance_limits_the_run_to_one_application() {
        let mut graph = lamp();
        graph.applications.get_mut("Lamp[app1]").unwrap()["Lamp::Webapp[app1-3]"].node =
            "dev9.example.net".into();
        let groups = order(&graph, Some("Lamp[app1]")).unwrap().groups;
        assert_eq!(
            groups,
            [
                vec!["dev1.example.net"],
                vec!["dev2.example.net", "dev3.example.net", "dev9.example.net"]
            ]
        );
        assert_eq!(
            order(&graph, Some("Lamp[app7]")).unwrap_err().to_string(),
            "the production environment has no application Lamp[app7]; it has Lamp[app1], Lamp[app2]"
        );
    }

    #[test]
    fn a_capability_produced_by_another_application_is_there_already() {
        let graph = site(&[
            ("Db[d]", "Db::Server[d]", &["Sql[d]"], &[], "db"),
            ("Web[w]", "Web::App[w]", &[], &["Sql[d]"], "web"),
        ]);
        assert_eq!(order(&graph, Some("Web[w]")).unwrap().groups, [vec!["web"]]);
        assert_eq!(groups(&graph), [vec!["db"], vec!["web"]]);
    }

    #[test]
    fn an_empty_site_has_no_groups() {
        assert!(groups(&site(&[])).is_empty());
    }
}
