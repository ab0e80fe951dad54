//! Collection functions of Puppet's core library and of stdlib: `partition`, `group_by`,
//! `dig`, `get`, `getvar`, `tree_each`.

use crate::lang::ast::Lambda;

use super::{
    bad, describe_value_type, format::ruby_inspect, unpack_single, Call, EvalResult, Evaluator,
    FunctionError, Type, Value, ValueMap,
};

/// The collection and the block of `partition` and `group_by`, and how many parameters the
/// block takes (1 or 2, as Puppet's dispatch allows).
fn collection_and_block<'c>(
    ev: &Evaluator<'_>,
    call: &Call<'c>,
    args: &[Value],
) -> EvalResult<(Value, &'c Lambda, usize)> {
    let name = call.name;
    let Some(lambda) = call.lambda else {
        return Err(ev.error(call.expr, format!("'{name}' expects a block")));
    };
    let arity = lambda.params.len();
    match args {
        [subject @ (Value::Array(_) | Value::Hash(_))] if matches!(arity, 1 | 2) => {
            Ok((subject.clone(), lambda, arity))
        }
        _ => Err(ev.error(
            call.expr,
            format!(
                "The function '{name}' was called with arguments it does not accept. It expects one of:\n  (Collection collection, Callable[1, 1] &block)\n  (Collection collection, Callable[2, 2] &block)"
            ),
        )),
    }
}

/// Each element of a collection as a block of `arity` parameters takes it, and as the
/// element itself: an array's element, or a hash's `[key, value]` pair.
fn blocks_and_elements(
    ev: &Evaluator<'_>,
    call: &Call<'_>,
    subject: &Value,
    arity: usize,
) -> EvalResult<Vec<(Vec<Value>, Value)>> {
    let is_hash = matches!(subject, Value::Hash(_));
    Ok(ev
        .iteration_items(call.expr, subject, arity)?
        .into_iter()
        .map(|item| match item {
            Value::Array(pair) if arity == 2 => {
                let element = if is_hash {
                    Value::Array(pair.clone())
                } else {
                    pair[1].clone()
                };
                (pair, element)
            }
            other => {
                let element = unpack_single(other);
                (vec![element.clone()], element)
            }
        })
        .collect())
}

/// `partition`: `[elements the block accepts, the others]`.
pub(super) fn partition(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let (subject, lambda, arity) = collection_and_block(ev, call, &args)?;
    let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
    for (block_args, element) in blocks_and_elements(ev, call, &subject, arity)? {
        if ev.call_lambda(call.expr, lambda, block_args)?.is_true() {
            accepted.push(element);
        } else {
            rejected.push(element);
        }
    }
    Ok(Value::Array(vec![
        Value::Array(accepted),
        Value::Array(rejected),
    ]))
}

/// `group_by`: the elements under what the block returns for them, in order of appearance.
pub(super) fn group_by(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let (subject, lambda, arity) = collection_and_block(ev, call, &args)?;
    let mut groups = ValueMap::new();
    for (block_args, element) in blocks_and_elements(ev, call, &subject, arity)? {
        let key = ev.call_lambda(call.expr, lambda, block_args)?;
        match groups
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(members) => members.push(element),
            _ => unreachable!("groups hold arrays"),
        }
    }
    Ok(Value::Hash(groups))
}

/// Why `dig` could not go on: Puppet's `SLICE_ERROR`, which `get`'s block receives.
pub(super) struct SliceError {
    message: String,
    issue_code: &'static str,
    details: ValueMap,
}

impl SliceError {
    fn new(walked: &[Value], issue_code: &'static str, detail: &str, t: Type) -> SliceError {
        let walked_path = Value::Array(walked.to_vec());
        let message = match issue_code {
            "EXPECTED_COLLECTION" => format!(
                "The given data does not contain a Collection at {}, got '{t}'",
                ruby_inspect(&walked_path)
            ),
            _ => format!(
                "The given data requires an Integer index at {}, got '{t}'",
                ruby_inspect(&walked_path)
            ),
        };
        let mut details = ValueMap::new();
        details.insert(Value::string("walked_path"), walked_path);
        details.insert(Value::string(detail), Value::Type(Box::new(t)));
        SliceError {
            message,
            issue_code,
            details,
        }
    }

