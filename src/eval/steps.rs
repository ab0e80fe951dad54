//! The parameters of the step kinds: each has a Puppet data type, a default, and one reader
//! from a Puppet value to what the run uses (a count, a flag, a duration, a filter...). The
//! evaluator checks a declared step with these readers, as it checks a define's parameters;
//! the run's constructors read their typed values with the same readers.
//!
//! The kinds themselves (name, aliases, parameters, constructor) are the rows of
//! `crate::run::step::KINDS`; the evaluator sees them through [`StepTypes`], so the language
//! does not depend on the run.
//!
//! One coercion rule for every kind, the `mcollective` step's since the first playbooks: a
//! count or a flag may also be written as a string of one (`batch_size => '2'`,
//! `fail_ok => 'true'`), as values read from facts or arguments often are; a duration is a
//! number of seconds or a string in the one duration grammar (`crate::duration`).

use std::time::Duration;

use crate::protocol::FactFilter;

use super::catalog::Resource;
use super::value::Value;
use super::EvalError;

/// A step kind as the language sees it: what it is called and what it takes.
#[derive(Debug)]
pub struct StepType {
    /// Lower case, as declared: `mcollective`.
    pub name: &'static str,
    /// Other names for it: `rpc`.
    pub aliases: &'static [&'static str],
    pub params: &'static [StepParam],
}

#[derive(Debug)]
pub struct StepParam {
    pub name: &'static str,
    pub data_type: ParamType,
    pub default: Fallback,
}

/// A parameter, as a row of a kind writes it.
pub const fn param(name: &'static str, data_type: ParamType, default: Fallback) -> StepParam {
    StepParam {
        name,
        data_type,
        default,
    }
}

/// What a parameter takes: each is a Puppet data type, read by one reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `String[1]`.
    Text,
    /// `Integer[least, 4294967295]`, or a string of such a number.
    Count { least: u32 },
    /// `Boolean`, or `'true'` / `'false'`.
    Flag,
    /// Seconds as a number, or a duration string; zero is refused unless `zero` is true.
    Duration { zero: bool },
    /// `Hash`.
    Hash,
    /// `Variant[String, Array[String]]`: node names, classes, agents.
    Words,
    /// Fact filters (`'cluster=bravo'`), one or an array.
    FactFilters,
    /// Any value, shown as text (`notify`'s `message`).
    Any,
}

/// What a parameter is when it is not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// It must be given.
    Required,
    /// Nothing: the run decides (all nodes, the client's timeout...).
    Absent,
    /// The resource's title.
    Title,
    Count(u32),
    Flag(bool),
    Seconds(u64),
    Text(&'static str),
}

impl ParamType {
    /// The Puppet data type, as the documentation writes it.
    pub fn puppet(self) -> String {
        match self {
            ParamType::Text => "String[1]".into(),
            ParamType::Count { least } => format!("Integer[{least}, {}]", u32::MAX),
            ParamType::Flag => "Boolean".into(),
            ParamType::Duration { .. } => "Variant[Numeric[0], String[1]]".into(),
            ParamType::Hash => "Hash".into(),
            ParamType::Words | ParamType::FactFilters => "Variant[String, Array[String]]".into(),
            ParamType::Any => "Any".into(),
        }
    }

    /// What a value of this type is, in a diagnostic: "expects {this}, got ...".
    fn expected(self) -> String {
        match self {
            ParamType::Text => "a non-empty string".into(),
            ParamType::Count { least } => format!("an integer of at least {least}"),
            ParamType::Flag => "true or false".into(),
            ParamType::Duration { .. } => "a number of seconds".into(),
            ParamType::Hash => "a hash".into(),
            ParamType::FactFilters => "filters like 'cluster=bravo'".into(),
            ParamType::Words | ParamType::Any => "any value".into(),
        }
    }
}

/// A parameter's value as the run uses it.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Text(String),
    Count(u32),
    Flag(bool),
    Duration(Duration),
    Hash(serde_json::Value),
    Words(Vec<String>),
    FactFilters(Vec<FactFilter>),
}

/// Why a value does not fit its parameter's type.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mismatch {
    /// More about it, for the diagnostic's help (a fact filter's parse error).
    help: Option<String>,
}

impl Mismatch {
    fn plain() -> Mismatch {
        Mismatch { help: None }
    }
}

