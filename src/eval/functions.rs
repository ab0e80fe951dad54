//! Built-in functions: logging and `fail`, iteration with lambdas, the stdlib functions
//! playbooks use, type conversion, `discover()` and `get_fact()` that ask the fleet, and
//! functions written in Puppet.

use crate::lang::ast::{Expr, Lambda};
use crate::protocol::{FactFilter, Filter};

use super::evaluator::{describe_value_type, EvalResult, Evaluator};
use super::scope::Frame;
use super::types::Type;
use super::value::{HashMap as ValueMap, Value};
use super::{EvalError, EvalErrorKind, Level};

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
        match name {
            "notice" | "warning" | "err" | "info" | "debug" | "alert" | "crit" | "emerg" => {
                self.log_function(name, &args);
                Ok(Value::Undef)
            }
            "fail" => Err(self.fail(expr, &args)),
            "next" | "break" | "return" => {
                self.control_value = args.into_iter().next().unwrap_or(Value::Undef);
                let kind = match name {
                    "next" => EvalErrorKind::Next,
                    "break" => EvalErrorKind::Break,
                    _ => EvalErrorKind::Return,
                };
                let mut error = self.error(
                    expr,
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
            "reverse_each" | "step" if lambda.is_none() => {
                self.iterator_without_block(expr, name, args)
            }
            "sort" if lambda.is_some() => self.sort_with(expr, args, lambda),
            "slice" => self.slice(expr, args, lambda),
            "index" => self.index(expr, args, lambda),
            "include" | "contain" | "require" => self.include_classes(expr, args, name),
            "realize" => self.realize_refs(expr, args),
            "each" | "map" | "filter" | "reduce" | "with" | "any" | "all" | "reverse_each"
            | "then" | "lest" | "step" => {
                let lambda = lambda.ok_or_else(|| {
                    self.error(
                        expr,
                        format!("'{name}' needs a block: {name}() |$x| {{ ... }}"),
                    )
                })?;
                self.iterate(expr, name, args, lambda)
            }
            "discover" => self.discover(expr, args),
            "get_fact" => self.get_fact(expr, args),
            _ => match builtin(name, &args) {
                Some(result) => result.map_err(|message| self.error(expr, message)),
                None => Err(self
                    .error(expr, format!("Unknown function: '{name}'"))
                    .with_help(unknown_function_help(name))),
            },
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
            Value::Array(items) if arity == 2 => items
                .iter()
                .enumerate()
                .map(|(i, v)| Value::Array(vec![Value::Integer(i as i64), v.clone()]))
                .collect(),
            Value::Array(items) => items
                .iter()
                .map(|v| Value::Array(vec![v.clone()]))
                .collect(),
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
                let items = (lo..=hi).map(Value::Integer);
                if arity == 2 {
                    items
                        .enumerate()
                        .map(|(i, v)| Value::Array(vec![Value::Integer(i as i64), v]))
                        .collect()
                } else {
                    items.map(|v| Value::Array(vec![v])).collect()
                }
            }
            Value::Integer(n) if *n >= 0 => {
                let items = (0..*n).map(Value::Integer);
                if arity == 2 {
                    items
                        .enumerate()
                        .map(|(i, v)| Value::Array(vec![Value::Integer(i as i64), v]))
                        .collect()
                } else {
                    items.map(|v| Value::Array(vec![v])).collect()
                }
            }
            Value::String(s) => {
                let chars = s.chars().map(|c| Value::String(c.to_string()));
                if arity == 2 {
                    chars
                        .enumerate()
                        .map(|(i, v)| Value::Array(vec![Value::Integer(i as i64), v]))
                        .collect()
                } else {
                    chars.map(|v| Value::Array(vec![v])).collect()
                }
            }
            other => {
                return Err(self.error(
                    expr,
                    format!("{} is not iterable", describe_value_type(other)),
                ))
            }
        })
    }

    /// `discover()`, `discover({filter})`, `discover('agent', {filter})`.
    fn discover(&mut self, expr: &Expr, args: Vec<Value>) -> EvalResult {
        let (agent, filter) = match args.as_slice() {
            [] => ("rpcutil".to_string(), Value::Hash(ValueMap::new())),
            [Value::Hash(_)] => ("rpcutil".to_string(), args[0].clone()),
            [Value::String(agent)] => (agent.clone(), Value::Hash(ValueMap::new())),
            [Value::String(agent), Value::Hash(_)] => (agent.clone(), args[1].clone()),
            _ => {
                return Err(self
                    .error(
                        expr,
                        "discover() takes an optional agent name and an optional filter hash",
                    )
                    .with_help("discover('appmgr', { 'fact' => 'cluster=bravo' })"))
            }
        };
        // A filter given as an empty list (often an empty discovery result) selects no node;
        // it must never widen to every node.
        if empty_filter_key(&filter).is_some() {
            return Ok(Value::Array(vec![]));
        }
        let filter = self.filter_from(expr, &filter)?;
        let found = self
            .nodes
            .discover(&agent, &filter)
            .map_err(|message| self.fleet_error(expr, format!("discovery failed: {message}")))?;
        Ok(Value::Array(found.into_iter().map(Value::String).collect()))
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

    /// `Integer('12')`, `String(5)`, `Array($x)`: Puppet's `new` for the common types.
    fn convert(&self, expr: &Expr, t: Type, args: Vec<Value>) -> EvalResult {
        let mut args = args.into_iter();
        let value = args.next().unwrap_or(Value::Undef);
        let format = args.next();
        let converted = match (&t, value) {
            (Type::String(..), v) => match format {
                Some(Value::String(format)) if !matches!(v, Value::Array(_) | Value::Hash(_)) => {
                    sprintf(&[Value::String(format), v])
                }
                Some(Value::String(format)) if matches!(v, Value::Array(_)) => {
                    Ok(Value::String(array_with_delimiters(&v, &format)))
                }
                _ => Ok(Value::String(match v {
                    Value::Float(f) => format!("{f:.6}"),
                    v => quoted_string(&v, true),
                })),
            },
            (Type::Integer(..), Value::String(s)) => match super::operators::parse_number(&s) {
                Some(Value::Integer(i)) => Ok(Value::Integer(i)),
                Some(Value::Float(f)) => Ok(Value::Integer(f as i64)),
                _ => Err(format!("The string '{s}' cannot be converted to Integer")),
            },
            (Type::Integer(..), Value::Float(f)) => Ok(Value::Integer(f.trunc() as i64)),
            (Type::Integer(..), Value::Integer(i)) => Ok(Value::Integer(i)),
            (Type::Integer(..), Value::Bool(b)) => Ok(Value::Integer(b as i64)),
            (Type::Float(..), v) | (Type::Numeric, v) => match v {
                Value::String(s) => match super::operators::parse_number(&s) {
                    Some(Value::Integer(i)) if matches!(t, Type::Numeric) => Ok(Value::Integer(i)),
                    Some(n) => Ok(Value::Float(n.as_f64().unwrap_or(0.0))),
                    None => Err(format!("The string '{s}' cannot be converted to {t}")),
                },
                Value::Integer(i) if matches!(t, Type::Float(..)) => Ok(Value::Float(i as f64)),
                n if n.is_number() => Ok(n),
                other => Err(format!(
                    "{} cannot be converted to {t}",
                    describe_value_type(&other)
                )),
            },
            (Type::Boolean, Value::String(s)) => match s.to_lowercase().as_str() {
                "true" | "yes" | "y" => Ok(Value::Bool(true)),
                "false" | "no" | "n" | "" => Ok(Value::Bool(false)),
                _ => Err(format!("The string '{s}' cannot be converted to Boolean")),
            },
            (Type::Boolean, Value::Integer(i)) => Ok(Value::Bool(i != 0)),
            (Type::Boolean, Value::Bool(b)) => Ok(Value::Bool(b)),
            (Type::Array(..), Value::Array(items)) => Ok(Value::Array(items)),
            (Type::Array(..), Value::Hash(map)) => Ok(Value::Array(
                map.into_iter()
                    .map(|(k, v)| Value::Array(vec![k, v]))
                    .collect(),
            )),
            (Type::Array(..), Value::String(s)) => Ok(Value::Array(
                s.chars().map(|c| Value::String(c.to_string())).collect(),
            )),
            (Type::Array(..), Value::Undef) => {
                Err("Undef cannot be converted to Array".to_string())
            }
            (Type::Array(..), other) => Ok(Value::Array(vec![other])),
            (Type::Hash(..), Value::Hash(map)) => Ok(Value::Hash(map)),
            (Type::Hash(..), Value::Array(items)) => {
                let mut map = ValueMap::new();
                let flat = items.iter().all(|i| !matches!(i, Value::Array(_)));
                if flat {
                    for pair in items.chunks(2) {
                        map.insert(
                            pair[0].clone(),
                            pair.get(1).cloned().unwrap_or(Value::Undef),
                        );
                    }
                } else {
                    for item in items {
                        if let Value::Array(kv) = item {
                            map.insert(
                                kv.first().cloned().unwrap_or(Value::Undef),
                                kv.get(1).cloned().unwrap_or(Value::Undef),
                            );
                        }
                    }
                }
                Ok(Value::Hash(map))
            }
            (t, v) => Err(format!(
                "{} cannot be converted to {t}",
                describe_value_type(&v)
            )),
        };
        converted.map_err(|message| self.error(expr, message))
    }
}

