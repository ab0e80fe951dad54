//! The step graph drawn for people (Graphviz DOT, containers as clusters) and for tools (JSON).

use std::fmt::Write as _;

use serde::Serialize;

use super::StepGraph;
use crate::eval::catalog::Catalog;

#[derive(Serialize)]
struct JsonGraph {
    steps: Vec<JsonStep>,
}

#[derive(Serialize)]
struct JsonStep {
    id: usize,
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    title: String,
    containers: Vec<String>,
    params: serde_json::Map<String, serde_json::Value>,
    /// Ids of the steps this one waits for.
    after: Vec<usize>,
}

/// `{"steps": [{"id", "name", "type", "title", "containers", "params", "after"}]}`, in an
/// order that respects the dependencies.
pub fn to_json(graph: &StepGraph, catalog: &Catalog) -> String {
    let order = graph.ordered_steps();
    let position = |n| order.iter().position(|o| *o == n).unwrap_or(usize::MAX) + 1;
    let dependencies = graph.reduced_dependencies();
    let steps = order
        .iter()
        .map(|&node| {
            let id = graph.graph[node].step().unwrap_or_default();
            let resource = catalog.get(id);
            let path = catalog.path(id);
            JsonStep {
                id: position(node),
                name: catalog.path_name(id),
                type_name: resource.type_name.clone(),
                title: resource.title.clone(),
                containers: path[..path.len() - 1]
                    .iter()
                    .map(|c| catalog.get(*c).reference())
                    .collect(),
                params: resource
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::from(v)))
                    .collect(),
                after: {
                    let mut after: Vec<usize> = dependencies[node.index()]
                        .iter()
                        .map(|d| position(*d))
                        .collect();
                    after.sort();
                    after
                },
            }
        })
        .collect();
    serde_json::to_string_pretty(&JsonGraph { steps }).unwrap_or_default() + "\n"
}

/// Graphviz: a box per step, inside a cluster per define instance or class.
pub fn to_dot(graph: &StepGraph, catalog: &Catalog) -> String {
    let order = graph.ordered_steps();
    let mut out = String::from(
        "digraph steps {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    let mut clusters: Vec<(Vec<usize>, usize)> = Vec::new();
    for &node in &order {
        let id = graph.graph[node].step().unwrap_or_default();
        let path = catalog.path(id);
        clusters.push((path[..path.len() - 1].to_vec(), node.index()));
    }
    write_clusters(&mut out, catalog, graph, &clusters, &[], 1);
    let dependencies = graph.reduced_dependencies();
    for &node in &order {
        for &dependency in &dependencies[node.index()] {
            let _ = writeln!(out, "  s{} -> s{};", dependency.index(), node.index());
        }
    }
    out.push_str("}\n");
    out
}

/// Writes the steps whose container path starts with `prefix`, nesting a subgraph per
/// container below it.
fn write_clusters(
    out: &mut String,
    catalog: &Catalog,
    graph: &StepGraph,
    steps: &[(Vec<usize>, usize)],
    prefix: &[usize],
    depth: usize,
) {
    let indent = "  ".repeat(depth);
    let mut children: Vec<usize> = Vec::new();
    for (path, node) in steps {
        if !path.starts_with(prefix) {
            continue;
        }
        if path.len() == prefix.len() {
            let step = graph.graph[petgraph::graph::NodeIndex::new(*node)]
                .step()
                .unwrap_or_default();
            let resource = catalog.get(step);
            let _ = writeln!(
                out,
                "{indent}s{node} [label=\"{}\"];",
                escape(&resource.reference())
            );
        } else if !children.contains(&path[prefix.len()]) {
            children.push(path[prefix.len()]);
        }
    }
    for child in children {
        let _ = writeln!(out, "{indent}subgraph cluster_{child} {{");
        let _ = writeln!(
            out,
            "{indent}  label=\"{}\";",
            escape(&catalog.get(child).reference())
        );
        let mut nested = prefix.to_vec();
        nested.push(child);
        write_clusters(out, catalog, graph, steps, &nested, depth + 1);
        let _ = writeln!(out, "{indent}}}");
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
