//! `new`: making a value of a type from other values, as `Integer('0x1F')`, `Type.new(...)`
//! and `convert_to` do, by the rules of each type's `new_function` in Puppet 7; and the
//! `Sensitive` functions.

use crate::lang::ast::Lambda;

use super::super::evaluator::{describe_type, EvalResult, Evaluator};
use super::super::types::Type;
use super::super::value::{HashMap as ValueMap, Secret, Value};
use super::{bad, format, time, Call, FunctionError};

/// `Type.new(args)`: a value already of the type is kept (when it is the only argument);
/// anything else is converted by the type's rules, and the result must be of the type.
pub(super) fn new_value(t: &Type, args: &[Value]) -> Result<Value, FunctionError> {
    if let [only] = args {
        if t.is_instance(only) {
            return Ok(only.clone());
        }
    }
    let result = convert(t, args)?;
    if t.is_instance(&result) {
        Ok(result)
    } else {
        Err(bad(format!(
            "Converted value from {t}.new() has wrong type, expects {}, got {}",
            describe_type(t),
            Type::infer(&result)
        )))
    }
}

/// The conversion each type's `new` makes.
fn convert(t: &Type, args: &[Value]) -> Result<Value, FunctionError> {
    match t {
        Type::Optional(inner) => convert(inner, args),
        Type::NotUndef(inner) if matches!(**inner, Type::Any) => Ok(first(args)),
        Type::NotUndef(inner) => convert(inner, args),
        Type::Unit => Ok(first(args)),
        Type::Integer(..) => to_integer(args),
        Type::Float(..) => to_float(args),
        Type::Numeric => to_numeric(args),
        Type::Boolean | Type::BooleanValue(_) => {
            expect_count("new_boolean", args, 1, 1)?;
            to_boolean(&args[0])
        }
        Type::String(..) | Type::Enum(_) | Type::Pattern(_) => {
            expect_count("new_string", args, 1, 2)?;
            format::string_new(&args[0], args.get(1))
        }
        Type::Array(..) | Type::Tuple(_) => to_array(args),
        Type::Hash(..) | Type::Struct(_) => to_hash(args),
        Type::Sensitive(_) => {
            expect_count("new_Sensitive", args, 1, 1)?;
            Ok(Secret::wrap(args[0].clone()))
        }
        Type::Regexp(_) => to_regexp(args),
        Type::Timestamp(..) => time::timestamp_new(args),
        Type::Timespan(..) => time::timespan_new(args),
        Type::Binary => to_binary(args),
        other => Err(bad(format!(
            "Creation of new instance of type '{other}' is not supported"
        ))),
    }
}

fn first(args: &[Value]) -> Value {
    args.first().cloned().unwrap_or(Value::Undef)
}

/// Puppet's count error for a type's `new`.
fn expect_count(
    function: &str,
    args: &[Value],
    least: usize,
    most: usize,
) -> Result<(), FunctionError> {
    if (least..=most).contains(&args.len()) {
        return Ok(());
    }
    let expected = match (least, most) {
        (1, 1) => "1 argument".to_string(),
        (l, m) if l == m => format!("{l} arguments"),
        (l, m) => format!("between {l} and {m} arguments"),
    };
    Err(bad(format!(
        "'{function}' expects {expected}, got {}",
        args.len()
    )))
}

/// "'new' The string 'x' cannot be converted to Integer", "'new_float' Value of type Array
/// cannot be converted to Float": Puppet names the `new` function of the type first.
fn cannot_convert(value: &Value, to: &str) -> FunctionError {
    let function = match to {
        "Integer" => "new".to_string(),
        other => format!("new_{}", other.to_lowercase()),
    };
    match value {
        Value::String(s) => bad(format!(
            "'{function}' The string '{s}' cannot be converted to {to}"
        )),
        other => bad(format!(
            "'{function}' Value of type {} cannot be converted to {to}",
            Type::infer(other).generalize()
        )),
    }
}

/// The arguments of `Integer.new`, `Float.new`, `Numeric.new`: positional or a hash of
/// `from`, `radix`, `abs`.
struct NumberArgs {
    from: Value,
    radix: Option<u32>,
    abs: bool,
}

