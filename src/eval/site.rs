//! The site evaluation: what Puppet 5's environment compiler did for `GET
//! /puppet/v3/environment`. Application instances in `site { }` are declared like define
//! instances and their bodies run, declaring components; components' own bodies are node code
//! and are not run (their parameters are still checked). The `export`, `consume` and `nodes`
//! metaparameters, and `require`/`subscribe` of capabilities, are recorded instead of becoming
//! parameters or relationships. Turning that record into the environment graph, with Puppet's
//! validations, is the site module's job (`crate::site::source`).

use std::collections::HashMap;
use std::path::PathBuf;

use crate::lang::ast::ExprKind;

use super::catalog::Catalog;
use super::evaluator::{EvalFailure, EvalResult, Evaluator};
use super::loader::{Loader, SourceFile};
use super::steps::NoSteps;
use super::types::{capitalize_type_name, Type};
use super::value::Value;
use super::{EvalError, Log, NoFleet, Origin};

/// What the site evaluation records while it runs.
#[derive(Debug, Default)]
pub struct SiteState {
    pub applications: Vec<ApplicationInstance>,
    /// Component reference (`Lamp::Mysql[app1]`) → the capabilities it produces and consumes.
    pub capabilities: HashMap<String, CapabilityUse>,
    /// How many `site { }` blocks were evaluated.
    pub sites: usize,
}

/// One `lamp { 'app1': ... }` in a site.
#[derive(Debug, Clone)]
pub struct ApplicationInstance {
    /// Lower case, as the catalog keys it: `lamp`.
    pub type_name: String,
    pub title: String,
    /// The `nodes` hash as evaluated (`Node[x]` → a component reference or an array of them);
    /// `Undef` when the declaration has none.
    pub nodes: Value,
    /// Where `nodes => ...` was written, or the declaration when it was not.
    pub nodes_origin: Origin,
    pub origin: Origin,
}

