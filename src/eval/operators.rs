//! Puppet's binary operators on values: integer and float arithmetic (integer division floors,
//! `%` takes the divisor's sign), collection concatenation and removal, comparison and `in`.

use std::cmp::Ordering;

use crate::lang::ast::BinaryOp;

use super::time::{seconds_to_nanos, Timespan, Timestamp};
use super::value::{HashMap, Value};

/// An operator's result; a failure is in Puppet's words, and the evaluator adds where.
pub type OpResult = Result<Value, OperatorError>;

/// Why an operator cannot apply to its operands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OperatorError {
    kind: OperatorErrorKind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorErrorKind {
    /// A string in arithmetic that does not spell a number.
    NotNumeric,
    /// The operator does not apply to values of these types.
    NotApplicable,
    /// The result does not fit Puppet's 64-bit integers.
    Overflow,
    DivisionByZero,
    /// `<` and the like between values that have no order.
    Incomparable,
}

impl OperatorError {
    fn new(kind: OperatorErrorKind, message: impl Into<String>) -> OperatorError {
        OperatorError {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> OperatorErrorKind {
        self.kind
    }
}

fn not_applicable(message: impl Into<String>) -> OperatorError {
    OperatorError::new(OperatorErrorKind::NotApplicable, message)
}

fn division_by_zero() -> OperatorError {
    OperatorError::new(OperatorErrorKind::DivisionByZero, "Division by 0")
}

pub fn arithmetic(op: BinaryOp, lhs: Value, rhs: Value) -> OpResult {
    match (op, &lhs, &rhs) {
        (BinaryOp::Add, Value::Array(_), _) => Ok(concat(lhs, rhs)),
        (BinaryOp::Add, Value::Hash(_), _) => merge(lhs, rhs),
        (BinaryOp::Sub, Value::Array(_), _) => Ok(remove(lhs, rhs)),
        (BinaryOp::Sub, Value::Hash(_), _) => remove_keys(lhs, rhs),
        (BinaryOp::LShift, Value::Array(_), _) => {
            let Value::Array(mut items) = lhs else {
                unreachable!()
            };
            items.push(rhs);
            Ok(Value::Array(items))
        }
        (_, Value::Timestamp(_) | Value::Timespan(_), _) => time_arithmetic(op, &lhs, &rhs),
        (BinaryOp::Add, _, Value::Timestamp(_) | Value::Timespan(_)) if lhs.is_number() => {
            time_arithmetic(op, &rhs, &lhs)
        }
        _ => numeric(op, to_number(&lhs, op)?, to_number(&rhs, op)?),
    }
}

/// Arithmetic with a Timestamp or a Timespan on the left: a span moves a timestamp, two
/// timestamps are a span apart, numbers are seconds, and a span scales and divides.
fn time_arithmetic(op: BinaryOp, lhs: &Value, rhs: &Value) -> OpResult {
    let overflow = || OperatorError::new(OperatorErrorKind::Overflow, "The time is out of range");
    let seconds = |n: &Value| n.as_f64().and_then(seconds_to_nanos).ok_or_else(overflow);
    let nanos = |a: i128, b: i128, add: bool| {
        if add {
            a.checked_add(b)
        } else {
            a.checked_sub(b)
        }
        .ok_or_else(overflow)
    };
    let sub = matches!(op, BinaryOp::Sub);
    match (op, lhs, rhs) {
        (BinaryOp::Add | BinaryOp::Sub, Value::Timestamp(a), Value::Timespan(b)) => {
            Ok(Value::Timestamp(Timestamp(nanos(a.0, b.0, !sub)?)))
        }
        (BinaryOp::Sub, Value::Timestamp(a), Value::Timestamp(b)) => {
            Ok(Value::Timespan(Timespan(nanos(a.0, b.0, false)?)))
        }
        (BinaryOp::Add | BinaryOp::Sub, Value::Timestamp(a), n) if n.is_number() => {
            Ok(Value::Timestamp(Timestamp(nanos(a.0, seconds(n)?, !sub)?)))
        }
        (BinaryOp::Add, Value::Timespan(a), Value::Timestamp(b)) => {
            Ok(Value::Timestamp(Timestamp(nanos(a.0, b.0, true)?)))
        }
        (BinaryOp::Add | BinaryOp::Sub, Value::Timespan(a), Value::Timespan(b)) => {
            Ok(Value::Timespan(Timespan(nanos(a.0, b.0, !sub)?)))
        }
        (BinaryOp::Add | BinaryOp::Sub, Value::Timespan(a), n) if n.is_number() => {
            Ok(Value::Timespan(Timespan(nanos(a.0, seconds(n)?, !sub)?)))
        }
        (BinaryOp::Mul, Value::Timespan(a), Value::Integer(n)) => {
            a.0.checked_mul(i128::from(*n))
                .map(|t| Value::Timespan(Timespan(t)))
                .ok_or_else(overflow)
        }
        (BinaryOp::Mul, Value::Timespan(a), Value::Float(f)) => {
            seconds_to_nanos(a.0 as f64 * f / 1e9)
                .map(|t| Value::Timespan(Timespan(t)))
                .ok_or_else(overflow)
        }
        (BinaryOp::Div, Value::Timespan(_), Value::Timespan(Timespan(0))) => {
            Err(division_by_zero())
        }
        (BinaryOp::Div, Value::Timespan(_), n) if n.as_f64() == Some(0.0) => {
            Err(division_by_zero())
        }
        (BinaryOp::Div, Value::Timespan(a), Value::Timespan(b)) => {
            Ok(Value::Float(a.0 as f64 / b.0 as f64))
        }
        (BinaryOp::Div, Value::Timespan(a), Value::Integer(n)) => {
            a.0.checked_div_euclid(i128::from(*n))
                .map(|t| Value::Timespan(Timespan(t)))
                .ok_or_else(overflow)
        }
        (BinaryOp::Div, Value::Timespan(a), Value::Float(f)) => {
            Ok(Value::Timespan(Timespan((a.0 as f64 / f).floor() as i128)))
        }
        (_, left, right) => Err(not_applicable(format!(
            "Operator '{}' is not applicable to {} {} and {} {}",
            op_symbol(op),
            article(left.type_name()),
            left.type_name(),
            article(right.type_name()),
            right.type_name()
        ))),
    }
}

/// A number, or a string that spells one (Puppet converts `'2'` in arithmetic).
fn to_number(value: &Value, op: BinaryOp) -> OpResult {
    match value {
        Value::Integer(_) | Value::Float(_) => Ok(value.clone()),
        Value::String(s) => parse_number(s.trim()).ok_or_else(|| {
            OperatorError::new(
                OperatorErrorKind::NotNumeric,
                format!("The value '{s}' cannot be converted to Numeric"),
            )
        }),
        other => Err(not_applicable(format!(
            "Operator '{}' is not applicable to {} {}",
            op_symbol(op),
            article(other.type_name()),
            other.type_name()
        ))),
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

/// A number written as Puppet reads one: decimal, `0x` hex, `0` octal, or a float.
pub fn parse_number(text: &str) -> Option<Value> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let integer = if let Some(hex) = digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()
    } else if digits.len() > 1
        && digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        i64::from_str_radix(&digits[1..], 8).ok()
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    };
    if let Some(i) = integer {
        return Some(Value::Integer(if negative { -i } else { i }));
    }
    let looks_float = !digits.is_empty()
        && digits.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b));
    if looks_float {
        let f: f64 = digits.parse().ok()?;
        return Some(Value::Float(if negative { -f } else { f }));
    }
    None
}