    /// Puppet gives an `Error` object; playbooks have no objects, so its attributes come as
    /// a hash: `message`, `kind`, `issue_code`, `details`.
    fn to_value(&self) -> Value {
        let mut error = ValueMap::new();
        error.insert(Value::string("message"), Value::string(&self.message));
        error.insert(Value::string("kind"), Value::string("SLICE_ERROR"));
        error.insert(Value::string("issue_code"), Value::string(self.issue_code));
        error.insert(Value::string("details"), Value::Hash(self.details.clone()));
        Value::Hash(error)
    }
}

/// `dig`: the value at a path of keys and indexes (negative ones count from the end);
/// `undef` as soon as a step finds nothing.
pub(super) fn dig(data: &Value, keys: &[Value]) -> Result<Value, DigError> {
    if !matches!(data, Value::Undef | Value::Array(_) | Value::Hash(_)) {
        return Err(DigError::NotData(bad(format!(
            "'dig' parameter 'data' expects a value of type Undef or Collection, got {}",
            data.type_name()
        ))));
    }
    let mut current = data.clone();
    for (walked, key) in keys.iter().enumerate() {
        let path = &keys[..=walked];
        current = match (&current, key) {
            (Value::Undef, _) | (_, Value::Undef) => return Ok(Value::Undef),
            (Value::Hash(map), key) => map.get(key).cloned().unwrap_or(Value::Undef),
            (Value::Array(items), Value::Integer(i)) => {
                let at = if *i < 0 {
                    items.len().checked_sub(i.unsigned_abs() as usize)
                } else {
                    Some(*i as usize)
                };
                at.and_then(|at| items.get(at))
                    .cloned()
                    .unwrap_or(Value::Undef)
            }
            (Value::Array(_), key) => {
                return Err(DigError::Slice(SliceError::new(
                    path,
                    "EXPECTED_INTEGER_INDEX",
                    "index_type",
                    Type::infer(key),
                )))
            }
            (other, _) => {
                return Err(DigError::Slice(SliceError::new(
                    &keys[..walked],
                    "EXPECTED_COLLECTION",
                    "value_type",
                    Type::infer(other),
                )))
            }
        };
    }
    Ok(current)
}

pub(super) enum DigError {
    /// The data is not a collection: an argument error no block catches.
    NotData(FunctionError),
    Slice(SliceError),
}

impl From<DigError> for FunctionError {
    fn from(error: DigError) -> FunctionError {
        match error {
            DigError::NotData(e) => e,
            DigError::Slice(e) => bad(e.message),
        }
    }
}

/// `dig(data, keys...)`.
pub(super) fn dig_function(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let Some((data, keys)) = args.split_first() else {
        return Err(bad("'dig' expects at least 1 argument, got none"));
    };
    Ok(dig(data, keys)?)
}

/// `get(value, 'a.b.0', default) |$error| { ... }`.
pub(super) fn get(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let (value, navigation, default) = match args.as_slice() {
        [value, Value::String(navigation), rest @ ..] if rest.len() <= 1 => (
            value.clone(),
            navigation.clone(),
            rest.first().cloned().unwrap_or(Value::Undef),
        ),
        [_, other, ..] => {
            return Err(ev.error(
                call.expr,
                format!(
                    "'get' parameter 'dotted_string' expects a String value, got {}",
                    other.type_name()
                ),
            ))
        }
        _ => {
            return Err(ev.error(
                call.expr,
                format!(
                    "'get' expects between 2 and 3 arguments, got {}",
                    args.len()
                ),
            ))
        }
    };
    navigate(ev, call, value, &navigation, default)
}

/// What `get` and `getvar` share: the value along a dotted path, or the default.
fn navigate(
    ev: &mut Evaluator<'_>,
    call: &Call<'_>,
    value: Value,
    navigation: &str,
    default: Value,
) -> EvalResult {
    if matches!(value, Value::Undef) {
        return Ok(default);
    }
    if navigation.is_empty() {
        return Ok(value);
    }
    let segments = dotted_segments(navigation)
        .ok_or_else(|| ev.error(call.expr, "Syntax error in dotted-navigation string"))?;
    match dig(&value, &segments) {
        Ok(Value::Undef) => Ok(default),
        Ok(found) => Ok(found),
        Err(DigError::Slice(error)) if call.lambda.is_some() => {
            let lambda = call.lambda.unwrap_or_else(|| unreachable!());
            ev.call_lambda(call.expr, lambda, vec![error.to_value()])
        }
        Err(error) => Err(ev.error(call.expr, FunctionError::from(error).to_string())),
    }
}

