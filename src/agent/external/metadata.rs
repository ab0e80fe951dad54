//! An external agent's metadata file, `<agent>.yaml` (or `.yml`, `.json`) beside its program:
//! its actions and their inputs. Requests are checked against it before the program runs, so
//! a program only ever sees inputs of the declared names and types.
//!
//! ```yaml
//! description: Deploys the application
//! version: 1.2.0           # optional; listed in the node registry
//! timeout: 120s            # optional; default: the daemon's action_timeout
//! actions:
//!   upgrade:
//!     description: Upgrades to a revision
//!     inputs:
//!       revision: {type: [integer, string], pattern: '^[0-9]+$'}
//!       force: {type: boolean, optional: true}
//!       token: {type: string, sensitive: true}   # redacted in the audit log
//!   status: {}
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::protocol::{statuscode, RpcReplyBody};

/// Why a metadata file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// Not YAML, or not the shape of a metadata file.
    #[error(transparent)]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("{name:?} is not an action name (a-z, 0-9, _)")]
    NotAnActionName { name: String },
    #[error("timeout must be more than 0")]
    NoTime,
}

/// The whole metadata file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentMetadata {
    #[serde(default)]
    pub description: String,
    /// The agent's version (as Choria's DDL metadata gives one), listed in the registry.
    #[serde(default)]
    pub version: Option<String>,
    /// How long one action may run before the program is killed.
    #[serde(default, deserialize_with = "crate::duration::deserialize_optional")]
    pub timeout: Option<Duration>,
    pub actions: BTreeMap<String, ActionMetadata>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionMetadata {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub inputs: BTreeMap<String, InputMetadata>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputMetadata {
    /// One type or a list of types the value may have.
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    pub types: Vec<InputType>,
    /// Required unless optional, as in Choria's DDL.
    #[serde(default)]
    pub optional: bool,
    /// A secret: the audit log shows it redacted, whatever the caller marked.
    #[serde(default)]
    pub sensitive: bool,
    /// A regular expression a string value must match (unanchored: anchor it with ^ and $).
    #[serde(default, deserialize_with = "deserialize_pattern")]
    pub pattern: Option<Regex>,
    #[serde(default)]
    pub description: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    String,
    Integer,
    /// Any number, integer or not.
    Number,
    Boolean,
    Array,
    Hash,
    Any,
}

impl InputType {
    fn accepts(self, value: &Value) -> bool {
        match self {
            InputType::String => value.is_string(),
            InputType::Integer => value.is_i64() || value.is_u64(),
            InputType::Number => value.is_number(),
            InputType::Boolean => value.is_boolean(),
            InputType::Array => value.is_array(),
            InputType::Hash => value.is_object(),
            InputType::Any => true,
        }
    }

    fn name(self) -> &'static str {
        match self {
            InputType::String => "a string",
            InputType::Integer => "an integer",
            InputType::Number => "a number",
            InputType::Boolean => "a boolean",
            InputType::Array => "an array",
            InputType::Hash => "a hash",
            InputType::Any => "anything",
        }
    }
}

impl AgentMetadata {
    pub fn parse(text: &str) -> Result<AgentMetadata, MetadataError> {
        let metadata: AgentMetadata = serde_yaml_ng::from_str(text)?;
        if let Some(name) = metadata.actions.keys().find(|name| !valid_name(name)) {
            return Err(MetadataError::NotAnActionName { name: name.clone() });
        }
        if metadata.timeout.is_some_and(|timeout| timeout.is_zero()) {
            return Err(MetadataError::NoTime);
        }
        Ok(metadata)
    }

