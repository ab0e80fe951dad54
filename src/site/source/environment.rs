//! The built-in source: the environment's Puppet code, evaluated as Puppet 5's environment
//! compiler did (`crate::eval::site`), then turned into the graph with Puppet Server's three
//! validations of each application's `nodes` mapping.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::{SourceError, SourceErrorKind};
use crate::eval::site::{evaluate_site, ApplicationInstance, SiteEvaluation};
use crate::eval::types::{capitalize_type_name, Type};
use crate::eval::{EvalError, Level, Loader, Log, Origin, SourceFile, Value};
use crate::lang::ast::{Attribute, Expr, ExprKind, StringPart};
use crate::lang::visit::{self, Visitor};
use crate::site::{Component, EnvironmentGraph};

/// Reads `<environmentpath>/<environment>`: every `manifests/**/*.pp` in name order, and the
/// defines, applications and capability mappings its `modules/` autoload.
pub fn from_environment(
    environmentpath: &Path,
    environment: &str,
) -> Result<EnvironmentGraph, SourceError> {
    let dir = environment_dir(environmentpath, environment)?;
    let manifests = manifest_files(&dir.join("manifests"))?;
    let loader = Loader::new(&dir);
    let mut log = StderrLog;
    let evaluation = evaluate_site(loader, &manifests, &mut log)
        .map_err(|failure| SourceError::code(failure.diagnostic()))?;
    build_graph(environment, &evaluation)
        .map_err(|error| SourceError::code(error.diagnostic(&evaluation.sources)))
}

fn environment_dir(environmentpath: &Path, environment: &str) -> Result<PathBuf, SourceError> {
    // Puppet's rule for environment names; it also keeps `..` and `/` out of the path.
    let valid = !environment.is_empty()
        && environment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(SourceError::new(
            SourceErrorKind::Missing,
            format!("'{environment}' is not a valid environment name"),
        )
        .with_help("environment names are letters, digits and underscores"));
    }
    let dir = environmentpath.join(environment);
    if dir.is_dir() {
        return Ok(dir);
    }
    let mut known: Vec<String> = std::fs::read_dir(environmentpath)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    known.sort();
    let error = SourceError::new(
        SourceErrorKind::Missing,
        format!(
            "no environment '{environment}' in {}",
            environmentpath.display()
        ),
    );
    Err(match known.is_empty() {
        true => {
            error.with_help("give the folder that holds the environments with --environmentpath")
        }
        false => error.with_help(format!("the environments there are: {}", known.join(", "))),
    })
}

/// The `.pp` files under `dir`, in the order Puppet reads a manifest folder: by path.
pub fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|err| {
            SourceError::new(
                SourceErrorKind::Missing,
                format!("cannot read the manifests in {}: {err}", folder.display()),
            )
            .with_help("an environment keeps its site in manifests/*.pp")
        })?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "pp") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// `notice()` and warnings from site code go to stderr: stdout may be carrying the plan's JSON.
struct StderrLog;

impl Log for StderrLog {
    fn log(&mut self, level: Level, text: &str) {
        let prefix = match level {
            Level::Notice => "Notice",
            Level::Warning => "Warning",
            Level::Err => "Error",
        };
        eprintln!("{prefix}: {text}");
    }
}

/// One `Node['x'] => Component['y']` of a `nodes` hash.
struct Assignment {
    node: String,
    component: String,
}

