//! Puppet values, their string forms exactly as Puppet prints them, and Puppet's equality and
//! ordering rules (`'a' == 'A'`, `1 == 1.0`, `'10' < '9'`).

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};

use indexmap::IndexMap;

use super::time::{Timespan, Timestamp};
use super::types::Type;

pub type HashMap = IndexMap<Value, Value>;

#[derive(Clone, Debug)]
pub enum Value {
    Undef,
    Default,
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
    /// The pattern, as written between the slashes.
    Regex(String),
    Array(Vec<Value>),
    Hash(HashMap),
    /// A data type; resource references such as `Notify['x']` are types too.
    Type(Box<Type>),
    /// `Sensitive('secret')`: a value that prints as `Sensitive [value redacted]` everywhere.
    Sensitive(Secret),
    Timestamp(Timestamp),
    Timespan(Timespan),
    /// Bytes; printed as strict base64.
    Binary(Vec<u8>),
}

/// What a `Sensitive` wraps. Its `Debug` is redacted too, so a `{:?}` of a value in a log
/// cannot show it; only [`Secret::reveal`] gives it back.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(Box<Value>);

/// How every output of a sensitive value reads.
pub const REDACTED: &str = crate::protocol::REDACTED;

impl Secret {
    /// Wraps a value; a sensitive value is not wrapped twice (`Sensitive(Sensitive('x'))` is
    /// one `Sensitive`).
    pub fn wrap(value: Value) -> Value {
        match value {
            Value::Sensitive(_) => value,
            other => Value::Sensitive(Secret(Box::new(other))),
        }
    }

    pub fn reveal(&self) -> &Value {
        &self.0
    }

    pub fn into_inner(self) -> Value {
        *self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Value {
    pub fn string(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    /// Puppet's truthiness: only `undef` and `false` are false (`''` and `[]` are true).
    pub fn is_true(&self) -> bool {
        !matches!(self, Value::Undef | Value::Bool(false))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Value::Integer(_) | Value::Float(_))
    }

    /// The value as an `f64`, for numbers.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Integer(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The word Puppet uses for this value's type in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Undef => "Undef",
            Value::Default => "Default",
            Value::Bool(_) => "Boolean",
            Value::Integer(_) => "Integer",
            Value::Float(_) => "Float",
            Value::String(_) => "String",
            Value::Regex(_) => "Regexp",
            Value::Array(_) => "Array",
            Value::Hash(_) => "Hash",
            Value::Type(_) => "Type",
            Value::Sensitive(_) => "Sensitive",
            Value::Timestamp(_) => "Timestamp",
            Value::Timespan(_) => "Timespan",
            Value::Binary(_) => "Binary",
        }
    }

    /// The string a value becomes in interpolation and in `notice`: strings as they are, `undef`
    /// as nothing, everything else in its printed form.
    pub fn to_display_string(&self) -> String {
        match self {
            Value::String(s) => s.clone(),
            Value::Undef => String::new(),
            other => other.to_string(),
        }
    }

