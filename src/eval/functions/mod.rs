//! Built-in functions: logging and `fail`, iteration with lambdas, the stdlib functions
//! playbooks use, type conversion, `discover()` and `get_fact()` that ask the fleet, and
//! functions written in Puppet.

mod convert;
mod data;
mod digest;
mod epp;
mod files;
mod format;
mod shell;
mod time;

use crate::lang::ast::{Expr, Lambda};
use crate::protocol::{FactFilter, Filter};
use crate::registry::DiscoveryMethod;

use super::evaluator::{describe_value_type, ruby_to_rust_regex, EvalResult, Evaluator};
use super::scope::Frame;
use super::types::Type;
use super::value::{HashMap as ValueMap, Value};
use super::{EvalError, EvalErrorKind, Level};

mod catalog;
mod collections;
mod numbers;
mod paths;
mod strings;

impl Evaluator<'_> {
    pub(super) fn call_function(
        &mut self,
        expr: &Expr,
        name: &str,
        args: Vec<Value>,
        lambda: Option<&Lambda>,
    ) -> EvalResult {
        if let Some(function) = self.loader.function(name)? {
            return self.call_puppet_function(expr, &function, args);
        }
        if let Some(t) = Type::named(name) {
            return self.convert(expr, t, args);
        }
        match function(name) {
            Some(Function {
                body: Body::Values(body),
                ..
            }) => body(name, &args).map_err(|error| self.error(expr, error.to_string())),
            Some(Function {
                body: Body::Evaluator(body),
                ..
            }) => body(self, &Call { expr, name, lambda }, args),
            None => Err(self
                .error(expr, format!("Unknown function: '{name}'"))
                .with_help(unknown_function_help(name))),
        }
    }

    fn log_function(&mut self, name: &str, args: &[Value]) {
        let text = args
            .iter()
            .map(Value::to_display_string)
            .collect::<Vec<_>>()
            .join(" ");
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let level = match name {
            "notice" | "info" | "debug" => Level::Notice,
            "warning" => Level::Warning,
            _ => Level::Err,
        };
        if matches!(name, "info" | "debug") {
            return;
        }
        self.log.log(level, text);
    }

    fn fail(&self, expr: &Expr, args: &[Value]) -> EvalError {
        let message = args
            .iter()
            .map(Value::to_display_string)
            .collect::<Vec<_>>()
            .join(" ");
        EvalError {
            kind: EvalErrorKind::Fail,
            problem: crate::lang::SyntaxError::new(message, expr.span, "the playbook failed here"),
            file: self.file,
        }
    }

    fn call_puppet_function(
        &mut self,
        expr: &Expr,
        function: &std::rc::Rc<super::loader::Defined<crate::lang::ast::FunctionDef>>,
        args: Vec<Value>,
    ) -> EvalResult {
        let def = &function.def;
        if args.len() > def.params.len() && !def.params.iter().any(|p| p.captures_rest) {
            return Err(self.error(
                expr,
                format!(
                    "function '{}' expects at most {} argument(s), got {}",
                    def.name.name,
                    def.params.len(),
                    args.len()
                ),
            ));
        }
        self.enter_call(expr)?;
        let at = self.origin(expr.span);
        let saved_file = std::mem::replace(&mut self.file, function.file);
        let frame = Frame {
            parent: Some(0),
            ..Frame::default()
        };
        let previous = self.scopes.push(frame);
        let given = def
            .params
            .iter()
            .zip(args)
            .map(|(p, v)| (p.name.name.clone(), v))
            .collect();
        let owner = format!("function '{}'", def.name.name);
        let result = self
            .bind_params(&def.params, given, &owner, at, false)
            .and_then(|()| self.eval_block(&def.body));
        self.scopes.pop(previous);
        self.file = saved_file;
        self.leave_call();
        match result {
            Err(e) if e.kind == EvalErrorKind::Return => {
                Ok(std::mem::replace(&mut self.control_value, Value::Undef))
            }
            other => other,
        }
    }

    fn iterate(
        &mut self,
        expr: &Expr,
        name: &str,
        args: Vec<Value>,
        lambda: &Lambda,
    ) -> EvalResult {
        let mut args = args.into_iter();
        let subject = args.next().unwrap_or(Value::Undef);
        match name {
            "with" => {
                let mut all = vec![subject];
                all.extend(args);
                self.call_lambda(expr, lambda, all)
            }
            "then" => match subject {
                Value::Undef => Ok(Value::Undef),
                value => self.call_lambda(expr, lambda, vec![value]),
            },
            "lest" => match subject {
                Value::Undef => self.call_lambda(expr, lambda, vec![]),
                value => Ok(value),
            },
            "reduce" => {
                let items = self.iteration_items(expr, &subject, 1)?;
                let mut items = items.into_iter();
                let mut memo = match args.next() {
                    Some(start) => start,
                    None => match items.next() {
                        Some(first) => unpack_single(first),
                        None => return Ok(Value::Undef),
                    },
                };
                for item in items {
                    memo = self.call_lambda(expr, lambda, vec![memo, unpack_single(item)])?;
                }
                Ok(memo)
            }
            "step" => {
                let stride = match args.next() {
                    Some(Value::Integer(n)) if n > 0 => n as usize,
                    _ => return Err(self.error(expr, "step() takes a positive Integer")),
                };
                let items = self.iteration_items(expr, &subject, 1)?;
                let picked: Vec<Value> = items
                    .into_iter()
                    .step_by(stride)
                    .map(unpack_single)
                    .collect();
                self.each_like(expr, "each", Value::Array(picked), lambda)
            }
            _ => self.each_like(expr, name, subject, lambda),
        }
    }

    /// `reverse_each` and `step` without a block give the elements in that order.
    fn iterator_without_block(&mut self, expr: &Expr, name: &str, args: Vec<Value>) -> EvalResult {
        let subject = args.first().cloned().unwrap_or(Value::Undef);
        let items: Vec<Value> = self
            .iteration_items(expr, &subject, 1)?
            .into_iter()
            .map(unpack_single)
            .collect();
        Ok(Value::Array(if name == "reverse_each" {
            items.into_iter().rev().collect()
        } else {
            let stride = match args.get(1) {
                Some(Value::Integer(n)) if *n > 0 => *n as usize,
                _ => return Err(self.error(expr, "step() takes a positive Integer")),
            };
            items.into_iter().step_by(stride).collect()
        }))
    }

    /// `sort` with a block that compares two elements (-1, 0 or 1).
    fn sort_with(&mut self, expr: &Expr, args: Vec<Value>, lambda: Option<&Lambda>) -> EvalResult {
        let (Some(Value::Array(items)), Some(lambda)) = (args.first(), lambda) else {
            return Err(self.error(expr, "sort() takes an array"));
        };
        let mut sorted: Vec<Value> = Vec::with_capacity(items.len());
        for item in items {
            let mut position = sorted.len();
            for (i, placed) in sorted.iter().enumerate() {
                let order = self.call_lambda(expr, lambda, vec![item.clone(), placed.clone()])?;
                if matches!(order, Value::Integer(n) if n < 0) {
                    position = i;
                    break;
                }
            }
            sorted.insert(position, item.clone());
        }
        Ok(Value::Array(sorted))
    }

    /// `slice(n)`: chunks of n elements, to a block or as an array of arrays.
    fn slice(&mut self, expr: &Expr, args: Vec<Value>, lambda: Option<&Lambda>) -> EvalResult {
        let (Some(subject), Some(Value::Integer(n))) = (args.first(), args.get(1)) else {
            return Err(self.error(expr, "slice() takes a collection and a chunk size"));
        };
        if *n < 1 {
            return Err(self.error(expr, "slice() takes a chunk size of at least 1"));
        }
        let items: Vec<Value> = self
            .iteration_items(expr, subject, 1)?
            .into_iter()
            .map(unpack_single)
            .collect();
        let chunks: Vec<Value> = items
            .chunks(*n as usize)
            .map(|c| Value::Array(c.to_vec()))
            .collect();
        match lambda {
            Some(lambda) => {
                for chunk in chunks {
                    let call_args = match chunk {
                        Value::Array(parts) if lambda.params.len() > 1 => parts,
                        other => vec![other],
                    };
                    self.call_lambda(expr, lambda, call_args)?;
                }
                Ok(subject.clone())
            }
            None => Ok(Value::Array(chunks)),
        }
    }

    /// `index`: where a value (or the first element a block accepts) is; `undef` if nowhere.
    fn index(&mut self, expr: &Expr, args: Vec<Value>, lambda: Option<&Lambda>) -> EvalResult {
        let subject = args.first().cloned().unwrap_or(Value::Undef);
        if let (Value::String(text), Some(Value::String(needle))) = (&subject, args.get(1)) {
            return Ok(text.find(needle.as_str()).map_or(Value::Undef, |at| {
                Value::Integer(text[..at].chars().count() as i64)
            }));
        }
        let items = self.iteration_items(expr, &subject, 2)?;
        for item in items {
            let Value::Array(pair) = item else { continue };
            let found = match (lambda, args.get(1)) {
                (Some(lambda), _) => {
                    let call_args = if lambda.params.len() == 2 {
                        pair.clone()
                    } else {
                        vec![pair[1].clone()]
                    };
                    self.call_lambda(expr, lambda, call_args)?.is_true()
                }
                (None, Some(wanted)) => pair[1].puppet_eq(wanted),
                (None, None) => return Err(self.error(expr, "index() takes a value or a block")),
            };
            if found {
                return Ok(pair[0].clone());
            }
        }
        Ok(Value::Undef)
    }

    /// `each`, `map`, `filter`, `any`, `all`, `reverse_each`: a lambda of one parameter gets
    /// each element (a `[key, value]` pair for hashes); of two, the index or key and the value.
    fn each_like(
        &mut self,
        expr: &Expr,
        name: &str,
        subject: Value,
        lambda: &Lambda,
    ) -> EvalResult {
        let arity = lambda.params.len();
        let is_hash = matches!(subject, Value::Hash(_));
        let mut items = self.iteration_items(expr, &subject, arity)?;
        if name == "reverse_each" {
            items.reverse();
        }
        let mut mapped = Vec::new();
        let mut kept_array = Vec::new();
        let mut kept_hash = ValueMap::new();
        for item in items {
            let call_args = match item.clone() {
                Value::Array(pair) if arity == 2 => pair,
                other => vec![unpack_single(other)],
            };
            let result = match self.call_lambda(expr, lambda, call_args) {
                Err(e) if e.kind == EvalErrorKind::Break => break,
                other => other?,
            };
            match name {
                "map" => mapped.push(result),
                "filter" if result.is_true() => {
                    if is_hash {
                        if let Value::Array(pair) = &item {
                            let key = &pair[0];
                            let key = match key {
                                Value::Array(kv) => kv[0].clone(),
                                k => k.clone(),
                            };
                            let value = match &subject {
                                Value::Hash(map) => map.get(&key).cloned().unwrap_or(Value::Undef),
                                _ => Value::Undef,
                            };
                            kept_hash.insert(key, value);
                        }
                    } else {
                        kept_array.push(match item {
                            Value::Array(pair) if arity == 2 => pair[1].clone(),
                            other => unpack_single(other),
                        });
                    }
                }
                "any" if result.is_true() => return Ok(Value::Bool(true)),
                "all" if !result.is_true() => return Ok(Value::Bool(false)),
                _ => {}
            }
        }
        Ok(match name {
            "map" => Value::Array(mapped),
            "filter" if is_hash => Value::Hash(kept_hash),
            "filter" => Value::Array(kept_array),
            "any" => Value::Bool(false),
            "all" => Value::Bool(true),
            _ => subject,
        })
    }

    /// What iterating a value yields. With two lambda parameters: `[index, element]` for
    /// arrays and `[key, value]` for hashes; with one: elements, or `[key, value]` pairs.
    fn iteration_items(
        &self,
        expr: &Expr,
        subject: &Value,
        arity: usize,
    ) -> EvalResult<Vec<Value>> {
        Ok(match subject {
            Value::Array(items) => indexed(items.iter().cloned(), arity),
            Value::Hash(map) if arity == 2 => map
                .iter()
                .map(|(k, v)| Value::Array(vec![k.clone(), v.clone()]))
                .collect(),
            Value::Hash(map) => map
                .iter()
                .map(|(k, v)| Value::Array(vec![Value::Array(vec![k.clone(), v.clone()])]))
                .collect(),
            Value::Integer(n) if *n > MAX_GENERATED as i64 => {
                return Err(self.error(
                    expr,
                    format!("cannot iterate {n} times: at most {MAX_GENERATED}"),
                ))
            }
            Value::Type(t) if matches!(**t, Type::Integer(..)) => {
                let Type::Integer(lo, hi) = **t else {
                    unreachable!()
                };
                if lo == super::types::INT_MIN
                    || hi == super::types::INT_MAX
                    || hi.saturating_sub(lo) > MAX_GENERATED as i64
                {
                    return Err(self.error(expr, format!("{t} is too large to iterate")));
                }
                indexed((lo..=hi).map(Value::Integer), arity)
            }
            Value::Integer(n) if *n >= 0 => indexed((0..*n).map(Value::Integer), arity),
            Value::String(s) => indexed(s.chars().map(|c| Value::String(c.to_string())), arity),
            other => {
                return Err(self.error(
                    expr,
                    format!("{} is not iterable", describe_value_type(other)),
                ))
            }
        })
    }

    /// `discover()`, `discover({filter})`, `discover('agent')`, `discover('agent', {filter})`,
    /// and either of the last two forms with a filter followed by an options hash:
    /// `discover('agent', {filter}, {options})`, `discover({filter}, {options})`. The one
    /// option is `method`, `'broadcast'` or `'registry'`.
    fn discover(&mut self, expr: &Expr, args: Vec<Value>) -> EvalResult {
        let rpcutil = || "rpcutil".to_string();
        let none = || Value::Hash(ValueMap::new());
        let (agent, filter, options) = match args.as_slice() {
            [] => (rpcutil(), none(), None),
            [Value::Hash(_)] => (rpcutil(), args[0].clone(), None),
            [Value::Hash(_), Value::Hash(options)] => (rpcutil(), args[0].clone(), Some(options)),
            [Value::String(agent)] => (agent.clone(), none(), None),
            [Value::String(agent), Value::Hash(_)] => (agent.clone(), args[1].clone(), None),
            [Value::String(agent), Value::Hash(_), Value::Hash(options)] => {
                (agent.clone(), args[1].clone(), Some(options))
            }
            _ => {
                return Err(self
                    .error(
                        expr,
                        "discover() takes an optional agent name, an optional filter hash and, after the filter, an optional options hash",
                    )
                    .with_help("discover('appmgr', { 'fact' => 'cluster=bravo' }, { 'method' => 'registry' })"))
            }
        };
        // The options are checked first: a mistake in them is one even when the filter
        // selects no node.
        let DiscoverOptions { method, test } = match options {
            Some(options) => self.discover_options(expr, options)?,
            None => DiscoverOptions::default(),
        };
        // A filter given as an empty list (often an empty discovery result) selects no node;
        // it must never widen to every node.
        if empty_filter_key(&filter).is_some() {
            return Ok(Value::Array(vec![]));
        }
        let filter = self.filter_from(expr, &filter)?;
        let found = self
            .nodes
            .discover(&agent, &filter, method)
            .map_err(|message| self.fleet_error(expr, format!("discovery failed: {message}")))?;
        if test && !found.is_empty() {
            self.test_answer(expr, &found)?;
        }
        Ok(Value::Array(found.into_iter().map(Value::String).collect()))
    }

    /// `test => true`: every node found must answer a ping, or the call fails naming those
    /// that did not (a registry entry may outlive its node until it expires).
    fn test_answer(&self, expr: &Expr, found: &[String]) -> EvalResult<()> {
        let silent = self
            .nodes
            .silent(found)
            .map_err(|message| self.fleet_error(expr, format!("discovery failed: {message}")))?;
        if silent.is_empty() {
            return Ok(());
        }
        Err(self.fleet_error(
            expr,
            format!(
                "discovery failed: {} of the {} nodes found did not answer a ping: {}",
                silent.len(),
                found.len(),
                silent.join(", ")
            ),
        ))
    }

    /// `discover()`'s options hash: `method` (`'registry'` or `'broadcast'`; none: the
    /// client's own) and `test` (ping what was found). Any other key or value is an error at
    /// the call.
    fn discover_options(&self, expr: &Expr, options: &ValueMap) -> EvalResult<DiscoverOptions> {
        let mut method = None;
        let mut test = false;
        for (key, value) in options {
            match key {
                Value::String(key) if key == "test" => {
                    test = match value {
                        Value::Bool(test) => *test,
                        other => {
                            return Err(self
                                .error(expr, format!("test must be true or false, not {}", describe_option(other)))
                                .with_help("{ 'test' => true } pings every node found and fails on those that do not answer"))
                        }
                    }
                }
                Value::String(key) if key == "method" => {
                    method = Some(match value {
                        Value::String(name) if name == "broadcast" => DiscoveryMethod::Broadcast,
                        Value::String(name) if name == "registry" => DiscoveryMethod::Registry,
                        other => {
                            return Err(self
                                .error(
                                    expr,
                                    format!(
                                        "unknown discovery method {}",
                                        describe_option(other)
                                    ),
                                )
                                .with_help(
                                    "the method is 'broadcast' (ask the fleet and wait for answers) or 'registry' (the node registry, no wait)",
                                ))
                        }
                    })
                }
                other => {
                    return Err(self
                        .error(
                            expr,
                            format!("unknown discover() option {}", describe_option(other)),
                        )
                        .with_help("the options are 'method' ({ 'method' => 'registry' } or 'broadcast') and 'test' ({ 'test' => true })"))
                }
            }
        }
        Ok(DiscoverOptions { method, test })
    }

    /// `get_fact('fact', {filter})`: the fact of the one node the filter matches.
    fn get_fact(&mut self, expr: &Expr, args: Vec<Value>) -> EvalResult {
        let (fact, filter) = match args.as_slice() {
            [Value::String(fact), filter @ Value::Hash(_)] => (fact.clone(), filter.clone()),
            _ => {
                return Err(self
                    .error(expr, "get_fact() takes a fact name and a filter hash")
                    .with_help("get_fact('ipaddress', { 'identity' => 'lb1.example.net' })"))
            }
        };
        if let Some(key) = empty_filter_key(&filter) {
            return Err(self.fleet_error(
                expr,
                format!("get_fact failed: no node matches the filter ({key} is an empty list)"),
            ));
        }
        let filter = self.filter_from(expr, &filter)?;
        self.nodes
            .get_fact(&fact, &filter)
            .map_err(|message| self.fleet_error(expr, format!("get_fact failed: {message}")))
    }

    /// A discovery filter from a hash: `identity`, `class`, `fact` ("name=value"), `agent`,
    /// `compound`; each a string or an array of them.
    fn filter_from(&self, expr: &Expr, value: &Value) -> EvalResult<Filter> {
        let Value::Hash(map) = value else {
            return Err(self.error(expr, "a filter must be a hash"));
        };
        let mut filter = Filter::default();
        for (key, value) in map {
            let words = value.words();
            match key.to_display_string().as_str() {
                "identity" => filter.identity.extend(words),
                "class" => filter.cf_class.extend(words),
                "agent" => filter.agent.extend(words),
                "compound" => filter.compound.extend(words),
                "fact" => {
                    for word in words {
                        let fact = FactFilter::parse(&word).map_err(|message| {
                            self.error(expr, format!("bad fact filter '{word}': {message}"))
                                .with_help("write a fact filter as name=value, name!=value, name=~regex, name>=3 ...")
                        })?;
                        filter.fact.push(fact);
                    }
                }
                other => {
                    return Err(self
                        .error(expr, format!("unknown filter key '{other}'"))
                        .with_help("filter keys are identity, class, fact, agent and compound"))
                }
            }
        }
        filter
            .check()
            .map_err(|message| self.error(expr, format!("bad filter: {message}")))?;
        Ok(filter)
    }

    /// `Integer('12')`, `String(5)`, `Array($x)`: a type called as a function is its `new`.
    fn convert(&self, expr: &Expr, t: Type, args: Vec<Value>) -> EvalResult {
        convert::new_value(&t, &args).map_err(|error| self.error(expr, error.to_string()))
    }
}