/// The graph from the site evaluation, checked as Puppet Server checked it (in its order:
/// non-existent components, then components without nodes, then components with several).
fn build_graph(
    environment: &str,
    evaluation: &SiteEvaluation,
) -> Result<EnvironmentGraph, EvalError> {
    let catalog = &evaluation.catalog;
    let state = &evaluation.state;
    let mut applications = IndexMap::new();
    for app in &state.applications {
        let reference = app.reference();
        let Some(app_id) = catalog.find(&app.type_name, &app.title) else {
            continue;
        };
        let components: Vec<String> = catalog
            .resources
            .iter()
            .filter(|r| r.container == Some(app_id))
            .map(|r| r.reference())
            .collect();
        let assignments = assignments(app)?;
        let sources = &evaluation.sources;

        let mut nonexistent: Vec<&str> = Vec::new();
        for a in &assignments {
            if !components.contains(&a.component) && !nonexistent.contains(&a.component.as_str()) {
                nonexistent.push(&a.component);
            }
        }
        if let Some(first) = nonexistent.first() {
            let at = locate_component(sources, app, first, 0);
            return Err(EvalError::input(
                format!(
                    "Application {reference} assigns nodes to non-existent components: {}",
                    nonexistent.join(", ")
                ),
                at,
                format!("{reference} declares no {first}"),
            )
            .with_help(match components.is_empty() {
                true => format!("{reference} declares no components"),
                false => format!("{reference} declares {}", components.join(", ")),
            }));
        }

        let missing: Vec<&String> = components
            .iter()
            .filter(|c| !assignments.iter().any(|a| &a.component == *c))
            .collect();
        if let Some(first) = missing.first() {
            let names: Vec<&str> = missing.iter().map(|m| m.as_str()).collect();
            return Err(EvalError::input(
                format!(
                    "Application {reference} has components without assigned nodes: {}",
                    names.join(", ")
                ),
                app.nodes_origin,
                match app.nodes {
                    Value::Undef => "`nodes` is not given".to_string(),
                    _ => format!("no node for {}", names.join(", ")),
                },
            )
            .with_help(format!(
                "assign each component a node in `nodes`, e.g. `Node['certname'] => {}`",
                quoted_reference(first)
            )));
        }

        let mut nodes: IndexMap<&str, &str> = IndexMap::new();
        for a in &assignments {
            if let Some(first_node) = nodes.get(a.component.as_str()) {
                let at = locate_component(sources, app, &a.component, 1);
                return Err(EvalError::input(
                    format!(
                        "Application {reference} assigns multiple nodes to component {}",
                        a.component
                    ),
                    at,
                    format!("assigned to {} as well as {first_node}", a.node),
                )
                .with_help("a component runs on one node: remove one of its assignments (declare another component to run on another node)"));
            }
            nodes.insert(&a.component, &a.node);
        }

        let mut graph_components = IndexMap::new();
        for component in &components {
            let uses = state
                .capabilities
                .get(component)
                .cloned()
                .unwrap_or_default();
            graph_components.insert(
                component.clone(),
                Component {
                    produces: uses.produces,
                    consumes: uses.consumes,
                    node: nodes
                        .get(component.as_str())
                        .copied()
                        .unwrap_or_default()
                        .to_string(),
                },
            );
        }
        applications.insert(reference, graph_components);
    }
    Ok(EnvironmentGraph {
        environment: environment.to_string(),
        applications,
        code_id: None,
    })
}

/// The `nodes` hash as (node, component) pairs, in the order written.
fn assignments(app: &ApplicationInstance) -> Result<Vec<Assignment>, EvalError> {
    let at = app.nodes_origin;
    let map = match &app.nodes {
        Value::Undef => return Ok(Vec::new()),
        Value::Hash(map) => map,
        other => {
            return Err(EvalError::input(
                format!(
                    "`nodes` of {} must be a hash of nodes to components, got {}",
                    app.reference(),
                    other.type_name()
                ),
                at,
                "not a hash",
            )
            .with_help("nodes => { Node['certname'] => Component['title'], ... }"))
        }
    };
    let mut found = Vec::new();
    for (key, value) in map {
        let node = match key {
            Value::Type(t) => match &**t {
                Type::Resource(Some(name), Some(title)) if name == "node" => title.clone(),
                _ => String::new(),
            },
            _ => String::new(),
        };
        if node.is_empty() {
            return Err(EvalError::input(
                format!(
                    "a key of `nodes` must be a node, as Node['certname'], and {key} is not one"
                ),
                at,
                "in this mapping",
            ));
        }
        let mut pending = vec![value.clone()];
        while let Some(value) = pending.pop() {
            match value {
                Value::Array(items) => pending.extend(items.into_iter().rev()),
                Value::Type(t) => match *t {
                    Type::Resource(Some(name), Some(title)) => found.push(Assignment {
                        node: node.clone(),
                        component: format!("{}[{}]", capitalize_type_name(&name), title),
                    }),
                    other => return Err(not_a_component(app, &node, &other.to_string(), at)),
                },
                other => return Err(not_a_component(app, &node, &other.to_string(), at)),
            }
        }
    }
    Ok(found)
}