    /// Whether a `Sensitive` value is in it, at any depth (hash keys included).
    pub fn holds_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::Array(items) => items.iter().any(Value::holds_sensitive),
            Value::Hash(map) => map
                .iter()
                .any(|(key, value)| key.holds_sensitive() || value.holds_sensitive()),
            _ => false,
        }
    }

    /// The names a filter value holds: a string, or the strings of a (nested) array; `undef`
    /// holds none.
    pub fn words(&self) -> Vec<String> {
        match self {
            Value::Array(items) => items.iter().flat_map(Value::words).collect(),
            Value::Undef => vec![],
            other => vec![other.to_display_string()],
        }
    }

    /// Whether arrays and hashes nest deeper than `limit` (checked without recursion).
    pub fn nesting_exceeds(&self, limit: usize) -> bool {
        let mut stack: Vec<(&Value, usize)> = vec![(self, 0)];
        while let Some((value, depth)) = stack.pop() {
            if depth > limit {
                return true;
            }
            match value {
                Value::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
                Value::Hash(map) => stack.extend(map.values().map(|v| (v, depth + 1))),
                _ => {}
            }
        }
        false
    }

    /// The text a value becomes inside a string: like `to_display_string`, but `default`
    /// interpolates as nothing.
    pub fn to_interpolated_string(&self) -> String {
        match self {
            Value::Default => String::new(),
            other => other.to_display_string(),
        }
    }

    /// Puppet's `==`: strings compare case-insensitively, integers equal floats of the same
    /// value, and arrays and hashes compare element by element with the same rule.
    pub fn puppet_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::String(a), Value::String(b)) => {
                a.len() == b.len() && a.to_lowercase() == b.to_lowercase()
            }
            (a, b) if a.is_number() && b.is_number() => a.as_f64() == b.as_f64(),
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.puppet_eq(y))
            }
            (Value::Hash(a), Value::Hash(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.puppet_eq(w)))
            }
            (a, b) => a == b,
        }
    }

    /// Puppet's `<` family: numbers with numbers, strings with strings (case-insensitively),
    /// and nothing else.
    pub fn puppet_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (a, b) if a.is_number() && b.is_number() => a.as_f64()?.partial_cmp(&b.as_f64()?),
            (Value::String(a), Value::String(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
            (Value::Timestamp(a), Value::Timestamp(b)) => Some(a.cmp(b)),
            (Value::Timespan(a), Value::Timespan(b)) => Some(a.cmp(b)),
            // A time compares with a number as its seconds.
            (Value::Timestamp(t), n) if n.is_number() => {
                (t.0 as f64 / 1e9).partial_cmp(&n.as_f64()?)
            }
            (Value::Timespan(t), n) if n.is_number() => t.seconds().partial_cmp(&n.as_f64()?),
            (n, Value::Timestamp(_) | Value::Timespan(_)) if n.is_number() => {
                other.puppet_cmp(self).map(Ordering::reverse)
            }
            (Value::Type(a), Value::Type(b)) => {
                if a == b {
                    Some(Ordering::Equal)
                } else if a.is_assignable(b) {
                    Some(Ordering::Greater)
                } else if b.is_assignable(a) {
                    Some(Ordering::Less)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// The order `sort` uses: numbers before strings, strings by their bytes.
    pub fn sort_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (a, b) if a.is_number() && b.is_number() => a
                .as_f64()
                .partial_cmp(&b.as_f64())
                .unwrap_or(Ordering::Equal),
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (a, b) if a.is_number() => {
                let _ = b;
                Ordering::Less
            }
            (_, b) if b.is_number() => Ordering::Greater,
            (a, b) => a.to_string().cmp(&b.to_string()),
        }
    }
}

/// Strict equality, as hash keys and `unique` use it: `'a'` and `'A'` are different keys.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Undef, Value::Undef) | (Value::Default, Value::Default) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Integer(a), Value::Integer(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::String(a), Value::String(b)) | (Value::Regex(a), Value::Regex(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Hash(a), Value::Hash(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
            }
            (Value::Type(a), Value::Type(b)) => a == b,
            (Value::Sensitive(a), Value::Sensitive(b)) => a == b,
            (Value::Timestamp(a), Value::Timestamp(b)) => a == b,
            (Value::Timespan(a), Value::Timespan(b)) => a == b,
            (Value::Binary(a), Value::Binary(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Bool(b) => b.hash(state),
            Value::Integer(i) => i.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::String(s) | Value::Regex(s) => s.hash(state),
            Value::Array(items) => items.hash(state),
            Value::Hash(map) => map.len().hash(state),
            Value::Type(t) => t.to_string().hash(state),
            Value::Sensitive(secret) => secret.hash(state),
            Value::Timestamp(t) => t.hash(state),
            Value::Timespan(t) => t.hash(state),
            Value::Binary(bytes) => bytes.hash(state),
            Value::Undef | Value::Default => {}
        }
    }
}

/// Puppet's printed form (`notice`, and the inside of arrays and hashes): `[1, a, 2.0]`,
/// `{a => 1}`, `/re/`, `Notify['x']`, `default`; `undef` inside a collection prints as nothing.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Undef => Ok(()),
            Value::Default => f.write_str("default"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&format_float(*x)),
            Value::String(s) => f.write_str(s),
            Value::Regex(r) => write!(f, "/{r}/"),
            Value::Array(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_nested(f, item)?;
                }
                f.write_char(']')
            }
            Value::Hash(map) => {
                f.write_char('{')?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_nested(f, k)?;
                    f.write_str(" => ")?;
                    write_nested(f, v)?;
                }
                f.write_char('}')
            }
            Value::Type(t) => write!(f, "{t}"),
            Value::Sensitive(_) => f.write_str(REDACTED),
            Value::Timestamp(t) => write!(f, "{t}"),
            Value::Timespan(t) => write!(f, "{t}"),
            Value::Binary(bytes) => f.write_str(&base64_strict(bytes)),
        }
    }
}