fn numeric(op: BinaryOp, lhs: Value, rhs: Value) -> OpResult {
    match (lhs, rhs) {
        (Value::Integer(a), Value::Integer(b)) => integer_op(op, a, b),
        (a, b) => {
            let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            float_op(op, a, b)
        }
    }
}

fn integer_op(op: BinaryOp, a: i64, b: i64) -> OpResult {
    let overflow = || {
        OperatorError::new(
            OperatorErrorKind::Overflow,
            "Integer overflow: the result is outside the range of a 64-bit integer",
        )
    };
    let result = match op {
        BinaryOp::Add => a.checked_add(b).ok_or_else(overflow)?,
        BinaryOp::Sub => a.checked_sub(b).ok_or_else(overflow)?,
        BinaryOp::Mul => a.checked_mul(b).ok_or_else(overflow)?,
        BinaryOp::Div => {
            if b == 0 {
                return Err(division_by_zero());
            }
            a.checked_div_euclid(b).ok_or_else(overflow)?;
            floor_div(a, b)
        }
        BinaryOp::Mod => {
            if b == 0 {
                return Err(division_by_zero());
            }
            let r = a.wrapping_rem(b);
            if r != 0 && ((r < 0) != (b < 0)) {
                r + b
            } else {
                r
            }
        }
        BinaryOp::LShift => shift(a, b).ok_or_else(out_of_range)?,
        BinaryOp::RShift => {
            shift(a, b.checked_neg().unwrap_or(i64::MAX)).ok_or_else(out_of_range)?
        }
        _ => {
            return Err(not_applicable(format!(
                "Operator '{}' is not applicable here",
                op_symbol(op)
            )))
        }
    };
    Ok(Value::Integer(result))
}

