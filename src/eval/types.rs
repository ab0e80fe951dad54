//! Puppet's data types: what `Integer[1, 2]` or `Array[String]` means, whether a value is an
//! instance of one (`$x =~ Array[String]`, typed parameters), and how each prints.

use std::fmt;

use regex::Regex;

use super::evaluator::ruby_to_rust_regex;

use super::time::{Timespan, Timestamp};
use super::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    Any,
    Undef,
    Default,
    Boolean,
    /// `Boolean[true]`: the type `type(true)` reports.
    BooleanValue(bool),
    /// The type of an empty array's elements.
    Unit,
    Integer(i64, i64),
    Float(f64, f64),
    Numeric,
    String(i64, i64),
    Enum(Vec<String>),
    Pattern(Vec<String>),
    Regexp(Option<String>),
    Scalar,
    ScalarData,
    Data,
    RichData,
    Collection(i64, i64),
    Array(Box<Type>, i64, i64),
    Hash(Box<Type>, Box<Type>, i64, i64),
    Tuple(Vec<Type>),
    Struct(Vec<StructMember>),
    Optional(Box<Type>),
    NotUndef(Box<Type>),
    Variant(Vec<Type>),
    /// `Type` or `Type[T]`.
    Type(Box<Type>),
    /// `Resource`, `Notify`, `Notify['x']`: a resource type and maybe a title.
    Resource(Option<String>, Option<String>),
    Class(Option<String>),
    Callable,
    Iterable,
    /// `Sensitive[String]`: a sensitive value whose wrapped value is of the type.
    Sensitive(Box<Type>),
    /// `Timestamp['2021-01-01T00:00:00.000000000 UTC']`: the times from one to the other
    /// (either end open).
    Timestamp(Option<Timestamp>, Option<Timestamp>),
    Timespan(Option<Timespan>, Option<Timespan>),
    Binary,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StructMember {
    pub key: String,
    pub optional: bool,
    pub value: Type,
}

pub const INT_MIN: i64 = i64::MIN;
pub const INT_MAX: i64 = i64::MAX;

impl Type {
    /// The type a bare capitalised name stands for, or `None` when it names a resource type
    /// (`Notify`, `App::Update`).
    pub fn named(name: &str) -> Option<Type> {
        Some(match name {
            "Any" => Type::Any,
            "Undef" => Type::Undef,
            "Default" => Type::Default,
            "Boolean" => Type::Boolean,
            "Integer" => Type::Integer(INT_MIN, INT_MAX),
            "Float" => Type::Float(f64::NEG_INFINITY, f64::INFINITY),
            "Numeric" => Type::Numeric,
            "String" => Type::String(0, INT_MAX),
            "Enum" => Type::Enum(vec![]),
            "Pattern" => Type::Pattern(vec![]),
            "Regexp" => Type::Regexp(None),
            "Scalar" => Type::Scalar,
            "ScalarData" => Type::ScalarData,
            "Data" => Type::Data,
            "RichData" => Type::RichData,
            "Collection" => Type::Collection(0, INT_MAX),
            "Array" => Type::Array(Box::new(Type::Any), 0, INT_MAX),
            "Hash" => Type::Hash(Box::new(Type::Any), Box::new(Type::Any), 0, INT_MAX),
            "Tuple" => Type::Tuple(vec![]),
            "Struct" => Type::Struct(vec![]),
            "Optional" => Type::Optional(Box::new(Type::Any)),
            "NotUndef" => Type::NotUndef(Box::new(Type::Any)),
            "Variant" => Type::Variant(vec![]),
            "Type" => Type::Type(Box::new(Type::Any)),
            "Resource" => Type::Resource(None, None),
            "Class" => Type::Class(None),
            "Callable" => Type::Callable,
            "Iterable" => Type::Iterable,
            "Sensitive" => Type::Sensitive(Box::new(Type::Any)),
            "Timestamp" => Type::Timestamp(None, None),
            "Timespan" => Type::Timespan(None, None),
            "Binary" => Type::Binary,
            _ => return None,
        })
    }

