//! Action policies: Choria's actionpolicy files, as Puppet users already write them in Hiera
//! (docs/security.md, "Action policies").
//!
//! ```text
//! # <policies>/puppet.policy (fields separated by TABs, shown here as <TAB>)
//! policy default deny
//! allow<TAB>choria=ops.mcollective /^choria=deploy\./<TAB>status runonce<TAB>cluster=bravo<TAB>role::app
//! deny<TAB>*<TAB>disable<TAB>*<TAB>*
//! ```
//!
//! One file per agent, `<policies>/<agent>.policy`, else `default.policy`; with neither the
//! request is denied. A rule is five TAB-separated fields, `allow|deny callers actions facts
//! classes`, values space-separated inside a field; the first rule that matches decides, else
//! the file's `policy default`. A file that does not parse denies everything (Go Choria skips
//! a bad line, which can skip a `deny`), and its error names the file and the line.
//!
//! Facts and classes are matched by the node side's own filter code: a rule's facts and classes
//! are a request [`Filter`] (facts parsed by [`FactFilter::parse`]) that a [`NodeCondition`]
//! compiles once per parse of the file and tests against the node.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use regex::Regex;

use crate::protocol::{filter_regex_pattern, FactFilter, Filter, FilterError};

/// The file that stands in for an agent without its own.
pub const DEFAULT_POLICY: &str = "default.policy";

/// How often the cache looks whether a policy file changed (a `stat` or two per agent).
pub const RECHECK: Duration = Duration::from_secs(1);

/// How many agents' lookups the cache keeps; request agent names come from the wire, so the
/// cache is emptied rather than grown past this.
const CACHE_LIMIT: usize = 256;

/// How a node tells whether a rule's facts and classes hold for it. The node side implements
/// it with its request filter, so a policy's `cluster=bravo` means what a filter's does.
pub trait NodeCondition: Send + Sync + Sized + 'static {
    type Node: ?Sized;
    /// Compiled once per parse of a policy file, from the rule's facts (`fact`) and classes
    /// (`cf_class`); a regex over the size limits is refused with why.
    fn compile(filter: &Filter) -> Result<Self, String>;
    fn holds(&self, node: &Self::Node) -> bool;
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// What the policy says of one request, and why (for the audit log and the daemon's log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub effect: Effect,
    pub reason: String,
}

/// What is asked: who calls which agent's action.
#[derive(Clone, Copy, Debug)]
pub struct Asking<'a> {
    pub caller: &'a str,
    pub agent: &'a str,
    pub action: &'a str,
}

/// A parsed policy file.
pub struct PolicyFile<C> {
    path: PathBuf,
    default: Effect,
    rules: Vec<Rule<C>>,
}

struct Rule<C> {
    line: usize,
    effect: Effect,
    callers: Callers,
    actions: Option<Vec<String>>,
    /// None: `*` in both the facts and the classes field.
    condition: Option<C>,
}

/// `*`, or exact caller ids and `/regex/`es (unanchored, as Choria reads them).
enum Callers {
    Anyone,
    Some {
        exact: Vec<String>,
        regexes: Vec<Regex>,
    },
}

/// Why a policy file cannot be used. Whatever it is, the requests it governs are denied.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("policy file {} line {line}: {problem}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        problem: LineProblem,
    },
}

/// What is wrong with one line of a policy file.
#[derive(Debug, thiserror::Error)]
pub enum LineProblem {
    #[error("not a comment, `policy default allow|deny`, or a TAB-separated rule `allow|deny<TAB>callers<TAB>actions<TAB>facts<TAB>classes`")]
    NotARule,
    #[error("a rule has five TAB-separated fields, this one has {found} (Go Choria refuses a rule without its classes too)")]
    FieldCount { found: usize },
    #[error("policy default must be allow or deny, not {found:?}")]
    BadDefault { found: String },
    #[error("the {field} field is empty")]
    EmptyField { field: &'static str },
    #[error("caller {text:?}: {source}")]
    CallerRegex { text: String, source: regex::Error },
    #[error("{0}")]
    Fact(#[from] FilterError),
    #[error("{text:?}: compound statements are not supported in policies")]
    Compound { text: String },
    #[error("{text:?} is a fact filter where a class was expected")]
    FactAsClass { text: String },
    #[error("{reason}")]
    Condition { reason: String },
}

/// What kind of [`PolicyError`] it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyErrorKind {
    Unreadable,
    Invalid,
}

impl PolicyError {
    pub fn kind(&self) -> PolicyErrorKind {
        match self {
            PolicyError::Read { .. } => PolicyErrorKind::Unreadable,
            PolicyError::Invalid { .. } => PolicyErrorKind::Invalid,
        }
    }
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.effect == Effect::Allow
    }

    fn deny(reason: String) -> Decision {
        Decision {
            effect: Effect::Deny,
            reason,
        }
    }
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        }
    }

    fn parse(text: &str) -> Option<Effect> {
        match text {
            "allow" => Some(Effect::Allow),
            "deny" => Some(Effect::Deny),
            _ => None,
        }
    }
}