fn number_args(args: &[Value], takes_radix: bool, to: &str) -> Result<NumberArgs, FunctionError> {
    let (from, radix, abs) = match args {
        [Value::Hash(map)] if map.contains_key(&Value::from("from")) => {
            let get = |key: &str| map.get(&Value::from(key)).cloned();
            (
                get("from").unwrap_or(Value::Undef),
                get("radix"),
                get("abs"),
            )
        }
        [from] => (from.clone(), None, None),
        [from, second] if !takes_radix => (from.clone(), None, Some(second.clone())),
        [from, radix] => (from.clone(), Some(radix.clone()), None),
        [from, radix, abs] if takes_radix => (from.clone(), Some(radix.clone()), Some(abs.clone())),
        _ => {
            return Err(bad(format!(
                "'new_{}' expects between 1 and {} arguments, got {}",
                to.to_lowercase(),
                if takes_radix { 3 } else { 2 },
                args.len()
            )))
        }
    };
    let radix = match radix {
        None | Some(Value::Default) => None,
        Some(Value::Integer(r @ (2 | 8 | 10 | 16))) => Some(r as u32),
        Some(other) => {
            return Err(bad(format!(
                "The radix must be 2, 8, 10, 16 or default, got {}",
                other
            )))
        }
    };
    let abs = match abs {
        None => false,
        Some(Value::Bool(b)) => b,
        Some(other) => {
            return Err(bad(format!(
                "The abs flag must be a Boolean, got {}",
                Type::infer(&other).generalize()
            )))
        }
    };
    Ok(NumberArgs { from, radix, abs })
}

fn to_integer(args: &[Value]) -> Result<Value, FunctionError> {
    let NumberArgs { from, radix, abs } = number_args(args, true, "Integer")?;
    let value = match &from {
        Value::Integer(i) => *i,
        Value::Float(f) => float_to_integer(*f)?,
        Value::Timestamp(t) => nanos_to_seconds(t.0)?,
        Value::Timespan(t) => nanos_to_seconds(t.0)?,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => {
            parse_integer(s, radix).ok_or_else(|| cannot_convert(&from, "Integer"))?
        }
        other => return Err(cannot_convert(other, "Integer")),
    };
    if abs {
        value
            .checked_abs()
            .map(Value::Integer)
            .ok_or_else(|| bad("The absolute value is outside of Puppet Integer range"))
    } else {
        Ok(Value::Integer(value))
    }
}

fn float_to_integer(f: f64) -> Result<i64, FunctionError> {
    let truncated = f.trunc();
    if truncated.is_finite() && truncated >= i64::MIN as f64 && truncated < i64::MAX as f64 {
        Ok(truncated as i64)
    } else {
        Err(bad(format!(
            "The value {} is outside of Puppet Integer range",
            super::super::value::format_float(f)
        )))
    }
}

fn nanos_to_seconds(nanos: i128) -> Result<i64, FunctionError> {
    i64::try_from(nanos / super::super::time::NANOS_PER_SECOND)
        .map_err(|_| bad("The time is outside of Puppet Integer range"))
}

/// An integer as `Integer.new` reads a string: an optional sign (white space may follow it),
/// then decimal (a leading 0 means octal), `0x` hex or `0b` binary; with a radix, the
/// digits of that radix (and its prefix). `None` when it is not one.
pub(super) fn parse_integer(text: &str, radix: Option<u32>) -> Option<i64> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, text[1..].trim_start()),
        b'+' => (false, text[1..].trim_start()),
        _ => (false, text),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, digits) = match radix {
        None => match lower.as_bytes() {
            [b'0', b'x', ..] => (16, &rest[2..]),
            [b'0', b'b', ..] => (2, &rest[2..]),
            [b'0', _, ..] => (8, rest.strip_prefix("0o").unwrap_or(&rest[1..])),
            _ => (10, rest),
        },
        Some(16) => (16, strip_prefix_ci(rest, "0x")),
        Some(2) => (2, strip_prefix_ci(rest, "0b")),
        Some(8) => (8, strip_prefix_ci(rest, "0o")),
        Some(r) => (r, rest),
    };
    // from_str_radix would take a sign of its own.
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

