//! The `puppet` agent's inputs, checked: a value of the wrong type or form is refused (the
//! agent answers statuscode 4 with the error), never coerced. `runonce`'s become words of a
//! command line, so each is checked for what Puppet takes.

use regex::Regex;
use serde_json::Value;

use crate::protocol::Request;

/// An input that cannot be used; the text is the reply's statusmsg.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{0} must be a boolean")]
    NotABoolean(&'static str),
    #[error("{0} must be a string")]
    NotAString(&'static str),
    #[error("tags must be strings")]
    TagNotAString,
    #[error("tags must be a string or a list of strings")]
    TagsNotAList,
    #[error("{0:?} is not a Puppet tag")]
    NotATag(String),
    #[error("environment must be a Puppet environment name (lowercase letters, digits, _)")]
    NotAnEnvironment,
}

/// `runonce`'s inputs, as Puppet's flags take them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    pub noop: Option<bool>,
    /// `force` runs without splay.
    pub splay: Option<bool>,
    pub use_cached_catalog: Option<bool>,
    /// Comma-separated, as `--tags` takes them.
    pub tags: Option<String>,
    pub environment: Option<String>,
}

impl RunOptions {
    /// The options `request` asks for. `force` is read first; when it holds, `splay` is
    /// not read at all (Choria's agent does the same).
    pub fn from_request(request: &Request) -> Result<RunOptions, InputError> {
        let force = flag(request, "force")?.unwrap_or(false);
        let splay = if force {
            Some(false)
        } else {
            flag(request, "splay")?
        };
        Ok(RunOptions {
            noop: flag(request, "noop")?,
            splay,
            use_cached_catalog: flag(request, "use_cached_catalog")?,
            tags: tags(request)?,
            environment: environment(request)?,
        })
    }

    /// The command-line flags, in the order Puppet's documentation gives them.
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        for (name, value) in [
            ("noop", self.noop),
            ("splay", self.splay),
            ("use_cached_catalog", self.use_cached_catalog),
        ] {
            match value {
                Some(true) => flags.push(format!("--{name}")),
                Some(false) => flags.push(format!("--no-{name}")),
                None => {}
            }
        }
        if let Some(tags) = &self.tags {
            flags.extend(["--tags".to_string(), tags.clone()]);
        }
        if let Some(environment) = &self.environment {
            flags.extend(["--environment".to_string(), environment.clone()]);
        }
        flags
    }
}

/// `disable`'s `message`, or the default naming the caller and the time.
pub fn disable_message(request: &Request, now: u64) -> Result<String, InputError> {
    match request.data.get("message") {
        None | Some(Value::Null) => Ok(format!(
            "Disabled via orchestrate by {} at {now}",
            request.caller
        )),
        Some(Value::String(message)) => Ok(message.clone()),
        Some(_) => Err(InputError::NotAString("message")),
    }
}

/// `last_run_summary`'s `logs`: a boolean when given (no logs are kept to send).
pub fn check_logs(request: &Request) -> Result<(), InputError> {
    flag(request, "logs").map(drop)
}

/// A boolean input; None when absent or null.
fn flag(request: &Request, name: &'static str) -> Result<Option<bool>, InputError> {
    match request.data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(InputError::NotABoolean(name)),
    }
}

/// `tags`: a comma-separated string or a list of tags, as Puppet's `--tags` takes them.
fn tags(request: &Request) -> Result<Option<String>, InputError> {
    let tags: Vec<&str> = match request.data.get("tags") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text.split(',').map(str::trim).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or(InputError::TagNotAString))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(InputError::TagsNotAList),
    };
    let pattern = Regex::new(r"\A[a-z0-9_][a-z0-9_:.\-]*\z").expect("a valid regex");
    if let Some(bad) = tags.iter().find(|tag| !pattern.is_match(tag)) {
        return Err(InputError::NotATag(bad.to_string()));
    }
    Ok((!tags.is_empty()).then(|| tags.join(",")))
}

fn environment(request: &Request) -> Result<Option<String>, InputError> {
    match request.data.get("environment") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) if valid_environment(name) => Ok(Some(name.clone())),
        Some(_) => Err(InputError::NotAnEnvironment),
    }
}

fn valid_environment(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
