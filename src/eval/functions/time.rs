//! The functions of time values: `Timestamp.new`, `Timespan.new` and `strftime`.

use super::super::time::{seconds_to_nanos, Timespan, Timestamp};
use super::super::types::Type;
use super::super::value::{HashMap as ValueMap, Value};
use super::{bad, FunctionError};

fn time_error(error: super::super::time::TimeError) -> FunctionError {
    bad(error.to_string())
}

/// Seconds as a number, for `Timestamp(1.5)` and `Timespan(60)`.
fn seconds(value: &Value) -> Result<i128, FunctionError> {
    value
        .as_f64()
        .and_then(|s| match value {
            Value::Integer(i) => Some(i128::from(*i) * super::super::time::NANOS_PER_SECOND),
            _ => seconds_to_nanos(s),
        })
        .ok_or_else(|| bad("The number of seconds is too large for a time"))
}

/// A format argument: one format or a non-empty array of them.
fn formats(value: Option<&Value>) -> Result<Option<Vec<String>>, FunctionError> {
    match value {
        None | Some(Value::Default) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(format_mismatch(other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(format_mismatch(other)),
    }
}

fn format_mismatch(value: &Value) -> FunctionError {
    bad(format!(
        "the format expects a value of type String or Array[String, 1], got {}",
        Type::infer(value).generalize()
    ))
}

fn hash_get<'m>(map: &'m ValueMap, key: &str) -> Option<&'m Value> {
    map.get(&Value::from(key))
}

/// `Timestamp()`, `Timestamp(seconds)`, `Timestamp(string, format, timezone)` or the same as
/// a hash of `string`, `format`, `timezone`.
pub(super) fn timestamp_new(args: &[Value]) -> Result<Value, FunctionError> {
    let stamp = match args {
        [] => Timestamp::now(),
        [n] if n.is_number() => Timestamp(seconds(n)?),
        [Value::Hash(map)] => {
            let Some(Value::String(text)) = hash_get(map, "string") else {
                return Err(bad("'new_timestamp' expects a hash with a 'string'"));
            };
            let timezone = hash_get(map, "timezone").and_then(Value::as_str);
            parse_timestamp(text, hash_get(map, "format"), timezone)?
        }
        [Value::String(text), rest @ ..] if rest.len() <= 2 => {
            let timezone = match rest.get(1) {
                None => None,
                Some(Value::String(tz)) => Some(tz.as_str()),
                Some(other) => {
                    return Err(bad(format!(
                        "'new_timestamp' parameter 'timezone' expects a String value, got {}",
                        Type::infer(other).generalize()
                    )))
                }
            };
            parse_timestamp(text, rest.first(), timezone)?
        }
        _ => return Err(no_match("new_timestamp", args)),
    };
    Ok(Value::Timestamp(stamp))
}

fn parse_timestamp(
    text: &str,
    format: Option<&Value>,
    timezone: Option<&str>,
) -> Result<Timestamp, FunctionError> {
    let formats = formats(format)?;
    Timestamp::parse(text, formats.as_deref(), timezone).map_err(time_error)
}

/// Puppet's words when no signature of a `new` takes the arguments.
fn no_match(function: &str, args: &[Value]) -> FunctionError {
    let given: Vec<String> = args
        .iter()
        .map(|a| Type::infer(a).generalize().to_string())
        .collect();
    bad(format!(
        "The function '{function}' was called with arguments it does not accept. It expects one of its signatures; got ({})",
        given.join(", ")
    ))
}

/// `Timespan(seconds)`, `Timespan(string, format)`, `Timespan(days, hours, minutes, seconds,
/// ...)`, or a hash of `string`/`format` or of the fields.
pub(super) fn timespan_new(args: &[Value]) -> Result<Value, FunctionError> {
    let span = match args {
        [n] if n.is_number() => Timespan(seconds(n)?),
        [Value::String(text)] => Timespan::parse(text, None).map_err(time_error)?,
        [Value::String(text), format] => {
            let formats = formats(Some(format))?;
            Timespan::parse(text, formats.as_deref()).map_err(time_error)?
        }
        [Value::Hash(map)] => span_from_hash(map)?,
        fields if (4..=7).contains(&fields.len()) => {
            let mut numbers = [0i128; 7];
            for (slot, field) in numbers.iter_mut().zip(fields) {
                let Value::Integer(n) = field else {
                    return Err(no_match("new_timespan", args));
                };
                *slot = i128::from(*n);
            }
            Timespan::from_fields(false, numbers).ok_or_else(too_long)?
        }
        _ => return Err(no_match("new_timespan", args)),
    };
    Ok(Value::Timespan(span))
}

fn too_long() -> FunctionError {
    bad("The timespan is too long")
}

const SPAN_FIELDS: [&str; 7] = [
    "days",
    "hours",
    "minutes",
    "seconds",
    "milliseconds",
    "microseconds",
    "nanoseconds",
];

fn span_from_hash(map: &ValueMap) -> Result<Timespan, FunctionError> {
    if let Some(Value::String(text)) = hash_get(map, "string") {
        let formats = formats(hash_get(map, "format"))?;
        return Timespan::parse(text, formats.as_deref()).map_err(time_error);
    }
    for key in map.keys() {
        let known = key
            .as_str()
            .is_some_and(|k| k == "negative" || SPAN_FIELDS.contains(&k));
        if !known {
            return Err(bad(format!(
                "'new_timespan' does not take the key {key} (it takes negative, {})",
                SPAN_FIELDS.join(", ")
            )));
        }
    }
    let mut numbers = [0i128; 7];
    for (slot, name) in numbers.iter_mut().zip(SPAN_FIELDS) {
        *slot = match hash_get(map, name) {
            None => 0,
            Some(Value::Integer(n)) => i128::from(*n),
            Some(other) => {
                return Err(bad(format!(
                    "'new_timespan' entry '{name}' expects an Integer value, got {}",
                    Type::infer(other).generalize()
                )))
            }
        };
    }
    let negative = matches!(hash_get(map, "negative"), Some(Value::Bool(true)));
    Timespan::from_fields(negative, numbers).ok_or_else(too_long)
}

/// `strftime(Timestamp, format, timezone)`, `strftime(Timespan, format)`, and the old form
/// `strftime(format, timezone)` of the current time.
pub(super) fn strftime(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let text = match args {
        [Value::Timestamp(t), Value::String(format)] => t.format(format, None),
        [Value::Timestamp(t), Value::String(format), Value::String(tz)] => {
            t.format(format, Some(tz))
        }
        [Value::Timespan(t), Value::String(format)] => t.format(format),
        [Value::String(format)] => Timestamp::now().format(format, None),
        [Value::String(format), Value::String(tz)] => Timestamp::now().format(format, Some(tz)),
        _ => return Err(no_match("strftime", args)),
    };
    text.map(Value::String).map_err(time_error)
}