    /// The inputs of `action` declared `sensitive: true`.
    pub fn sensitive_inputs(&self, action: &str) -> Vec<String> {
        self.actions
            .get(action)
            .map(|metadata| {
                metadata
                    .inputs
                    .iter()
                    .filter(|(_, input)| input.sensitive)
                    .map(|(name, _)| name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks a request for `action` with inputs `data` (see [`ActionMetadata::check`]).
    pub fn check(&self, agent: &str, action: &str, data: &Value) -> Result<(), RpcReplyBody> {
        match self.actions.get(action) {
            Some(metadata) => metadata.check(agent, action, data),
            None => Err(RpcReplyBody::unknown_action(agent, action)),
        }
    }
}

impl ActionMetadata {
    /// Refuses, before the program runs: a missing required input (statuscode 3), an input of
    /// the wrong type, not matching its pattern, or not declared (statuscode 4). A null input
    /// counts as missing.
    pub fn check(&self, agent: &str, action: &str, data: &Value) -> Result<(), RpcReplyBody> {
        let empty = serde_json::Map::new();
        let inputs = match data {
            Value::Object(inputs) => inputs,
            Value::Null => &empty,
            _ => return Err(invalid("the inputs must be a hash of names to values")),
        };
        if let Some(unknown) = inputs.keys().find(|name| !self.inputs.contains_key(*name)) {
            return Err(invalid(format!(
                "Unknown input {unknown} for {agent}#{action}"
            )));
        }
        for (name, input) in &self.inputs {
            let value = inputs.get(name).filter(|value| !value.is_null());
            let Some(value) = value else {
                if input.optional {
                    continue;
                }
                return Err(RpcReplyBody::missing_input(name));
            };
            if !input.types.iter().any(|kind| kind.accepts(value)) {
                let expected: Vec<&str> = input.types.iter().map(|kind| kind.name()).collect();
                return Err(invalid(format!(
                    "Input {name} must be {}, not {}",
                    expected.join(" or "),
                    describe(value)
                )));
            }
            if let (Some(pattern), Value::String(text)) = (&input.pattern, value) {
                if !pattern.is_match(text) {
                    return Err(invalid(format!(
                        "Input {name} {text:?} does not match {}",
                        pattern.as_str()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Agent and action names become subject tokens and file names.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn invalid(message: impl Into<String>) -> RpcReplyBody {
    RpcReplyBody::fail(statuscode::INVALID_DATA, message)
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(flag) => format!("the boolean {flag}"),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) => format!("the string {text:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "a hash".into(),
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<InputType>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        One(String),
        Many(Vec<String>),
    }
    let names = match Written::deserialize(deserializer)? {
        Written::One(name) => vec![name],
        Written::Many(names) => names,
    };
    if names.is_empty() {
        return Err(serde::de::Error::custom("type lists no type"));
    }
    names
        .iter()
        .map(|name| {
            InputType::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "unknown type {name:?}: one of string, integer, number, boolean, array, hash, any"
                    ))
                })
        })
        .collect()
}

fn deserialize_pattern<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Regex>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Regex::new(&text)
        .map(Some)
        .map_err(|error| serde::de::Error::custom(format!("pattern {text:?}: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const APPMGR: &str = "description: Deploys the application\ntimeout: 5s\nactions:\n  \
        upgrade:\n    inputs:\n      revision: {type: [integer, string], pattern: '^[0-9]+$'}\n      \
        force: {type: boolean, optional: true}\n  status: {}\n";

    fn check(data: Value) -> Result<(), (u8, String)> {
        AgentMetadata::parse(APPMGR)
            .unwrap()
            .check("appmgr", "upgrade", &data)
            .map_err(|reply| (reply.statuscode, reply.statusmsg))
    }

    #[test]
    fn inputs_are_checked_by_name_type_and_pattern() {
        assert_eq!(check(json!({"revision": 20})), Ok(()));
        assert_eq!(check(json!({"revision": "20", "force": true})), Ok(()));
        assert_eq!(
            check(json!({})),
            Err((3, "Missing required input revision".into()))
        );
        assert_eq!(check(json!({"revision": null})).unwrap_err().0, 3);
        assert_eq!(
            check(json!({"revision": 1.5})),
            Err((
                4,
                "Input revision must be an integer or a string, not the number 1.5".into()
            ))
        );
        assert_eq!(check(json!({"revision": "20; rm -rf /"})).unwrap_err().0, 4);
        assert_eq!(
            check(json!({"revision": 1, "force": "yes"})).unwrap_err().0,
            4
        );
        assert_eq!(
            check(json!({"revision": 1, "colour": "red"})),
            Err((4, "Unknown input colour for appmgr#upgrade".into()))
        );
        assert_eq!(check(json!([1])).unwrap_err().0, 4);
        let metadata = AgentMetadata::parse(APPMGR).unwrap();
        assert_eq!(metadata.timeout, Some(Duration::from_secs(5)));
        assert!(metadata.check("appmgr", "status", &Value::Null).is_ok());
        assert_eq!(
            metadata
                .check("appmgr", "reboot", &json!({}))
                .unwrap_err()
                .statuscode,
            statuscode::UNKNOWN_ACTION
        );
    }

    #[test]
    fn bad_metadata_is_named() {
        for (text, expected) in [
            ("actions: {Bad: {}}", "not an action name"),
            (
                "actions: {a: {inputs: {x: {type: text}}}}",
                "unknown type \"text\"",
            ),
            ("actions: {a: {inputs: {x: {type: []}}}}", "no type"),
            (
                "actions: {a: {inputs: {x: {type: string, pattern: '('}}}}",
                "pattern",
            ),
            ("actions: {}\ntimeout: 0", "more than 0"),
            ("actoins: {}", "unknown field"),
        ] {
            let error = AgentMetadata::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        assert!(valid_name("appmgr_2"));
        assert!(!valid_name("2appmgr") && !valid_name("app.mgr") && !valid_name(""));
    }
}