/// The elements of a sequence as iteration yields them: `[index, element]` for a block of two
/// parameters, `[element]` otherwise.
fn indexed(items: impl Iterator<Item = Value>, arity: usize) -> Vec<Value> {
    if arity == 2 {
        items
            .enumerate()
            .map(|(i, v)| Value::Array(vec![Value::Integer(i as i64), v]))
            .collect()
    } else {
        items.map(|v| Value::Array(vec![v])).collect()
    }
}

fn unpack_single(item: Value) -> Value {
    match item {
        Value::Array(mut one) if one.len() == 1 => one.pop().unwrap_or(Value::Undef),
        other => other,
    }
}

/// An option's key or value as a message names it: a string quoted, anything else with its type.
fn describe_option(value: &Value) -> String {
    match value {
        Value::String(text) => format!("'{text}'"),
        other => describe_value_type(other),
    }
}

/// The key of a filter hash whose value is an empty list, if any.
fn empty_filter_key(filter: &Value) -> Option<String> {
    let Value::Hash(map) = filter else {
        return None;
    };
    map.iter()
        .find(|(_, v)| matches!(v, Value::Array(_)) && v.words().is_empty())
        .map(|(k, _)| k.to_display_string())
}

/// "did you mean": the built-in whose name begins as the unknown one does, the closest
/// first.
fn unknown_function_help(name: &str) -> String {
    let prefix: String = name.chars().take(3).collect();
    let close = FUNCTIONS
        .iter()
        .map(|f| f.name)
        .filter(|known| known.starts_with(&prefix))
        .min_by_key(|known| edit_distance(known, name));
    match close {
        Some(close) => format!("did you mean '{close}'? Functions of a module are read from modules/<module>/functions/<name>.pp"),
        None => "built-in functions include notice, fail, discover, get_fact, empty, size, join and the iteration functions; a module's functions are read from modules/<module>/functions/<name>.pp".into(),
    }
}