/// stdlib's `fact('os.release.major')`: the fact at a dotted path of `$facts`, undef where
/// the path leads nowhere.
pub(super) fn fact(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let Some(Value::String(path)) = args.first() else {
        let got = args
            .first()
            .map_or_else(|| "nothing".into(), describe_value_type);
        return Err(ev.error(
            call.expr,
            format!("'fact' parameter 'fact_name' expects a String value, got {got}"),
        ));
    };
    let facts = ev.scopes.lookup("facts").unwrap_or(Value::Undef);
    let found = dotted_segments(path)
        .and_then(|segments| dig(&facts, &segments).ok())
        .unwrap_or(Value::Undef);
    Ok(found)
}

/// stdlib's `is_a(value, Type)`: whether the value is an instance of the type.
pub(super) fn is_a(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    match args {
        [value, Value::Type(t)] => Ok(Value::Bool(t.is_instance(value))),
        [_, other] => Err(bad(format!(
            "'is_a' parameter 'type' expects a Type value, got {}",
            describe_value_type(other)
        ))),
        _ => Err(bad(format!(
            "'is_a' expects 2 arguments, got {}",
            args.len()
        ))),
    }
}

/// The segments of a dotted path as Puppet's lookup splits it: `a.'b.c'.0` is `a`, `b.c`
/// and the index 0; spaces around segments are dropped. `None` for a malformed path.
fn dotted_segments(navigation: &str) -> Option<Vec<Value>> {
    // A segment is a quoted text or a run without quotes and dots; between two segments
    // there must be exactly one dot.
    let segment = regex::Regex::new(r#"\s*"[^"]+"\s*|\s*'[^']+'\s*|[^'".]+"#)
        .unwrap_or_else(|e| unreachable!("{e}"));
    let mut segments = Vec::new();
    let mut last = 0;
    for found in segment.find_iter(navigation) {
        let between = &navigation[last..found.start()];
        let expected = if segments.is_empty() { "" } else { "." };
        if between != expected {
            return None;
        }
        segments.push(segment_value(found.as_str().trim()));
        last = found.end();
    }
    (last == navigation.len() && !segments.is_empty()).then_some(segments)
}

/// A quoted segment is a key as written; a number is an index (Puppet's pattern lets a
/// leading `:` in, which makes the number 0).
fn segment_value(segment: &str) -> Value {
    if let Some(quoted) = segment
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| {
            segment
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
        })
    {
        return Value::string(quoted);
    }
    let (colon, number) = match segment.strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, segment),
    };
    let digits = number.strip_prefix(['+', '-']).unwrap_or(number);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        if colon {
            return Value::Integer(0);
        }
        if let Ok(n) = number.parse::<i64>() {
            return Value::Integer(n);
        }
    }
    Value::string(segment)
}

/// `getvar('name.path', default) |$error| { ... }`: `get` on a variable of the scope.
pub(super) fn getvar(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let (text, default) = match args.as_slice() {
        [Value::String(text), rest @ ..] if rest.len() <= 1 => {
            (text.clone(), rest.first().cloned().unwrap_or(Value::Undef))
        }
        _ => {
            return Err(ev.error(
                call.expr,
                "'getvar' expects a String and maybe a default value",
            ))
        }
    };
    let name = regex::Regex::new(r"\A(?:::)?(?:[a-z]\w*::)*[a-z_]\w*")
        .unwrap_or_else(|e| unreachable!("{e}"));
    let Some(found) = name
        .find(&text)
        .filter(|m| text[m.end()..].is_empty() || text[m.end()..].starts_with('.'))
    else {
        return Err(ev.error(
            call.expr,
            "'getvar' The given string does not start with a valid variable name",
        ));
    };
    let navigation = text[found.end()..].strip_prefix('.').unwrap_or_default();
    let value = ev.scopes.lookup(found.as_str()).unwrap_or(Value::Undef);
    navigate(ev, call, value, navigation, default)
}

