//! Walks the syntax tree with Puppet's semantics: expressions to values, statements in order,
//! define bodies after the code that declared them, then the relationships resolved.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use regex::Regex;

use crate::lang::ast::{
    BinaryOp, Block, Expr, ExprKind, HashEntry, Lambda, Param, Program, Span, StringPart, UnaryOp,
};

use super::catalog::{Catalog, ResourceId};
use super::loader::{Defined, Loader, SourceFile};
use super::operators;
use super::playbooks;
use super::resources::{PendingCollector, PendingDefine, PendingOverride, PendingRelation};
use super::scope::{AssignError, Frame, Scopes};
use super::steps::StepTypes;
use super::time::{seconds_to_nanos, Timespan, Timestamp};
use super::types::{capitalize_type_name, StructMember, Type, INT_MAX, INT_MIN};
use super::value::{HashMap as ValueMap, Value};
use super::{
    EvalError, EvalErrorKind, EvalRequest, Evaluation, FileId, Level, Log, NodeQuery, Origin,
};

pub type EvalResult<T = Value> = Result<T, EvalError>;

/// How deep calls of functions, lambdas and defines may nest before the playbook is taken to
/// recurse without end.
const MAX_CALL_DEPTH: usize = 1000;

/// Resource types a reference may name besides the playbook's defines and step kinds:
/// Puppet's own types (playbooks may mention them in relationships copied from manifests).
const PUPPET_RESOURCE_TYPES: &[&str] = &[
    "notify",
    "exec",
    "file",
    "filebucket",
    "group",
    "package",
    "resources",
    "schedule",
    "service",
    "stage",
    "tidy",
    "user",
    "whit",
    "node",
    "component",
    "cron",
    "host",
    "mount",
    "augeas",
    "ssh_authorized_key",
    "sshkey",
    "yumrepo",
    "selboolean",
    "selmodule",
    "mailalias",
    "maillist",
    "k5login",
    "zfs",
    "zone",
    "zpool",
    "scheduled_task",
];

/// An evaluation that failed, with the sources its diagnostic needs.
#[derive(Debug)]
pub struct EvalFailure {
    pub error: EvalError,
    pub sources: Vec<SourceFile>,
}

impl EvalFailure {
    pub fn diagnostic(&self) -> crate::lang::diagnostic::FileDiagnostic {
        self.error.diagnostic(&self.sources)
    }
}

pub struct Evaluator<'a> {
    pub(super) loader: Loader,
    pub(super) scopes: Scopes,
    pub(super) catalog: Catalog,
    /// The file whose code is being evaluated.
    pub(super) file: FileId,
    pub(super) pending_defines: VecDeque<PendingDefine>,
    pub(super) relations: Vec<PendingRelation>,
    pub(super) overrides: Vec<PendingOverride>,
    pub(super) collectors: Vec<PendingCollector>,
    /// Virtual resources (`@type { }`) waiting to be realized: type, title → declaration.
    pub(super) virtuals: Vec<super::resources::VirtualResource>,
    pub(super) classes: HashMap<String, ResourceId>,
    pub(super) nodes: &'a dyn NodeQuery,
    /// The step kinds a playbook may declare.
    pub(super) steps: &'a dyn StepTypes,
    pub(super) log: &'a mut dyn Log,
    depth: usize,
    regexes: HashMap<String, Rc<Regex>>,
    /// Parameters whose defaults are being evaluated and that are not bound yet: a default
    /// may use an earlier parameter, never a later one.
    not_yet_bound: Vec<String>,
    /// The value `next()`, `break()` or `return()` carries to the block or function it leaves.
    pub(super) control_value: Value,
    /// The nesting of the define body being evaluated (0 in main code and classes).
    pub(super) define_nesting: usize,
    /// Classes whose parents are being declared, to find an inheritance loop.
    pub(super) classes_inheriting: std::collections::HashSet<String>,
    /// Set when evaluating an environment's `site` (see `site.rs`); `None` for playbooks.
    pub(super) site: Option<super::site::SiteState>,
    /// Tags `tag()` gave the main class (at top scope): every resource carries them.
    pub(super) main_tags: Vec<String>,
    /// The value of the plan the playbook runs.
    returned: Option<Value>,
    /// The repository's Hiera data, read at the first `lookup()`.
    pub(super) hiera: Option<std::rc::Rc<super::hiera::Hiera>>,
}

/// Evaluates the playbook into a catalog.
pub fn evaluate(request: EvalRequest<'_>) -> Result<Evaluation, Box<EvalFailure>> {
    let EvalRequest {
        loader,
        playbook,
        path,
        args,
        caller,
        nodes,
        steps,
        log,
    } = request;
    let mut evaluator = Evaluator::new(loader, nodes, steps, log);
    let result = evaluator.run_playbook(&path, &playbook, args, caller);
    let Evaluator {
        loader,
        catalog,
        returned,
        ..
    } = evaluator;
    match result {
        Ok(()) => Ok(Evaluation {
            catalog,
            returned,
            sources: loader.sources,
            repo: loader.repo,
        }),
        Err(error) => Err(Box::new(EvalFailure {
            error,
            sources: loader.sources,
        })),
    }
}

impl<'a> Evaluator<'a> {
    pub fn new(
        loader: Loader,
        nodes: &'a dyn NodeQuery,
        steps: &'a dyn StepTypes,
        log: &'a mut dyn Log,
    ) -> Self {
        Evaluator {
            loader,
            scopes: Scopes::new(),
            catalog: Catalog::default(),
            file: 0,
            pending_defines: VecDeque::new(),
            relations: Vec::new(),
            overrides: Vec::new(),
            collectors: Vec::new(),
            virtuals: Vec::new(),
            classes: HashMap::new(),
            nodes,
            steps,
            log,
            depth: 0,
            regexes: HashMap::new(),
            not_yet_bound: Vec::new(),
            control_value: Value::Undef,
            define_nesting: 0,
            classes_inheriting: std::collections::HashSet::new(),
            site: None,
            main_tags: Vec::new(),
            returned: None,
            hiera: None,
        }
    }

    fn run_playbook(
        &mut self,
        path: &std::path::Path,
        name: &str,
        args: Vec<(String, Value)>,
        caller: String,
    ) -> EvalResult<()> {
        let (file, program) = self.loader.load_file(path)?;
        self.file = file;
        let _ = self.scopes.assign("id", Value::String(caller));
        let _ = self
            .scopes
            .assign("facts", super::host_facts::host_facts(name));
        match self.entry_of(&program, name)? {
            Some(entry) => {
                self.run_statements(&program.statements)?;
                self.run_entry(&entry, args)?;
            }
            None => {
                for (name, value) in args {
                    if !playbooks::reads_variable(&program, &name) {
                        let warning = format!(
                            "{name}={value} is given, but the playbook never reads ${name}"
                        );
                        self.warn(&warning, Span::new(0, 0));
                    }
                    self.scopes.top_mut().vars.insert(name, value);
                }
                self.run_statements(&program.statements)?;
            }
        }
        self.finish()
    }