/// Levenshtein's distance between two names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(x != *y));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A built-in function: its name, its signature as Puppet writes it, and what runs it. The
/// "did you mean" suggestions and the grammar's statement calls (checked by a test) come from
/// this table; adding a function is adding a row.
pub struct Function {
    pub name: &'static str,
    pub signature: &'static str,
    body: Body,
}

/// How a built-in runs.
#[derive(Clone, Copy)]
enum Body {
    /// A function of its arguments' values (the name is given: some rows share a body).
    Values(fn(&str, &[Value]) -> Result<Value, FunctionError>),
    /// One that needs the evaluator: logging, blocks, classes, the catalog, the fleet.
    Evaluator(fn(&mut Evaluator<'_>, &Call<'_>, Vec<Value>) -> EvalResult),
}

/// A call of a built-in, as the evaluator dispatches it.
pub(super) struct Call<'c> {
    pub expr: &'c Expr,
    pub name: &'c str,
    pub lambda: Option<&'c Lambda>,
}

impl Function {
    const fn values(
        name: &'static str,
        signature: &'static str,
        body: fn(&str, &[Value]) -> Result<Value, FunctionError>,
    ) -> Function {
        Function {
            name,
            signature,
            body: Body::Values(body),
        }
    }

    const fn evaluator(
        name: &'static str,
        signature: &'static str,
        body: fn(&mut Evaluator<'_>, &Call<'_>, Vec<Value>) -> EvalResult,
    ) -> Function {
        Function {
            name,
            signature,
            body: Body::Evaluator(body),
        }
    }
}

/// Every built-in function, in the table's order.
pub fn builtin_functions() -> &'static [Function] {
    FUNCTIONS
}