impl<C: NodeCondition> PolicyFile<C> {
    pub fn load(path: &Path) -> Result<PolicyFile<C>, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        PolicyFile::parse(path, &text)
    }

    /// Parses `text`, the content of `path`. Without a `policy default` line the default is
    /// deny, as in Choria.
    pub fn parse(path: &Path, text: &str) -> Result<PolicyFile<C>, PolicyError> {
        let mut file = PolicyFile {
            path: path.to_path_buf(),
            default: Effect::Deny,
            rules: Vec::new(),
        };
        for (index, line) in text.lines().enumerate() {
            let invalid = |problem| PolicyError::Invalid {
                path: path.to_path_buf(),
                line: index + 1,
                problem,
            };
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(effect) = default_line(line).map_err(invalid)? {
                file.default = effect;
                continue;
            }
            file.rules
                .push(Rule::parse(index + 1, line).map_err(invalid)?);
        }
        Ok(file)
    }

    /// The first rule matching decides; else the file's default.
    pub fn decide(&self, asking: &Asking<'_>, node: &C::Node) -> Decision {
        let name = self.path.display();
        match self.rules.iter().find(|rule| rule.matches(asking, node)) {
            Some(rule) => Decision {
                effect: rule.effect,
                reason: format!(
                    "{} by the rule on line {} of {name}",
                    past(rule.effect),
                    rule.line
                ),
            },
            None => Decision {
                effect: self.default,
                reason: format!("{} by the default of {name}", past(self.default)),
            },
        }
    }
}

fn past(effect: Effect) -> &'static str {
    match effect {
        Effect::Allow => "allowed",
        Effect::Deny => "denied",
    }
}

/// `policy default allow|deny`: Some(effect); another line: None.
fn default_line(line: &str) -> Result<Option<Effect>, LineProblem> {
    let mut words = line.split_whitespace();
    if words.next() != Some("policy") || words.next() != Some("default") {
        return Ok(None);
    }
    let found = words.collect::<Vec<_>>().join(" ");
    Effect::parse(&found)
        .map(Some)
        .ok_or(LineProblem::BadDefault { found })
}

impl<C: NodeCondition> Rule<C> {
    fn parse(line: usize, text: &str) -> Result<Rule<C>, LineProblem> {
        // Runs of TABs separate fields, as Choria's `\t+`; spaces separate values.
        let fields: Vec<&str> = text.split('\t').filter(|field| !field.is_empty()).collect();
        let Some(effect) = fields.first().and_then(|first| Effect::parse(first)) else {
            return Err(LineProblem::NotARule);
        };
        let [_, callers, actions, facts, classes] = fields[..] else {
            return Err(LineProblem::FieldCount {
                found: fields.len(),
            });
        };
        let callers = Callers::parse(values(callers, "callers")?)?;
        let actions = wildcard(values(actions, "actions")?);
        let facts = wildcard(values(facts, "facts")?);
        let classes = wildcard(values(classes, "classes")?);
        let condition = condition(facts, classes)?;
        Ok(Rule {
            line,
            effect,
            callers,
            actions,
            condition: condition
                .map(|filter| C::compile(&filter))
                .transpose()
                .map_err(|reason| LineProblem::Condition { reason })?,
        })
    }

    fn matches(&self, asking: &Asking<'_>, node: &C::Node) -> bool {
        self.callers.matches(asking.caller)
            && self
                .actions
                .as_ref()
                .is_none_or(|actions| actions.iter().any(|action| action == asking.action))
            && self
                .condition
                .as_ref()
                .is_none_or(|condition| condition.holds(node))
    }
}

/// A field's space-separated values; none is an error.
fn values<'a>(field: &'a str, name: &'static str) -> Result<Vec<&'a str>, LineProblem> {
    let values: Vec<&str> = field.split(' ').filter(|value| !value.is_empty()).collect();
    if values.is_empty() {
        return Err(LineProblem::EmptyField { field: name });
    }
    Ok(values)
}

/// None for `*`, else the values.
fn wildcard(values: Vec<&str>) -> Option<Vec<String>> {
    (values != ["*"]).then(|| values.into_iter().map(str::to_string).collect())
}

/// The rule's facts and classes as a filter; None when both are `*`.
fn condition(
    facts: Option<Vec<String>>,
    classes: Option<Vec<String>>,
) -> Result<Option<Filter>, LineProblem> {
    if facts.is_none() && classes.is_none() {
        return Ok(None);
    }
    let mut filter = Filter::default();
    for text in facts.unwrap_or_default() {
        refuse_compound(&text)?;
        filter.fact.push(FactFilter::parse(&text)?);
    }
    for text in classes.unwrap_or_default() {
        refuse_compound(&text)?;
        if FactFilter::parse(&text).is_ok() && filter_regex_pattern(&text).is_none() {
            return Err(LineProblem::FactAsClass { text });
        }
        filter.cf_class.push(text);
    }
    filter.check()?;
    Ok(Some(filter))
}