fn strip_prefix_ci<'t>(text: &'t str, prefix: &str) -> &'t str {
    match text.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &text[prefix.len()..],
        _ => text,
    }
}

fn to_float(args: &[Value]) -> Result<Value, FunctionError> {
    let NumberArgs { from, abs, .. } = number_args(args, false, "Float")?;
    let value = match &from {
        Value::Integer(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Timestamp(t) => t.0 as f64 / 1e9,
        Value::Timespan(t) => t.seconds(),
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => parse_float(s).ok_or_else(|| cannot_convert(&from, "Float"))?,
        other => return Err(cannot_convert(other, "Float")),
    };
    Ok(Value::Float(if abs { value.abs() } else { value }))
}

/// A float as `Float.new` reads a string: decimal with optional fraction and exponent, or an
/// integer in hex or binary (a leading 0 does not mean octal here).
pub(super) fn parse_float(text: &str) -> Option<f64> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, text[1..].trim_start()),
        b'+' => (false, text[1..].trim_start()),
        _ => (false, text),
    };
    let lower = rest.to_ascii_lowercase();
    let magnitude = if lower.starts_with("0x") || lower.starts_with("0b") {
        parse_integer(rest, None)? as f64
    } else {
        let decimal = regex::Regex::new(r"\A\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\z").ok()?;
        if !decimal.is_match(rest) {
            return None;
        }
        rest.parse().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn to_numeric(args: &[Value]) -> Result<Value, FunctionError> {
    let NumberArgs { from, abs, .. } = number_args(args, false, "Numeric")?;
    let value = match &from {
        n if n.is_number() => n.clone(),
        Value::Timestamp(t) => Value::Float(t.0 as f64 / 1e9),
        Value::Timespan(t) => Value::Float(t.seconds()),
        Value::Bool(b) => Value::Integer(i64::from(*b)),
        Value::String(s) => numeric_string(s).ok_or_else(|| cannot_convert(&from, "Numeric"))?,
        other => return Err(cannot_convert(other, "Numeric")),
    };
    Ok(match value {
        Value::Integer(i) if abs => Value::Integer(
            i.checked_abs()
                .ok_or_else(|| bad("The absolute value is outside of Puppet Integer range"))?,
        ),
        Value::Float(f) if abs => Value::Float(f.abs()),
        other => other,
    })
}

/// A number as `Numeric.new` reads a string: an integer (hex, octal, binary, decimal) if it is
/// one, else a float.
fn numeric_string(text: &str) -> Option<Value> {
    let is_float = {
        let body = text.trim_start_matches(['-', '+']).trim_start();
        let lower = body.to_ascii_lowercase();
        !lower.starts_with("0x") && (body.contains('.') || lower.contains('e'))
    };
    if is_float {
        parse_float(text).map(Value::Float)
    } else {
        parse_integer(text, None).map(Value::Integer)
    }
}

fn to_boolean(from: &Value) -> Result<Value, FunctionError> {
    match from {
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::Integer(i) => Ok(Value::Bool(*i != 0)),
        Value::Float(f) => Ok(Value::Bool(*f != 0.0)),
        Value::String(s) => match s.to_lowercase().as_str() {
            "true" | "yes" | "y" => Ok(Value::Bool(true)),
            "false" | "no" | "n" => Ok(Value::Bool(false)),
            _ => Err(cannot_convert(from, "Boolean")),
        },
        other => Err(cannot_convert(other, "Boolean")),
    }
}

/// `Array.new(value, wrap)`: arrays as they are, a hash as its pairs, a binary as its bytes,
/// anything iterable as its elements; with `wrap` true, a non-array becomes its only element.
fn to_array(args: &[Value]) -> Result<Value, FunctionError> {
    let (from, wrap) = match args {
        [from] => (from, false),
        [from, Value::Bool(wrap)] => (from, *wrap),
        [_, other] => {
            return Err(bad(format!(
                "'new_array' parameter 'wrap' expects a Boolean value, got {}",
                Type::infer(other).generalize()
            )))
        }
        _ => {
            return Err(bad(format!(
                "'new_array' expects between 1 and 2 arguments, got {}",
                args.len()
            )))
        }
    };
    if wrap {
        return Ok(match from {
            Value::Array(_) => from.clone(),
            other => Value::Array(vec![other.clone()]),
        });
    }
    iterable_elements(from).map(Value::Array).ok_or_else(|| {
        let generalized = Type::infer(from).generalize();
        bad(format!(
            "'new_array' Value of type {generalized} cannot be converted to Array"
        ))
    })
}

fn cannot_convert_generalized(value: &Value, to: &str) -> FunctionError {
    bad(format!(
        "Value of type {} cannot be converted to {to}",
        Type::infer(value).generalize()
    ))
}

/// What iterating over a value gives: elements, `[key, value]` pairs, characters, bytes,
/// `0..n`, or the integers of an `Integer[a, b]` type.
fn iterable_elements(value: &Value) -> Option<Vec<Value>> {
    const MAX_ELEMENTS: i64 = 10_000_000;
    Some(match value {
        Value::Array(items) => items.clone(),
        Value::Hash(map) => map
            .iter()
            .map(|(k, v)| Value::Array(vec![k.clone(), v.clone()]))
            .collect(),
        Value::Binary(bytes) => bytes
            .iter()
            .map(|b| Value::Integer(i64::from(*b)))
            .collect(),
        Value::String(s) => s.chars().map(|c| Value::String(c.to_string())).collect(),
        Value::Integer(n) if (0..=MAX_ELEMENTS).contains(n) => {
            (0..*n).map(Value::Integer).collect()
        }
        Value::Type(t) => match **t {
            Type::Integer(lo, hi) if lo > i64::MIN && hi < i64::MAX && hi - lo <= MAX_ELEMENTS => {
                (lo..=hi).map(Value::Integer).collect()
            }
            _ => return None,
        },
        _ => return None,
    })
}

/// `Hash.new(value)`: a hash as it is, an array of `[key, value]` pairs (or of `[path,
/// value]` with `'tree'`), a flat array of keys and values, or anything iterable as one.
fn to_hash(args: &[Value]) -> Result<Value, FunctionError> {
    let (from, option) = match args {
        [from] => (from, None),
        [from, Value::String(option)] if option == "tree" || option == "hash_tree" => {
            (from, Some(option.as_str()))
        }
        _ => {
            return Err(bad(format!(
                "'new_hash' expects 1 argument (and 'tree' or 'hash_tree' for an array of paths), got {}",
                args.len()
            )))
        }
    };
    if let Value::Hash(_) = from {
        return Ok(from.clone());
    }
    let items = iterable_elements(from).ok_or_else(|| cannot_convert_generalized(from, "Hash"))?;
    let pairs = matches!(from, Value::Array(_))
        && !items.is_empty()
        && items
            .iter()
            .all(|i| matches!(i, Value::Array(pair) if pair.len() == 2));
    if pairs {
        let pairs = items.into_iter().filter_map(|item| match item {
            Value::Array(mut pair) => {
                let value = pair.pop()?;
                Some((pair.pop()?, value))
            }
            _ => None,
        });
        return match option {
            Some(option) => Ok(Value::Hash(tree(pairs, option == "hash_tree"))),
            None => Ok(Value::Hash(pairs.collect())),
        };
    }
    if items.len() % 2 != 0 {
        return Err(bad("odd number of arguments for Hash"));
    }
    let mut map = ValueMap::new();
    for pair in items.chunks(2) {
        map.insert(pair[0].clone(), pair[1].clone());
    }
    Ok(Value::Hash(map))
}

/// A hash built from `[path, value]` pairs: each path an array of keys from the root.
fn tree(pairs: impl Iterator<Item = (Value, Value)>, all_hashes: bool) -> ValueMap {
    let mut root = ValueMap::new();
    for (path, value) in pairs {
        let Value::Array(path) = path else {
            continue;
        };
        let value = if all_hashes {
            array_as_hash(value)
        } else {
            value
        };
        if path.is_empty() {
            if let Value::Hash(map) = value {
                root.extend(map);
            }
            continue;
        }
        insert_at(&mut root, &path, value);
    }
    root
}

/// Sets the value at a path of keys, making the hashes on the way.
fn insert_at(node: &mut ValueMap, path: &[Value], value: Value) {
    match path {
        [] => {}
        [last] => {
            node.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = node
                .entry(first.clone())
                .or_insert_with(|| Value::Hash(ValueMap::new()));
            if let Value::Hash(next) = entry {
                insert_at(next, rest, value);
            }
        }
    }
}

/// An array as a hash of its indexes, deeply (`hash_tree`).
fn array_as_hash(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Hash(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::Integer(i as i64), array_as_hash(v)))
                .collect(),
        ),
        Value::Hash(map) => Value::Hash(
            map.into_iter()
                .map(|(k, v)| (k, array_as_hash(v)))
                .collect(),
        ),
        other => other,
    }
}