/// The built-in function of this name.
fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// Why a function of plain values refused its arguments.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct FunctionError {
    kind: FunctionErrorKind,
    message: String,
    #[source]
    source: Option<regex::Error>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionErrorKind {
    /// The arguments are not what the function takes.
    Arguments,
    /// The result would be larger than the evaluator allows (`range`, `sprintf` widths).
    TooLarge,
    /// A pattern given as a string is not a regular expression.
    Regex,
}

impl FunctionError {
    fn regex(pattern: &str, source: regex::Error) -> FunctionError {
        FunctionError {
            kind: FunctionErrorKind::Regex,
            message: format!("invalid regex /{pattern}/: {source}"),
            source: Some(source),
        }
    }

    pub fn kind(&self) -> FunctionErrorKind {
        self.kind
    }
}

/// The arguments do not fit.
fn bad(message: impl Into<String>) -> FunctionError {
    FunctionError {
        kind: FunctionErrorKind::Arguments,
        message: message.into(),
        source: None,
    }
}

fn too_large(message: impl Into<String>) -> FunctionError {
    FunctionError {
        kind: FunctionErrorKind::TooLarge,
        message: message.into(),
        source: None,
    }
}

fn first_of(args: &[Value]) -> Value {
    args.first().cloned().unwrap_or(Value::Undef)
}