/// Bytes as RFC 4648 base64 with padding and no line breaks: how a Binary prints.
pub fn base64_strict(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Inside a collection strings print bare, as Puppet 7's `notice` does.
fn write_nested(f: &mut fmt::Formatter<'_>, value: &Value) -> fmt::Result {
    write!(f, "{value}")
}

/// Ruby's `Float#to_s`: at least one decimal, exponent form from 1e16 on and below 1e-4.
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let abs = x.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let text = format!("{x:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let text = format!("{x}");
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Integer(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// Values to JSON for output (the step graph, reports): types, regexes, times and binaries
/// become their printed form, `default` becomes null like `undef`, and a sensitive value
/// stays redacted. Step parameters sent to a node use [`Value::reveal_json`].
impl From<&Value> for serde_json::Value {
    fn from(value: &Value) -> serde_json::Value {
        value.to_json(false)
    }
}

impl Value {
    /// JSON with sensitive values unwrapped: only for what a node must receive.
    pub fn reveal_json(&self) -> serde_json::Value {
        self.to_json(true)
    }

    fn to_json(&self, reveal: bool) -> serde_json::Value {
        use serde_json::Value as Json;
        match self {
            Value::Sensitive(secret) if reveal => secret.reveal().to_json(reveal),
            Value::Undef | Value::Default => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Integer(i) => Json::from(*i),
            Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
            Value::String(s) => Json::String(s.clone()),
            Value::Array(items) => Json::Array(items.iter().map(|v| v.to_json(reveal)).collect()),
            Value::Hash(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (json_key(k, reveal), v.to_json(reveal)))
                    .collect(),
            ),
            other => Json::String(other.to_string()),
        }
    }
}

fn json_key(key: &Value, reveal: bool) -> String {
    match key {
        Value::Sensitive(secret) if reveal => secret.reveal().to_display_string(),
        other => other.to_display_string(),
    }
}

/// JSON to values: how `name=value` playbook arguments and RPC replies enter the language.
impl From<&serde_json::Value> for Value {
    fn from(json: &serde_json::Value) -> Value {
        use serde_json::Value as Json;
        match json {
            Json::Null => Value::Undef,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => n
                .as_i64()
                .map(Value::Integer)
                .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN))),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::Array(items.iter().map(Into::into).collect()),
            Json::Object(map) => Value::Hash(
                map.iter()
                    .map(|(k, v)| (Value::String(k.clone()), v.into()))
                    .collect(),
            ),
        }
    }
}

/// YAML to values: how Hiera's `yaml_data` and `parseyaml` read data. A tagged value is its
/// content; a number too large for an Integer is a Float, as Ruby's YAML reads it.
impl From<&serde_yaml_ng::Value> for Value {
    fn from(yaml: &serde_yaml_ng::Value) -> Value {
        use serde_yaml_ng::Value as Yaml;
        match yaml {
            Yaml::Null => Value::Undef,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Number(n) => n
                .as_i64()
                .map(Value::Integer)
                .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN))),
            Yaml::String(s) => Value::String(s.clone()),
            Yaml::Sequence(items) => Value::Array(items.iter().map(Into::into).collect()),
            Yaml::Mapping(map) => {
                Value::Hash(map.iter().map(|(k, v)| (k.into(), v.into())).collect())
            }
            Yaml::Tagged(tagged) => (&tagged.value).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_ruby_prints_them() {
        assert_eq!(format_float(5.0), "5.0");
        assert_eq!(format_float(2.5), "2.5");
        assert_eq!(format_float(1000.0), "1000.0");
        assert_eq!(format_float(1.5e20), "1.5e+20");
        assert_eq!(format_float(1e16), "1.0e+16");
        assert_eq!(format_float(0.00001), "1.0e-05");
        assert_eq!(format_float(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_float(-0.5), "-0.5");
    }

    #[test]
    fn collections_print_as_puppet_prints_them() {
        let mut map = HashMap::new();
        map.insert("a".into(), Value::Integer(1));
        map.insert(
            "b c".into(),
            Value::Array(vec![Value::Integer(2), Value::Undef]),
        );
        let value = Value::Array(vec![
            Value::Integer(1),
            "a".into(),
            Value::Float(2.0),
            Value::Undef,
            Value::Bool(true),
            Value::Hash(map),
            Value::Regex("re".into()),
            Value::Default,
        ]);
        assert_eq!(
            value.to_string(),
            "[1, a, 2.0, , true, {a => 1, b c => [2, ]}, /re/, default]"
        );
    }

    #[test]
    fn equality_is_case_insensitive_and_numeric() {
        assert!(Value::from("a").puppet_eq(&"A".into()));
        assert!(Value::Integer(1).puppet_eq(&Value::Float(1.0)));
        assert!(!Value::from("1").puppet_eq(&Value::Integer(1)));
        assert_ne!(Value::from("a"), Value::from("A"));
        assert_eq!(
            Value::from("10").puppet_cmp(&"9".into()),
            Some(Ordering::Less)
        );
    }

    #[test]
    fn a_sensitive_value_is_redacted_except_where_a_node_needs_it() {
        let secret = Secret::wrap("hunter2".into());
        let mut map = HashMap::new();
        map.insert("token".into(), secret.clone());
        let value = Value::Hash(map);
        assert_eq!(value.to_string(), "{token => Sensitive [value redacted]}");
        assert!(!format!("{value:?}").contains("hunter2"));
        let shown = serde_json::Value::from(&value);
        assert_eq!(shown["token"], "Sensitive [value redacted]");
        assert_eq!(value.reveal_json()["token"], "hunter2");
        assert_eq!(Secret::wrap(secret.clone()), secret);
    }
}