/// `Regexp.new('a.b')`, `Regexp('a.b', true)` for the pattern quoted.
fn to_regexp(args: &[Value]) -> Result<Value, FunctionError> {
    match args {
        [Value::String(pattern)] | [Value::String(pattern), Value::Bool(false)] => {
            check_regex(pattern)?;
            Ok(Value::Regex(pattern.clone()))
        }
        [Value::String(pattern), Value::Bool(true)] => Ok(Value::Regex(regex::escape(pattern))),
        [other, ..] => Err(cannot_convert_generalized(other, "Regexp")),
        [] => Err(bad("'new_float' expects between 1 and 2 arguments, got 0")),
    }
}

fn check_regex(pattern: &str) -> Result<(), FunctionError> {
    regex::Regex::new(pattern)
        .map(|_| ())
        .map_err(|e| super::FunctionError::regex(pattern, e))
}

/// `Binary.new`: from base64 (`%B` strict, the default; `%b` lenient; `%u` URL-safe), from
/// the bytes of a string (`%s` must be valid UTF-8, `%r` raw), or from an array of bytes.
fn to_binary(args: &[Value]) -> Result<Value, FunctionError> {
    let (from, format) = match args {
        [Value::Hash(map)] => (
            map.get(&Value::from("value"))
                .cloned()
                .unwrap_or(Value::Undef),
            map.get(&Value::from("format")).cloned(),
        ),
        [from] => (from.clone(), None),
        [from, format] => (from.clone(), Some(format.clone())),
        _ => {
            return Err(bad(format!(
                "'new_binary' expects between 1 and 2 arguments, got {}",
                args.len()
            )))
        }
    };
    match (&from, format.as_ref()) {
        (Value::Array(items), None) => items
            .iter()
            .map(|item| match item {
                Value::Integer(b @ 0..=255) => Ok(*b as u8),
                _ => Err(binary_signatures()),
            })
            .collect::<Result<Vec<u8>, _>>()
            .map(Value::Binary),
        (Value::String(text), None) => decode_binary(text, "%B"),
        (Value::String(text), Some(Value::String(format))) => decode_binary(text, format),
        (_, Some(_)) => Err(binary_signatures()),
        (other, None) => Err(cannot_convert_generalized(other, "Binary")),
    }
}