/// Every built-in function.
static FUNCTIONS: &[Function] = &[
    Function::evaluator("notice", "notice(Any *$values)", log),
    Function::evaluator("warning", "warning(Any *$values)", log),
    Function::evaluator("err", "err(Any *$values)", log),
    Function::evaluator("info", "info(Any *$values)", log),
    Function::evaluator("debug", "debug(Any *$values)", log),
    Function::evaluator("alert", "alert(Any *$values)", log),
    Function::evaluator("crit", "crit(Any *$values)", log),
    Function::evaluator("emerg", "emerg(Any *$values)", log),
    Function::evaluator("fail", "fail(Any *$values)", |ev, call, args| {
        Err(ev.fail(call.expr, &args))
    }),
    Function::evaluator("next", "next(Optional[Any] $value)", leave),
    Function::evaluator("break", "break()", leave),
    Function::evaluator("return", "return(Optional[Any] $value)", leave),
    Function::evaluator("include", "include(Any *$classes)", include),
    Function::evaluator("contain", "contain(Any *$classes)", include),
    Function::evaluator("require", "require(Any *$classes)", include),
    Function::evaluator("realize", "realize(Any *$references)", |ev, call, args| {
        ev.realize_refs(call.expr, args)
    }),
    Function::evaluator("tag", "tag(String *$tags)", |ev, call, args| {
        ev.tag(call.expr, args)
    }),
    Function::evaluator("import", "import(String $pattern)", |ev, call, _| {
        Err(ev.error(
            call.expr,
            "Use of 'import' has been discontinued in favor of a manifest directory",
        ))
    }),
    Function::evaluator(
        "each",
        "each(Iterable $values, Callable &$block)",
        with_block,
    ),
    Function::evaluator("map", "map(Iterable $values, Callable &$block)", with_block),
    Function::evaluator(
        "filter",
        "filter(Iterable $values, Callable &$block)",
        with_block,
    ),
    Function::evaluator(
        "reduce",
        "reduce(Iterable $values, Optional[Any] $memo, Callable[2, 2] &$block)",
        with_block,
    ),
    Function::evaluator("with", "with(Any *$values, Callable &$block)", with_block),
    Function::evaluator("any", "any(Iterable $values, Callable &$block) >> Boolean", with_block),
    Function::evaluator("all", "all(Iterable $values, Callable &$block) >> Boolean", with_block),
    Function::evaluator(
        "reverse_each",
        "reverse_each(Iterable $values, Optional[Callable] &$block)",
        maybe_block,
    ),
    Function::evaluator(
        "step",
        "step(Iterable $values, Integer[1] $step, Optional[Callable] &$block)",
        maybe_block,
    ),
    Function::evaluator("then", "then(Any $value, Callable[1, 1] &$block)", with_block),
    Function::evaluator("lest", "lest(Any $value, Callable[0, 0] &$block)", with_block),
    Function::evaluator(
        "slice",
        "slice(Iterable $values, Integer[1] $size, Optional[Callable] &$block)",
        |ev, call, args| ev.slice(call.expr, args, call.lambda),
    ),
    Function::evaluator(
        "index",
        "index(Iterable $values, Optional[Any] $value, Optional[Callable] &$block)",
        |ev, call, args| ev.index(call.expr, args, call.lambda),
    ),
    Function::evaluator(
        "sort",
        "sort(Variant[Array, String] $values, Optional[Callable[2, 2]] &$block)",
        |ev, call, args| match call.lambda {
            Some(_) => ev.sort_with(call.expr, args, call.lambda),
            None => sort("sort", &args).map_err(|e| ev.error(call.expr, e.to_string())),
        },
    ),
    Function::evaluator(
        "discover",
        "discover(Optional[String] $agent, Optional[Hash] $filter, Optional[Struct[{ Optional['method'] => Enum['broadcast', 'registry'] }]] $options) >> Array[String]",
        |ev, call, args| ev.discover(call.expr, args),
    ),
    Function::evaluator(
        "get_fact",
        "get_fact(String $fact, Hash $filter)",
        |ev, call, args| ev.get_fact(call.expr, args),
    ),
    Function::values(
        "empty",
        "empty(Variant[Collection, String, Numeric, Undef] $value) >> Boolean",
        |_, args| {
            let first = first_of(args);
            Ok(Value::Bool(match &first {
                Value::Undef => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Hash(h) => h.is_empty(),
                Value::Integer(_) | Value::Float(_) => false,
                _ => false,
            }))
        },
    ),
    Function::values(
        "size",
        "size(Variant[Collection, String] $value) >> Integer",
        size,
    ),
    Function::values(
        "length",
        "length(Variant[Collection, String] $value) >> Integer",
        size,
    ),
    Function::values(
        "count",
        "count(Collection $values, Optional[Any] $value) >> Integer",
        count,
    ),
    Function::values(
        "join",
        "join(Array $values, Optional[String] $separator) >> String",
        |_, args| {
            let first = first_of(args);
            match &first {
                Value::Array(items) => {
                    let separator = args.get(1).map(Value::to_display_string).unwrap_or_default();
                    Ok(Value::String(join_flat(items, &separator)))
                }
                other => Err(bad(format!("join() takes an Array, got {}", describe_value_type(other)))),
            }
        },
    ),
    Function::values(
        "split",
        "split(String $text, Variant[String, Regexp] $pattern) >> Array[String]",
        |_, args| {
            let first = first_of(args);
            split(&first, args.get(1))
        },
    ),
    Function::values(
        "keys",
        "keys(Hash $hash) >> Array",
        |_, args| {
            let first = first_of(args);
            match &first {
                Value::Hash(map) => Ok(Value::Array(map.keys().cloned().collect())),
                other => Err(bad(format!("keys() takes a Hash, got {}", describe_value_type(other)))),
            }
        },
    ),
    Function::values(
        "values",
        "values(Hash $hash) >> Array",
        |_, args| {
            let first = first_of(args);
            match &first {
                Value::Hash(map) => Ok(Value::Array(map.values().cloned().collect())),
                other => Err(bad(format!("values() takes a Hash, got {}", describe_value_type(other)))),
            }
        },
    ),
    Function::values(
        "unique",
        "unique(Variant[Array, String] $values)",
        |_, args| {
            let first = first_of(args);
            match &first {
                Value::Array(items) => {
                    let mut seen = std::collections::HashSet::new();
                    Ok(Value::Array(
                        items.iter().filter(|item| seen.insert(*item)).cloned().collect(),
                    ))
                }
                Value::String(s) => {
                    let mut out = String::new();
                    for c in s.chars() {
                        if !out.contains(c) {
                            out.push(c);
                        }
                    }
                    Ok(Value::String(out))
                }
                other => Err(bad(format!("unique() takes an Array, got {}", describe_value_type(other)))),
            }
        },
    ),
    Function::values(
        "flatten",
        "flatten(Any *$values) >> Array",
        |_, args| {
            Ok(Value::Array(flatten(args.to_vec())))
        },
    ),
    Function::values(
        "reverse",
        "reverse(Variant[Array, String] $values)",
        |_, args| {
            let first = first_of(args);
            match &first {
                Value::Array(items) => Ok(Value::Array(items.iter().rev().cloned().collect())),
                Value::String(s) => Ok(Value::String(s.chars().rev().collect())),
                other => Err(bad(format!("reverse() takes an Array or a String, got {}", describe_value_type(other)))),
            }
        },
    ),
    Function::values(
        "upcase",
        "upcase(Variant[String, Array, Hash] $value)",
        |_, args| {
            let first = first_of(args);
            map_strings(&first, |s| s.to_uppercase())
        },
    ),
    Function::values(
        "downcase",
        "downcase(Variant[String, Array, Hash] $value)",
        |_, args| {
            let first = first_of(args);
            map_strings(&first, |s| s.to_lowercase())
        },
    ),
    Function::values(
        "capitalize",
        "capitalize(Variant[String, Array, Hash] $value)",
        |_, args| {
            let first = first_of(args);
            map_strings(&first, |s| {
                let mut chars = s.chars();
                match chars.next() {
                    Some(c) => c.to_uppercase().chain(chars.flat_map(|c| c.to_lowercase())).collect(),
                    None => String::new(),
                }
            })
        },
    ),
    Function::values(
        "strip",
        "strip(Variant[String, Array, Hash] $value)",
        |_, args| {
            let first = first_of(args);
            map_strings(&first, |s| s.trim().to_string())
        },
    ),
    Function::values(
        "lstrip",
        "lstrip(Variant[String, Array, Hash] $value)",
        |_, args| {
            let first = first_of(args);
            map_strings(&first, |s| s.trim_start().to_string())
        },
    ),
    Function::values(
        "rstrip",
        "rstrip(Variant[String, Array, Hash] $value)",
        |_, args| {
            let first = first_of(args);
            map_strings(&first, |s| s.trim_end().to_string())
        },
    ),
    Function::values(
        "chomp",
        "chomp(Variant[String, Array, Hash] $value)",
        |_, args| {
            let first = first_of(args);
            map_strings(&first, |s| s.strip_suffix('\n').map(|s| s.strip_suffix('\r').unwrap_or(s)).unwrap_or(s).to_string())
        },
    ),
    Function::values(
        "is_string",
        "is_string(Any $value) >> Boolean",
        |_, args| {
            let first = first_of(args);
            Ok(Value::Bool(
                matches!(&first, Value::String(s) if super::operators::parse_number(s).is_none()),
            ))
        },
    ),
    Function::values(
        "is_array",
        "is_array(Any $value) >> Boolean",
        |_, args| {
            let first = first_of(args);
            Ok(Value::Bool(matches!(first, Value::Array(_))))
        },
    ),
    Function::values(
        "is_hash",
        "is_hash(Any $value) >> Boolean",
        |_, args| {
            let first = first_of(args);
            Ok(Value::Bool(matches!(first, Value::Hash(_))))
        },
    ),
    Function::values(
        "is_integer",
        "is_integer(Any $value) >> Boolean",
        |_, args| {
            let first = first_of(args);
            Ok(Value::Bool(match &first {
                Value::Integer(_) => true,
                Value::String(s) => matches!(super::operators::parse_number(s), Some(Value::Integer(_))),
                _ => false,
            }))
        },
    ),
    Function::values(
        "is_numeric",
        "is_numeric(Any $value) >> Boolean",
        |_, args| {
            let first = first_of(args);
            Ok(Value::Bool(match &first {
                Value::Integer(_) | Value::Float(_) => true,
                Value::String(s) => super::operators::parse_number(s).is_some(),
                _ => false,
            }))
        },
    ),
    Function::values(
        "is_bool",
        "is_bool(Any $value) >> Boolean",
        |_, args| {
            let first = first_of(args);
            Ok(Value::Bool(matches!(first, Value::Bool(_))))
        },
    ),
    Function::values(
        "type",
        "type(Any $value, Optional[Enum['detailed', 'reduced', 'generalized']] $inference) >> Type",
        |_, args| {
            let first = first_of(args);
            {
                let mode = args.get(1).map(Value::to_display_string).unwrap_or_default();
                Ok(Value::Type(Box::new(match mode.as_str() {
                    "generalized" => Type::infer(&first).generalize(),
                    "reduced" => Type::infer_reduced(&first),
                    _ => Type::infer(&first),
                })))
            }
        },
    ),
    Function::values(
        "assert_type",
        "assert_type(Type $type, Any $value)",
        |_, args| {
            let first = first_of(args);
            match (&first, args.get(1)) {
                (Value::Type(t), Some(v)) if t.is_instance(v) => Ok(v.clone()),
                (Value::Type(t), Some(v)) => Err(bad(format!(
                    "expects {}, got {}",
                    super::evaluator::describe_type(t),
                    describe_value_type(v)
                ))),
                _ => Err(bad("assert_type() takes a type and a value")),
            }
        },
    ),
    Function::values(
        "pick",
        "pick(Any *$values)",
        |_, args| {
            args
                .iter()
                .find(|v| !matches!(v, Value::Undef) && !matches!(v, Value::String(s) if s.is_empty()))
                .cloned()
                .ok_or_else(|| bad("pick(): must receive at least one non empty value"))
        },
    ),
    Function::values(
        "pick_default",
        "pick_default(Any *$values)",
        |_, args| {
            if args.is_empty() {
                return Err(bad("Must receive at least one argument."));
            }
            Ok(args
                .iter()
                .find(|v| !matches!(v, Value::Undef) && !matches!(v, Value::String(s) if s.is_empty()))
                .cloned()
                .unwrap_or_else(|| args.last().cloned().unwrap_or(Value::Undef)))
        },
    ),
    Function::values(
        "concat",
        "concat(Any *$values) >> Array",
        |_, args| {
            if !matches!(args.first(), Some(Value::Array(_))) {
                return Err(bad("concat(): Requires array to work with"));
            }
            {
                let mut all = Vec::new();
                for arg in args {
                    match arg {
                        Value::Array(items) => all.extend(items.iter().cloned()),
                        other => all.push(other.clone()),
                    }
                }
                Ok(Value::Array(all))
            }
        },
    ),
    Function::values(
        "member",
        "member(Array $values, Any $value) >> Boolean",
        |_, args| {
            let first = first_of(args);
            match (&first, args.get(1)) {
                (Value::Array(items), Some(Value::Array(wanted))) => {
                    Ok(Value::Bool(wanted.iter().all(|w| items.contains(w))))
                }
                (Value::Array(items), Some(wanted)) => Ok(Value::Bool(items.contains(wanted))),
                _ => Err(bad("member() takes an array and a value")),
            }
        },
    ),
    Function::values(
        "has_key",
        "has_key(Hash $hash, Any $key) >> Boolean",
        |_, args| {
            let first = first_of(args);
            match (&first, args.get(1)) {
                (Value::Hash(map), Some(key)) => Ok(Value::Bool(map.contains_key(key))),
                _ => Err(bad("has_key() takes a hash and a key")),
            }
        },
    ),
    Function::evaluator(
        "merge",
        "merge(Variant[Hash, Undef, String[0, 0], Iterable] *$args, Optional[Callable[2, 3]] &$block) >> Hash",
        collections::merge,
    ),
    Function::values("dig", "dig(Any $value, Any *$keys)", collections::dig_function),
    Function::values(
        "abs",
        "abs(Numeric $value) >> Numeric",
        |_, args| {
            let first = first_of(args);
            match first {
                Value::Integer(i) => i
                    .checked_abs()
                    .map(Value::Integer)
                    .ok_or_else(|| bad("abs(): the result is outside of Puppet Integer max range")),
                Value::Float(f) => Ok(Value::Float(f.abs())),
                other => Err(bad(format!("abs() takes a number, got {}", describe_value_type(&other)))),
            }
        },
    ),
    Function::values(
        "min",
        "min(Any *$values)",
        extreme,
    ),
    Function::values(
        "max",
        "max(Any *$values)",
        extreme,
    ),
    Function::values(
        "range",
        "range(Variant[Integer, String] $from, Variant[Integer, String] $to, Optional[Integer[1]] $step) >> Array",
        |_, args| {
            let first = first_of(args);
            range(&first, args.get(1), args.get(2))
        },
    ),
    Function::values(
        "chop",
        "chop(Variant[String, Array, Hash] $value)",
        |_, args| {
            let first = first_of(args);
            map_strings(&first, |s| {
                let mut s = s.to_string();
                if s.ends_with("\r\n") {
                    s.truncate(s.len() - 2);
                } else {
                    s.pop();
                }
                s
            })
        },
    ),
    Function::values(
        "sprintf",
        "sprintf(String $format, Any *$values) >> String",
        |_, args| {
            format::sprintf(args)
        },
    ),
    Function::values(
        "compare",
        "compare(Any $a, Any $b) >> Integer",
        |_, args| {
            let first = first_of(args);
            match (&first, args.get(1)) {
                (a, Some(b)) => match a.puppet_cmp(b) {
                    Some(ordering) => Ok(Value::Integer(ordering as i64)),
                    None => Err(bad(format!(
                        "compare() cannot compare {} with {}",
                        describe_value_type(a),
                        describe_value_type(b)
                    ))),
                },
                _ => Err(bad("compare() takes two values")),
            }
        },
    ),
    Function::evaluator(
        "lookup",
        "lookup(Variant[String, Array[String], Hash] $name, Any *$rest, Optional[Callable] &$block)",
        |ev, call, args| ev.lookup(call, args),
    ),
    Function::evaluator(
        "hiera",
        "hiera(String $key, Optional[Any] $default, Optional[String] $override, Optional[Callable] &$block)",
        |ev, call, args| ev.hiera_call(call, args),
    ),
    Function::evaluator(
        "hiera_array",
        "hiera_array(String $key, Optional[Any] $default, Optional[String] $override, Optional[Callable] &$block)",
        |ev, call, args| ev.hiera_call(call, args),
    ),
    Function::evaluator(
        "hiera_hash",
        "hiera_hash(String $key, Optional[Any] $default, Optional[String] $override, Optional[Callable] &$block)",
        |ev, call, args| ev.hiera_call(call, args),
    ),
    Function::evaluator(
        "hiera_include",
        "hiera_include(String $key, Optional[Any] $default, Optional[String] $override, Optional[Callable] &$block)",
        |ev, call, args| ev.hiera_call(call, args),
    ),
    Function::values(
        "defined",
        "defined(Any $value) >> Boolean",
        |_, args| {
            let first = first_of(args);
            Ok(Value::Bool(!matches!(first, Value::Undef)))
        },
    ),
    // Puppet 7 core and stdlib: strings, numbers, collections, the catalog
    // (src/eval/functions/{strings,numbers,collections,catalog}.rs)
    Function::values(
        "regsubst",
        "regsubst(Variant[Array[String], String] $target, Variant[String, Regexp, Type[Regexp]] $pattern, Variant[String, Hash[String, String]] $replacement, Optional[Pattern[/^[GEIM]*$/]] $flags, Optional[Enum['N', 'E', 'S', 'U']] $encoding)",
        strings::regsubst,
    ),
    Function::values(
        "match",
        "match(Variant[String, Array[String]] $string, Variant[Any, Type] $pattern)",
        strings::match_function,
    ),
    Function::values(
        "versioncmp",
        "versioncmp(String $a, String $b, Optional[Boolean] $ignore_trailing_zeroes) >> Integer",
        strings::versioncmp,
    ),
    Function::values("round", "round(Numeric $val) >> Integer", numbers::round),
    Function::values(
        "floor",
        "floor(Variant[Numeric, String] $val) >> Integer",
        numbers::floor_or_ceiling,
    ),
    Function::values(
        "ceiling",
        "ceiling(Variant[Numeric, String] $val) >> Integer",
        numbers::floor_or_ceiling,
    ),
    Function::evaluator(
        "partition",
        "partition(Collection $collection, Callable[1, 2] &$block) >> Tuple[Array, Array]",
        collections::partition,
    ),
    Function::evaluator(
        "group_by",
        "group_by(Collection $collection, Callable[1, 2] &$block) >> Hash",
        collections::group_by,
    ),
    Function::evaluator(
        "get",
        "get(Any $value, String $dotted_string, Optional[Any] $default_value, Optional[Callable[1, 1]] &$block)",
        collections::get,
    ),
    Function::evaluator(
        "getvar",
        "getvar(String $get_string, Optional[Any] $default_value, Optional[Callable[1, 1]] &$block)",
        collections::getvar,
    ),
    Function::evaluator(
        "tree_each",
        "tree_each(Variant[Array, Hash] $tree, Optional[Hash] $options, Optional[Callable[1, 2]] &$block)",
        collections::tree_each,
    ),
    Function::values(
        "deep_merge",
        "deep_merge(Variant[Hash, String[0, 0], Undef] *$hashes) >> Hash",
        collections::deep_merge,
    ),
    Function::values("delete", "delete(Variant[Array, Hash, String] $collection, Any $items)", collections::delete),
    Function::values(
        "delete_undef_values",
        "delete_undef_values(Variant[Array, Hash] $collection)",
        collections::delete_undef_values,
    ),
    Function::values("delete_values", "delete_values(Hash $hash, Any $value) >> Hash", collections::delete_values),
    Function::values("dig44", "dig44(Collection $data, Array $path, Optional[Any] $default)", collections::dig44),
    Function::values("prefix", "prefix(Variant[Array, Hash] $values, Optional[String] $prefix)", collections::prefix_or_suffix),
    Function::values("suffix", "suffix(Variant[Array, Hash] $values, Optional[String] $suffix)", collections::prefix_or_suffix),
    Function::values("union", "union(Array *$arrays) >> Array", collections::set_operation),
    Function::values("intersection", "intersection(Array $a, Array $b) >> Array", collections::set_operation),
    Function::values("difference", "difference(Array $a, Array $b) >> Array", collections::set_operation),
    Function::values("values_at", "values_at(Array $values, Variant[Integer, String, Array] $indexes) >> Array", collections::values_at),
    Function::values("zip", "zip(Array $a, Array $b, Optional[Variant[Boolean, String]] $flatten) >> Array", collections::zip),
    Function::values("any2array", "any2array(Any *$values) >> Array", collections::any2array),
    Function::values("str2bool", "str2bool(Variant[String, Boolean] $text) >> Boolean", strings::str2bool),
    Function::values(
        "bool2str",
        "bool2str(Boolean $value, Optional[String] $true_text, Optional[String] $false_text) >> String",
        strings::bool2str,
    ),
    Function::values("squeeze", "squeeze(Variant[String, Array[String]] $text, Optional[String] $characters)", strings::squeeze),
    Function::values(
        "stdlib::start_with",
        "stdlib::start_with(String $test_string, Variant[String[1], Array[String[1], 1]] $prefixes) >> Boolean",
        strings::starts_or_ends_with,
    ),
    Function::values(
        "stdlib::end_with",
        "stdlib::end_with(String $test_string, Variant[String[1], Array[String[1], 1]] $suffixes) >> Boolean",
        strings::starts_or_ends_with,
    ),
    Function::values(
        "camelcase",
        "camelcase(Variant[Numeric, String, Iterable[Variant[String, Numeric]]] $arg)",
        strings::camelcase,
    ),
    Function::evaluator("call", "call(String $function_name, Any *$arguments, Optional[Callable] &$block)", catalog::call),
    Function::evaluator("tagged", "tagged(Any *$tags) >> Boolean", catalog::tagged),
    Function::evaluator(
        "create_resources",
        "create_resources(String $type, Hash $instances, Optional[Hash] $defaults)",
        catalog::create_resources,
    ),
    // Conversions, formats, Sensitive, Timestamp, Timespan and Binary (convert.rs, format.rs,
    // time.rs).
    Function::evaluator("new", "new(Type $type, Any *$args, Callable &$block)", convert::new),
    Function::evaluator(
        "convert_to",
        "convert_to(Any $value, Type $type, Any *$args, Callable[1, 1] &$block)",
        convert::convert_to,
    ),
    Function::evaluator("unwrap", "unwrap(Any $arg, Callable &$block)", convert::unwrap),
    Function::values(
        "strftime",
        "strftime(Variant[Timestamp, Timespan, String] $time_object, Optional[String] $format, Optional[String] $timezone) >> String",
        time::strftime,
    ),
    // Data formats, digests, files and templates (functions/data.rs, digest.rs, files.rs, epp).
    Function::values("to_json", "to_json(Any $data) >> String", data::to_json),
    Function::values(
        "to_json_pretty",
        "to_json_pretty(Variant[Hash, Array] $data, Optional[Boolean] $skip_undef, Optional[Hash] $opts) >> String",
        data::to_json_pretty,
    ),
    Function::values(
        "to_yaml",
        "to_yaml(Any $data, Optional[Hash] $options) >> String",
        data::to_yaml,
    ),
    Function::values(
        "parsejson",
        "parsejson(String $json, Optional[Any] $default)",
        data::parsejson,
    ),
    Function::values(
        "parseyaml",
        "parseyaml(String $yaml, Optional[Any] $default)",
        data::parseyaml,
    ),
    Function::evaluator(
        "loadjson",
        "loadjson(String $path, Optional[Any] $default)",
        data::load_data,
    ),
    Function::evaluator(
        "loadyaml",
        "loadyaml(String $path, Optional[Any] $default)",
        data::load_data,
    ),
    Function::values(
        "base64",
        "base64(Enum['encode', 'decode'] $action, String $text, Optional[Enum['default', 'strict', 'urlsafe']] $method) >> String",
        data::base64,
    ),
    Function::values("md5", "md5(String $text) >> String", digest::hexdigest),
    Function::values("sha1", "sha1(String $text) >> String", digest::hexdigest),
    Function::values("sha256", "sha256(String $text) >> String", digest::hexdigest),
    Function::values("digest", "digest(String $text) >> String", digest::hexdigest),
    Function::values("fqdn_uuid", "fqdn_uuid(String $fqdn) >> String", digest::fqdn_uuid),
    Function::evaluator("file", "file(String *$names) >> String", files::file),
    Function::evaluator("find_file", "find_file(String *$names)", files::find_file),
    Function::evaluator(
        "find_template",
        "find_template(String *$names)",
        files::find_template,
    ),
    Function::evaluator(
        "module_directory",
        "module_directory(String *$names)",
        files::module_directory,
    ),
    Function::values("shellquote", "shellquote(Any *$words) >> String", shell::shellquote),
    Function::evaluator("generate", "generate(String $command, String *$arguments) >> String", shell::generate),
    Function::values(
        "fqdn_rand",
        "fqdn_rand(Variant[Integer, String] $max, Optional[Any] $seed, Optional[Any] $downcase) >> Integer",
        numbers::fqdn_rand,
    ),
    Function::evaluator(
        "epp",
        "epp(String $path, Optional[Hash[Pattern[/^\\w+$/], Any]] $parameters) >> String",
        epp::epp,
    ),
    Function::evaluator(
        "inline_epp",
        "inline_epp(String $template, Optional[Hash[Pattern[/^\\w+$/], Any]] $parameters) >> String",
        epp::inline_epp,
    ),
    // stdlib: paths, types and the host's facts; and the `stdlib::` names that stdlib 9
    // (which Bolt ships) gives the data and merge functions.
    Function::values("basename", "basename(String $path, Optional[String] $suffix) >> String", paths::basename),
    Function::values("dirname", "dirname(String $path) >> String", paths::dirname),
    Function::values("is_a", "is_a(Any $value, Type $type) >> Boolean", collections::is_a),
    Function::evaluator("fact", "fact(String $fact_name)", collections::fact),
    Function::values("stdlib::to_json", "stdlib::to_json(Any $data) >> String", data::to_json),
    Function::values(
        "stdlib::to_json_pretty",
        "stdlib::to_json_pretty(Variant[Hash, Array] $data, Optional[Boolean] $skip_undef, Optional[Hash] $opts) >> String",
        data::to_json_pretty,
    ),
    Function::values("stdlib::to_yaml", "stdlib::to_yaml(Any $data, Optional[Hash] $options) >> String", data::to_yaml),
    Function::evaluator(
        "stdlib::merge",
        "stdlib::merge(Variant[Hash, Undef, String[0, 0], Iterable] *$args, Optional[Callable[2, 3]] &$block) >> Hash",
        collections::merge,
    ),
    // What an epp template's text and `<%= %>` tags become; nothing else calls it.
    Function::values("epp_render", "epp_render(Any $value)", epp::render),
    Function::evaluator("binary_file", "binary_file(String $path)", convert::binary_file),
];