/// Choria's test for a compound statement: `!x`, `not`, `and`, `or`, `(...)`.
fn refuse_compound(text: &str) -> Result<(), LineProblem> {
    let compound = text.starts_with('!')
        || matches!(text, "not" | "and" | "or")
        || text
            .find('(')
            .is_some_and(|open| text[open + 1..].rfind(')').is_some_and(|close| close > 0));
    if compound {
        return Err(LineProblem::Compound {
            text: text.to_string(),
        });
    }
    Ok(())
}

impl Callers {
    fn parse(values: Vec<&str>) -> Result<Callers, LineProblem> {
        if values == ["*"] {
            return Ok(Callers::Anyone);
        }
        let mut exact = Vec::new();
        let mut regexes = Vec::new();
        for text in values {
            match filter_regex_pattern(text) {
                Some(pattern) => {
                    let regex = Regex::new(pattern).map_err(|source| LineProblem::CallerRegex {
                        text: text.to_string(),
                        source,
                    })?;
                    regexes.push(regex);
                }
                None => exact.push(text.to_string()),
            }
        }
        Ok(Callers::Some { exact, regexes })
    }

    fn matches(&self, caller: &str) -> bool {
        match self {
            Callers::Anyone => true,
            Callers::Some { exact, regexes } => {
                exact.iter().any(|name| name == caller)
                    || regexes.iter().any(|regex| regex.is_match(caller))
            }
        }
    }
}

/// The policies of one folder, read as requests need them and re-read when a file changes
/// (its modification time or size), at most every [`RECHECK`]: editing a policy takes effect
/// without a restart.
pub struct Policies<C> {
    dir: PathBuf,
    recheck: Duration,
    cache: Mutex<HashMap<String, Lookup<C>>>,
}

/// What the folder said for one agent when last looked at.
struct Lookup<C> {
    checked: Instant,
    /// The file that governs the agent, None if neither it nor default.policy exists.
    found: Option<Loaded<C>>,
}

struct Loaded<C> {
    path: PathBuf,
    stamp: Stamp,
    parsed: Arc<Result<PolicyFile<C>, PolicyError>>,
}

/// What tells a changed file: when it was modified, and its size.
type Stamp = (Option<SystemTime>, u64);

impl<C: NodeCondition> Policies<C> {
    pub fn new(dir: impl Into<PathBuf>) -> Policies<C> {
        Policies::with_recheck(dir, RECHECK)
    }

    /// Looks for changed files at most every `recheck` (tests use zero).
    pub fn with_recheck(dir: impl Into<PathBuf>, recheck: Duration) -> Policies<C> {
        Policies {
            dir: dir.into(),
            recheck,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the policies say of `asking` on `node`.
    pub fn decide(&self, asking: &Asking<'_>, node: &C::Node) -> Decision {
        if !is_agent_name(asking.agent) {
            // It becomes a file name: never let `../x` choose another file.
            return Decision::deny(format!("{:?} is not an agent name", asking.agent));
        }
        let Some(parsed) = self.governing(asking.agent) else {
            return Decision::deny(format!(
                "no policy for agent {} in {} (neither {}.policy nor {DEFAULT_POLICY})",
                asking.agent,
                self.dir.display(),
                asking.agent
            ));
        };
        match parsed.as_ref() {
            Ok(file) => file.decide(asking, node),
            Err(error) => Decision::deny(error.to_string()),
        }
    }

    /// The parsed file that governs `agent`, from the cache when nothing changed.
    fn governing(&self, agent: &str) -> Option<Arc<Result<PolicyFile<C>, PolicyError>>> {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(lookup) = cache.get(agent) {
            if lookup.checked.elapsed() < self.recheck {
                return lookup.found.as_ref().map(|loaded| loaded.parsed.clone());
            }
        }
        let previous = cache.remove(agent).and_then(|lookup| lookup.found);
        let found = self.look_up(agent, previous);
        let parsed = found.as_ref().map(|loaded| loaded.parsed.clone());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        let checked = Instant::now();
        cache.insert(agent.to_string(), Lookup { checked, found });
        parsed
    }

    /// The agent's file, else default.policy; parsed again only if it is another file or it
    /// changed since `previous`.
    fn look_up(&self, agent: &str, previous: Option<Loaded<C>>) -> Option<Loaded<C>> {
        let own = self.dir.join(format!("{agent}.policy"));
        let fallback = self.dir.join(DEFAULT_POLICY);
        let (path, stamp) = [own, fallback]
            .into_iter()
            .find_map(|path| stamp(&path).map(|stamp| (path, stamp)))?;
        if let Some(previous) = previous.filter(|p| p.path == path && p.stamp == stamp) {
            return Some(previous);
        }
        let parsed = PolicyFile::load(&path);
        match &parsed {
            Ok(_) => tracing::info!(policy = %path.display(), "policy file read"),
            Err(error) => {
                tracing::error!(%error, "policy file refused: every request it governs is denied")
            }
        }
        Some(Loaded {
            path,
            stamp,
            parsed: Arc::new(parsed),
        })
    }
}

/// A file's stamp, None if it is not there (or not a file).
fn stamp(path: &Path) -> Option<Stamp> {
    let metadata = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    Some((metadata.modified().ok(), metadata.len()))
}

/// Agent names as Choria allows them, and nothing that reaches outside the folder.
fn is_agent_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests;
