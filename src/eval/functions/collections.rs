//! Collection functions of Puppet's core library and of stdlib: `partition`, `group_by`,
//! `dig`, `get`, `getvar`, `tree_each`.

use crate::lang::ast::Lambda;

use super::{
    bad, describe_value_type, ruby_inspect, unpack_single, Call, EvalResult, Evaluator,
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