/// `size`, `length`, and `count` of one argument.
fn size(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let first = first_of(args);
    match &first {
        Value::String(s) => Ok(Value::Integer(s.chars().count() as i64)),
        Value::Array(a) => Ok(Value::Integer(a.len() as i64)),
        Value::Hash(h) => Ok(Value::Integer(h.len() as i64)),
        Value::Binary(bytes) => Ok(Value::Integer(bytes.len() as i64)),
        Value::Undef if name == "count" => Ok(Value::Integer(0)),
        other => Err(bad(format!(
            "{name}() takes a String, an Array or a Hash, got {}",
            describe_value_type(other)
        ))),
    }
}

fn count(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    if args.len() == 1 {
        return size(name, args);
    }
    let first = first_of(args);
    match (&first, args.get(1)) {
        (Value::Array(a), Some(v)) => Ok(Value::Integer(
            a.iter().filter(|x| x.puppet_eq(v)).count() as i64,
        )),
        _ => Err(bad("count() takes an array and maybe a value")),
    }
}

/// `min` and `max`: of the arguments, or of the one array given.
fn extreme(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let items: Vec<Value> = match args {
        [Value::Array(items)] => items.clone(),
        other => other.to_vec(),
    };
    let mut best: Option<Value> = None;
    for item in items {
        best = Some(match best {
            None => item,
            Some(b) => {
                let ordering = item.puppet_cmp(&b).unwrap_or(std::cmp::Ordering::Equal);
                let better = if name == "min" {
                    ordering == std::cmp::Ordering::Less
                } else {
                    ordering == std::cmp::Ordering::Greater
                };
                if better {
                    item
                } else {
                    b
                }
            }
        });
    }
    Ok(best.unwrap_or(Value::Undef))
}