/// The options of `tree_each`.
struct TreeOptions {
    depth_first: bool,
    with_root: bool,
    with_containers: bool,
    with_values: bool,
    container_type: Option<Type>,
}

impl TreeOptions {
    fn from(options: Option<&Value>) -> Result<TreeOptions, FunctionError> {
        let empty = ValueMap::new();
        let map = match options {
            None => &empty,
            Some(Value::Hash(map)) => map,
            Some(other) => {
                return Err(bad(format!(
                    "'tree_each' parameter 'options' expects a Hash value, got {}",
                    other.type_name()
                )))
            }
        };
        let flag = |key: &str| -> Result<bool, FunctionError> {
            match map.get(&Value::string(key)) {
                None | Some(Value::Undef) => Ok(true),
                Some(Value::Bool(b)) => Ok(*b),
                Some(other) => Err(bad(format!(
                    "'tree_each' parameter 'options' entry '{key}' expects a value of type Undef or Boolean, got {}",
                    other.type_name()
                ))),
            }
        };
        let depth_first = match map.get(&Value::string("order")) {
            None | Some(Value::Undef) => true,
            Some(Value::String(s)) if s == "depth_first" => true,
            Some(Value::String(s)) if s == "breadth_first" => false,
            Some(_) => {
                return Err(bad("'tree_each' parameter 'options' entry 'order' expects a value of type Undef or Enum['breadth_first', 'depth_first']"))
            }
        };
        let container_type = match map.get(&Value::string("container_type")) {
            None | Some(Value::Undef) => None,
            Some(Value::Type(t)) => Some((**t).clone()),
            Some(_) => {
                return Err(bad(
                    "'tree_each' parameter 'options' entry 'container_type' expects a Type",
                ))
            }
        };
        let with_containers = flag("include_containers")?;
        let with_values = flag("include_values")?;
        if !with_containers && !with_values {
            return Err(bad(
                "Options 'include_containers' and 'include_values' cannot both be false",
            ));
        }
        for key in map.keys() {
            let known = [
                "order",
                "include_root",
                "include_containers",
                "include_values",
                "container_type",
                "include_refs",
            ];
            if !known.iter().any(|k| key.as_str() == Some(k)) {
                return Err(bad(format!(
                    "'tree_each' parameter 'options' unrecognized key '{}'",
                    key.to_display_string()
                )));
            }
        }
        Ok(TreeOptions {
            depth_first,
            with_root: with_containers && flag("include_root")?,
            with_containers,
            with_values,
            container_type,
        })
    }

    fn is_container(&self, value: &Value) -> bool {
        matches!(value, Value::Array(_) | Value::Hash(_))
            && self
                .container_type
                .as_ref()
                .is_none_or(|t| t.is_instance(value))
    }
}

/// The children of a container: index or key, and value.
fn children(value: &Value) -> Vec<(Value, Value)> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (Value::Integer(i as i64), v.clone()))
            .collect(),
        Value::Hash(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Vec::new(),
    }
}

/// Every `(path, value)` of a tree in the order `tree_each` gives them.
fn tree_walk(root: &Value, options: &TreeOptions) -> Vec<(Vec<Value>, Value)> {
    let mut out = Vec::new();
    if options.with_root {
        out.push((Vec::new(), root.clone()));
    }
    if options.depth_first {
        walk_depth_first(root, &mut Vec::new(), options, &mut out);
        return out;
    }
    let mut queue = std::collections::VecDeque::from([(Vec::new(), root.clone())]);
    while let Some((path, container)) = queue.pop_front() {
        for (key, value) in children(&container) {
            let mut at = path.clone();
            at.push(key);
            // Puppet's breadth-first walk gives values even when told not to.
            if !options.is_container(&value) || options.with_containers {
                out.push((at.clone(), value.clone()));
            }
            if options.is_container(&value) {
                queue.push_back((at, value));
            }
        }
    }
    out
}

fn walk_depth_first(
    container: &Value,
    path: &mut Vec<Value>,
    options: &TreeOptions,
    out: &mut Vec<(Vec<Value>, Value)>,
) {
    for (key, value) in children(container) {
        path.push(key);
        let nested = options.is_container(&value);
        if (nested && options.with_containers) || (!nested && options.with_values) {
            out.push((path.clone(), value.clone()));
        }
        if nested {
            walk_depth_first(&value, path, options, out);
        }
        path.pop();
    }
}