/// The one reader of a Puppet value into a parameter's type.
fn read(data_type: ParamType, value: &Value) -> Result<Typed, Mismatch> {
    match (data_type, value) {
        (ParamType::Text, Value::String(s)) if !s.is_empty() => Ok(Typed::Text(s.clone())),
        (ParamType::Count { least }, value) => count(value, least).map(Typed::Count),
        (ParamType::Flag, Value::Bool(b)) => Ok(Typed::Flag(*b)),
        (ParamType::Flag, Value::String(s)) if s == "true" || s == "false" => {
            Ok(Typed::Flag(s == "true"))
        }
        (ParamType::Duration { zero }, value) => duration(value)
            .filter(|d| zero || !d.is_zero())
            .map(Typed::Duration)
            .ok_or_else(Mismatch::plain),
        // What a node receives: the secrets of sensitive values too, which it needs.
        (ParamType::Hash, value @ Value::Hash(_)) => Ok(Typed::Hash(value.reveal_json())),
        (ParamType::Words, value) => Ok(Typed::Words(value.words())),
        (ParamType::FactFilters, value) => fact_filters(value).map(Typed::FactFilters),
        (ParamType::Any, value) => Ok(Typed::Text(value.to_display_string())),
        _ => Err(Mismatch::plain()),
    }
}

fn count(value: &Value, least: u32) -> Result<u32, Mismatch> {
    let number = match value {
        Value::Integer(i) => Some(*i),
        Value::String(s) => s.parse::<i64>().ok(),
        _ => None,
    };
    number
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n >= least)
        .ok_or_else(Mismatch::plain)
}

/// Seconds as a number, or a string in the one duration grammar (`10`, `1.5`, `10s`, `2m`,
/// `250ms`).
pub fn duration(value: &Value) -> Option<Duration> {
    match value {
        Value::Integer(i) => crate::duration::from_seconds(*i as f64).ok(),
        Value::Float(f) => crate::duration::from_seconds(*f).ok(),
        Value::String(s) => crate::duration::parse(s).ok(),
        _ => None,
    }
}

fn fact_filters(value: &Value) -> Result<Vec<FactFilter>, Mismatch> {
    value
        .words()
        .iter()
        .map(|fact| {
            FactFilter::parse(fact).map_err(|error| Mismatch {
                help: Some(error.to_string()),
            })
        })
        .collect()
}

impl StepType {
    pub fn param(&self, name: &str) -> Option<&StepParam> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The parameters that must be given.
    pub fn required(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.params
            .iter()
            .filter(|p| p.default == Fallback::Required)
            .map(|p| p.name)
    }

    /// Checks every parameter of a declared step against its type, in the kind's order; the
    /// error points at the attribute.
    pub fn check(&'static self, resource: &Resource) -> Result<(), EvalError> {
        let args = StepArgs::new(self, resource);
        for param in self.params {
            args.typed(param.name)?;
        }
        Ok(())
    }
}

/// The parameters of one declared step, read by their kind's types: what a constructor reads.
pub struct StepArgs<'r> {
    pub step: &'static StepType,
    pub resource: &'r Resource,
}

