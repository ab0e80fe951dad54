//! Resource declarations: built-in step types, define instances (evaluated after the code that
//! declares them), classes, defaults, overrides, virtual resources and collectors, and the
//! relationships between them, resolved once everything is declared.

use std::collections::HashMap;
use std::rc::Rc;

use indexmap::IndexMap;

use crate::lang::ast::{
    Arrow, Attribute, ClassDef, Collector, Definition, Expr, ExprKind, Query, ResourceDefaults,
    Virtuality,
};

use super::catalog::{Edge, EdgeKind, Resource, ResourceId};
use super::evaluator::{EvalResult, Evaluator};
use super::loader::Defined;
use super::scope::{Defaults, Frame};
use super::steps::StepType;
use super::types::{capitalize_type_name, Type};
use super::value::Value;
use super::{EvalError, Origin};

/// Parameters every resource takes: relationships, and Puppet's others (accepted, unused).
const METAPARAMS: &[&str] = &[
    "before",
    "require",
    "notify",
    "subscribe",
    "tag",
    "alias",
    "noop",
    "loglevel",
    "schedule",
    "stage",
    "audit",
];

enum ResourceKind {
    Step(&'static StepType),
    Define(Rc<Defined<Definition>>),
}

/// One attribute evaluated: name, value, where it was written.
struct Attr {
    name: String,
    value: Value,
    origin: Origin,
}

pub struct PendingDefine {
    resource: ResourceId,
    /// How many define bodies declared this one: 1 for an instance the main code declares.
    nesting: usize,
    def: Rc<Defined<Definition>>,
    title: String,
    params: HashMap<String, Value>,
    origins: HashMap<String, Origin>,
    defaults: Defaults,
    origin: Origin,
}

#[derive(Debug, Clone)]
pub enum Endpoint {
    Ref { type_name: String, title: String },
    Resource(ResourceId),
    Collector(usize),
}

pub struct PendingRelation {
    from: Endpoint,
    to: Endpoint,
    kind: EdgeKind,
    origin: Origin,
}

pub struct PendingOverride {
    targets: Vec<(String, String)>,
    attrs: Vec<(String, Value)>,
    origin: Origin,
}

pub struct PendingCollector {
    type_name: String,
    query: Option<Query>,
    attrs: Vec<(String, Value)>,
    file: super::FileId,
    collected: Vec<ResourceId>,
}

pub struct VirtualResource {
    resource: Resource,
    kind_define: Option<Rc<Defined<Definition>>>,
    origins: HashMap<String, Origin>,
    defaults: Defaults,
    relations: Vec<(String, Value, Origin)>,
}

/// How many define instances one playbook may expand, and how deep defines may declare
/// defines: beyond these a define declares itself without end.
const MAX_DEFINE_INSTANCES: usize = 1_000_000;
const MAX_DEFINE_NESTING: usize = 1_000;

impl Evaluator<'_> {
    /// A type's own name for an alias of a step kind (`rpc` is `mcollective`).
    fn canonical_type(&self, name: &str) -> String {
        match self.steps.find(name) {
            Some(step) => step.name.to_string(),
            None => name.to_string(),
        }
    }

    /// Checks every step's parameters against its kind's types, as a define's parameters are
    /// checked against theirs; once everything is declared, overridden and collected.
    pub(super) fn check_steps(&self) -> EvalResult<()> {
        for resource in &self.catalog.resources {
            if let Some(step) = self.steps.find(&resource.type_name) {
                step.check(resource)?;
            }
        }
        Ok(())
    }

    pub(super) fn declare_resources(
        &mut self,
        expr: &Expr,
        resource: &crate::lang::ast::Resource,
    ) -> EvalResult {
        let type_name = self.canonical_type(&resource.type_name.name.to_lowercase());
        if type_name == "class" {
            return self.declare_class_resources(resource);
        }
        let kind = self.resource_kind(&type_name, resource.type_name.span)?;
        let mut body_defaults = Vec::new();
        for body in &resource.bodies {
            if matches!(body.title.kind, ExprKind::Default) {
                body_defaults = self.eval_attributes(&body.attributes)?;
            }
        }
        let mut refs = Vec::new();
        for body in &resource.bodies {
            if matches!(body.title.kind, ExprKind::Default) {
                continue;
            }
            let titles = self.titles(&body.title)?;
            let attrs = self.eval_attributes(&body.attributes)?;
            for title in titles {
                let given = body_defaults.iter().chain(&attrs);
                let merged = self.over_type_defaults(&type_name, given, self.origin(body.span));
                let at = self.origin(body.title.span.to(body.span));
                let declared = Declaration {
                    type_name: &type_name,
                    kind: &kind,
                    title,
                    attrs: merged,
                    at,
                    virtuality: resource.virtuality,
                };
                refs.push(self.declare_one(expr, declared)?);
            }
        }
        Ok(if refs.len() == 1 {
            refs.pop().unwrap_or(Value::Undef)
        } else {
            Value::Array(refs)
        })
    }