/// `String([1, 2], '%(a')`: the elements between the delimiters the format names.
fn array_with_delimiters(value: &Value, format: &str) -> String {
    let (open, close) = match format.trim_start_matches('%').chars().next() {
        Some('(') => ("(", ")"),
        Some('{') => ("{", "}"),
        Some('<') => ("<", ">"),
        Some('|') => ("|", "|"),
        _ => ("[", "]"),
    };
    let Value::Array(items) = value else {
        return value.to_string();
    };
    let inner: Vec<String> = items.iter().map(|v| quoted_string(v, false)).collect();
    format!("{open}{}{close}", inner.join(", "))
}

fn unpack_single(item: Value) -> Value {
    match item {
        Value::Array(mut one) if one.len() == 1 => one.pop().unwrap_or(Value::Undef),
        other => other,
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

/// `String($x)`: strings inside collections quoted, `undef` spelled out.
pub fn quoted_string(value: &Value, top: bool) -> String {
    match value {
        Value::String(s) if top => s.clone(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Undef if top => String::new(),
        Value::Undef => "undef".into(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|v| quoted_string(v, false))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Hash(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{} => {}", quoted_string(k, false), quoted_string(v, false)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn unknown_function_help(name: &str) -> String {
    const KNOWN: &[&str] = &[
        "notice",
        "warning",
        "err",
        "fail",
        "include",
        "each",
        "map",
        "filter",
        "reduce",
        "with",
        "discover",
        "get_fact",
        "empty",
        "size",
        "length",
        "join",
        "split",
        "keys",
        "values",
        "unique",
        "flatten",
        "sort",
        "upcase",
        "downcase",
        "capitalize",
        "is_string",
        "is_array",
        "is_hash",
        "type",
        "sprintf",
        "pick",
        "concat",
        "member",
        "has_key",
        "merge",
        "strip",
        "abs",
        "min",
        "max",
        "range",
        "reverse",
        "count",
        "dig",
        "any",
        "all",
    ];
    match KNOWN.iter().find(|k| k.starts_with(&name[..name.len().min(3)])) {
        Some(close) => format!("did you mean '{close}'? Functions of a module are read from modules/<module>/functions/<name>.pp"),
        None => "built-in functions include notice, fail, discover, get_fact, empty, size, join and the iteration functions; a module's functions are read from modules/<module>/functions/<name>.pp".into(),
    }
}

/// Functions of plain values. `None` when no built-in has this name.
fn builtin(name: &str, args: &[Value]) -> Option<Result<Value, String>> {
    let first = args.first().cloned().unwrap_or(Value::Undef);
    Some(match name {
        "empty" => Ok(Value::Bool(match &first {
            Value::Undef => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Integer(_) | Value::Float(_) => false,
            _ => false,
        })),
        "size" | "length" | "count" if args.len() == 1 => match &first {
            Value::String(s) => Ok(Value::Integer(s.chars().count() as i64)),
            Value::Array(a) => Ok(Value::Integer(a.len() as i64)),
            Value::Hash(h) => Ok(Value::Integer(h.len() as i64)),
            Value::Undef if name == "count" => Ok(Value::Integer(0)),
            other => Err(format!("{name}() takes a String, an Array or a Hash, got {}", describe_value_type(other))),
        },
        "count" => match (&first, args.get(1)) {
            (Value::Array(a), Some(v)) => Ok(Value::Integer(a.iter().filter(|x| x.puppet_eq(v)).count() as i64)),
            _ => Err("count() takes an array and maybe a value".into()),
        },
        "join" => match &first {
            Value::Array(items) => {
                let separator = args.get(1).map(Value::to_display_string).unwrap_or_default();
                Ok(Value::String(join_flat(items, &separator)))
            }
            other => Err(format!("join() takes an Array, got {}", describe_value_type(other))),
        },
        "split" => split(&first, args.get(1)),
        "keys" => match &first {
            Value::Hash(map) => Ok(Value::Array(map.keys().cloned().collect())),
            other => Err(format!("keys() takes a Hash, got {}", describe_value_type(other))),
        },
        "values" => match &first {
            Value::Hash(map) => Ok(Value::Array(map.values().cloned().collect())),
            other => Err(format!("values() takes a Hash, got {}", describe_value_type(other))),
        },
        "unique" => match &first {
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
            other => Err(format!("unique() takes an Array, got {}", describe_value_type(other))),
        },
        "flatten" => Ok(Value::Array(flatten(args.to_vec()))),
        "sort" => match &first {
            Value::Array(items) => {
                let numbers = items.iter().all(Value::is_number);
                let strings = items.iter().all(|v| matches!(v, Value::String(_)));
                if !numbers && !strings {
                    return Some(Err("sort(): the elements cannot be compared: give numbers or strings, not both".into()));
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
            other => Err(format!("sort() takes an Array, got {}", describe_value_type(other))),
        },
        "reverse" => match &first {
            Value::Array(items) => Ok(Value::Array(items.iter().rev().cloned().collect())),
            Value::String(s) => Ok(Value::String(s.chars().rev().collect())),
            other => Err(format!("reverse() takes an Array or a String, got {}", describe_value_type(other))),
        },
        "upcase" => map_strings(&first, |s| s.to_uppercase()),
        "downcase" => map_strings(&first, |s| s.to_lowercase()),
        "capitalize" => map_strings(&first, |s| {
            let mut chars = s.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars.flat_map(|c| c.to_lowercase())).collect(),
                None => String::new(),
            }
        }),
        "strip" => map_strings(&first, |s| s.trim().to_string()),
        "lstrip" => map_strings(&first, |s| s.trim_start().to_string()),
        "rstrip" => map_strings(&first, |s| s.trim_end().to_string()),
        "chomp" => map_strings(&first, |s| s.strip_suffix('\n').map(|s| s.strip_suffix('\r').unwrap_or(s)).unwrap_or(s).to_string()),
        "is_string" => Ok(Value::Bool(
            matches!(&first, Value::String(s) if super::operators::parse_number(s).is_none()),
        )),
        "is_array" => Ok(Value::Bool(matches!(first, Value::Array(_)))),
        "is_hash" => Ok(Value::Bool(matches!(first, Value::Hash(_)))),
        "is_integer" => Ok(Value::Bool(match &first {
            Value::Integer(_) => true,
            Value::String(s) => matches!(super::operators::parse_number(s), Some(Value::Integer(_))),
            _ => false,
        })),
        "is_numeric" => Ok(Value::Bool(match &first {
            Value::Integer(_) | Value::Float(_) => true,
            Value::String(s) => super::operators::parse_number(s).is_some(),
            _ => false,
        })),
        "is_bool" => Ok(Value::Bool(matches!(first, Value::Bool(_)))),
        "type" => {
            let mode = args.get(1).map(Value::to_display_string).unwrap_or_default();
            Ok(Value::Type(Box::new(match mode.as_str() {
                "generalized" => Type::infer(&first).generalize(),
                "reduced" => Type::infer_reduced(&first),
                _ => Type::infer(&first),
            })))
        }
        "assert_type" => match (&first, args.get(1)) {
            (Value::Type(t), Some(v)) if t.is_instance(v) => Ok(v.clone()),
            (Value::Type(t), Some(v)) => Err(format!(
                "expects {}, got {}",
                super::evaluator::describe_type(t),
                describe_value_type(v)
            )),
            _ => Err("assert_type() takes a type and a value".into()),
        },
        "pick" => args
            .iter()
            .find(|v| !matches!(v, Value::Undef) && !matches!(v, Value::String(s) if s.is_empty()))
            .cloned()
            .ok_or_else(|| "pick(): must receive at least one non empty value".to_string()),
        "pick_default" => Ok(args
            .iter()
            .find(|v| !matches!(v, Value::Undef) && !matches!(v, Value::String(s) if s.is_empty()))
            .cloned()
            .unwrap_or_else(|| args.last().cloned().unwrap_or(Value::Undef))),
        "concat" => {
            let mut all = Vec::new();
            for arg in args {
                match arg {
                    Value::Array(items) => all.extend(items.iter().cloned()),
                    other => all.push(other.clone()),
                }
            }
            Ok(Value::Array(all))
        }
        "member" => match (&first, args.get(1)) {
            (Value::Array(items), Some(Value::Array(wanted))) => {
                Ok(Value::Bool(wanted.iter().all(|w| items.contains(w))))
            }
            (Value::Array(items), Some(wanted)) => Ok(Value::Bool(items.contains(wanted))),
            _ => Err("member() takes an array and a value".into()),
        },
        "has_key" => match (&first, args.get(1)) {
            (Value::Hash(map), Some(key)) => Ok(Value::Bool(map.contains_key(key))),
            _ => Err("has_key() takes a hash and a key".into()),
        },
        "merge" => {
            let mut merged = ValueMap::new();
            for arg in args {
                match arg {
                    Value::Hash(map) => merged.extend(map.iter().map(|(k, v)| (k.clone(), v.clone()))),
                    Value::Undef => {}
                    other => return Some(Err(format!("merge() takes hashes, got {}", describe_value_type(other)))),
                }
            }
            Ok(Value::Hash(merged))
        }
        "dig" => {
            let mut current = first;
            for key in &args[1.min(args.len())..] {
                current = match (&current, key) {
                    (Value::Hash(map), k) => map.get(k).cloned().unwrap_or(Value::Undef),
                    (Value::Array(items), Value::Integer(i)) => {
                        items.get(*i as usize).cloned().unwrap_or(Value::Undef)
                    }
                    (Value::Undef, _) => Value::Undef,
                    (other, _) => {
                        return Some(Err(format!("dig() cannot look into {}", describe_value_type(other))))
                    }
                };
            }
            Ok(current)
        }
        "abs" => match first {
            Value::Integer(i) => i
                .checked_abs()
                .map(Value::Integer)
                .ok_or_else(|| "abs(): the result is outside of Puppet Integer max range".to_string()),
            Value::Float(f) => Ok(Value::Float(f.abs())),
            other => Err(format!("abs() takes a number, got {}", describe_value_type(&other))),
        },
        "min" | "max" => {
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
                        if better { item } else { b }
                    }
                });
            }
            Ok(best.unwrap_or(Value::Undef))
        }
        "range" => range(&first, args.get(1), args.get(2)),
        "chop" => map_strings(&first, |s| {
            let mut s = s.to_string();
            if s.ends_with("\r\n") {
                s.truncate(s.len() - 2);
            } else {
                s.pop();
            }
            s
        }),
        "sprintf" => sprintf(args),
        "compare" => match (&first, args.get(1)) {
            (a, Some(b)) => match a.puppet_cmp(b) {
                Some(ordering) => Ok(Value::Integer(ordering as i64)),
                None => Err(format!(
                    "compare() cannot compare {} with {}",
                    describe_value_type(a),
                    describe_value_type(b)
                )),
            },
            _ => Err("compare() takes two values".into()),
        },
        "regsubst" => return None,
        "lookup" => Err("lookup() needs Hiera, which playbooks do not have: pass the value as a playbook parameter".into()),
        "defined" => Ok(Value::Bool(!matches!(first, Value::Undef))),
        _ => return None,
    })
}

/// The most elements `range()` or an iteration over a number may produce.
const MAX_GENERATED: usize = 10_000_000;

/// `range(1, 5)`, `range('a', 'e')`, `range(0, 10, 3)`.
fn range(from: &Value, to: Option<&Value>, step: Option<&Value>) -> Result<Value, String> {
    let step = match step {
        None => 1,
        Some(Value::Integer(n)) if *n > 0 => *n as usize,
        Some(_) => return Err("range(): the step must be a positive Integer".into()),
    };
    match (from, to) {
        (Value::Integer(a), Some(Value::Integer(b)))
            if b.saturating_sub(*a) / step as i64 > MAX_GENERATED as i64 =>
        {
            Err(format!("range(): more than {MAX_GENERATED} elements"))
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
        _ => Err("range() takes two integers or two letters, and maybe a step".into()),
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

fn map_strings(value: &Value, f: impl Fn(&str) -> String + Copy) -> Result<Value, String> {
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

fn split(text: &Value, pattern: Option<&Value>) -> Result<Value, String> {
    let Value::String(text) = text else {
        return Err(format!(
            "split() takes a String, got {}",
            describe_value_type(text)
        ));
    };
    let parts: Vec<String> = match pattern {
        Some(Value::String(p)) if p.is_empty() => text.chars().map(|c| c.to_string()).collect(),
        Some(Value::String(p)) | Some(Value::Regex(p)) => {
            let regex = regex::Regex::new(p).map_err(|e| format!("invalid regex /{p}/: {e}"))?;
            regex.split(text).map(str::to_string).collect()
        }
        _ => return Err("split() takes a string and a separator (a string or a regex)".into()),
    };
    // Ruby's String#split drops trailing empty fields.
    let mut parts = parts;
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    Ok(Value::Array(parts.into_iter().map(Value::String).collect()))
}

/// `sprintf` with the conversions playbooks use: `%s %d %i %f %e %x %o %b %c %%`, flags,
/// widths, precision, and `%1$s` positional arguments.
fn sprintf(args: &[Value]) -> Result<Value, String> {
    const MAX_WIDTH: usize = 10_000;
    let Some(Value::String(format)) = args.first() else {
        return Err("sprintf() takes a format string".into());
    };
    let values = &args[1..];
    let mut next_value = 0;
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_digit() || "-+ .#0$".contains(n) {
                spec.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let Some(conversion) = chars.next() else {
            return Err("sprintf(): the format ends in the middle of a conversion".into());
        };
        if conversion == '%' {
            out.push('%');
            continue;
        }
        let value = match spec.split_once('$') {
            Some((position, rest)) => {
                let position: usize = position
                    .parse()
                    .map_err(|_| format!("sprintf(): bad argument position in '%{spec}'"))?;
                spec = rest.to_string();
                values.get(position.wrapping_sub(1)).cloned()
            }
            None => {
                next_value += 1;
                values.get(next_value - 1).cloned()
            }
        }
        .ok_or_else(|| "sprintf(): too few arguments".to_string())?;
        let left = spec.starts_with('-');
        let zero = spec.starts_with('0');
        let spec = spec.trim_start_matches(['-', '0', '+', ' ', '#']);
        let (width, precision) = match spec.split_once('.') {
            Some((w, p)) => (w.parse::<usize>().unwrap_or(0), p.parse::<usize>().ok()),
            None => (spec.parse::<usize>().unwrap_or(0), None),
        };
        if width > MAX_WIDTH || precision.is_some_and(|p| p > MAX_WIDTH) {
            return Err("sprintf(): width too big".into());
        }
        let text = match conversion {
            's' | 'p' => {
                let s = match &value {
                    Value::Hash(_) | Value::Array(_) => ruby_inspect(&value),
                    other => other.to_display_string(),
                };
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            'c' => match &value {
                Value::Integer(i) => u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .map(String::from)
                    .ok_or_else(|| format!("sprintf(): {i} is not a character"))?,
                other => other.to_display_string().chars().take(1).collect(),
            },
            'd' | 'i' => match number(&value)? {
                Value::Integer(i) => i.to_string(),
                other => (other.as_f64().unwrap_or(0.0).floor() as i64).to_string(),
            },
            'f' => format!(
                "{:.*}",
                precision.unwrap_or(6),
                number(&value)?.as_f64().unwrap_or(0.0)
            ),
            'e' | 'E' => ruby_exponent(
                number(&value)?.as_f64().unwrap_or(0.0),
                precision.unwrap_or(6),
                conversion == 'E',
            ),
            'x' => format!("{:x}", integer(&value)?),
            'X' => format!("{:X}", integer(&value)?),
            'o' => format!("{:o}", integer(&value)?),
            'b' => format!("{:b}", integer(&value)?),
            other => return Err(format!("sprintf(): unsupported conversion '%{other}'")),
        };
        let pad = width.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else if zero && !matches!(conversion, 's' | 'c' | 'p') {
            let (sign, digits) = match text.strip_prefix('-') {
                Some(d) => ("-", d.to_string()),
                None => ("", text.clone()),
            };
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(&digits);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&text);
        }
    }
    Ok(Value::String(out))
}

fn integer(value: &Value) -> Result<i64, String> {
    match number(value)? {
        Value::Integer(i) => Ok(i),
        other => Ok(other.as_f64().unwrap_or(0.0) as i64),
    }
}

/// Ruby's `%e`: `1.234568e+04`.
fn ruby_exponent(x: f64, precision: usize, upper: bool) -> String {
    let text = format!("{x:.precision$e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if exponent < 0 { '-' } else { '+' };
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{sign}{:02}", exponent.abs())
}

/// Ruby's `inspect`, which `sprintf('%s')` shows for arrays and hashes: `{"a"=>1}`.
fn ruby_inspect(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Undef => "nil".into(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(ruby_inspect)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Hash(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}=>{}", ruby_inspect(k), ruby_inspect(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn number(value: &Value) -> Result<Value, String> {
    match value {
        n if n.is_number() => Ok(n.clone()),
        Value::String(s) => super::operators::parse_number(s)
            .ok_or_else(|| format!("sprintf(): '{s}' is not a number")),
        other => Err(format!(
            "sprintf(): {} is not a number",
            describe_value_type(other)
        )),
    }
}