/// `tree_each(tree, options) |$path, $value| { ... }`; without a block, the `[path, value]`
/// pairs (Puppet gives an iterator over them).
pub(super) fn tree_each(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let (tree, options) = match args.as_slice() {
        [tree @ (Value::Array(_) | Value::Hash(_)), rest @ ..] if rest.len() <= 1 => {
            (tree.clone(), rest.first())
        }
        [other, ..] => {
            return Err(ev.error(
                call.expr,
                format!(
                    "'tree_each' parameter 'tree' expects a value of type Iterator, Array, Hash, or Object, got {}",
                    describe_value_type(other).trim_start_matches("a ").trim_start_matches("an ")
                ),
            ))
        }
        [] => return Err(ev.error(call.expr, "'tree_each' expects 1 or 2 arguments, got none")),
    };
    let options = TreeOptions::from(options).map_err(|e| ev.error(call.expr, e.to_string()))?;
    let walked = tree_walk(&tree, &options);
    let Some(lambda) = call.lambda else {
        return Ok(Value::Array(
            walked
                .into_iter()
                .map(|(path, value)| Value::Array(vec![Value::Array(path), value]))
                .collect(),
        ));
    };
    let arity = lambda.params.len();
    if !matches!(arity, 1 | 2) {
        return Err(ev.error(call.expr, "'tree_each' block expects 1 or 2 parameters"));
    }
    for (path, value) in walked {
        let block_args = if arity == 2 {
            vec![Value::Array(path), value]
        } else {
            vec![value]
        };
        ev.call_lambda(call.expr, lambda, block_args)?;
    }
    Ok(tree)
}

/// The arguments as stdlib's functions of the old (3.x) API receive them: an `undef`
/// argument arrives as `''` (inside arrays and hashes it stays undef).
pub(super) fn as_3x(args: &[Value]) -> Vec<Value> {
    args.iter()
        .map(|v| match v {
            Value::Undef => Value::string(""),
            other => other.clone(),
        })
        .collect()
}

/// Ruby's `==`, which stdlib's functions compare with: numbers by value (`1 == 1.0`),
/// strings case-sensitively, arrays and hashes element by element.
pub(super) fn ruby_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (x, y) if x.is_number() && y.is_number() => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| ruby_eq(p, q))
        }
        (Value::Hash(x), Value::Hash(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| ruby_eq(v, w)))
        }
        (x, y) => x == y,
    }
}

/// A Ruby class name, as stdlib's messages name an argument's type.
fn ruby_class(value: &Value) -> &'static str {
    match value {
        Value::Undef => "NilClass",
        Value::Bool(true) => "TrueClass",
        Value::Bool(false) => "FalseClass",
        Value::Regex(_) => "Regexp",
        Value::Default => "Symbol",
        Value::Type(_) => "Puppet::Pops::Types::PAnyType",
        other => other.type_name(),
    }
}

/// stdlib's `merge(hashes...)`, or with a block, the hash built from what the block returns
/// for each element of one collection.
pub(super) fn merge(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let Some(lambda) = call.lambda else {
        let mut merged = ValueMap::new();
        for arg in &args {
            match arg {
                Value::Hash(map) => merged.extend(map.iter().map(|(k, v)| (k.clone(), v.clone()))),
                Value::Undef => {}
                Value::String(s) if s.is_empty() => {}
                _ => return Err(ev.error(call.expr, "The function 'merge' was called with arguments it does not accept. It expects one of:\n  (Variant[Hash[Scalar, Any], Undef, String[0, 0]] *args)\n  (Iterable *args, Callable[3, 3] &block)\n  (Iterable *args, Callable[2, 2] &block)")),
            }
        }
        return Ok(Value::Hash(merged));
    };
    let arity = lambda.params.len();
    let subject = match args.as_slice() {
        [one] if matches!(arity, 2 | 3) => one.clone(),
        _ => {
            return Err(ev.error(
                call.expr,
                format!(
                    "merge() with a block takes one collection and a block of 2 or 3 parameters, got {} argument(s) and {arity} parameter(s)",
                    args.len()
                ),
            ))
        }
    };
    let mut merged = ValueMap::new();
    for item in ev.iteration_items(call.expr, &subject, arity - 1)? {
        let mut block_args = vec![Value::Hash(merged.clone())];
        match item {
            Value::Array(pair) if arity == 3 => block_args.extend(pair),
            other => block_args.push(unpack_single(other)),
        }
        if let Value::Hash(more) = ev.call_lambda(call.expr, lambda, block_args)? {
            merged.extend(more);
        }
    }
    Ok(Value::Hash(merged))
}