impl<'r> StepArgs<'r> {
    pub fn new(step: &'static StepType, resource: &'r Resource) -> StepArgs<'r> {
        StepArgs { step, resource }
    }

    /// The value given (an `undef` is not given), else the default; `None` when neither.
    pub fn typed(&self, name: &str) -> Result<Option<Typed>, EvalError> {
        let Some(param) = self.step.param(name) else {
            return Ok(None);
        };
        let given = self
            .resource
            .params
            .get(name)
            .filter(|v| !matches!(v, Value::Undef));
        let value = match (given, param.default) {
            (Some(value), _) => value.clone(),
            (None, Fallback::Required) => Value::Undef,
            (None, Fallback::Absent) => return Ok(None),
            (None, Fallback::Title) => Value::String(self.resource.title.clone()),
            (None, Fallback::Count(n)) => Value::Integer(n.into()),
            (None, Fallback::Flag(b)) => Value::Bool(b),
            (None, Fallback::Seconds(s)) => Value::Integer(s as i64),
            (None, Fallback::Text(t)) => Value::String(t.into()),
        };
        read(param.data_type, &value)
            .map(Some)
            .map_err(|mismatch| self.mismatch(param, &value, mismatch))
    }

    /// Why a value does not fit, said at the parameter.
    fn mismatch(&self, param: &StepParam, value: &Value, mismatch: Mismatch) -> EvalError {
        let name = param.name;
        let shown = match value {
            Value::String(_) => format!("'{value}'"),
            other => other.to_string(),
        };
        let error = EvalError::input(
            format!(
                "{}: parameter '{name}' expects {}, got {shown}",
                self.resource.reference(),
                param.data_type.expected()
            ),
            self.origin(name),
            format!("'{name}' is set here"),
        );
        match mismatch.help {
            Some(help) => error.with_help(help),
            None => error,
        }
    }

    /// Where a parameter was written, or the declaration when it was not.
    pub fn origin(&self, name: &str) -> super::Origin {
        self.resource
            .param_origins
            .get(name)
            .copied()
            .unwrap_or(self.resource.origin)
    }

    pub fn text(&self, name: &str) -> Result<Option<String>, EvalError> {
        Ok(match self.typed(name)? {
            Some(Typed::Text(s)) => Some(s),
            _ => None,
        })
    }

    pub fn count(&self, name: &str) -> Result<Option<u32>, EvalError> {
        Ok(match self.typed(name)? {
            Some(Typed::Count(n)) => Some(n),
            _ => None,
        })
    }

    pub fn flag(&self, name: &str) -> Result<bool, EvalError> {
        Ok(matches!(self.typed(name)?, Some(Typed::Flag(true))))
    }

    pub fn duration(&self, name: &str) -> Result<Option<Duration>, EvalError> {
        Ok(match self.typed(name)? {
            Some(Typed::Duration(d)) => Some(d),
            _ => None,
        })
    }

    pub fn hash(&self, name: &str) -> Result<Option<serde_json::Value>, EvalError> {
        Ok(match self.typed(name)? {
            Some(Typed::Hash(h)) => Some(h),
            _ => None,
        })
    }

    /// The keys of hash parameter `name` whose values hold a `Sensitive` value: a node
    /// receives them revealed, and the request marks them so that audit logs and reports
    /// redact them.
    pub fn sensitive_keys(&self, name: &str) -> Vec<String> {
        match self.resource.params.get(name) {
            Some(Value::Hash(map)) => map
                .iter()
                .filter(|(key, value)| key.holds_sensitive() || value.holds_sensitive())
                .map(|(key, _)| key.to_display_string())
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn words(&self, name: &str) -> Result<Vec<String>, EvalError> {
        Ok(match self.typed(name)? {
            Some(Typed::Words(w)) => w,
            _ => Vec::new(),
        })
    }

    pub fn fact_filters(&self, name: &str) -> Result<Vec<FactFilter>, EvalError> {
        Ok(match self.typed(name)? {
            Some(Typed::FactFilters(f)) => f,
            _ => Vec::new(),
        })
    }

    /// Whether the parameter was given as an empty list (`identity_filter => []`).
    pub fn is_empty_list(&self, name: &str) -> bool {
        matches!(self.resource.params.get(name), Some(v @ Value::Array(_)) if v.words().is_empty())
    }
}

/// The step kinds a playbook may declare, as the evaluator looks them up.
pub trait StepTypes {
    /// The kind a type name (or an alias) names.
    fn find(&self, name: &str) -> Option<&'static StepType>;
}

/// For evaluations that run no steps (an environment's site): no type is a step.
pub struct NoSteps;

impl StepTypes for NoSteps {
    fn find(&self, _: &str) -> Option<&'static StepType> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_numbers_and_units() {
        assert_eq!(duration(&Value::Integer(10)), Some(Duration::from_secs(10)));
        assert_eq!(duration(&"1.5".into()), Some(Duration::from_millis(1500)));
        assert_eq!(duration(&"2m".into()), Some(Duration::from_secs(120)));
        assert_eq!(duration(&"250ms".into()), Some(Duration::from_millis(250)));
        assert_eq!(duration(&"soon".into()), None);
        assert_eq!(duration(&Value::Integer(-1)), None);
        assert_eq!(duration(&Value::Float(1e20)), None);
        assert_eq!(duration(&Value::Integer(i64::MAX)), None);
    }

    #[test]
    fn counts_and_flags_take_their_strings_too() {
        let count = ParamType::Count { least: 1 };
        assert_eq!(read(count, &Value::Integer(2)), Ok(Typed::Count(2)));
        assert_eq!(read(count, &"2".into()), Ok(Typed::Count(2)));
        assert!(read(count, &Value::Integer(0)).is_err());
        assert!(read(count, &"0".into()).is_err());
        assert!(read(count, &"two".into()).is_err());
        // Beyond the counter, as a number or as text.
        assert!(read(count, &Value::Integer(4_294_967_297)).is_err());
        assert!(read(count, &"4294967297".into()).is_err());
        assert_eq!(read(ParamType::Flag, &"true".into()), Ok(Typed::Flag(true)));
        assert_eq!(
            read(ParamType::Flag, &Value::Bool(false)),
            Ok(Typed::Flag(false))
        );
        assert!(read(ParamType::Flag, &"yes".into()).is_err());
    }

    #[test]
    fn a_zero_duration_is_refused_where_it_means_nothing() {
        let timeout = ParamType::Duration { zero: false };
        assert!(read(timeout, &Value::Integer(0)).is_err());
        let sleep = ParamType::Duration { zero: true };
        assert_eq!(
            read(sleep, &Value::Integer(0)),
            Ok(Typed::Duration(Duration::ZERO))
        );
    }
}