    /// The plan or class the playbook file runs: the one named `name`, else its one plan;
    /// None for top-scope code. A file with plans, or with nothing but definitions, that
    /// defines no such entry is an error: running it would do nothing and report success.
    fn entry_of(&self, program: &Program, name: &str) -> EvalResult<Option<Entry>> {
        if let Some(found) = playbooks::Entry::in_file(program, name) {
            let key = found.name.trim_start_matches("::").to_lowercase();
            let entry = match found.kind {
                "plan" => self.loader.plans.get(&key).map(Entry::from_plan),
                _ => self.loader.classes.get(&key).map(Entry::from_class),
            };
            return Ok(entry);
        }
        let defined = playbooks::definitions(program);
        let has_plans = defined.iter().any(|d| d.starts_with("plan "));
        if !has_plans && program.statements.iter().any(|s| !s.kind.is_definition()) {
            return Ok(None);
        }
        let what = match defined.is_empty() {
            true => "nothing to run".to_string(),
            false => defined.join(", "),
        };
        Err(EvalError::input(
            format!("the playbook file defines no plan or class named '{name}': it has {what}"),
            self.origin(Span::new(0, 0)),
            "in this file",
        )
        .with_help("name the plan or class after the file (`plan mod::name` in modules/mod/plans/name.pp), or keep one plan in it"))
    }

    fn run_statements(&mut self, statements: &[Expr]) -> EvalResult<()> {
        for statement in statements {
            self.eval(statement)?;
        }
        Ok(())
    }

    /// A `plan`, or a class named as the playbook: the arguments bound to its typed
    /// parameters, then its body (its steps are not inside a container: they are the playbook's).
    fn run_entry(&mut self, entry: &Entry, args: Vec<(String, Value)>) -> EvalResult<()> {
        let saved_file = std::mem::replace(&mut self.file, entry.file);
        let at = self.origin(entry.name.span);
        let playbook = entry.name.name.clone();
        for (arg, _) in &args {
            if !entry.params.iter().any(|p| &p.name.name == arg) {
                let known: Vec<String> = entry.params.iter().map(|p| p.name.name.clone()).collect();
                return Err(EvalError::input(
                    format!("playbook '{playbook}' has no parameter named '{arg}'"),
                    at,
                    "the playbook's parameters are declared here",
                )
                .with_help(format!("its parameters are: {}", known.join(", "))));
            }
        }
        let frame = Frame {
            parent: Some(0),
            class_name: entry.class_name.clone(),
            ..Frame::default()
        };
        let previous = self.scopes.push(frame);
        let given: HashMap<String, Value> = args.into_iter().collect();
        let result = self
            .bind_params(
                &entry.params,
                given,
                &format!("playbook '{playbook}'"),
                at,
                true,
            )
            .and_then(|()| self.eval_block(&entry.body));
        self.scopes.pop(previous);
        self.file = saved_file;
        // A plan's value is what it returns, else its last expression's.
        let value = match result {
            Err(e) if e.kind == EvalErrorKind::Return && entry.class_name.is_none() => {
                std::mem::replace(&mut self.control_value, Value::Undef)
            }
            other => other?,
        };
        if entry.class_name.is_none() {
            self.returned = Some(value);
        }
        Ok(())
    }

    /// Binds parameters in the current frame: given values (type-checked), else defaults
    /// (evaluated in order, so a default may use an earlier parameter), else an error.
    pub(super) fn bind_params(
        &mut self,
        params: &[Param],
        mut given: HashMap<String, Value>,
        owner: &str,
        at: Origin,
        from_command_line: bool,
    ) -> EvalResult<()> {
        for (index, param) in params.iter().enumerate() {
            let name = &param.name.name;
            let given_value = given.remove(name).filter(|v| !matches!(v, Value::Undef));
            let value = match given_value {
                Some(value) => value,
                None => match &param.default {
                    Some(default) => {
                        self.not_yet_bound = params[index..]
                            .iter()
                            .map(|p| p.name.name.clone())
                            .collect();
                        let value = self.eval(default);
                        self.not_yet_bound.clear();
                        value?
                    }
                    None if param.captures_rest => Value::Array(vec![]),
                    None => {
                        return Err(EvalError::input(
                            format!("{owner} expects a value for parameter '{name}'"),
                            at,
                            format!("'{name}' is not given"),
                        )
                        .with_help(if from_command_line {
                            format!("give it on the command line: {name}=VALUE")
                        } else {
                            format!("add `{name} => ...` to the declaration")
                        }))
                    }
                },
            };
            if let Some(type_expr) = &param.type_expr {
                let expected = self.eval_type(type_expr)?;
                let value = coerce_from_command_line(&expected, value, from_command_line);
                if !expected.is_instance(&value) {
                    let got = if from_command_line {
                        format!("{} ({name}={})", describe_value_type(&value), value)
                    } else {
                        describe_value_type(&value)
                    };
                    return Err(EvalError::input(
                        format!(
                            "{owner} parameter '{name}' expects {}, got {got}",
                            describe_type(&expected),
                        ),
                        if from_command_line {
                            self.origin(param.span)
                        } else {
                            at
                        },
                        format!("'{name}' must be {}", expected),
                    ));
                }
                self.assign_here(name, value);
            } else {
                self.assign_here(name, value);
            }
        }
        Ok(())
    }

    fn assign_here(&mut self, name: &str, value: Value) {
        self.scopes.frame_mut().vars.insert(name.to_string(), value);
    }

    pub(super) fn origin(&self, span: crate::lang::ast::Span) -> Origin {
        Origin {
            file: self.file,
            span,
        }
    }

    pub(super) fn error(&self, expr: &Expr, message: impl Into<String>) -> EvalError {
        let message = message.into();
        EvalError::input(message.clone(), self.origin(expr.span), "here")
    }

    pub(super) fn warn(&mut self, message: &str, span: crate::lang::ast::Span) {
        let (line, column) = self.line_column(span);
        let file = self.loader.sources[self.file].display.clone();
        self.log.log(
            Level::Warning,
            &format!("{message} (file: {file}, line: {line}, column: {column})"),
        );
    }

    pub(super) fn line_column(&self, span: crate::lang::ast::Span) -> (usize, usize) {
        let text = &self.loader.sources[self.file].text;
        crate::lang::diagnostic::line_column(text, span.start.min(text.len()))
    }