/// stdlib's `deep_merge(hashes...)`: hashes under the same key merge, anything else is
/// replaced by the later value.
pub(super) fn deep_merge(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    if args.len() < 2 {
        return Err(bad(format!(
            "deep_merge(): wrong number of arguments ({}; must be at least 2)",
            args.len()
        )));
    }
    let mut merged = ValueMap::new();
    for arg in as_3x(args) {
        match arg {
            Value::String(s) if s.is_empty() => {}
            Value::Hash(map) => merge_deeply(&mut merged, map),
            other => {
                return Err(bad(format!(
                    "deep_merge: unexpected argument type {}, only expects hash arguments",
                    ruby_class(&other)
                )))
            }
        }
    }
    Ok(Value::Hash(merged))
}

fn merge_deeply(into: &mut ValueMap, from: ValueMap) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Hash(old)), Value::Hash(new)) => merge_deeply(old, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// stdlib's `delete(collection, items)`: equal elements of an array, keys of a hash, or
/// every occurrence of a substring.
pub(super) fn delete(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let [collection, items] = as_3x(args).try_into().map_err(|args: Vec<Value>| {
        bad(format!(
            "delete(): Wrong number of arguments given {} for 2",
            args.len()
        ))
    })?;
    let items = match items {
        Value::Array(items) => items,
        one => vec![one],
    };
    match collection {
        Value::Array(elements) => Ok(Value::Array(
            elements
                .into_iter()
                .filter(|e| !items.iter().any(|item| ruby_eq(e, item)))
                .collect(),
        )),
        Value::Hash(mut map) => {
            for item in &items {
                map.shift_remove(item);
            }
            Ok(Value::Hash(map))
        }
        Value::String(mut text) => {
            for item in &items {
                let Value::String(needle) = item else {
                    return Err(bad(format!(
                        "delete(): cannot delete {} from a String",
                        describe_value_type(item)
                    )));
                };
                if !needle.is_empty() {
                    text = text.replace(needle.as_str(), "");
                }
            }
            Ok(Value::String(text))
        }
        other => Err(bad(format!(
            "delete(): First argument must be an Array, String, or Hash. Given an argument of class {}.",
            ruby_class(&other)
        ))),
    }
}

/// stdlib's `delete_undef_values(collection)`.
pub(super) fn delete_undef_values(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    match as_3x(args).first() {
        Some(Value::Array(items)) => Ok(Value::Array(
            items
                .iter()
                .filter(|v| !matches!(v, Value::Undef))
                .cloned()
                .collect(),
        )),
        Some(Value::Hash(map)) => Ok(Value::Hash(
            map.iter()
                .filter(|(_, v)| !matches!(v, Value::Undef))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )),
        Some(other) => Err(bad(format!(
            "delete_undef_values(): expected an array or hash, got {} type  {} ",
            other.to_display_string(),
            ruby_class(other)
        ))),
        None => Err(bad(
            "delete_undef_values(): Wrong number of arguments given (0)",
        )),
    }
}

/// stdlib's `delete_values(hash, value)`: the entries whose value is not equal to it.
pub(super) fn delete_values(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    match as_3x(args).as_slice() {
        [Value::Hash(map), item] => Ok(Value::Hash(
            map.iter()
                .filter(|(_, v)| !ruby_eq(item, v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )),
        [other, _] => Err(bad(format!(
            "delete_values(): First argument must be a Hash. Given an argument of class {}.",
            ruby_class(other)
        ))),
        _ => Err(bad(format!(
            "delete_values(): Wrong number of arguments given ({} of 2)",
            args.len()
        ))),
    }
}

/// stdlib's `dig44(data, path, default)`: the default as soon as a step finds nothing.
pub(super) fn dig44(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    if args.len() < 2 {
        return Err(bad(format!(
            "dig44(): Wrong number of arguments given ({} for at least 2)",
            args.len()
        )));
    }
    let args = as_3x(args);
    let (data, path) = (&args[0], &args[1]);
    let default = args.get(2).cloned().unwrap_or(Value::Undef);
    if !matches!(data, Value::Array(_) | Value::Hash(_)) {
        return Err(bad(format!(
            "dig44(): first argument must be a hash or an array, given {}",
            ruby_class(data)
        )));
    }
    let Value::Array(path) = path else {
        return Err(bad(format!(
            "dig44(): second argument must be an array, given {}",
            ruby_class(path)
        )));
    };
    let mut current = data.clone();
    for key in path {
        let next = match (&current, key) {
            (Value::Hash(map), key) => map.get(key).cloned(),
            (Value::Array(items), key) => array_index(key).and_then(|i| {
                let at = if i < 0 {
                    items.len().checked_sub(i.unsigned_abs() as usize)?
                } else {
                    i as usize
                };
                items.get(at).cloned()
            }),
            _ => None,
        };
        match next {
            Some(Value::Undef) | None => return Ok(default),
            Some(value) => current = value,
        }
    }
    Ok(current)
}

/// Ruby's `Integer(key)` for an array index: an integer, or a string holding one.
fn array_index(key: &Value) -> Option<i64> {
    match key {
        Value::Integer(i) => Some(*i),
        Value::Float(f) => Some(f.trunc() as i64),
        Value::String(s) => match crate::eval::operators::parse_number(s) {
            Some(Value::Integer(i)) => Some(i),
            _ => None,
        },
        _ => None,
    }
}

/// stdlib's `prefix` and `suffix`: on each element of an array, or each key of a hash, as a
/// string.
pub(super) fn prefix_or_suffix(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let args = as_3x(args);
    let Some(collection) = args.first() else {
        return Err(bad(format!(
            "{name}(): Wrong number of arguments given (0 for 1)"
        )));
    };
    let affix = match args.get(1) {
        None => "",
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Bool(false)) => "",
        Some(other) => {
            return Err(bad(format!(
                "{name}(): expected second argument to be a String, got {}",
                ruby_inspect(other)
            )))
        }
    };
    let apply = |v: &Value| {
        let text = v.to_display_string();
        Value::String(if name == "prefix" {
            format!("{affix}{text}")
        } else {
            format!("{text}{affix}")
        })
    };
    match collection {
        Value::Array(items) => Ok(Value::Array(items.iter().map(apply).collect())),
        Value::Hash(map) => Ok(Value::Hash(
            map.iter().map(|(k, v)| (apply(k), v.clone())).collect(),
        )),
        other => Err(bad(format!(
            "{name}(): expected first argument to be an Array or a Hash, got {}",
            ruby_inspect(other)
        ))),
    }
}

/// The arrays `union`, `intersection` and `difference` take.
fn arrays<'a>(name: &str, args: &'a [Value]) -> Result<Vec<&'a Vec<Value>>, FunctionError> {
    args.iter()
        .map(|arg| match arg {
            Value::Array(items) => Ok(items),
            _ if name == "union" => Err(bad("union(): Every parameter must be an array")),
            _ if name == "intersection" => Err(bad(format!(
                "intersection(): Requires 2 arrays, got {}",
                args.iter()
                    .map(ruby_class)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
            _ => Err(bad("difference(): Requires 2 arrays")),
        })
        .collect()
}

/// stdlib's `union`, `intersection` and `difference` of arrays, with Ruby's set rules: the
/// order of first appearance, and `1` and `1.0` are different elements.
pub(super) fn set_operation(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let args = as_3x(args);
    let count_fits = if name == "union" {
        args.len() >= 2
    } else {
        args.len() == 2
    };
    if !count_fits {
        return Err(bad(format!(
            "{name}(): Wrong number of arguments given ({} for {})",
            args.len(),
            if name == "union" { "< 2" } else { "2" }
        )));
    }
    let arrays = arrays(name, &args)?;
    let unique = |items: Vec<&Value>| {
        let mut seen = std::collections::HashSet::new();
        items
            .into_iter()
            .filter(|v| seen.insert(*v))
            .cloned()
            .collect::<Vec<_>>()
    };
    let (first, second) = (arrays[0], arrays.get(1).copied().unwrap_or(arrays[0]));
    Ok(Value::Array(match name {
        "union" => unique(arrays.iter().flat_map(|a| a.iter()).collect()),
        "intersection" => unique(first.iter().filter(|v| second.contains(v)).collect()),
        _ => first
            .iter()
            .filter(|v| !second.contains(v))
            .cloned()
            .collect(),
    }))
}

/// stdlib's `values_at(array, indexes)`: elements at indexes and at ranges written
/// `'1-3'`, `'1..3'` or `'1...3'` (the last without its end).
pub(super) fn values_at(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let args = as_3x(args);
    let (Some(Value::Array(items)), Some(wanted)) = (args.first(), args.get(1)) else {
        return Err(if args.len() < 2 {
            bad(format!(
                "values_at(): Wrong number of arguments given ({} for 2)",
                args.len()
            ))
        } else {
            bad("values_at(): Requires array to work with")
        });
    };
    let wanted = super::flatten(vec![wanted.clone()]);
    if wanted.is_empty() {
        return Err(bad(
            "values_at(): You must provide at least one positive index to collect",
        ));
    }
    let range =
        regex::Regex::new(r"^(\d+)(\.\.\.?|-)(\d+)$").unwrap_or_else(|e| unreachable!("{e}"));
    let last = items.len() as i64 - 1;
    let mut indexes = Vec::new();
    for index in &wanted {
        let text = index.to_display_string();
        if let Some(found) = range.captures(&text) {
            let number = |i: usize| found[i].parse::<i64>().unwrap_or(i64::MAX);
            let (start, stop) = (number(1), number(3));
            if start > stop {
                return Err(bad("values_at(): Stop index in given indices range is smaller than the start index"));
            }
            if stop > last {
                return Err(bad(
                    "values_at(): Stop index in given indices range exceeds array size",
                ));
            }
            let end = if &found[2] == "..." { stop } else { stop + 1 };
            indexes.extend(start..end);
        } else if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
            let i = text.parse::<i64>().unwrap_or(i64::MAX);
            if i > last {
                return Err(bad("values_at(): Given index exceeds array size"));
            }
            indexes.push(i);
        } else {
            return Err(bad("values_at(): Unknown format of given index"));
        }
    }
    Ok(Value::Array(
        indexes
            .into_iter()
            .filter_map(|i| items.get(i as usize))
            .filter(|v| !matches!(v, Value::Undef))
            .cloned()
            .collect(),
    ))
}

/// stdlib's `zip(a, b, flatten)`: `[a[i], b[i]]` for each element of `a`.
pub(super) fn zip(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let args = as_3x(args);
    if args.len() < 2 {
        return Err(bad(format!(
            "zip(): Wrong number of arguments given ({} for 2)",
            args.len()
        )));
    }
    let (Value::Array(a), Value::Array(b)) = (&args[0], &args[1]) else {
        return Err(bad("zip(): Requires array to work with"));
    };
    let flat = match args.get(2) {
        None => false,
        Some(Value::String(s)) if s.is_empty() => false,
        Some(flag) => super::strings::str2bool_value(flag)?,
    };
    let pairs: Vec<Value> = a
        .iter()
        .enumerate()
        .map(|(i, x)| Value::Array(vec![x.clone(), b.get(i).cloned().unwrap_or(Value::Undef)]))
        .collect();
    Ok(Value::Array(if flat {
        super::flatten(pairs)
    } else {
        pairs
    }))
}

/// stdlib's `any2array(values...)`: an array stays, a hash becomes its keys and values in
/// turn, `''` (or undef) is empty, anything else is wrapped.
pub(super) fn any2array(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let args = as_3x(args);
    Ok(match args.as_slice() {
        [Value::Array(items)] => Value::Array(items.clone()),
        [Value::String(s)] if s.is_empty() => Value::Array(Vec::new()),
        [Value::Hash(map)] => Value::Array(
            map.iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect(),
        ),
        _ => Value::Array(args),
    })
}