    /// The attributes given over the resource defaults in scope for the type (`Type { }`).
    fn over_type_defaults<'a>(
        &self,
        type_name: &str,
        given: impl Iterator<Item = &'a Attr>,
        origin: Origin,
    ) -> Vec<Attr> {
        let mut merged: Vec<Attr> = self
            .scopes
            .defaults_for(type_name)
            .into_iter()
            .map(|(name, value)| Attr {
                name,
                value,
                origin,
            })
            .collect();
        for attr in given {
            merged.retain(|a| a.name != attr.name);
            merged.push(Attr {
                name: attr.name.clone(),
                value: attr.value.clone(),
                origin: attr.origin,
            });
        }
        merged
    }

    /// Declares resources from values, as `create_resources(type, {title => attributes},
    /// defaults)` does: `@` or `@@` before the type makes them virtual or exported; each
    /// resource's attributes go over the defaults given, and those that are `undef` are left
    /// out, so that the type's defaults and the parameters' defaults apply.
    pub(super) fn declare_from_values(
        &mut self,
        expr: &Expr,
        type_spec: &str,
        instances: &IndexMap<Value, Value>,
        defaults: &IndexMap<Value, Value>,
    ) -> EvalResult {
        let name = type_spec
            .strip_prefix("@@")
            .or_else(|| type_spec.strip_prefix('@'))
            .unwrap_or(type_spec);
        let virtuality = match type_spec.len() - name.len() {
            0 => Virtuality::Real,
            1 => Virtuality::Virtual,
            _ => Virtuality::Exported,
        };
        let type_name = self.canonical_type(&name.to_lowercase());
        if type_name == "class" && virtuality != Virtuality::Real {
            return Err(self.error(expr, "Classes are not virtualizable"));
        }
        let at = self.origin(expr.span);
        let mut refs = Vec::new();
        for (title, params) in instances {
            let Value::Hash(params) = params else {
                return Err(self.error(
                    expr,
                    format!(
                        "create_resources(): the attributes of '{}' must be a hash",
                        title.to_display_string()
                    ),
                ));
            };
            let mut attrs: Vec<Attr> = Vec::new();
            for (name, value) in defaults.iter().chain(params) {
                let name = name.to_display_string();
                attrs.retain(|a| a.name != name);
                attrs.push(Attr {
                    name,
                    value: value.clone(),
                    origin: at,
                });
            }
            attrs.retain(|a| !matches!(a.value, Value::Undef));
            if let Some(bad) = illegal_title(title) {
                return Err(self.error(
                    expr,
                    format!("Illegal title type: expected a String, got {bad}"),
                ));
            }
            let mut titles = Vec::new();
            collect_titles(title.clone(), &mut titles);
            if titles.iter().any(|t| t.is_empty()) {
                return Err(self.error(expr, "a resource title cannot be empty or undef"));
            }
            if type_name == "class" {
                for title in titles {
                    let name = title.trim_start_matches("::").to_lowercase();
                    let params = attrs.iter().map(|a| (a.name.clone(), a.value.clone()));
                    self.declare_class_once(expr, &name, params.collect(), at)?;
                    refs.push(Value::Type(Box::new(Type::Class(Some(name)))));
                }
                continue;
            }
            let kind = self.resource_kind(&type_name, expr.span)?;
            for title in titles {
                let declared = Declaration {
                    type_name: &type_name,
                    kind: &kind,
                    title,
                    attrs: self.over_type_defaults(&type_name, attrs.iter(), at),
                    at,
                    virtuality,
                };
                refs.push(self.declare_one(expr, declared)?);
            }
        }
        Ok(Value::Array(refs))
    }

    fn resource_kind(
        &mut self,
        type_name: &str,
        span: crate::lang::ast::Span,
    ) -> EvalResult<ResourceKind> {
        if let Some(step) = self.steps.find(type_name) {
            return Ok(ResourceKind::Step(step));
        }
        if let Some(application) = self.site_application(type_name)? {
            return Ok(ResourceKind::Define(application));
        }
        match self.loader.define(type_name)? {
            Some(def) => Ok(ResourceKind::Define(def)),
            None => Err(EvalError::input(
                format!("Unknown resource type: '{}'", capitalize_type_name(type_name)),
                self.origin(span),
                "no step type or define has this name",
            )
            .with_help(format!(
                "steps are `mcollective` (or `rpc`) and `notify`; a define `{type_name}` is looked for in modules/{}",
                autoload_path(type_name)
            ))),
        }
    }

    /// A title, or the titles of an array title.
    fn titles(&mut self, title: &Expr) -> EvalResult<Vec<String>> {
        let value = self.eval(title)?;
        if let Some(bad) = illegal_title(&value) {
            return Err(self.error(
                title,
                format!("Illegal title type: expected a String, got {bad}"),
            ));
        }
        let mut titles = Vec::new();
        collect_titles(value, &mut titles);
        if titles.iter().any(|t| t.is_empty()) {
            return Err(self.error(title, "a resource title cannot be empty or undef"));
        }
        Ok(titles)
    }

    fn eval_attributes(&mut self, attributes: &[Attribute]) -> EvalResult<Vec<Attr>> {
        let mut attrs = Vec::with_capacity(attributes.len());
        for attribute in attributes {
            let value = self.eval(&attribute.value)?;
            let origin = self.origin(attribute.span);
            if attribute.name.name == "*" {
                let Value::Hash(map) = value else {
                    return Err(self.error(&attribute.value, "`* =>` takes a hash of attributes"));
                };
                for (name, value) in map {
                    attrs.push(Attr {
                        name: name.to_display_string(),
                        value,
                        origin,
                    });
                }
            } else {
                attrs.push(Attr {
                    name: attribute.name.name.clone(),
                    value,
                    origin,
                });
            }
        }
        Ok(attrs)
    }

    fn declare_one(&mut self, expr: &Expr, declared: Declaration<'_>) -> EvalResult {
        let Declaration {
            type_name,
            kind,
            title,
            attrs,
            at,
            virtuality,
        } = declared;
        let reference = format!("{}[{}]", capitalize_type_name(type_name), title);
        let attrs = self
            .take_site_metaparams(
                type_name,
                &title,
                at,
                attrs
                    .into_iter()
                    .map(|a| (a.name, a.value, a.origin))
                    .collect(),
            )?
            .into_iter()
            .map(|(name, value, origin)| Attr {
                name,
                value,
                origin,
            });
        let mut params = IndexMap::new();
        let mut origins = HashMap::new();
        let mut relations = Vec::new();
        let mut tags = Vec::new();
        for attr in attrs {
            if matches!(
                attr.name.as_str(),
                "before" | "require" | "notify" | "subscribe"
            ) && !matches!(kind, ResourceKind::Step(step) if step.param(&attr.name).is_some())
            {
                relations.push((attr.name, attr.value, attr.origin));
                continue;
            }
            if attr.name == "tag" {
                tags.extend(tag_names(attr.value, attr.origin)?);
                continue;
            }
            if METAPARAMS.contains(&attr.name.as_str()) {
                continue;
            }
            // A define's parameters are checked when its body runs, as Puppet does.
            if matches!(kind, ResourceKind::Step(..)) {
                check_param_known(kind, &reference, &attr.name, attr.origin)?;
            }
            origins.insert(attr.name.clone(), attr.origin);
            params.insert(attr.name, attr.value);
        }
        if matches!(kind, ResourceKind::Step(..)) {
            check_required(kind, &reference, &params, at)?;
        }
        let resource = Resource {
            type_name: type_name.to_string(),
            title: title.clone(),
            params,
            param_origins: origins.clone(),
            container: self.scopes.frame().container,
            is_container: matches!(kind, ResourceKind::Define(_)),
            origin: at,
            tags,
        };
        let define = match kind {
            ResourceKind::Define(def) => Some(def.clone()),
            ResourceKind::Step(..) => None,
        };
        let reference_value = Value::Type(Box::new(Type::Resource(
            Some(type_name.to_string()),
            Some(title),
        )));
        if virtuality != Virtuality::Real {
            self.virtuals.push(VirtualResource {
                resource,
                kind_define: define,
                origins,
                defaults: self.scopes.all_defaults(),
                relations,
            });
            return Ok(reference_value);
        }
        let defaults = self.scopes.all_defaults();
        let id = self.add_to_catalog(expr, resource)?;
        self.queue_define(id, define, origins, defaults);
        self.add_metaparam_relations(id, relations)?;
        Ok(reference_value)
    }

    fn add_to_catalog(&mut self, expr: &Expr, resource: Resource) -> EvalResult<ResourceId> {
        let at = resource.origin;
        let reference = resource.reference();
        match self.catalog.add(resource) {
            Ok(id) => Ok(id),
            Err(existing) => {
                let first = self.catalog.get(existing).origin;
                let where_first = self.describe_origin(first);
                let _ = expr;
                Err(EvalError::input(
                    format!("Duplicate declaration: {reference} is already declared at {where_first}; cannot redeclare"),
                    at,
                    "declared again here",
                )
                .with_help("give each resource of a type a title of its own"))
            }
        }
    }

    fn queue_define(
        &mut self,
        id: ResourceId,
        define: Option<Rc<Defined<Definition>>>,
        origins: HashMap<String, Origin>,
        defaults: Defaults,
    ) {
        let Some(def) = define else { return };
        let resource = self.catalog.get(id);
        let params = resource
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.pending_defines.push_back(PendingDefine {
            resource: id,
            nesting: self.define_nesting + 1,
            def,
            title: resource.title.clone(),
            params,
            origins,
            defaults,
            origin: resource.origin,
        });
    }

    fn add_metaparam_relations(
        &mut self,
        id: ResourceId,
        relations: Vec<(String, Value, Origin)>,
    ) -> EvalResult<()> {
        for (name, value, origin) in relations {
            let others = self.endpoints_of(value, origin)?;
            for other in others {
                let (from, to, kind) = match name.as_str() {
                    "before" => (Endpoint::Resource(id), other, EdgeKind::Before),
                    "notify" => (Endpoint::Resource(id), other, EdgeKind::Notify),
                    "require" => (other, Endpoint::Resource(id), EdgeKind::Before),
                    _ => (other, Endpoint::Resource(id), EdgeKind::Notify),
                };
                self.relations.push(PendingRelation {
                    from,
                    to,
                    kind,
                    origin,
                });
            }
        }
        Ok(())
    }

    /// `A -> B`: every resource on the left before every resource on the right. The value is
    /// the right side, so chains read left to right.
    pub(super) fn relationship(&mut self, arrow: Arrow, lhs: &Expr, rhs: &Expr) -> EvalResult {
        self.chain(arrow, lhs, rhs).map(|(value, _)| value)
    }

    /// Evaluates a relationship once and returns its right side: value and endpoints, which a
    /// chain (`a -> b -> c` is `(a -> b) -> c`) continues from.
    fn chain(
        &mut self,
        arrow: Arrow,
        lhs: &Expr,
        rhs: &Expr,
    ) -> EvalResult<(Value, Vec<Endpoint>)> {
        let (_, left) = self.relationship_side(lhs)?;
        let (value, right) = self.relationship_side(rhs)?;
        let origin = self.origin(lhs.span.to(rhs.span));
        let (from, to, kind) = match arrow {
            Arrow::Before => (&left, &right, EdgeKind::Before),
            Arrow::Notify => (&left, &right, EdgeKind::Notify),
            Arrow::Require => (&right, &left, EdgeKind::Before),
            Arrow::Subscribe => (&right, &left, EdgeKind::Notify),
        };
        for a in from {
            for b in to {
                self.relations.push(PendingRelation {
                    from: a.clone(),
                    to: b.clone(),
                    kind,
                    origin,
                });
            }
        }
        Ok((value, right))
    }

    fn relationship_side(&mut self, expr: &Expr) -> EvalResult<(Value, Vec<Endpoint>)> {
        match &expr.kind {
            ExprKind::Collector(collector) => {
                self.collect(expr, collector)?;
                let index = self.collectors.len() - 1;
                Ok((Value::Undef, vec![Endpoint::Collector(index)]))
            }
            ExprKind::Relationship { arrow, lhs, rhs } => self.chain(*arrow, lhs, rhs),
            ExprKind::Paren(inner) => self.relationship_side(inner),
            _ => {
                let value = self.eval(expr)?;
                let endpoints = self.endpoints_of(value.clone(), self.origin(expr.span))?;
                Ok((value, endpoints))
            }
        }
    }

    /// The resources a value refers to: a reference, a class, or an array of them.
    fn endpoints_of(&mut self, value: Value, origin: Origin) -> EvalResult<Vec<Endpoint>> {
        let mut endpoints = Vec::new();
        for value in references(value) {
            match value {
                Value::Type(t) => match *t {
                    Type::Resource(Some(type_name), Some(title)) => endpoints.push(Endpoint::Ref {
                        type_name: self.canonical_type(&type_name),
                        title,
                    }),
                    Type::Class(Some(name)) => endpoints.push(Endpoint::Ref {
                        type_name: "class".into(),
                        title: name,
                    }),
                    other => {
                        return Err(EvalError::input(
                            format!("{other} is not a resource: a relationship needs a title, such as {other}['name']"),
                            origin,
                            "here",
                        ))
                    }
                },
                Value::String(s) => {
                    return Err(EvalError::input(
                        format!("'{s}' is not a resource reference"),
                        origin,
                        "here",
                    )
                    .with_help("refer to a resource by its type and title: Mcollective['name']"))
                }
                other => {
                    return Err(EvalError::input(
                        format!("{} is not a resource reference", other.type_name()),
                        origin,
                        "here",
                    ))
                }
            }
        }
        Ok(endpoints)
    }

    pub(super) fn set_defaults(&mut self, defaults: &ResourceDefaults) -> EvalResult {
        let type_name = self.canonical_type(&defaults.type_name.name.to_lowercase());
        let attrs = self.eval_attributes(&defaults.attributes)?;
        let entry = self
            .scopes
            .frame_mut()
            .defaults
            .entry(type_name)
            .or_default();
        for attr in attrs {
            entry.retain(|(n, _)| *n != attr.name);
            entry.push((attr.name, attr.value));
        }
        Ok(Value::Undef)
    }

    pub(super) fn override_resources(
        &mut self,
        expr: &Expr,
        target: &Expr,
        attributes: &[Attribute],
    ) -> EvalResult {
        let value = self.eval(target)?;
        let endpoints = self.endpoints_of(value, self.origin(target.span))?;
        let attrs = self.eval_attributes(attributes)?;
        let targets = endpoints
            .into_iter()
            .filter_map(|e| match e {
                Endpoint::Ref { type_name, title } => Some((type_name, title)),
                _ => None,
            })
            .collect();
        self.overrides.push(PendingOverride {
            targets,
            attrs: attrs.into_iter().map(|a| (a.name, a.value)).collect(),
            origin: self.origin(expr.span),
        });
        Ok(Value::Undef)
    }

    pub(super) fn collect(&mut self, _expr: &Expr, collector: &Collector) -> EvalResult {
        let attrs = match &collector.attributes {
            Some(attributes) => self
                .eval_attributes(attributes)?
                .into_iter()
                .map(|a| (a.name, a.value))
                .collect(),
            None => Vec::new(),
        };
        self.collectors.push(PendingCollector {
            type_name: self.canonical_type(&collector.type_name.name.to_lowercase()),
            query: collector.query.clone(),
            attrs,
            file: self.file,
            collected: Vec::new(),
        });
        Ok(Value::Undef)
    }

    /// `include`, `contain`, `require`: declares each class once. `contain` puts the class's
    /// steps inside the current define or class; `require` also orders it before.
    pub(super) fn include_classes(
        &mut self,
        at: &Expr,
        names: Vec<Value>,
        how: &str,
    ) -> EvalResult {
        let mut refs = Vec::new();
        let mut flat = Vec::new();
        collect_titles(Value::Array(names), &mut flat);
        for name in flat {
            let name = name.trim_start_matches("::").to_lowercase();
            let id = self.declare_class(at, &name, None, self.origin(at.span))?;
            let container = self.scopes.frame().container;
            if let Some(container) = container {
                if how == "contain" && self.catalog.get(id).container.is_none() && id != container {
                    self.catalog.get_mut(id).container = Some(container);
                }
                if how == "require" {
                    self.relations.push(PendingRelation {
                        from: Endpoint::Resource(id),
                        to: Endpoint::Resource(container),
                        kind: EdgeKind::Before,
                        origin: self.origin(at.span),
                    });
                }
            }
            refs.push(Value::Type(Box::new(Type::Class(Some(name)))));
        }
        Ok(Value::Array(refs))
    }

    fn declare_class_resources(&mut self, resource: &crate::lang::ast::Resource) -> EvalResult {
        let mut refs = Vec::new();
        for body in &resource.bodies {
            for title in self.titles(&body.title)? {
                let name = title.trim_start_matches("::").to_lowercase();
                let attrs = self.eval_attributes(&body.attributes)?;
                let at = self.origin(body.span);
                let params = attrs.into_iter().map(|a| (a.name, a.value)).collect();
                self.declare_class_once(&body.title, &name, params, at)?;
                refs.push(Value::Type(Box::new(Type::Class(Some(name)))));
            }
        }
        Ok(Value::Array(refs))
    }

    /// A resource-like class declaration (`class { 'x': }`): declaring it twice is an error.
    fn declare_class_once(
        &mut self,
        at_expr: &Expr,
        name: &str,
        params: HashMap<String, Value>,
        at: Origin,
    ) -> EvalResult<()> {
        if let Some(existing) = self.classes.get(name) {
            let first = self.describe_origin(self.catalog.get(*existing).origin);
            return Err(EvalError::input(
                format!(
                    "Duplicate declaration: Class[{}] is already declared at {first}",
                    capitalize_type_name(name)
                ),
                at,
                "declared again here",
            ));
        }
        self.declare_class(at_expr, name, Some(params), at)?;
        Ok(())
    }

    /// Declares and evaluates a class at once, as Puppet does; a second `include` does nothing.
    fn declare_class(
        &mut self,
        at: &Expr,
        name: &str,
        params: Option<HashMap<String, Value>>,
        origin: Origin,
    ) -> EvalResult<ResourceId> {
        if let Some(id) = self.classes.get(name) {
            return Ok(*id);
        }
        let Some(class) = self.loader.class(name)? else {
            return Err(EvalError::input(
                format!("Could not find class '{name}'"),
                origin,
                "no class has this name",
            )
            .with_help(format!(
                "a class `{name}` is looked for in modules/{}",
                autoload_path(name)
            )));
        };
        if let Some(parent) = &class.def.parent {
            let parent_name = parent.name.to_lowercase();
            if !self.classes_inheriting.insert(name.to_string()) {
                return Err(EvalError::input(
                    format!("class '{name}' inherits from itself (through '{parent_name}')"),
                    self.origin_in(class.file, parent.span),
                    "this inheritance closes the loop",
                ));
            }
            let declared = self.declare_class(at, &parent_name, None, origin);
            self.classes_inheriting.remove(name);
            declared?;
        }
        let resource = Resource {
            type_name: "class".into(),
            title: name.to_string(),
            params: IndexMap::new(),
            param_origins: HashMap::new(),
            container: None,
            is_container: true,
            origin,
            tags: Vec::new(),
        };
        let id = self.add_to_catalog(at, resource)?;
        self.classes.insert(name.to_string(), id);
        self.evaluate_class(at, &class, id, params.unwrap_or_default(), origin)?;
        Ok(id)
    }

    fn evaluate_class(
        &mut self,
        at: &Expr,
        class: &Rc<Defined<ClassDef>>,
        id: ResourceId,
        params: HashMap<String, Value>,
        origin: Origin,
    ) -> EvalResult<()> {
        let owner = format!("Class[{}]", capitalize_type_name(&class.def.name.name));
        for name in params.keys() {
            if !class.def.params.iter().any(|p| &p.name.name == name) {
                return Err(EvalError::input(
                    format!("{owner} has no parameter named '{name}'"),
                    origin,
                    "declared here",
                ));
            }
        }
        self.enter_call(at)?;
        let saved_file = std::mem::replace(&mut self.file, class.file);
        // A class that inherits sees its parent's variables: they sit in a scope between it
        // and the top scope.
        let inherited = class
            .def
            .parent
            .as_ref()
            .and_then(|p| self.scopes.class_vars(&p.name.to_lowercase()));
        let outer = inherited.map(|vars| {
            self.scopes.push(Frame {
                vars,
                parent: Some(0),
                ..Frame::default()
            })
        });
        let frame = Frame {
            parent: Some(if outer.is_some() {
                self.scopes.current
            } else {
                0
            }),
            container: Some(id),
            class_name: Some(class.def.name.name.to_lowercase()),
            ..Frame::default()
        };
        let previous = self.scopes.push(frame);
        let result = self
            .bind_params(&class.def.params, params, &owner, origin, false)
            .and_then(|()| self.eval_body(&class.def.body));
        self.scopes.pop(previous);
        if let Some(before) = outer {
            self.scopes.pop(before);
        }
        self.file = saved_file;
        self.leave_call();
        result
    }

    /// A class or define body; `next()` ends it early, as in Puppet.
    fn eval_body(&mut self, body: &crate::lang::ast::Block) -> EvalResult<()> {
        match self.eval_block(body) {
            Err(e) if e.kind == super::EvalErrorKind::Next => Ok(()),
            other => other.map(|_| ()),
        }
    }

    fn origin_in(&self, file: super::FileId, span: crate::lang::ast::Span) -> Origin {
        Origin { file, span }
    }

    /// Evaluates define bodies, first declared first, until none is left.
    pub(super) fn expand_defines(&mut self) -> EvalResult<()> {
        let mut expanded = 0;
        while let Some(pending) = self.pending_defines.pop_front() {
            expanded += 1;
            if expanded > MAX_DEFINE_INSTANCES {
                return Err(EvalError::input(
                    format!("more than {MAX_DEFINE_INSTANCES} define instances: does a define declare itself without end?"),
                    pending.origin,
                    "this instance is one of them",
                ));
            }
            if pending.nesting > MAX_DEFINE_NESTING {
                return Err(EvalError::input(
                    format!("defines declare defines more than {MAX_DEFINE_NESTING} deep: does a define declare itself without end?"),
                    pending.origin,
                    "this instance is one of them",
                ));
            }
            self.define_nesting = pending.nesting;
            self.expand_define(pending)?;
            self.define_nesting = 0;
        }
        Ok(())
    }

    fn expand_define(&mut self, pending: PendingDefine) -> EvalResult<()> {
        let PendingDefine {
            resource,
            nesting: _,
            def,
            title,
            params,
            origins,
            defaults,
            origin,
        } = pending;
        let owner = self.catalog.get(resource).reference();
        let kind = ResourceKind::Define(def.clone());
        let declared = &self.catalog.get(resource).params;
        for name in declared.keys() {
            let at = origins.get(name).copied().unwrap_or(origin);
            check_param_known(&kind, &owner, name, at)?;
        }
        check_required(&kind, &owner, declared, origin)?;
        let saved_file = std::mem::replace(&mut self.file, def.file);
        let mut frame = Frame {
            parent: Some(0),
            container: Some(resource),
            defaults,
            ..Frame::default()
        };
        frame
            .vars
            .insert("title".into(), Value::String(title.clone()));
        let name = params
            .get("name")
            .cloned()
            .unwrap_or_else(|| Value::String(title.clone()));
        frame.vars.insert("name".into(), name);
        let previous = self.scopes.push(frame);
        let runs_body = self.runs_define_body(&self.catalog.get(resource).type_name);
        let result = self
            .bind_define_params(&def.def, params, &owner, origin, &origins)
            .and_then(|()| match runs_body {
                true => self.eval_body(&def.def.body),
                false => Ok(()),
            });
        self.scopes.pop(previous);
        self.file = saved_file;
        result
    }

    fn bind_define_params(
        &mut self,
        def: &Definition,
        mut given: HashMap<String, Value>,
        owner: &str,
        origin: Origin,
        origins: &HashMap<String, Origin>,
    ) -> EvalResult<()> {
        given.remove("name");
        for param in &def.params {
            let name = &param.name.name;
            let Some(type_expr) = &param.type_expr else {
                continue;
            };
            let Some(value) = given.get(name) else {
                continue;
            };
            let expected = self.eval_type(type_expr)?;
            if !expected.is_instance(value) {
                let at = origins.get(name).copied().unwrap_or(origin);
                return Err(EvalError::input(
                    format!(
                        "{owner}: parameter '{name}' expects {}, got {}",
                        super::evaluator::describe_type(&expected),
                        super::evaluator::describe_value_type(value)
                    ),
                    at,
                    format!("'{name}' must be {expected}"),
                ));
            }
        }
        self.bind_params(&def.params, given, owner, origin, false)
    }

    /// Realizes the virtual resources collectors select and applies their attribute blocks.
    pub(super) fn run_collectors(&mut self) -> EvalResult<()> {
        for index in 0..self.collectors.len() {
            let type_name = self.collectors[index].type_name.clone();
            let query = self.collectors[index].query.clone();
            let file = self.collectors[index].file;
            let saved_file = std::mem::replace(&mut self.file, file);
            let mut collected = Vec::new();
            let mut position = 0;
            while position < self.virtuals.len() {
                let candidate = self.virtuals[position].resource.clone();
                if candidate.type_name == type_name
                    && self.query_matches(query.as_ref(), &candidate)?
                {
                    let virtual_resource = self.virtuals.remove(position);
                    collected.push(self.realize(virtual_resource)?);
                } else {
                    position += 1;
                }
            }
            for id in 0..self.catalog.resources.len() {
                let resource = self.catalog.get(id).clone();
                if resource.type_name == type_name
                    && !collected.contains(&id)
                    && self.query_matches(query.as_ref(), &resource)?
                {
                    collected.push(id);
                }
            }
            let attrs = self.collectors[index].attrs.clone();
            for id in &collected {
                for (name, value) in &attrs {
                    self.catalog
                        .get_mut(*id)
                        .params
                        .insert(name.clone(), value.clone());
                }
            }
            self.collectors[index].collected = collected;
            self.file = saved_file;
        }
        Ok(())
    }

    /// `realize(Type['title'])`.
    pub(super) fn realize_refs(&mut self, at: &Expr, values: Vec<Value>) -> EvalResult {
        for value in values {
            for endpoint in self.endpoints_of(value, self.origin(at.span))? {
                let Endpoint::Ref { type_name, title } = endpoint else {
                    continue;
                };
                let found = self
                    .virtuals
                    .iter()
                    .position(|v| v.resource.type_name == type_name && v.resource.title == title);
                match found {
                    Some(position) => {
                        let virtual_resource = self.virtuals.remove(position);
                        self.realize(virtual_resource)?;
                    }
                    None if self.catalog.find(&type_name, &title).is_some() => {}
                    None => {
                        return Err(self.error(
                            at,
                            format!(
                                "Failed to realize virtual resources {}",
                                super::evaluator::resource_ref_name(&type_name, &title)
                            ),
                        ))
                    }
                }
            }
        }
        Ok(Value::Undef)
    }

    fn realize(&mut self, virtual_resource: VirtualResource) -> EvalResult<ResourceId> {
        let VirtualResource {
            resource,
            kind_define,
            origins,
            defaults,
            relations,
        } = virtual_resource;
        let at = resource.origin;
        let reference = resource.reference();
        let id = self.catalog.add(resource).map_err(|_| {
            EvalError::input(format!("Duplicate declaration: {reference}"), at, "here")
        })?;
        self.queue_define(id, kind_define, origins, defaults);
        self.add_metaparam_relations(id, relations)?;
        Ok(id)
    }

    fn query_matches(&mut self, query: Option<&Query>, resource: &Resource) -> EvalResult<bool> {
        let Some(query) = query else { return Ok(true) };
        Ok(match query {
            Query::Or(a, b) => {
                self.query_matches(Some(a), resource)? || self.query_matches(Some(b), resource)?
            }
            Query::And(a, b) => {
                self.query_matches(Some(a), resource)? && self.query_matches(Some(b), resource)?
            }
            Query::Compare {
                attribute,
                equal,
                value,
            } => {
                let wanted = self.eval(value)?;
                let actual = if attribute.name == "title" {
                    Value::String(resource.title.clone())
                } else if attribute.name == "tag" {
                    Value::Array(
                        self.tags_of(resource)
                            .into_iter()
                            .map(Value::String)
                            .collect(),
                    )
                } else {
                    resource
                        .params
                        .get(&attribute.name)
                        .cloned()
                        .unwrap_or(Value::Undef)
                };
                let found = match &actual {
                    Value::Array(items) => items.iter().any(|v| v.puppet_eq(&wanted)),
                    other => other.puppet_eq(&wanted),
                };
                found == *equal
            }
        })
    }

    pub(super) fn apply_overrides(&mut self) -> EvalResult<()> {
        for index in 0..self.overrides.len() {
            let origin = self.overrides[index].origin;
            for (type_name, title) in self.overrides[index].targets.clone() {
                let Some(id) = self.catalog.find(&type_name, &title) else {
                    return Err(EvalError::input(
                        format!(
                            "Resource override: {} is not declared",
                            super::evaluator::resource_ref_name(&type_name, &title)
                        ),
                        origin,
                        "overridden here",
                    ));
                };
                for (name, value) in self.overrides[index].attrs.clone() {
                    self.catalog.get_mut(id).params.insert(name, value);
                }
            }
        }
        Ok(())
    }

    /// Turns every relationship into catalog edges; a reference to a resource that was never
    /// declared is an error at the arrow or metaparameter that names it.
    pub(super) fn resolve_relations(&mut self) -> EvalResult<()> {
        let relations = std::mem::take(&mut self.relations);
        for relation in relations {
            let from = self.resolve_endpoint(&relation.from, relation.origin)?;
            let to = self.resolve_endpoint(&relation.to, relation.origin)?;
            for a in &from {
                for b in &to {
                    self.catalog.edges.push(Edge {
                        from: *a,
                        to: *b,
                        kind: relation.kind,
                        origin: relation.origin,
                    });
                }
            }
        }
        Ok(())
    }

    fn resolve_endpoint(&self, endpoint: &Endpoint, origin: Origin) -> EvalResult<Vec<ResourceId>> {
        match endpoint {
            Endpoint::Resource(id) => Ok(vec![*id]),
            Endpoint::Collector(index) => Ok(self.collectors[*index].collected.clone()),
            Endpoint::Ref { type_name, title } => {
                let lookup = if type_name == "class" {
                    title.trim_start_matches("::").to_lowercase()
                } else {
                    title.clone()
                };
                match self.catalog.find(type_name, &lookup) {
                    Some(id) => Ok(vec![id]),
                    None => Err(EvalError::input(
                        format!(
                            "Could not find resource '{}' for relationship",
                            if type_name == "class" {
                                format!("Class[{}]", capitalize_type_name(title))
                            } else {
                                format!("{}[{}]", capitalize_type_name(type_name), title)
                            }
                        ),
                        origin,
                        "this relationship names it",
                    )
                    .with_help(
                        "declare the resource, or check the spelling of its type and title",
                    )),
                }
            }
        }
    }

    /// `tag('a', 'b')`: tags the class or define whose body calls it (the main class at top
    /// scope), as Puppet does; what it contains carries the tags too.
    pub(super) fn tag(&mut self, at: &Expr, args: Vec<Value>) -> EvalResult {
        let tags = tag_names(Value::Array(args), self.origin(at.span))?;
        match self.scopes.frame().container {
            Some(id) => self.catalog.get_mut(id).tags.extend(tags),
            None => self.main_tags.extend(tags),
        }
        Ok(Value::Undef)
    }

    /// A resource's tags as a collector matches them (`<| tag == 'web' |>`): its own, its
    /// type's name, and those of what contains it, up to the main class, as in Puppet.
    pub(super) fn tags_of(&self, resource: &Resource) -> Vec<String> {
        let mut tags = self.main_tags.clone();
        let mut current = Some(resource);
        // A `contain` loop must not loop here: no chain is longer than the catalog.
        for _ in 0..=self.catalog.resources.len() {
            let Some(resource) = current else { break };
            tags.extend(resource.tags.iter().cloned());
            let name = match resource.type_name.as_str() {
                "class" => &resource.title,
                other => other,
            };
            tags.push(name.to_string());
            if name.contains("::") {
                tags.extend(name.split("::").map(str::to_string));
            }
            current = resource.container.map(|id| self.catalog.get(id));
        }
        tags
    }

    pub(super) fn describe_origin(&self, origin: Origin) -> String {
        match self.loader.sources.get(origin.file) {
            Some(source) => {
                let at = origin.span.start.min(source.text.len());
                let (line, column) = crate::lang::diagnostic::line_column(&source.text, at);
                format!("{}:{line}:{column}", source.display)
            }
            None => "an unknown place".into(),
        }
    }
}