    /// Whether `value` is an instance of this type.
    pub fn is_instance(&self, value: &Value) -> bool {
        match (self, value) {
            (Type::Any, _) => true,
            (Type::Undef, v) => matches!(v, Value::Undef),
            (Type::Default, v) => matches!(v, Value::Default),
            (Type::Boolean, v) => matches!(v, Value::Bool(_)),
            (Type::BooleanValue(b), Value::Bool(v)) => b == v,
            (Type::Integer(lo, hi), Value::Integer(i)) => lo <= i && i <= hi,
            (Type::Float(lo, hi), Value::Float(f)) => *lo <= *f && *f <= *hi,
            (Type::Numeric, v) => v.is_number(),
            (Type::String(lo, hi), Value::String(s)) => in_range(s.chars().count(), *lo, *hi),
            (Type::Enum(words), Value::String(s)) => words.is_empty() || words.contains(s),
            (Type::Pattern(patterns), Value::String(s)) => {
                patterns.is_empty()
                    || patterns
                        .iter()
                        .any(|p| Regex::new(&ruby_to_rust_regex(p)).is_ok_and(|re| re.is_match(s)))
            }
            (Type::Regexp(None), Value::Regex(_)) => true,
            (Type::Regexp(Some(p)), Value::Regex(r)) => p == r,
            (Type::Scalar, v) => is_scalar(v),
            (Type::ScalarData, v) => is_scalar_data(v),
            (Type::Data, v) => is_data(v),
            (Type::RichData, v) => !matches!(v, Value::Type(t) if matches!(**t, Type::Callable)),
            (Type::Collection(lo, hi), Value::Array(a)) => in_range(a.len(), *lo, *hi),
            (Type::Collection(lo, hi), Value::Hash(h)) => in_range(h.len(), *lo, *hi),
            (Type::Array(of, lo, hi), Value::Array(a)) => {
                in_range(a.len(), *lo, *hi) && a.iter().all(|v| of.is_instance(v))
            }
            (Type::Hash(k, v, lo, hi), Value::Hash(h)) => {
                in_range(h.len(), *lo, *hi)
                    && h.iter()
                        .all(|(key, val)| k.is_instance(key) && v.is_instance(val))
            }
            (Type::Tuple(types), Value::Array(a)) => {
                types.len() == a.len() && types.iter().zip(a).all(|(t, v)| t.is_instance(v))
            }
            (Type::Struct(members), Value::Hash(h)) => struct_matches(members, h),
            (Type::Optional(t), v) => matches!(v, Value::Undef) || t.is_instance(v),
            (Type::NotUndef(t), v) => !matches!(v, Value::Undef) && t.is_instance(v),
            (Type::Variant(types), v) => types.iter().any(|t| t.is_instance(v)),
            (Type::Type(t), Value::Type(v)) => t.is_assignable(v),
            (Type::Sensitive(t), Value::Sensitive(secret)) => t.is_instance(secret.reveal()),
            (Type::Timestamp(from, to), Value::Timestamp(t)) => within(t, from, to),
            (Type::Timespan(from, to), Value::Timespan(t)) => within(t, from, to),
            (Type::Binary, Value::Binary(_)) => true,
            (Type::Iterable, v) => {
                matches!(v, Value::Array(_) | Value::Hash(_) | Value::String(_))
                    || matches!(v, Value::Integer(i) if *i >= 0)
            }
            _ => false,
        }
    }