fn not_a_component(app: &ApplicationInstance, node: &str, value: &str, at: Origin) -> EvalError {
    EvalError::input(
        format!(
            "`nodes` of {} maps Node[{node}] to {value}, which is not a component",
            app.reference()
        ),
        at,
        "in this mapping",
    )
    .with_help("map a node to a component reference, or an array of them: Node['certname'] => Lamp::Mysql['app1']")
}

/// `Lamp::Webapp['app1-3']`, as one would write it.
fn quoted_reference(reference: &str) -> String {
    match reference.split_once('[') {
        Some((type_name, rest)) => {
            format!("{type_name}['{}']", rest.strip_suffix(']').unwrap_or(rest))
        }
        None => reference.to_string(),
    }
}

/// Where a component is named in an application's `nodes` hash: its `occurrence`th literal
/// reference (0 for the first), or the whole `nodes => ...` when the mapping is computed.
/// The evaluation keeps values, not spans, so the file is parsed again; this runs only on the
/// way to an error.
fn locate_component(
    sources: &[SourceFile],
    app: &ApplicationInstance,
    component: &str,
    occurrence: usize,
) -> Origin {
    let fallback = app.nodes_origin;
    let Some(source) = sources.get(fallback.file) else {
        return fallback;
    };
    let Ok(program) = crate::lang::parse(&source.text) else {
        return fallback;
    };
    let mut finder = AttributeFinder {
        span: fallback.span,
        found: None,
    };
    visit::walk_program(&mut finder, &program);
    let Some(value) = finder.found else {
        return fallback;
    };
    let mut spans = Vec::new();
    literal_references(&value, component, &mut spans);
    match spans.get(occurrence).or(spans.last()) {
        Some(span) => Origin {
            file: fallback.file,
            span: *span,
        },
        None => fallback,
    }
}

/// Finds the value of the attribute written at `span`.
struct AttributeFinder {
    span: crate::lang::ast::Span,
    found: Option<Expr>,
}

impl Visitor for AttributeFinder {
    fn attributes(&mut self, attributes: &[Attribute]) {
        for attribute in attributes {
            if attribute.span == self.span && self.found.is_none() {
                self.found = Some(attribute.value.clone());
            }
            self.expr(&attribute.value);
        }
    }
}

/// Spans of `Type['title']` written literally, in source order, that name `component`.
fn literal_references(expr: &Expr, component: &str, spans: &mut Vec<crate::lang::ast::Span>) {
    match &expr.kind {
        ExprKind::Hash(entries) => {
            for entry in entries {
                literal_references(&entry.value, component, spans);
            }
        }
        ExprKind::Array(items) => {
            for item in items {
                literal_references(item, component, spans);
            }
        }
        ExprKind::Paren(inner) => literal_references(inner, component, spans),
        ExprKind::Access { target, keys } => {
            let ExprKind::TypeRef(name) = &target.kind else {
                return;
            };
            for key in keys {
                let Some(title) = literal_string(key) else {
                    continue;
                };
                let written = format!("{}[{title}]", capitalize_type_name(&name.to_lowercase()));
                if written == component {
                    spans.push(expr.span);
                }
            }
        }
        _ => {}
    }
}

fn literal_string(expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::String(parts) => parts
            .iter()
            .map(|p| match p {
                StringPart::Text(text) => Some(text.as_str()),
                StringPart::Interpolation(_) => None,
            })
            .collect(),
        ExprKind::Name(word) => Some(word.clone()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "environment_tests.rs"]
mod tests;
