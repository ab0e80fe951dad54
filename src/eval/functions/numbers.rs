//! Number functions of Puppet's core library: `round`, `floor`, `ceiling`.

use super::{bad, describe_value_type, FunctionError, Value};

/// `round`: half away from zero, to an Integer, computed as Puppet does (adding a half, then
/// truncating), which differs from `f64::round` just below one half.
pub(super) fn round(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    match one_argument(name, args)? {
        Value::Integer(i) => Ok(Value::Integer(*i)),
        Value::Float(f) if *f > 0.0 => to_integer(name, (f + 0.5).trunc()),
        Value::Float(f) => to_integer(name, (f - 0.5).trunc()),
        other => Err(bad(format!(
            "'{name}' parameter 'val' expects a Numeric value, got {}",
            other.type_name()
        ))),
    }
}

/// `floor` and `ceiling`: of a number, or (deprecated in Puppet) of a string holding one.
pub(super) fn floor_or_ceiling(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let x = match one_argument(name, args)? {
        Value::Integer(i) => return Ok(Value::Integer(*i)),
        Value::Float(f) => *f,
        Value::String(s) => crate::eval::operators::parse_number(s)
            .and_then(|n| n.as_f64())
            .ok_or_else(|| {
                bad(format!(
                    "{name}(): cannot convert given value to a floating point value."
                ))
            })?,
        other => {
            return Err(bad(format!(
                "'{name}' parameter 'val' expects a value of type Numeric or String, got {}",
                describe_value_type(other)
                    .trim_start_matches("a ")
                    .trim_start_matches("an ")
            )))
        }
    };
    to_integer(name, if name == "floor" { x.floor() } else { x.ceil() })
}

fn one_argument<'a>(name: &str, args: &'a [Value]) -> Result<&'a Value, FunctionError> {
    match args {
        [one] => Ok(one),
        _ => Err(bad(format!(
            "'{name}' expects 1 argument, got {}",
            args.len()
        ))),
    }
}

/// A whole float as an Integer; Puppet's Integers are 64 bits.
fn to_integer(name: &str, whole: f64) -> Result<Value, FunctionError> {
    // i64::MAX as f64 rounds up to 2^63, which is out of range.
    if whole.is_finite() && whole >= i64::MIN as f64 && whole < i64::MAX as f64 {
        Ok(Value::Integer(whole as i64))
    } else {
        Err(bad(format!(
            "{name}(): the result {whole} is outside of Puppet Integer max range"
        )))
    }
}