    /// Whether every instance of `other` is an instance of this type (a useful approximation:
    /// exact for the types playbooks use).
    pub fn is_assignable(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Any, _) => true,
            (a, b) if a == b => true,
            (Type::Integer(lo, hi), Type::Integer(l, h)) => lo <= l && h <= hi,
            (Type::Numeric, Type::Integer(..) | Type::Float(..)) => true,
            (Type::String(lo, hi), Type::String(l, h)) => lo <= l && h <= hi,
            (Type::Scalar, t) => matches!(
                t,
                Type::Integer(..)
                    | Type::Float(..)
                    | Type::Numeric
                    | Type::String(..)
                    | Type::Boolean
                    | Type::Regexp(_)
                    | Type::Enum(_)
                    | Type::Pattern(_)
            ),
            (Type::Optional(t), other) => matches!(other, Type::Undef) || t.is_assignable(other),
            (Type::Variant(types), other) => types.iter().any(|t| t.is_assignable(other)),
            (Type::Resource(None, None), Type::Resource(..)) => true,
            (Type::Resource(Some(a), None), Type::Resource(Some(b), _)) => {
                a.eq_ignore_ascii_case(b)
            }
            (Type::Class(None), Type::Class(_)) => true,
            (Type::Type(a), Type::Type(b)) => a.is_assignable(b),
            (Type::Array(a, ..), Type::Array(b, ..)) => a.is_assignable(b),
            (Type::Sensitive(a), Type::Sensitive(b)) => a.is_assignable(b),
            (Type::Timestamp(None, None), Type::Timestamp(..))
            | (Type::Timespan(None, None), Type::Timespan(..)) => true,
            (Type::Collection(..), Type::Array(..) | Type::Hash(..)) => true,
            (Type::Data, t) | (Type::RichData, t) => !matches!(t, Type::Callable),
            _ => false,
        }
    }

    /// The most specific type of a value, as `type($x)` reports it.
    pub fn infer(value: &Value) -> Type {
        match value {
            Value::Undef => Type::Undef,
            Value::Default => Type::Default,
            Value::Bool(b) => Type::BooleanValue(*b),
            Value::Integer(i) => Type::Integer(*i, *i),
            Value::Float(f) => Type::Float(*f, *f),
            Value::String(_) => Type::String(0, INT_MAX),
            Value::Regex(r) => Type::Regexp(Some(r.clone())),
            Value::Array(items) if !items.is_empty() => {
                Type::Tuple(items.iter().map(Type::infer).collect())
            }
            Value::Array(_) => Type::Array(Box::new(Type::Any), 0, 0),
            Value::Hash(map) if !map.is_empty() && map.keys().all(|k| k.as_str().is_some()) => {
                Type::Struct(
                    map.iter()
                        .map(|(k, v)| StructMember {
                            key: k.to_display_string(),
                            optional: false,
                            value: Type::infer(v),
                        })
                        .collect(),
                )
            }
            Value::Hash(map) => {
                let len = map.len() as i64;
                Type::Hash(
                    Box::new(common_type(map.keys())),
                    Box::new(common_type(map.values())),
                    len,
                    len,
                )
            }
            Value::Type(t) => Type::Type(t.clone()),
            // Puppet generalizes what a Sensitive holds: `Sensitive('x')` is a Sensitive[String].
            Value::Sensitive(secret) => {
                Type::Sensitive(Box::new(Type::infer(secret.reveal()).generalize()))
            }
            Value::Timestamp(t) => Type::Timestamp(Some(*t), Some(*t)),
            Value::Timespan(t) => Type::Timespan(Some(*t), Some(*t)),
            Value::Binary(_) => Type::Binary,
        }
    }

    /// The type of a value with arrays and hashes described by their common element types,
    /// as `type($x, 'reduced')` reports it.
    pub fn infer_reduced(value: &Value) -> Type {
        match value {
            Value::String(s) => Type::Enum(vec![s.clone()]),
            Value::Array(items) => {
                let len = items.len() as i64;
                let of = items
                    .iter()
                    .map(Type::infer_reduced)
                    .reduce(unify)
                    .unwrap_or(Type::Unit);
                Type::Array(Box::new(of), len, len)
            }
            Value::Hash(map) => {
                let len = map.len() as i64;
                let k = map
                    .keys()
                    .map(Type::infer_reduced)
                    .reduce(unify)
                    .unwrap_or(Type::Unit);
                let v = map
                    .values()
                    .map(Type::infer_reduced)
                    .reduce(unify)
                    .unwrap_or(Type::Unit);
                Type::Hash(Box::new(k), Box::new(v), len, len)
            }
            other => Type::infer(other),
        }
    }

    /// The type without its sizes and values, as `type($x, 'generalized')` reports it.
    pub fn generalize(self) -> Type {
        match self {
            Type::BooleanValue(_) => Type::Boolean,
            Type::Tuple(types) => {
                let of = types
                    .into_iter()
                    .map(Type::generalize)
                    .reduce(unify_general)
                    .unwrap_or(Type::Unit);
                Type::Array(Box::new(of), 0, INT_MAX)
            }
            Type::Struct(members) => {
                let of = members
                    .into_iter()
                    .map(|m| m.value.generalize())
                    .reduce(unify_general)
                    .unwrap_or(Type::Unit);
                Type::Hash(Box::new(Type::String(0, INT_MAX)), Box::new(of), 0, INT_MAX)
            }
            Type::Array(of, 0, 0) if matches!(*of, Type::Any) => {
                Type::Array(Box::new(Type::Unit), 0, INT_MAX)
            }
            Type::Integer(..) => Type::Integer(INT_MIN, INT_MAX),
            Type::Float(..) => Type::Float(f64::NEG_INFINITY, f64::INFINITY),
            Type::String(..) | Type::Enum(_) | Type::Pattern(_) => Type::String(0, INT_MAX),
            Type::Regexp(_) => Type::Regexp(None),
            Type::Array(of, ..) => Type::Array(Box::new(of.generalize()), 0, INT_MAX),
            Type::Hash(k, v, ..) => Type::Hash(
                Box::new(k.generalize()),
                Box::new(v.generalize()),
                0,
                INT_MAX,
            ),
            Type::Optional(t) => Type::Optional(Box::new(t.generalize())),
            Type::Variant(ts) => Type::Variant(ts.into_iter().map(Type::generalize).collect()),
            Type::Sensitive(t) => Type::Sensitive(Box::new(t.generalize())),
            Type::Timestamp(..) => Type::Timestamp(None, None),
            Type::Timespan(..) => Type::Timespan(None, None),
            other => other,
        }
    }
}