impl ApplicationInstance {
    /// `Lamp[app1]`.
    pub fn reference(&self) -> String {
        format!("{}[{}]", capitalize_type_name(&self.type_name), self.title)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapabilityUse {
    /// `Sql[app1]`, from `export`.
    pub produces: Vec<String>,
    /// From `require`, `subscribe` and `consume`, in Puppet's order, without repeats.
    pub consumes: Vec<String>,
}

/// The result of a site evaluation.
#[derive(Debug)]
pub struct SiteEvaluation {
    pub catalog: Catalog,
    pub sources: Vec<SourceFile>,
    pub state: SiteState,
}

/// Evaluates an environment's manifests (in the order given) for their `site` blocks.
///
/// Code outside `site { }` is for node catalogs, which Puppet's environment compiler pruned:
/// only top-scope variable assignments (which a site may read) are evaluated; definitions,
/// capability mappings and `site` blocks are what matter here.
pub fn evaluate_site(
    loader: Loader,
    manifests: &[PathBuf],
    log: &mut dyn Log,
) -> Result<SiteEvaluation, Box<EvalFailure>> {
    let nodes = NoFleet;
    // An environment declares applications and components, never steps.
    let mut evaluator = Evaluator::new(loader, &nodes, &NoSteps, log);
    evaluator.site = Some(SiteState::default());
    let result = evaluator.run_site(manifests);
    let Evaluator {
        loader,
        catalog,
        site,
        ..
    } = evaluator;
    match result {
        Ok(()) => Ok(SiteEvaluation {
            catalog,
            sources: loader.sources,
            state: site.unwrap_or_default(),
        }),
        Err(error) => Err(Box::new(EvalFailure {
            error,
            sources: loader.sources,
        })),
    }
}

impl Evaluator<'_> {
    fn run_site(&mut self, manifests: &[PathBuf]) -> EvalResult<()> {
        // Puppet reads every manifest before evaluating any: a site may use an application
        // defined in a later file.
        let mut programs = Vec::with_capacity(manifests.len());
        for path in manifests {
            programs.push(self.loader.load_file(path)?);
        }
        for (file, program) in programs {
            self.file = file;
            for statement in &program.statements {
                if matches!(statement.kind, ExprKind::Assign { .. } | ExprKind::Site(_)) {
                    self.eval(statement)?;
                }
            }
        }
        self.finish()
    }

    /// `site { }`: its statements in the top scope, in site mode.
    pub(super) fn eval_site(&mut self, block: &crate::lang::ast::Block) -> EvalResult {
        if let Some(state) = self.site.as_mut() {
            state.sites += 1;
            self.eval_block(block)?;
        }
        Ok(Value::Undef)
    }

    /// A capability type: one a `produces` or `consumes` mapping names. Only in a site
    /// evaluation; a playbook never sees them.
    pub(super) fn is_capability_type(&self, lower: &str) -> bool {
        self.site.is_some()
            && self
                .loader
                .capability_mappings
                .iter()
                .any(|m| m.def.capability.name.eq_ignore_ascii_case(lower))
    }

    /// The application of that name, when evaluating a site.
    pub(super) fn site_application(
        &mut self,
        lower: &str,
    ) -> EvalResult<Option<std::rc::Rc<super::loader::Defined<crate::lang::ast::Definition>>>> {
        if self.site.is_none() {
            return Ok(None);
        }
        self.loader.application(lower)
    }

    /// Whether a define instance's body runs: always in a playbook; in a site only an
    /// application's (components' bodies are node code).
    pub(super) fn runs_define_body(&self, type_name: &str) -> bool {
        self.site.is_none() || self.loader.applications.contains_key(type_name)
    }

    /// In a site evaluation, takes the site metaparameters out of a declaration's attributes
    /// and records them; what is left are parameters and ordinary relationships.
    pub(super) fn take_site_metaparams(
        &mut self,
        type_name: &str,
        title: &str,
        at: Origin,
        attrs: Vec<(String, Value, Origin)>,
    ) -> EvalResult<Vec<(String, Value, Origin)>> {
        if self.site.is_none() {
            return Ok(attrs);
        }
        let is_application = self.loader.applications.contains_key(type_name);
        let reference = format!("{}[{}]", capitalize_type_name(type_name), title);
        if is_application && self.scopes.frame().container.is_some() {
            return Err(EvalError::input(
                format!(
                    "Application instances like '{reference}' can only be contained within a Site"
                ),
                at,
                "declared inside another resource",
            )
            .with_help("declare application instances directly in `site { }`"));
        }
        let mut kept = Vec::with_capacity(attrs.len());
        let mut uses = CapabilityUse::default();
        let mut nodes = None;
        let mut consumed: [Vec<String>; 3] = Default::default();
        for (name, value, origin) in attrs {
            match name.as_str() {
                "nodes" if is_application => nodes = Some((value, origin)),
                "export" => uses.produces = self.capability_refs(&name, value, origin)?,
                "consume" => consumed[2] = self.capability_refs(&name, value, origin)?,
                "require" | "subscribe" => {
                    let (capabilities, others) = self.split_capabilities(value);
                    consumed[usize::from(name == "subscribe")] = capabilities;
                    if !others.is_empty() {
                        kept.push((name, Value::Array(others), origin));
                    }
                }
                _ => kept.push((name, value, origin)),
            }
        }
        for capability in consumed.into_iter().flatten() {
            if !uses.consumes.contains(&capability) {
                uses.consumes.push(capability);
            }
        }
        let Some(state) = self.site.as_mut() else {
            return Ok(kept);
        };
        if is_application {
            let (nodes, nodes_origin) = nodes.unwrap_or((Value::Undef, at));
            state.applications.push(ApplicationInstance {
                type_name: type_name.to_string(),
                title: title.to_string(),
                nodes,
                nodes_origin,
                origin: at,
            });
        } else {
            state.capabilities.insert(reference, uses);
        }
        Ok(kept)
    }

    /// `export => Sql[$name]`: capability references, or an error saying what is not one.
    fn capability_refs(
        &self,
        metaparam: &str,
        value: Value,
        origin: Origin,
    ) -> EvalResult<Vec<String>> {
        let (capabilities, others) = self.split_capabilities(value);
        if let Some(other) = others.first() {
            return Err(EvalError::input(
                format!("`{metaparam}` takes capability references, and {other} is not one"),
                origin,
                "not a capability",
            )
            .with_help(
                "a capability is a type a mapping names, as in `Lamp::Mysql produces Sql { }`; \
                 declare the mapping, or check the spelling",
            ));
        }
        Ok(capabilities)
    }

    /// Capability references (as `Sql[app1]`) and everything else, from a value or an array.
    fn split_capabilities(&self, value: Value) -> (Vec<String>, Vec<Value>) {
        let mut capabilities = Vec::new();
        let mut others = Vec::new();
        for value in super::resources::references(value) {
            match value {
                Value::Type(t) => match *t {
                    Type::Resource(Some(type_name), Some(title))
                        if self.is_capability_type(&type_name) =>
                    {
                        capabilities.push(format!(
                            "{}[{}]",
                            capitalize_type_name(&type_name),
                            title
                        ));
                    }
                    other => others.push(Value::Type(Box::new(other))),
                },
                other => others.push(other),
            }
        }
        (capabilities, others)
    }
}