/// Puppet's words for arguments that fit none of `Binary.new`'s signatures.
fn binary_signatures() -> FunctionError {
    bad("The function 'new_Binary' was called with arguments it does not accept. It expects one of: (String str, Optional[Enum['%B', '%b', '%r', '%s', '%u']] format), (Array[Integer[0, 255]] byte_array), (Struct value_hash)")
}

/// The bytes a string stands for in one of Binary's formats.
pub(super) fn decode_binary(text: &str, format: &str) -> Result<Value, FunctionError> {
    use base64::engine::general_purpose::{
        GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE,
    };
    use base64::engine::DecodePaddingMode;
    use base64::Engine as _;
    let lenient = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let decoded = match format {
        "%B" => STANDARD.decode(text),
        "%u" => URL_SAFE.decode(text),
        // Ruby's decode64 skips what is not of the alphabet (line breaks among others).
        "%b" => {
            let kept: String = text
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
                .collect();
            lenient.decode(kept)
        }
        "%s" | "%r" => return Ok(Value::Binary(text.as_bytes().to_vec())),
        _ => return Err(binary_signatures()),
    };
    decoded
        .map(Value::Binary)
        .map_err(|_| bad("invalid base64"))
}

/// `binary_file('module/name')`: the bytes of a module's file (or of an absolute path).
pub(super) fn binary_file(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let [Value::String(given)] = args.as_slice() else {
        return Err(ev.error(
            call.expr,
            format!(
                "'binary_file' expects one String argument, got {}",
                args.len()
            ),
        ));
    };
    let missing = || format!("binary_file(): The given file '{given}' does not exist");
    let path = super::files::module_file(&ev.loader, given, "files")
        .filter(|path| path.is_file())
        .ok_or_else(|| ev.error(call.expr, missing()))?;
    std::fs::read(&path).map(Value::Binary).map_err(|e| {
        ev.error(
            call.expr,
            format!("binary_file(): cannot read '{given}': {e}"),
        )
    })
}