/// The common type of generalized types: equal types stay, scalar data meet in ScalarData.
fn unify_general(a: Type, b: Type) -> Type {
    match (a, b) {
        (a, b) if a == b => a,
        (Type::Integer(..) | Type::Float(..), Type::Integer(..) | Type::Float(..)) => Type::Numeric,
        (a, b) if is_scalar_data_type(&a) && is_scalar_data_type(&b) => Type::ScalarData,
        _ => Type::Any,
    }
}

fn is_scalar_data_type(t: &Type) -> bool {
    matches!(
        t,
        Type::Integer(..)
            | Type::Float(..)
            | Type::Numeric
            | Type::String(..)
            | Type::Boolean
            | Type::ScalarData
    )
}

fn within<T: PartialOrd>(value: &T, from: &Option<T>, to: &Option<T>) -> bool {
    from.as_ref().is_none_or(|f| f <= value) && to.as_ref().is_none_or(|t| value <= t)
}

fn in_range(len: usize, lo: i64, hi: i64) -> bool {
    let len = len as i64;
    lo <= len && len <= hi
}

fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Bool(_)
            | Value::Integer(_)
            | Value::Float(_)
            | Value::String(_)
            | Value::Regex(_)
            | Value::Timestamp(_)
            | Value::Timespan(_)
    )
}

fn is_scalar_data(v: &Value) -> bool {
    matches!(
        v,
        Value::Bool(_) | Value::Integer(_) | Value::Float(_) | Value::String(_)
    )
}

fn is_data(v: &Value) -> bool {
    match v {
        Value::Undef => true,
        Value::Array(items) => items.iter().all(is_data),
        Value::Hash(map) => map
            .iter()
            .all(|(k, v)| matches!(k, Value::String(_)) && is_data(v)),
        other => is_scalar_data(other),
    }
}

fn struct_matches(members: &[StructMember], hash: &super::value::HashMap) -> bool {
    let known = hash.keys().all(|k| {
        k.as_str()
            .is_some_and(|k| members.iter().any(|m| m.key == k))
    });
    known
        && members
            .iter()
            .all(|m| match hash.get(&Value::String(m.key.clone())) {
                Some(v) => m.value.is_instance(v),
                None => m.optional || m.value.is_instance(&Value::Undef),
            })
}

/// The narrowest of a few common types that holds every value (Puppet's inference unions the
/// element types; this is enough for printing and matching).
fn common_type<'a>(mut values: impl Iterator<Item = &'a Value>) -> Type {
    let Some(first) = values.next() else {
        return Type::Any;
    };
    let mut common = Type::infer(first);
    for value in values {
        common = unify(common, Type::infer(value));
    }
    common
}