/// `sort` without a block: numbers or strings in their order, or the characters of a string.
fn sort(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let first = first_of(args);
    match &first {
        Value::Array(items) => {
            let numbers = items.iter().all(Value::is_number);
            let strings = items.iter().all(|v| matches!(v, Value::String(_)));
            if !numbers && !strings {
                return Err(bad(
                    "sort(): the elements cannot be compared: give numbers or strings, not both",
                ));
            }
            let mut items = items.clone();
            items.sort_by(|a, b| a.sort_cmp(b));
            Ok(Value::Array(items))
        }
        Value::String(s) => {
            let mut chars: Vec<char> = s.chars().collect();
            chars.sort();
            Ok(Value::String(chars.into_iter().collect()))
        }
        other => Err(bad(format!(
            "sort() takes an Array, got {}",
            describe_value_type(other)
        ))),
    }
}

/// `notice`, `warning`, `err` and the other log levels.
fn log(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    ev.log_function(call.name, &args);
    Ok(Value::Undef)
}

/// `next`, `break`, `return`: leave the block or function with a value.
fn leave(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let name = call.name;
    ev.control_value = args.into_iter().next().unwrap_or(Value::Undef);
    let kind = match name {
        "next" => EvalErrorKind::Next,
        "break" => EvalErrorKind::Break,
        _ => EvalErrorKind::Return,
    };
    let mut error = ev.error(
        call.expr,
        format!(
            "{name}() is used outside of a {}",
            if name == "return" {
                "function"
            } else {
                "block"
            }
        ),
    );
    error.kind = kind;
    Err(error)
}