struct Declaration<'k> {
    type_name: &'k str,
    kind: &'k ResourceKind,
    title: String,
    attrs: Vec<Attr>,
    at: Origin,
    virtuality: Virtuality,
}

fn check_param_known(
    kind: &ResourceKind,
    reference: &str,
    name: &str,
    origin: Origin,
) -> EvalResult<()> {
    let known: Vec<String> = match kind {
        ResourceKind::Step(step) => step.params.iter().map(|p| p.name.to_string()).collect(),
        ResourceKind::Define(def) => def
            .def
            .params
            .iter()
            .map(|p| p.name.name.clone())
            .chain(std::iter::once("name".to_string()))
            .collect(),
    };
    if known.iter().any(|k| k == name) {
        return Ok(());
    }
    let mut error = EvalError::input(
        format!("{reference}: has no parameter named '{name}'"),
        origin,
        "unknown parameter",
    );
    let similar: Vec<&String> = known.iter().filter(|k| similar_names(k, name)).collect();
    error = match similar.first() {
        Some(name) => error.with_help(format!("did you mean '{name}'?")),
        None => error.with_help(format!("its parameters are: {}", known.join(", "))),
    };
    Err(error)
}

fn similar_names(a: &str, b: &str) -> bool {
    let a = a.replace('_', "");
    let b = b.replace('_', "");
    a.contains(&b) || b.contains(&a) || {
        let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
        common >= 4
    }
}