fn unify(a: Type, b: Type) -> Type {
    match (a, b) {
        (a, b) if a == b => a,
        (Type::Integer(l1, h1), Type::Integer(l2, h2)) => Type::Integer(l1.min(l2), h1.max(h2)),
        (Type::Float(l1, h1), Type::Float(l2, h2)) => Type::Float(l1.min(l2), h1.max(h2)),
        (Type::Enum(mut a), Type::Enum(b)) => {
            for word in b {
                if !a.contains(&word) {
                    a.push(word);
                }
            }
            Type::Enum(a)
        }
        (Type::Integer(..) | Type::Float(..), Type::Integer(..) | Type::Float(..)) => Type::Numeric,
        (a, b) if is_scalar_type(&a) && is_scalar_type(&b) => Type::Scalar,
        _ => Type::Any,
    }
}

fn is_scalar_type(t: &Type) -> bool {
    matches!(
        t,
        Type::Integer(..)
            | Type::Float(..)
            | Type::Numeric
            | Type::Enum(_)
            | Type::String(..)
            | Type::Boolean
            | Type::Regexp(_)
            | Type::Scalar
    )
}

/// A resource type's name as Puppet prints it: each segment capitalised (`App::Update`).
pub fn capitalize_type_name(name: &str) -> String {
    name.split("::")
        .map(|segment| {
            let mut chars = segment.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("::")
}

fn write_bound(f: &mut fmt::Formatter<'_>, value: i64, is_default: bool) -> fmt::Result {
    if is_default {
        f.write_str("default")
    } else {
        write!(f, "{value}")
    }
}

/// `Integer[1, 2]`, `String[1]`, `Array[String]`, `Notify['x']`: each with the parameters
/// that differ from the defaults, as Puppet prints them.
impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Integer(lo, hi) => {
                f.write_str("Integer")?;
                write_range(f, *lo, *hi, INT_MIN)
            }
            Type::Float(lo, hi) => {
                f.write_str("Float")?;
                match (lo.is_infinite(), hi.is_infinite()) {
                    (true, true) => Ok(()),
                    (false, true) => write!(f, "[{}]", super::value::format_float(*lo)),
                    (true, false) => {
                        write!(f, "[default, {}]", super::value::format_float(*hi))
                    }
                    (false, false) => write!(
                        f,
                        "[{}, {}]",
                        super::value::format_float(*lo),
                        super::value::format_float(*hi)
                    ),
                }
            }
            Type::String(lo, hi) => {
                f.write_str("String")?;
                write_range(f, *lo, *hi, 0)
            }
            Type::Collection(lo, hi) => {
                f.write_str("Collection")?;
                write_range(f, *lo, *hi, 0)
            }
            Type::Enum(words) => write_list(f, "Enum", words.iter().map(|w| quote(w))),
            Type::Pattern(ps) => write_list(f, "Pattern", ps.iter().map(|p| format!("/{p}/"))),
            Type::Regexp(None) => f.write_str("Regexp"),
            Type::Regexp(Some(p)) => write!(f, "Regexp[/{p}/]"),
            Type::Array(of, lo, hi) => {
                f.write_str("Array")?;
                write_container(f, &[of], *lo, *hi)
            }
            Type::Hash(k, v, lo, hi) => {
                f.write_str("Hash")?;
                write_container(f, &[k, v], *lo, *hi)
            }
            Type::Tuple(ts) => write_list(f, "Tuple", ts.iter().map(|t| t.to_string())),
            Type::Struct(members) => {
                f.write_str("Struct[{")?;
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if m.optional {
                        write!(f, "Optional[{}] => {}", quote(&m.key), m.value)?;
                    } else {
                        write!(f, "{} => {}", quote(&m.key), m.value)?;
                    }
                }
                f.write_str("}]")
            }
            Type::Optional(t) => write_wrapped(f, "Optional", t),
            Type::NotUndef(t) => write_wrapped(f, "NotUndef", t),
            Type::Type(t) => write_wrapped(f, "Type", t),
            Type::Sensitive(t) => write_wrapped(f, "Sensitive", t),
            Type::Timestamp(from, to) => write_time_range(f, "Timestamp", from, to),
            Type::Timespan(from, to) => write_time_range(f, "Timespan", from, to),
            Type::Variant(ts) => write_list(f, "Variant", ts.iter().map(|t| t.to_string())),
            Type::Resource(None, _) => f.write_str("Resource"),
            Type::Resource(Some(name), None) => f.write_str(&capitalize_type_name(name)),
            Type::Resource(Some(name), Some(title)) => {
                write!(f, "{}[{}]", capitalize_type_name(name), quote(title))
            }
            Type::Class(None) => f.write_str("Class"),
            Type::Class(Some(name)) => write!(f, "Class[{}]", name.to_lowercase()),
            Type::BooleanValue(b) => write!(f, "Boolean[{b}]"),
            other => f.write_str(simple_name(other)),
        }
    }
}