/// `include`, `contain`, `require`.
fn include(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    ev.include_classes(call.expr, args, call.name)
}

/// An iteration that needs a block.
fn with_block(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let name = call.name;
    let lambda = call.lambda.ok_or_else(|| {
        ev.error(
            call.expr,
            format!("'{name}' needs a block: {name}() |$x| {{ ... }}"),
        )
    })?;
    ev.iterate(call.expr, name, args, lambda)
}

/// `reverse_each` and `step`: to a block, or the elements in that order without one.
fn maybe_block(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    match call.lambda {
        Some(lambda) => ev.iterate(call.expr, call.name, args, lambda),
        None => ev.iterator_without_block(call.expr, call.name, args),
    }
}

/// The most elements `range()` or an iteration over a number may produce.
const MAX_GENERATED: usize = 10_000_000;

/// `range(1, 5)`, `range('a', 'e')`, `range(0, 10, 3)`.
fn range(from: &Value, to: Option<&Value>, step: Option<&Value>) -> Result<Value, FunctionError> {
    let step = match step {
        None => 1,
        Some(Value::Integer(n)) if *n > 0 => *n as usize,
        Some(_) => return Err(bad("range(): the step must be a positive Integer")),
    };
    match (from, to) {
        (Value::Integer(a), Some(Value::Integer(b)))
            if b.saturating_sub(*a) / step as i64 > MAX_GENERATED as i64 =>
        {
            Err(too_large(format!(
                "range(): more than {MAX_GENERATED} elements"
            )))
        }
        (Value::Integer(a), Some(Value::Integer(b))) => Ok(Value::Array(
            (*a..=*b).step_by(step).map(Value::Integer).collect(),
        )),
        (Value::String(a), Some(Value::String(b)))
            if a.chars().count() == 1 && b.chars().count() == 1 =>
        {
            let (a, b) = (
                a.chars().next().unwrap_or('a'),
                b.chars().next().unwrap_or('a'),
            );
            Ok(Value::Array(
                (a..=b)
                    .step_by(step)
                    .map(|c| Value::String(c.to_string()))
                    .collect(),
            ))
        }
        _ => Err(bad(
            "range() takes two integers or two letters, and maybe a step",
        )),
    }
}

fn join_flat(items: &[Value], separator: &str) -> String {
    flatten(items.to_vec())
        .iter()
        .map(Value::to_display_string)
        .collect::<Vec<_>>()
        .join(separator)
}

fn flatten(items: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::Array(inner) => out.extend(flatten(inner)),
            other => out.push(other),
        }
    }
    out
}

fn map_strings(value: &Value, f: impl Fn(&str) -> String + Copy) -> Result<Value, FunctionError> {
    match value {
        Value::String(s) => Ok(Value::String(f(s))),
        Value::Array(items) => items
            .iter()
            .map(|v| map_strings(v, f))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Hash(map) => {
            let mut out = ValueMap::new();
            for (k, v) in map {
                out.insert(map_strings(k, f)?, map_strings(v, f)?);
            }
            Ok(Value::Hash(out))
        }
        other => Ok(other.clone()),
    }
}

fn split(text: &Value, pattern: Option<&Value>) -> Result<Value, FunctionError> {
    let Value::String(text) = text else {
        return Err(bad(format!(
            "split() takes a String, got {}",
            describe_value_type(text)
        )));
    };
    let parts: Vec<String> = match pattern {
        Some(Value::String(p)) if p.is_empty() => text.chars().map(|c| c.to_string()).collect(),
        Some(Value::String(p)) | Some(Value::Regex(p)) => {
            let regex = regex::Regex::new(&ruby_to_rust_regex(p))
                .map_err(|e| FunctionError::regex(p, e))?;
            let mut parts: Vec<String> = regex.split(text).map(str::to_string).collect();
            // An empty match at the start splits nothing off, as in Ruby.
            if regex
                .find(text)
                .is_some_and(|m| m.start() == 0 && m.is_empty())
            {
                parts.remove(0);
            }
            parts
        }
        _ => {
            return Err(bad(
                "split() takes a string and a separator (a string or a regex)",
            ))
        }
    };
    // Ruby's String#split drops trailing empty fields.
    let mut parts = parts;
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    Ok(Value::Array(parts.into_iter().map(Value::String).collect()))
}

#[cfg(test)]
mod discover_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::ast::ExprKind;

    #[test]
    fn every_signature_is_puppet_and_names_its_row() {
        let mut names = std::collections::HashSet::new();
        for function in FUNCTIONS {
            assert!(names.insert(function.name), "{} is twice", function.name);
            // Puppet's documentation writes a block parameter `&$block`; a function written
            // in Puppet cannot take one, so it is read as a plain parameter here. In a
            // namespace, reserved words (`type`, `break`) are names too.
            let code = format!(
                "function builtin::{} {{ }}",
                function.signature.replace("&$", "$")
            );
            let program = crate::lang::parse(&code)
                .unwrap_or_else(|e| panic!("{}: {e:?}", function.signature));
            let Some(ExprKind::Function(def)) = program.statements.first().map(|s| &s.kind) else {
                panic!("{} is not a function signature", function.signature)
            };
            assert_eq!(def.name.name, format!("builtin::{}", function.name));
        }
    }

    /// The grammar cannot be generated from the table; this keeps the two in step: every
    /// function Puppet lets a statement call without parentheses is a row.
    #[test]
    fn every_statement_call_of_the_grammar_is_a_function() {
        let grammar = include_str!("../../../grammar/puppet.pest");
        let rule = grammar
            .split("statement_fn   = @{")
            .nth(1)
            .and_then(|rest| rest.split(") ~ !name_char").next())
            .expect("the statement_fn rule");
        let alternative =
            regex::Regex::new(r"'(\w)'\.\.'\w' ~ (?:\(([^)]*)\)|\x22(\w+)\x22)").unwrap();
        let mut calls = Vec::new();
        for found in alternative.captures_iter(rule) {
            let tails = found.get(2).or(found.get(3)).unwrap().as_str();
            for tail in tails.split('|') {
                calls.push(format!("{}{}", &found[1], tail.trim().trim_matches('"')));
            }
        }
        assert!(calls.len() >= 15, "{calls:?}");
        for call in &calls {
            assert!(
                function(call).is_some(),
                "statement call {call} is no function"
            );
        }
    }

    #[test]
    fn suggestions_come_from_the_table() {
        let suggestion = |name| unknown_function_help(name);
        assert!(suggestion("discovr").starts_with("did you mean 'discover'?"));
        assert!(suggestion("conact").starts_with("did you mean 'concat'?"));
        // Once missing from the hand-kept list.
        assert!(suggestion("pick_defalt").starts_with("did you mean 'pick_default'?"));
        assert!(suggestion("is_bol").starts_with("did you mean 'is_bool'?"));
        assert!(suggestion("zzz").starts_with("built-in functions include"));
    }

    #[test]
    fn a_refusal_says_what_kind_it_is() {
        let call = |name: &str, args: &[Value]| match function(name).map(|f| f.body) {
            Some(Body::Values(body)) => body(name, args),
            _ => panic!("{name} is not a function of values"),
        };
        let big = call("range", &[Value::Integer(0), Value::Integer(i64::MAX)]).unwrap_err();
        assert_eq!(big.kind(), FunctionErrorKind::TooLarge);
        let regex = call("split", &["a".into(), "(".into()]).unwrap_err();
        assert_eq!(regex.kind(), FunctionErrorKind::Regex);
        assert!(std::error::Error::source(&regex).is_some());
        let wrong = call("keys", &[Value::Integer(1)]).unwrap_err();
        assert_eq!(wrong.kind(), FunctionErrorKind::Arguments);
        assert_eq!(wrong.to_string(), "keys() takes a Hash, got an Integer");
    }
}

/// What `discover()`'s options hash asks for.
#[derive(Default)]
struct DiscoverOptions {
    method: Option<DiscoveryMethod>,
    test: bool,
}