    /// Enters a call (function, lambda, define body) and fails when they nest without end.
    pub(super) fn enter_call(&mut self, at: &Expr) -> EvalResult<()> {
        self.depth += 1;
        if self.depth > MAX_CALL_DEPTH {
            self.depth = 0;
            return Err(self.error(
                at,
                format!(
                    "calls nest more than {MAX_CALL_DEPTH} deep: is this a recursion without end?"
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn leave_call(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub(super) fn eval_block(&mut self, block: &Block) -> EvalResult {
        let mut last = Value::Undef;
        for statement in &block.statements {
            last = self.eval(statement)?;
        }
        Ok(last)
    }

    pub(super) fn eval(&mut self, expr: &Expr) -> EvalResult {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.eval_kind(expr))
    }

    fn eval_kind(&mut self, expr: &Expr) -> EvalResult {
        Ok(match &expr.kind {
            ExprKind::Undef => Value::Undef,
            ExprKind::Default => Value::Default,
            ExprKind::Boolean(b) => Value::Bool(*b),
            ExprKind::Integer(i) => Value::Integer(*i),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::String(parts) => Value::String(self.interpolate(parts)?),
            ExprKind::Heredoc(heredoc) => Value::String(self.interpolate(&heredoc.parts)?),
            ExprKind::Regex(pattern) => Value::Regex(pattern.clone()),
            ExprKind::Variable(name) => self.variable(name, expr)?,
            ExprKind::Name(word) => Value::String(word.clone()),
            ExprKind::TypeRef(name) => Value::Type(Box::new(self.named_type(name, expr)?)),
            ExprKind::Array(items) => {
                let value = Value::Array(self.eval_list(items)?);
                self.check_nesting(expr, &value)?;
                value
            }
            ExprKind::Hash(entries) => {
                let value = Value::Hash(self.eval_hash(entries)?);
                self.check_nesting(expr, &value)?;
                value
            }
            ExprKind::Paren(inner) => self.eval(inner)?,
            ExprKind::Access { target, keys } => self.access(expr, target, keys)?,
            ExprKind::Unary { op, operand } => self.unary(expr, *op, operand)?,
            ExprKind::Binary { op, lhs, rhs } => self.binary(expr, *op, lhs, rhs)?,
            ExprKind::Assign { target, value } => {
                let value = self.eval(value)?;
                self.assign(target, value.clone())?;
                value
            }
            ExprKind::Relationship { arrow, lhs, rhs } => self.relationship(*arrow, lhs, rhs)?,
            ExprKind::Call(call) => {
                let args = self.eval_list(&call.args)?;
                self.call_function(expr, &call.name.name, args, call.lambda.as_ref())?
            }
            ExprKind::Apply(_) => {
                return Err(self
                    .error(expr, "`apply` blocks cannot run yet: orchestrate does not compile a catalog per target")
                    .with_help("run Puppet on the targets instead: a `puppet_run` step, or `orchestrate site`"))
            }
            ExprKind::MethodCall { receiver, call } => {
                let mut args = vec![self.eval(receiver)?];
                args.extend(self.eval_list(&call.args)?);
                self.call_function(expr, &call.name.name, args, call.lambda.as_ref())?
            }
            ExprKind::Selector { subject, cases } => self.selector(expr, subject, cases)?,
            ExprKind::If(if_expr) => {
                let saved = self.scopes.frame().matches.clone();
                let result = self.eval_if(if_expr);
                self.scopes.set_matches(saved);
                result?
            }
            ExprKind::Unless(unless) => {
                let condition = self.eval(&unless.condition)?;
                if !condition.is_true() {
                    self.eval_block(&unless.then)?
                } else if let Some(otherwise) = &unless.otherwise {
                    self.eval_block(otherwise)?
                } else {
                    Value::Undef
                }
            }
            ExprKind::Case { subject, options } => {
                let saved = self.scopes.frame().matches.clone();
                let result = self.eval_case(subject, options);
                self.scopes.set_matches(saved);
                result?
            }
            ExprKind::Resource(resource) => self.declare_resources(expr, resource)?,
            ExprKind::ResourceDefaults(defaults) => self.set_defaults(defaults)?,
            ExprKind::ResourceOverride { target, attributes } => {
                self.override_resources(expr, target, attributes)?
            }
            ExprKind::Collector(collector) => self.collect(expr, collector)?,
            ExprKind::Class(_)
            | ExprKind::Define(_)
            | ExprKind::Application(_)
            | ExprKind::Plan(_)
            | ExprKind::Function(_)
            | ExprKind::Node(_)
            | ExprKind::TypeAlias { .. }
            | ExprKind::CapabilityMapping(_) => Value::Undef,
            ExprKind::Site(block) => self.eval_site(block)?,
        })
    }

    /// Values nested deeper than this cannot be printed, compared or dropped without running
    /// out of stack; only a loop that wraps a value again and again builds them.
    fn check_nesting(&self, expr: &Expr, value: &Value) -> EvalResult<()> {
        const MAX_VALUE_NESTING: usize = 1000;
        if value.nesting_exceeds(MAX_VALUE_NESTING) {
            return Err(self.error(
                expr,
                format!("this value nests arrays or hashes more than {MAX_VALUE_NESTING} deep"),
            ));
        }
        Ok(())
    }

    fn variable(&mut self, name: &str, expr: &Expr) -> EvalResult {
        if self.not_yet_bound.iter().any(|n| n == name) {
            return Err(self
                .error(
                    expr,
                    format!(
                        "default expression tries to illegally access not yet evaluated ${name}"
                    ),
                )
                .with_help("a parameter's default may use the parameters declared before it"));
        }
        Ok(match self.scopes.lookup(name) {
            Some(value) => value,
            None => {
                self.warn(&format!("Unknown variable: '{name}'."), expr.span);
                Value::Undef
            }
        })
    }

    fn interpolate(&mut self, parts: &[StringPart]) -> EvalResult<String> {
        let mut text = String::new();
        for part in parts {
            match part {
                StringPart::Text(t) => text.push_str(t),
                StringPart::Interpolation(expr) => {
                    let value = self.eval(expr)?;
                    text.push_str(&value.to_interpolated_string());
                }
            }
        }
        Ok(text)
    }

    /// Elements of an array or arguments, with `*$x` spread in place.
    pub(super) fn eval_list(&mut self, items: &[Expr]) -> EvalResult<Vec<Value>> {
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            if let ExprKind::Unary {
                op: UnaryOp::Splat,
                operand,
            } = &item.kind
            {
                match self.eval(operand)? {
                    Value::Array(spread) => values.extend(spread),
                    other => values.push(other),
                }
            } else {
                values.push(self.eval(item)?);
            }
        }
        Ok(values)
    }

    fn eval_hash(&mut self, entries: &[HashEntry]) -> EvalResult<ValueMap> {
        let mut map = ValueMap::with_capacity(entries.len());
        for entry in entries {
            let key = self.eval(&entry.key)?;
            let value = self.eval(&entry.value)?;
            map.insert(key, value);
        }
        Ok(map)
    }

    fn unary(&mut self, expr: &Expr, op: UnaryOp, operand: &Expr) -> EvalResult {
        let value = self.eval(operand)?;
        Ok(match op {
            UnaryOp::Not => Value::Bool(!value.is_true()),
            UnaryOp::Splat => match value {
                Value::Array(_) => value,
                other => Value::Array(vec![other]),
            },
            UnaryOp::Negate => match value {
                Value::Integer(i) => Value::Integer(
                    i.checked_neg()
                        .ok_or_else(|| self.error(expr, "Integer overflow"))?,
                ),
                Value::Float(f) => Value::Float(-f),
                Value::String(s) => match operators::parse_number(&s) {
                    Some(Value::Integer(i)) => Value::Integer(-i),
                    Some(Value::Float(f)) => Value::Float(-f),
                    _ => {
                        return Err(self.error(
                            expr,
                            format!("The value '{s}' cannot be converted to Numeric"),
                        ))
                    }
                },
                other => {
                    return Err(self.error(
                        expr,
                        format!(
                            "Operator '-' is not applicable to {}",
                            describe_value_type(&other)
                        ),
                    ))
                }
            },
        })
    }

    fn binary(&mut self, expr: &Expr, op: BinaryOp, lhs: &Expr, rhs: &Expr) -> EvalResult {
        match op {
            BinaryOp::And => {
                let left = self.eval(lhs)?.is_true();
                return Ok(Value::Bool(left && self.eval(rhs)?.is_true()));
            }
            BinaryOp::Or => {
                let left = self.eval(lhs)?.is_true();
                return Ok(Value::Bool(left || self.eval(rhs)?.is_true()));
            }
            _ => {}
        }
        let left = self.eval(lhs)?;
        let right = self.eval(rhs)?;
        let result = match op {
            BinaryOp::Eq => Ok(Value::Bool(left.puppet_eq(&right))),
            BinaryOp::Ne => Ok(Value::Bool(!left.puppet_eq(&right))),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                operators::compare(op, &left, &right)
            }
            BinaryOp::Match => return self.match_op(expr, &left, &right).map(Value::Bool),
            BinaryOp::NotMatch => {
                return self.match_op(expr, &left, &right).map(|m| Value::Bool(!m))
            }
            BinaryOp::In => return self.in_op(expr, &left, &right).map(Value::Bool),
            _ => operators::arithmetic(op, left, right),
        };
        result.map_err(|error| self.error(expr, error.to_string()))
    }

    /// `=~`: a string against a regex (setting `$0..$n`), or a value against a type.
    fn match_op(&mut self, expr: &Expr, left: &Value, right: &Value) -> EvalResult<bool> {
        match right {
            Value::Type(t) => Ok(t.is_instance(left)),
            Value::Regex(pattern) | Value::String(pattern) => {
                let Value::String(text) = left else {
                    return Err(self.error(
                        expr,
                        format!(
                            "Left match operand must result in a String value. Got {}",
                            describe_value_type(left)
                        ),
                    ));
                };
                self.regex_match(expr, pattern, text)
            }
            other => Err(self.error(
                expr,
                format!(
                    "Right match operand must result in a Regexp, a String or a Type. Got {}",
                    describe_value_type(other)
                ),
            )),
        }
    }

    /// Matches and, on success, sets the match variables of the current scope.
    pub(super) fn regex_match(&mut self, at: &Expr, pattern: &str, text: &str) -> EvalResult<bool> {
        let regex = self.regex(at, pattern)?;
        match regex.captures(text) {
            Some(captures) => {
                let groups = captures
                    .iter()
                    .map(|g| g.map_or(Value::Undef, |m| Value::String(m.as_str().to_string())))
                    .collect();
                self.scopes.set_matches(Some(groups));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    pub(super) fn regex(&mut self, at: &Expr, pattern: &str) -> EvalResult<Rc<Regex>> {
        if let Some(regex) = self.regexes.get(pattern) {
            return Ok(regex.clone());
        }
        let regex = Regex::new(&ruby_to_rust_regex(pattern)).map_err(|err| {
            self.error(at, format!("invalid regular expression /{pattern}/: {err}"))
        })?;
        let regex = Rc::new(regex);
        self.regexes.insert(pattern.to_string(), regex.clone());
        Ok(regex)
    }

    /// `in`: a substring of a string, an element of an array (or one matching a regex or
    /// type), a key of a hash.
    fn in_op(&mut self, expr: &Expr, left: &Value, right: &Value) -> EvalResult<bool> {
        Ok(match (left, right) {
            (Value::String(needle), Value::String(haystack)) => {
                haystack.to_lowercase().contains(&needle.to_lowercase())
            }
            (Value::Regex(pattern), Value::String(haystack)) => {
                self.regex_match(expr, pattern, haystack)?
            }
            (Value::Regex(pattern), Value::Array(items)) => {
                let mut found = false;
                for item in items {
                    if let Value::String(s) = item {
                        if self.regex_match(expr, pattern, s)? {
                            found = true;
                            break;
                        }
                    }
                }
                found
            }
            (Value::Type(t), Value::Array(items)) => items.iter().any(|v| t.is_instance(v)),
            (Value::String(needle), Value::Array(items)) => {
                let mut found = false;
                for item in items {
                    found = match item {
                        Value::Regex(pattern) => self.regex_match(expr, pattern, needle)?,
                        other => other.puppet_eq(&Value::String(needle.clone())),
                    };
                    if found {
                        break;
                    }
                }
                found
            }
            (needle, Value::Array(items)) => items.iter().any(|v| needle.puppet_eq(v)),
            (needle, Value::Hash(map)) => map.keys().any(|k| needle.puppet_eq(k)),
            _ => false,
        })
    }

    fn assign(&mut self, target: &Expr, value: Value) -> EvalResult<()> {
        match &target.kind {
            ExprKind::Variable(name) => match self.scopes.assign(name, value) {
                Ok(()) => Ok(()),
                Err(AssignError::Reassigned) => Err(self
                    .error(target, format!("Cannot reassign variable '${name}'"))
                    .with_help("Puppet variables are assigned once; use a new name")),
                Err(AssignError::OtherNamespace) => Err(self.error(
                    target,
                    format!("Cannot assign to variables in other namespaces: '${name}'"),
                )),
                Err(AssignError::Numeric) => Err(self.error(
                    target,
                    format!("Illegal attempt to assign to the numeric match variable '${name}'"),
                )),
            },
            ExprKind::Array(targets) => self.destructure(target, targets, value),
            _ => Err(self.error(target, "Illegal attempt to assign to this expression")),
        }
    }

    /// `[$a, $b] = [1, 2]` by position; `[$a, $b] = {a => 1, b => 2}` by name.
    fn destructure(&mut self, at: &Expr, targets: &[Expr], value: Value) -> EvalResult<()> {
        match value {
            Value::Array(values) => {
                if values.len() != targets.len() {
                    return Err(self.error(
                        at,
                        format!(
                            "Mismatched number of assignable entries and values, expected {}, got {}",
                            targets.len(),
                            values.len()
                        ),
                    ));
                }
                for (target, value) in targets.iter().zip(values) {
                    self.assign(target, value)?;
                }
                Ok(())
            }
            Value::Hash(map) => {
                for target in targets {
                    let ExprKind::Variable(name) = &target.kind else {
                        return Err(
                            self.error(target, "Only variables can take values from a hash")
                        );
                    };
                    let Some(value) = map.get(&Value::String(name.clone())) else {
                        return Err(self.error(
                            target,
                            format!("No value for required variable '${name}' in assigned Hash"),
                        ));
                    };
                    self.assign(target, value.clone())?;
                }
                Ok(())
            }
            other if targets.len() == 1 => self.assign(&targets[0], other),
            other => Err(self.error(
                at,
                format!(
                    "Cannot assign {} to several variables: give an array or a hash",
                    describe_value_type(&other)
                ),
            )),
        }
    }

    fn eval_if(&mut self, if_expr: &crate::lang::ast::IfExpr) -> EvalResult {
        if self.eval(&if_expr.condition)?.is_true() {
            return self.eval_block(&if_expr.then);
        }
        for (condition, block) in &if_expr.elsifs {
            if self.eval(condition)?.is_true() {
                return self.eval_block(block);
            }
        }
        match &if_expr.otherwise {
            Some(block) => self.eval_block(block),
            None => Ok(Value::Undef),
        }
    }

    fn eval_case(
        &mut self,
        subject: &Expr,
        options: &[crate::lang::ast::CaseOption],
    ) -> EvalResult {
        let value = self.eval(subject)?;
        let mut fallback = None;
        for option in options {
            for candidate in &option.values {
                if matches!(candidate.kind, ExprKind::Default) {
                    fallback = Some(&option.body);
                    continue;
                }
                for candidate_value in self.case_candidates(candidate)? {
                    if self.case_matches(candidate, &value, &candidate_value)? {
                        return self.eval_block(&option.body);
                    }
                }
            }
        }
        match fallback {
            Some(body) => self.eval_block(body),
            None => Ok(Value::Undef),
        }
    }

    /// A case option's values: `*$list` offers each element.
    fn case_candidates(&mut self, candidate: &Expr) -> EvalResult<Vec<Value>> {
        if let ExprKind::Unary {
            op: UnaryOp::Splat,
            operand,
        } = &candidate.kind
        {
            return Ok(match self.eval(operand)? {
                Value::Array(items) => items,
                other => vec![other],
            });
        }
        Ok(vec![self.eval(candidate)?])
    }

    /// Whether a case option or selector key matches: regexes match strings, types match
    /// instances, arrays match element-wise, anything else by `==`.
    fn case_matches(&mut self, at: &Expr, subject: &Value, candidate: &Value) -> EvalResult<bool> {
        match (candidate, subject) {
            (Value::Default, _) => Ok(true),
            (Value::Regex(pattern), Value::String(text)) => self.regex_match(at, pattern, text),
            (Value::Regex(_), _) => Ok(false),
            (Value::Type(t), v) => Ok(t.is_instance(v)),
            (c, s) => Ok(c.puppet_eq(s)),
        }
    }

    fn selector(&mut self, expr: &Expr, subject: &Expr, cases: &[HashEntry]) -> EvalResult {
        let value = self.eval(subject)?;
        let saved = self.scopes.frame().matches.clone();
        let mut chosen = None;
        'cases: for case in cases {
            for key in self.case_candidates(&case.key)? {
                if self.case_matches(&case.key, &value, &key)? {
                    chosen = Some(&case.value);
                    break 'cases;
                }
            }
        }
        let result = match chosen {
            Some(value_expr) => self.eval(value_expr),
            None => Err(self.error(
                expr,
                format!(
                    "No matching entry for selector parameter with value '{}'",
                    value.to_display_string()
                ),
            )),
        };
        self.scopes.set_matches(saved);
        result
    }

    /// Evaluates an expression that must be a type (a parameter's type, `=~ Type`).
    pub(super) fn eval_type(&mut self, expr: &Expr) -> EvalResult<Type> {
        match self.eval(expr)? {
            Value::Type(t) => Ok(*t),
            other => Err(self.error(
                expr,
                format!("expected a data type, got {}", describe_value_type(&other)),
            )),
        }
    }

    /// A capitalised name: a built-in type, a type alias, or a resource type (`Notify`).
    fn named_type(&mut self, name: &str, at: &Expr) -> EvalResult<Type> {
        if let Some(t) = Type::named(name) {
            return Ok(t);
        }
        if let Some(alias) = self.loader.type_alias(name)? {
            let saved = std::mem::replace(&mut self.file, alias.file);
            self.enter_call(at)?;
            let result = self.eval_type(&alias.def);
            self.leave_call();
            self.file = saved;
            return result;
        }
        let lower = name.to_lowercase();
        let known = PUPPET_RESOURCE_TYPES.contains(&lower.as_str())
            || self.steps.find(&lower).is_some()
            || self.loader.define(&lower)?.is_some()
            || self.loader.class(&lower)?.is_some()
            || self.is_capability_type(&lower)
            || self.site_application(&lower)?.is_some();
        if !known {
            return Err(self
                .error(at, format!("Resource type not found: {name}"))
                .with_help("a capitalised name is a data type (Integer, String, Array...), a step type (Mcollective, Notify) or a define"));
        }
        Ok(Type::Resource(Some(lower), None))
    }

    fn access(&mut self, expr: &Expr, target: &Expr, keys: &[Expr]) -> EvalResult {
        let target_value = self.eval(target)?;
        let keys = self.eval_list(keys)?;
        let result = match target_value {
            Value::Type(t) => parameterize(*t, keys).map(|v| match v {
                Parameterized::One(t) => Value::Type(Box::new(t)),
                Parameterized::Many(ts) => {
                    Value::Array(ts.into_iter().map(|t| Value::Type(Box::new(t))).collect())
                }
            }),
            Value::Array(items) => index_array(&items, &keys),
            Value::Hash(map) => Ok(index_hash(&map, keys)),
            Value::String(text) => index_string(&text, &keys),
            other => Err(AccessError::new(
                AccessErrorKind::NotIndexable,
                format!(
                    "Operator '[]' is not applicable to {}",
                    describe_value_type(&other)
                ),
            )),
        };
        result.map_err(|error| self.error(expr, error.to_string()))
    }

    /// Calls a lambda with arguments, in a scope that sees where the lambda was written.
    pub(super) fn call_lambda(
        &mut self,
        at: &Expr,
        lambda: &Lambda,
        args: Vec<Value>,
    ) -> EvalResult {
        let required = lambda
            .params
            .iter()
            .filter(|p| p.default.is_none() && !p.captures_rest)
            .count();
        let accepts_rest = lambda.params.iter().any(|p| p.captures_rest);
        if args.len() < required || (!accepts_rest && args.len() > lambda.params.len()) {
            return Err(self.error(
                at,
                format!(
                    "the block expects {} argument(s), got {}",
                    lambda.params.len(),
                    args.len()
                ),
            ));
        }
        self.enter_call(at)?;
        let frame = Frame {
            parent: Some(self.scopes.current),
            container: self.scopes.frame().container,
            ..Frame::default()
        };
        let previous = self.scopes.push(frame);
        let result = self
            .bind_lambda_args(lambda, args)
            .and_then(|()| self.eval_block(&lambda.body));
        self.scopes.pop(previous);
        self.leave_call();
        match result {
            Err(e) if e.kind == EvalErrorKind::Next => {
                Ok(std::mem::replace(&mut self.control_value, Value::Undef))
            }
            other => other,
        }
    }

    fn bind_lambda_args(&mut self, lambda: &Lambda, mut args: Vec<Value>) -> EvalResult<()> {
        let mut rest = Vec::new();
        if let Some(position) = lambda.params.iter().position(|p| p.captures_rest) {
            if args.len() > position {
                rest = args.split_off(position);
            }
        }
        let mut args = args.into_iter();
        for param in &lambda.params {
            let value = if param.captures_rest {
                Value::Array(std::mem::take(&mut rest))
            } else {
                match args.next() {
                    Some(value) => value,
                    None => match &param.default {
                        Some(default) => self.eval(default)?,
                        None => Value::Undef,
                    },
                }
            };
            if let Some(type_expr) = &param.type_expr {
                let expected = self.eval_type(type_expr)?;
                if !expected.is_instance(&value) {
                    return Err(EvalError::input(
                        format!(
                            "block parameter '{}' expects {}, got {}",
                            param.name.name,
                            describe_type(&expected),
                            describe_value_type(&value)
                        ),
                        self.origin(param.span),
                        "declared here",
                    ));
                }
            }
            self.assign_here(&param.name.name, value);
        }
        Ok(())
    }

    pub(super) fn finish(&mut self) -> EvalResult<()> {
        self.expand_defines()?;
        self.run_collectors()?;
        self.expand_defines()?;
        self.apply_overrides()?;
        self.resolve_relations()?;
        self.check_steps()
    }

    pub(super) fn fleet_error(&self, expr: &Expr, message: String) -> EvalError {
        EvalError {
            kind: EvalErrorKind::Fleet,
            problem: crate::lang::SyntaxError::new(message, expr.span, "while evaluating this"),
            file: self.file,
        }
    }
}

/// The code a playbook's arguments go to: a `plan`, or a class named as the playbook.
struct Entry {
    file: FileId,
    name: crate::lang::ast::Ident,
    params: Vec<Param>,
    body: Block,
    class_name: Option<String>,
}

impl Entry {
    fn from_plan(plan: &Rc<Defined<crate::lang::ast::Definition>>) -> Entry {
        Entry {
            file: plan.file,
            name: plan.def.name.clone(),
            params: plan.def.params.clone(),
            body: plan.def.body.clone(),
            class_name: None,
        }
    }

    fn from_class(class: &Rc<Defined<crate::lang::ast::ClassDef>>) -> Entry {
        Entry {
            file: class.file,
            name: class.def.name.clone(),
            params: class.def.params.clone(),
            body: class.def.body.clone(),
            class_name: Some(class.def.name.name.to_lowercase()),
        }
    }
}

/// On the command line every value arrives as JSON or text; a parameter typed `String` takes
/// `revision=20` as the string `'20'`, as a user means it.
fn coerce_from_command_line(expected: &Type, value: Value, from_command_line: bool) -> Value {
    if !from_command_line || expected.is_instance(&value) {
        return value;
    }
    let text = match &value {
        Value::Integer(_) | Value::Float(_) | Value::Bool(_) => value.to_string(),
        _ => return value,
    };
    let as_string = Value::String(text);
    if expected.is_instance(&as_string) {
        as_string
    } else {
        value
    }
}

/// "an Integer value", as Puppet words an expected type.
pub fn describe_type(t: &Type) -> String {
    let text = t.to_string();
    let article = if text.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {text} value")
}

/// "a String", "an Integer": the type of a value in an error message.
/// A value's type as Puppet's type mismatch texts name it ("got Integer", "got Struct"): the
/// type Puppet infers for it as a set (a Tuple, a Struct of string keys), without parameters.
pub fn mismatch_type_name(v: &Value) -> String {
    match v {
        Value::Array(items) if !items.is_empty() => return "Tuple".into(),
        Value::Hash(map) if !map.is_empty() && map.keys().all(|k| k.as_str().is_some()) => {
            return "Struct".into()
        }
        _ => {}
    }
    let generalized = Type::infer(v).generalize().to_string();
    match generalized.split_once('[') {
        Some((name, _)) => name.to_string(),
        None => generalized,
    }
}

pub fn describe_value_type(v: &Value) -> String {
    let name = match v {
        Value::Undef => return "Undef".into(),
        Value::Type(t) => return format!("Type[{t}]"),
        other => other.type_name(),
    };
    let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// Puppet regexes are Ruby's; the few spellings Rust's regex reads differently are rewritten
/// (`\A`, `\z` and `\Z` anchors, `\h` hex digits), and `^` and `$` are line anchors, as they
/// always are in Ruby.
pub(super) fn ruby_to_rust_regex(pattern: &str) -> String {
    let pattern = pattern
        .replace("\\Z", "\\z")
        .replace("\\h", "[0-9a-fA-F]")
        .replace("(?<", "(?P<")
        .replace("(?P<=", "(?<=")
        .replace("(?P<!", "(?<!");
    format!("(?m){pattern}")
}

pub(super) enum Parameterized {
    One(Type),
    Many(Vec<Type>),
}

/// Why `[]` cannot apply: to a type (its parameters), or to a value (its index).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AccessError {
    kind: AccessErrorKind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessErrorKind {
    /// A type's parameters are not what the type takes (`Integer['a']`, `Resource[]`).
    TypeParameters,
    /// An index is not what the value takes (`$array['a']`).
    Index,
    /// The value cannot be indexed at all (`5[0]`).
    NotIndexable,
}

impl AccessError {
    fn new(kind: AccessErrorKind, message: impl Into<String>) -> AccessError {
        AccessError {
            kind,
            message: message.into(),
        }
    }

    fn type_parameters(message: impl Into<String>) -> AccessError {
        AccessError::new(AccessErrorKind::TypeParameters, message)
    }

    pub fn kind(&self) -> AccessErrorKind {
        self.kind
    }
}

/// `Integer[1, 2]`, `Array[String]`, `Notify['x']`, `Class['app']`: a type with parameters.
pub(super) fn parameterize(base: Type, keys: Vec<Value>) -> Result<Parameterized, AccessError> {
    use Parameterized::One;
    let types = |keys: Vec<Value>| -> Result<Vec<Type>, AccessError> {
        keys.into_iter()
            .map(|k| match k {
                Value::Type(t) => Ok(*t),
                other => Err(AccessError::type_parameters(format!(
                    "expected a type parameter, got {}",
                    describe_value_type(&other)
                ))),
            })
            .collect()
    };
    Ok(match base {
        Type::Resource(None, None) => {
            let mut keys = keys.into_iter();
            let type_name = match keys.next() {
                Some(Value::String(s)) => s.to_lowercase(),
                Some(Value::Type(t)) => match *t {
                    Type::Resource(Some(name), None) => name,
                    other => {
                        return Err(AccessError::type_parameters(format!(
                            "Resource[] cannot take {other}"
                        )))
                    }
                },
                _ => return Err(AccessError::type_parameters("Resource[] needs a type name")),
            };
            return parameterize(Type::Resource(Some(type_name), None), keys.collect());
        }
        Type::Resource(Some(type_name), None) => {
            let titles = flatten_titles(keys)?;
            if titles.len() == 1 {
                One(Type::Resource(Some(type_name), titles.into_iter().next()))
            } else {
                Parameterized::Many(
                    titles
                        .into_iter()
                        .map(|t| Type::Resource(Some(type_name.clone()), Some(t)))
                        .collect(),
                )
            }
        }
        Type::Class(None) => {
            let names = flatten_titles(keys)?;
            if names.len() == 1 {
                One(Type::Class(
                    names.into_iter().next().map(|n| n.to_lowercase()),
                ))
            } else {
                Parameterized::Many(
                    names
                        .into_iter()
                        .map(|n| Type::Class(Some(n.to_lowercase())))
                        .collect(),
                )
            }
        }
        Type::Integer(..) => {
            let (lo, hi) = int_range(&keys, INT_MIN)?;
            One(Type::Integer(lo, hi))
        }
        Type::Float(..) => {
            let bound = |v: Option<&Value>, default: f64| match v {
                None | Some(Value::Default) => Ok(default),
                Some(v) => v
                    .as_f64()
                    .ok_or_else(|| AccessError::type_parameters("Float[] takes numbers")),
            };
            One(Type::Float(
                bound(keys.first(), f64::NEG_INFINITY)?,
                bound(keys.get(1), f64::INFINITY)?,
            ))
        }
        Type::String(..) => {
            let (lo, hi) = int_range(&keys, 0)?;
            One(Type::String(lo, hi))
        }
        Type::Collection(..) => {
            let (lo, hi) = int_range(&keys, 0)?;
            One(Type::Collection(lo, hi))
        }
        Type::Enum(_) => One(Type::Enum(
            keys.into_iter().map(|k| k.to_display_string()).collect(),
        )),
        Type::Pattern(_) => One(Type::Pattern(
            keys.into_iter()
                .map(|k| match k {
                    Value::Regex(r) | Value::String(r) => r,
                    other => other.to_string(),
                })
                .collect(),
        )),
        Type::Regexp(_) => One(Type::Regexp(keys.into_iter().next().map(|k| match k {
            Value::Regex(r) | Value::String(r) => r,
            other => other.to_string(),
        }))),
        Type::Array(..) => {
            let mut keys = keys.into_iter();
            let of = match keys.next() {
                Some(Value::Type(t)) => *t,
                Some(other) => {
                    let rest: Vec<Value> = std::iter::once(other).chain(keys).collect();
                    let (lo, hi) = int_range(&rest, 0)?;
                    return Ok(One(Type::Array(Box::new(Type::Any), lo, hi)));
                }
                None => Type::Any,
            };
            let rest: Vec<Value> = keys.collect();
            let (lo, hi) = int_range(&rest, 0)?;
            One(Type::Array(Box::new(of), lo, hi))
        }
        Type::Hash(..) => {
            let mut keys = keys.into_iter();
            let (k, v) = match (keys.next(), keys.next()) {
                (Some(Value::Type(k)), Some(Value::Type(v))) => (*k, *v),
                (None, _) => (Type::Any, Type::Any),
                (Some(Value::Type(_)), None) => {
                    return Err(AccessError::type_parameters(
                        "Hash-Type[] takes a key type and a value type",
                    ))
                }
                (Some(Value::Type(_)), Some(other)) | (Some(other), _) => {
                    return Err(AccessError::type_parameters(format!(
                        "Hash-Type[] arguments must be types. Got {}",
                        other.type_name()
                    )))
                }
            };
            let rest: Vec<Value> = keys.collect();
            let (lo, hi) = int_range(&rest, 0)?;
            One(Type::Hash(Box::new(k), Box::new(v), lo, hi))
        }
        Type::Tuple(_) => One(Type::Tuple(types(keys)?)),
        Type::Variant(_) => One(Type::Variant(types(keys)?)),
        Type::Optional(_) => One(Type::Optional(Box::new(single_type(keys)?))),
        Type::NotUndef(_) => One(Type::NotUndef(Box::new(single_type(keys)?))),
        Type::Type(_) => One(Type::Type(Box::new(single_type(keys)?))),
        Type::Sensitive(_) => One(Type::Sensitive(Box::new(single_type(keys)?))),
        Type::Timestamp(..) => {
            let (from, to) = time_range(&keys, |v| match v {
                Value::String(s) => Timestamp::parse(s, None, None).ok(),
                n => n.as_f64().and_then(seconds_to_nanos).map(Timestamp),
            })?;
            One(Type::Timestamp(from, to))
        }
        Type::Timespan(..) => {
            let (from, to) = time_range(&keys, |v| match v {
                Value::String(s) => Timespan::parse(s, None).ok(),
                n => n.as_f64().and_then(seconds_to_nanos).map(Timespan),
            })?;
            One(Type::Timespan(from, to))
        }
        Type::Struct(_) => One(struct_type(keys)?),
        other => {
            return Err(AccessError::type_parameters(format!(
                "{other} takes no parameters"
            )))
        }
    })
}

/// The ends of a `Timestamp[from, to]` or `Timespan[from, to]`: each a time as its type's
/// `new` reads one, or `default` for an open end.
fn time_range<T: Copy>(
    keys: &[Value],
    read: impl Fn(&Value) -> Option<T>,
) -> Result<(Option<T>, Option<T>), AccessError> {
    if keys.len() > 2 {
        return Err(AccessError::type_parameters(
            "a time type takes at most two parameters, from and to",
        ));
    }
    let bound = |key: Option<&Value>| match key {
        None | Some(Value::Default) => Ok(None),
        Some(v) => read(v).map(Some).ok_or_else(|| {
            AccessError::type_parameters(format!("{v} is not a time a time type can take"))
        }),
    };
    let from = bound(keys.first())?;
    // One parameter is the lower end only.
    let to = bound(keys.get(1))?;
    Ok((from, to))
}

fn single_type(keys: Vec<Value>) -> Result<Type, AccessError> {
    match keys.into_iter().next() {
        Some(Value::Type(t)) => Ok(*t),
        Some(Value::String(s)) => Ok(Type::Enum(vec![s])),
        _ => Err(AccessError::type_parameters("expected one type parameter")),
    }
}

fn struct_type(keys: Vec<Value>) -> Result<Type, AccessError> {
    let Some(Value::Hash(map)) = keys.into_iter().next() else {
        return Err(AccessError::type_parameters(
            "Struct[] takes a hash of member names to types",
        ));
    };
    let mut members = Vec::new();
    for (key, value) in map {
        let Value::Type(value) = value else {
            return Err(AccessError::type_parameters(
                "Struct[] member values must be types",
            ));
        };
        let (key, optional) = match key {
            Value::String(s) => (s, false),
            Value::Type(t) => match *t {
                Type::Optional(inner) | Type::NotUndef(inner) => match *inner {
                    Type::Enum(words) if words.len() == 1 => (words[0].clone(), true),
                    _ => {
                        return Err(AccessError::type_parameters(
                            "Struct[] keys must be strings",
                        ))
                    }
                },
                _ => {
                    return Err(AccessError::type_parameters(
                        "Struct[] keys must be strings",
                    ))
                }
            },
            _ => {
                return Err(AccessError::type_parameters(
                    "Struct[] keys must be strings",
                ))
            }
        };
        members.push(StructMember {
            key,
            optional,
            value: *value,
        });
    }
    Ok(Type::Struct(members))
}

fn int_range(keys: &[Value], default_lo: i64) -> Result<(i64, i64), AccessError> {
    let bound = |v: Option<&Value>, default: i64| match v {
        None | Some(Value::Default) => Ok(default),
        Some(Value::Integer(i)) => Ok(*i),
        Some(other) => Err(AccessError::type_parameters(format!(
            "a type's size must be an Integer, got {}",
            describe_value_type(other)
        ))),
    };
    Ok((
        bound(keys.first(), default_lo)?,
        bound(keys.get(1), INT_MAX)?,
    ))
}

fn flatten_titles(keys: Vec<Value>) -> Result<Vec<String>, AccessError> {
    let mut titles = Vec::new();
    for key in keys {
        match key {
            Value::Array(items) => titles.extend(flatten_titles(items)?),
            Value::String(s) => titles.push(s),
            Value::Undef => {
                return Err(AccessError::type_parameters(
                    "a resource title cannot be undef",
                ))
            }
            other => titles.push(other.to_display_string()),
        }
    }
    Ok(titles)
}

fn index_array(items: &[Value], keys: &[Value]) -> Result<Value, AccessError> {
    let len = items.len() as i64;
    let position = |i: i64| if i < 0 { len + i } else { i };
    match keys {
        [Value::Integer(i)] => {
            let at = position(*i);
            Ok(if (0..len).contains(&at) {
                items[at as usize].clone()
            } else {
                Value::Undef
            })
        }
        [Value::Integer(start), Value::Integer(count)] => {
            // The window may start before the first element; what falls outside is cut.
            let start = position(*start);
            let to = if *count < 0 {
                len.saturating_add(*count).saturating_add(1)
            } else {
                start.saturating_add(*count)
            };
            let (from, to) = (start.max(0), to.min(len));
            Ok(Value::Array(if from >= to {
                vec![]
            } else {
                items[from as usize..to as usize].to_vec()
            }))
        }
        _ => Err(AccessError::new(
            AccessErrorKind::Index,
            "An Array can be indexed by one Integer, or by a start and a count",
        )),
    }
}

fn index_hash(map: &ValueMap, keys: Vec<Value>) -> Value {
    if keys.len() == 1 {
        return map.get(&keys[0]).cloned().unwrap_or(Value::Undef);
    }
    Value::Array(keys.iter().filter_map(|k| map.get(k).cloned()).collect())
}

fn index_string(text: &str, keys: &[Value]) -> Result<Value, AccessError> {
    let chars: Vec<char> = text.chars().collect();
    let items: Vec<Value> = chars.iter().map(|c| Value::String(c.to_string())).collect();
    let picked = index_array(&items, keys)?;
    Ok(match picked {
        Value::Array(parts) => Value::String(parts.iter().map(|p| p.to_display_string()).collect()),
        Value::Undef => Value::Undef,
        one => one,
    })
}

/// The name a resource reference prints with: `App::Update['bravo']`.
pub fn resource_ref_name(type_name: &str, title: &str) -> String {
    format!("{}['{}']", capitalize_type_name(type_name), title)
}

#[cfg(test)]
mod access_tests {
    use super::*;

    #[test]
    fn a_refused_access_says_what_kind_it_is() {
        let kind = |base: Type, keys: Vec<Value>| match parameterize(base, keys) {
            Err(error) => error.kind(),
            Ok(_) => panic!("must be refused"),
        };
        assert_eq!(
            kind(Type::Integer(INT_MIN, INT_MAX), vec!["a".into()]),
            AccessErrorKind::TypeParameters
        );
        assert_eq!(
            kind(Type::Resource(None, None), vec![]),
            AccessErrorKind::TypeParameters
        );
        let index = index_array(&[Value::Integer(1)], &["a".into()]).unwrap_err();
        assert_eq!(index.kind(), AccessErrorKind::Index);
        assert_eq!(
            index.to_string(),
            "An Array can be indexed by one Integer, or by a start and a count"
        );
    }
}