fn simple_name(t: &Type) -> &'static str {
    match t {
        Type::Any => "Any",
        Type::Undef => "Undef",
        Type::Default => "Default",
        Type::Boolean => "Boolean",
        Type::Unit => "Unit",
        Type::Numeric => "Numeric",
        Type::Scalar => "Scalar",
        Type::ScalarData => "ScalarData",
        Type::Data => "Data",
        Type::RichData => "RichData",
        Type::Callable => "Callable",
        Type::Iterable => "Iterable",
        Type::Binary => "Binary",
        _ => "Any",
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn write_range(f: &mut fmt::Formatter<'_>, lo: i64, hi: i64, default_lo: i64) -> fmt::Result {
    match (lo == default_lo, hi == INT_MAX) {
        (true, true) => Ok(()),
        (false, true) => write!(f, "[{lo}]"),
        _ => {
            f.write_str("[")?;
            write_bound(f, lo, lo == default_lo && default_lo == INT_MIN)?;
            f.write_str(", ")?;
            write_bound(f, hi, hi == INT_MAX)?;
            f.write_str("]")
        }
    }
}

fn write_container(f: &mut fmt::Formatter<'_>, of: &[&Type], lo: i64, hi: i64) -> fmt::Result {
    let any = of.iter().all(|t| matches!(t, Type::Any));
    let sized = !(lo == 0 && hi == INT_MAX);
    if any && !sized {
        return Ok(());
    }
    f.write_str("[")?;
    for (i, t) in of.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{t}")?;
    }
    if sized {
        write!(f, ", {lo}")?;
        if hi != INT_MAX {
            write!(f, ", {hi}")?;
        }
    }
    f.write_str("]")
}

fn write_list(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    items: impl Iterator<Item = String>,
) -> fmt::Result {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        return f.write_str(name);
    }
    write!(f, "{name}[{}]", items.join(", "))
}

/// `Timestamp`, `Timestamp['from']`, `Timestamp[default, 'to']`, `Timestamp['from', 'to']`.
fn write_time_range<T: fmt::Display + PartialEq>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    from: &Option<T>,
    to: &Option<T>,
) -> fmt::Result {
    if from.is_none() && to.is_none() {
        return f.write_str(name);
    }
    write!(f, "{name}[")?;
    match from {
        Some(from) => f.write_str(&quote(&from.to_string()))?,
        None => f.write_str("default")?,
    }
    if let Some(to) = to.as_ref().filter(|to| Some(*to) != from.as_ref()) {
        write!(f, ", {}", quote(&to.to_string()))?;
    }
    f.write_str("]")
}

fn write_wrapped(f: &mut fmt::Formatter<'_>, name: &str, inner: &Type) -> fmt::Result {
    if matches!(inner, Type::Any) {
        f.write_str(name)
    } else {
        write!(f, "{name}[{inner}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_print_as_puppet_prints_them() {
        assert_eq!(Type::Integer(1, 2).to_string(), "Integer[1, 2]");
        assert_eq!(Type::Integer(1, INT_MAX).to_string(), "Integer[1]");
        assert_eq!(Type::Integer(INT_MIN, 5).to_string(), "Integer[default, 5]");
        assert_eq!(
            Type::Array(Box::new(Type::String(0, INT_MAX)), 0, INT_MAX).to_string(),
            "Array[String]"
        );
        assert_eq!(
            Type::Resource(Some("app::update".into()), Some("bravo".into())).to_string(),
            "App::Update['bravo']"
        );
    }

    #[test]
    fn values_match_types() {
        let strings = Type::Array(Box::new(Type::String(0, INT_MAX)), 0, INT_MAX);
        assert!(strings.is_instance(&Value::Array(vec!["a".into()])));
        assert!(!strings.is_instance(&Value::Array(vec![Value::Integer(1)])));
        assert!(Type::Optional(Box::new(Type::Numeric)).is_instance(&Value::Undef));
        assert!(!Type::String(1, INT_MAX).is_instance(&"".into()));
    }
}