/// Ruby's integer division rounds towards negative infinity.
fn floor_div(a: i64, b: i64) -> i64 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

fn out_of_range() -> OperatorError {
    OperatorError::new(
        OperatorErrorKind::Overflow,
        "the result is outside of Puppet Integer max range",
    )
}

/// A left shift that loses bits is an error, as in Puppet; a right shift floors.
fn shift(a: i64, by: i64) -> Option<i64> {
    if by >= 0 {
        if a == 0 {
            return Some(0);
        }
        let by = u32::try_from(by).ok().filter(|b| *b < 64)?;
        let shifted = a.checked_shl(by)?;
        (shifted >> by == a).then_some(shifted)
    } else {
        let by = by.unsigned_abs().min(63) as u32;
        Some(a >> by)
    }
}

fn float_op(op: BinaryOp, a: f64, b: f64) -> OpResult {
    let result = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => {
            if b == 0.0 {
                return Err(division_by_zero());
            }
            a / b
        }
        BinaryOp::Mod => return Err(not_applicable("Operator '%' is not applicable to a Float")),
        _ => {
            return Err(not_applicable(format!(
                "Operator '{}' is not applicable to a Float",
                op_symbol(op)
            )))
        }
    };
    Ok(Value::Float(result))
}

fn concat(lhs: Value, rhs: Value) -> Value {
    let Value::Array(mut items) = lhs else {
        return lhs;
    };
    match rhs {
        Value::Array(more) => items.extend(more),
        Value::Hash(map) => items.extend(map.into_iter().map(|(k, v)| Value::Array(vec![k, v]))),
        other => items.push(other),
    }
    Value::Array(items)
}

fn merge(lhs: Value, rhs: Value) -> OpResult {
    let Value::Hash(mut map) = lhs else {
        return Ok(lhs);
    };
    match rhs {
        Value::Hash(more) => map.extend(more),
        Value::Array(items) => {
            let pairs = if items.len() == 2 && !matches!(items[0], Value::Array(_)) {
                vec![Value::Array(items)]
            } else {
                items
            };
            for pair in pairs {
                match pair {
                    Value::Array(kv) if kv.len() == 2 => {
                        let mut kv = kv.into_iter();
                        let (k, v) = (
                            kv.next().unwrap_or(Value::Undef),
                            kv.next().unwrap_or(Value::Undef),
                        );
                        map.insert(k, v);
                    }
                    _ => {
                        return Err(not_applicable(
                            "Can only add an array of key/value pairs to a Hash",
                        ))
                    }
                }
            }
        }
        other => {
            return Err(not_applicable(format!(
                "Operator '+' is not applicable to a Hash and {} {}",
                article(other.type_name()),
                other.type_name()
            )))
        }
    }
    Ok(Value::Hash(map))
}

fn remove(lhs: Value, rhs: Value) -> Value {
    let Value::Array(items) = lhs else { return lhs };
    let removed: Vec<Value> = match rhs {
        Value::Array(r) => r,
        Value::Hash(map) => map
            .into_iter()
            .map(|(k, v)| Value::Array(vec![k, v]))
            .collect(),
        other => vec![other],
    };
    Value::Array(items.into_iter().filter(|v| !removed.contains(v)).collect())
}