fn check_required(
    kind: &ResourceKind,
    reference: &str,
    params: &IndexMap<String, Value>,
    at: Origin,
) -> EvalResult<()> {
    let missing: Vec<String> = match kind {
        ResourceKind::Step(step) => step
            .required()
            .filter(|r| !params.contains_key(*r))
            .map(|r| r.to_string())
            .collect(),
        ResourceKind::Define(def) => def
            .def
            .params
            .iter()
            .filter(|p| p.default.is_none() && !p.captures_rest)
            .filter(|p| !params.contains_key(&p.name.name))
            .map(|p| p.name.name.clone())
            .collect(),
    };
    match missing.as_slice() {
        [] => Ok(()),
        [one] => Err(EvalError::input(
            format!("{reference}: expects a value for parameter '{one}'"),
            at,
            format!("'{one}' is not given"),
        )
        .with_help(format!("add `{one} => ...`"))),
        many => Err(EvalError::input(
            format!(
                "{reference}: expects values for parameters {}",
                many.iter()
                    .map(|m| format!("'{m}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            at,
            "these are not given",
        )),
    }
}

/// What a relationship or a metaparameter names: the value, or the items of an array (of
/// arrays), in order; `undef` names nothing.
pub(super) fn references(value: Value) -> Vec<Value> {
    let mut found = Vec::new();
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items.into_iter().rev()),
            Value::Undef => {}
            other => found.push(other),
        }
    }
    found
}