/// `convert_to(value, Type, args...)`, and a block given the result.
pub(super) fn convert_to(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let mut args = args.into_iter();
    let value = args.next().unwrap_or(Value::Undef);
    let t = match args.next() {
        Some(Value::Type(t)) => *t,
        other => {
            let got = other.map_or("nothing".to_string(), |v| {
                Type::infer(&v).generalize().to_string()
            });
            return Err(ev.error(
                call.expr,
                format!("'convert_to' parameter 'type' expects a Type value, got {got}"),
            ));
        }
    };
    let mut new_args = vec![value];
    new_args.extend(args);
    let result = new_value(&t, &new_args).map_err(|e| ev.error(call.expr, e.to_string()))?;
    yield_to(ev, call, call.lambda, result)
}

/// `Type.new(args)` as a method call, `new(Type, args)` as a function.
pub(super) fn new(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let Some((Value::Type(t), rest)) = args.split_first() else {
        return Err(ev.error(
            call.expr,
            "'new' parameter 'type' expects a Type value".to_string(),
        ));
    };
    let result = new_value(t, rest).map_err(|e| ev.error(call.expr, e.to_string()))?;
    yield_to(ev, call, call.lambda, result)
}

/// `unwrap($sensitive)`: the value inside (any other value as it is), or a block given it.
pub(super) fn unwrap(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    if args.len() != 1 {
        return Err(ev.error(
            call.expr,
            format!("'unwrap' expects 1 argument, got {}", args.len()),
        ));
    }
    let value = match args.into_iter().next() {
        Some(Value::Sensitive(secret)) => secret.into_inner(),
        Some(other) => other,
        None => Value::Undef,
    };
    yield_to(ev, call, call.lambda, value)
}

fn yield_to(
    ev: &mut Evaluator<'_>,
    call: &Call<'_>,
    lambda: Option<&Lambda>,
    value: Value,
) -> EvalResult {
    match lambda {
        Some(lambda) => ev.call_lambda(call.expr, lambda, vec![value]),
        None => Ok(value),
    }
}

#[cfg(test)]
mod tests {

    /// `binary_file('m/data.bin')` reads `modules/m/files/data.bin` of the repository.
    #[test]
    fn binary_file_reads_a_modules_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().join("modules/m/files");
        std::fs::create_dir_all(&files).unwrap();
        std::fs::write(files.join("data.bin"), [0u8, 255, 104, 105]).unwrap();
        let path = dir.path().join("playbook.pp");
        let code = "$b = binary_file('m/data.bin')\nnotice($b, length($b), Array($b))\n";
        std::fs::write(&path, code).unwrap();
        let (lines, result) = crate::eval::testing::evaluate_file(dir.path(), &path, "playbook");
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(lines, ["Notice: AP9oaQ== 4 [0, 255, 104, 105]"]);
    }
}