fn remove_keys(lhs: Value, rhs: Value) -> OpResult {
    let Value::Hash(map) = lhs else {
        return Ok(lhs);
    };
    let keys: Vec<Value> = match rhs {
        Value::Hash(other) => other.into_keys().collect(),
        Value::Array(items) => items,
        other => vec![other],
    };
    let kept: HashMap = map.into_iter().filter(|(k, _)| !keys.contains(k)).collect();
    Ok(Value::Hash(kept))
}

/// `<`, `<=`, `>`, `>=`.
pub fn compare(op: BinaryOp, lhs: &Value, rhs: &Value) -> OpResult {
    let ordering = lhs.puppet_cmp(rhs).ok_or_else(|| {
        OperatorError::new(
            OperatorErrorKind::Incomparable,
            format!(
                "Comparison of: {} {} {}, is not possible",
                lhs.type_name(),
                op_symbol(op),
                rhs.type_name()
            ),
        )
    })?;
    let result = match op {
        BinaryOp::Lt => ordering == Ordering::Less,
        BinaryOp::Le => ordering != Ordering::Greater,
        BinaryOp::Gt => ordering == Ordering::Greater,
        _ => ordering != Ordering::Less,
    };
    Ok(Value::Bool(result))
}

pub fn op_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Or => "or",
        BinaryOp::And => "and",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::Ge => ">=",
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::LShift => "<<",
        BinaryOp::RShift => ">>",
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Mod => "%",
        BinaryOp::Match => "=~",
        BinaryOp::NotMatch => "!~",
        BinaryOp::In => "in",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> Value {
        Value::Integer(i)
    }

    #[test]
    fn integer_division_floors_and_modulo_takes_the_divisors_sign() {
        assert_eq!(arithmetic(BinaryOp::Div, int(7), int(2)), Ok(int(3)));
        assert_eq!(arithmetic(BinaryOp::Div, int(-7), int(2)), Ok(int(-4)));
        assert_eq!(arithmetic(BinaryOp::Mod, int(-7), int(3)), Ok(int(2)));
        assert!(arithmetic(BinaryOp::Div, int(1), int(0)).is_err());
        assert!(arithmetic(BinaryOp::Mul, int(i64::MAX), int(2)).is_err());
    }

    #[test]
    fn strings_that_spell_numbers_take_part_in_arithmetic() {
        assert_eq!(arithmetic(BinaryOp::Add, int(1), "2".into()), Ok(int(3)));
        assert_eq!(
            arithmetic(BinaryOp::Add, "0x10".into(), int(0)),
            Ok(int(16))
        );
        assert!(arithmetic(BinaryOp::Add, "a".into(), int(1)).is_err());
    }

    #[test]
    fn arrays_concatenate_and_remove() {
        let a = Value::Array(vec![int(1), int(2), int(3)]);
        assert_eq!(
            arithmetic(BinaryOp::Sub, a, Value::Array(vec![int(2)])),
            Ok(Value::Array(vec![int(1), int(3)]))
        );
    }

    #[test]
    fn a_failure_says_what_kind_it_is() {
        let kind = |op, a: Value, b: Value| arithmetic(op, a, b).unwrap_err().kind();
        assert_eq!(
            kind(BinaryOp::Add, "a".into(), int(1)),
            OperatorErrorKind::NotNumeric
        );
        assert_eq!(
            kind(BinaryOp::Div, int(1), int(0)),
            OperatorErrorKind::DivisionByZero
        );
        assert_eq!(
            kind(BinaryOp::Mul, int(i64::MAX), int(2)),
            OperatorErrorKind::Overflow
        );
        assert_eq!(
            kind(BinaryOp::Mod, Value::Float(1.5), int(1)),
            OperatorErrorKind::NotApplicable
        );
        let incomparable = compare(BinaryOp::Lt, &int(1), &Value::Array(vec![])).unwrap_err();
        assert_eq!(incomparable.kind(), OperatorErrorKind::Incomparable);
        assert_eq!(
            incomparable.to_string(),
            "Comparison of: Integer < Array, is not possible"
        );
    }
}