/// Tags as Puppet takes them: words of letters, digits and `_ : . -` (not first), lower case.
fn tag_names(value: Value, origin: Origin) -> EvalResult<Vec<String>> {
    let valid = |tag: &str| {
        let mut chars = tag.chars();
        chars
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || "_:.-".contains(c))
    };
    value
        .words()
        .into_iter()
        .map(|tag| match valid(&tag) {
            true => Ok(tag.to_lowercase()),
            false => Err(EvalError::input(
                format!("Invalid tag '{tag}'"),
                origin,
                "tags are letters, digits and _ : . -",
            )),
        })
        .collect()
}

/// A title must be a string or a number, or an array of them.
fn illegal_title(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) => items.iter().find_map(illegal_title),
        Value::Hash(_) | Value::Type(_) | Value::Regex(_) | Value::Default => {
            Some(super::evaluator::describe_value_type(value))
        }
        _ => None,
    }
}

fn collect_titles(value: Value, titles: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for item in items {
                collect_titles(item, titles);
            }
        }
        Value::Undef => titles.push(String::new()),
        other => titles.push(other.to_display_string()),
    }
}

fn autoload_path(name: &str) -> String {
    let mut segments = name.split("::");
    let module = segments.next().unwrap_or_default();
    let rest: Vec<&str> = segments.collect();
    if rest.is_empty() {
        format!("{module}/manifests/init.pp")
    } else {
        format!("{module}/manifests/{}.pp", rest.join("/"))
    }
}
