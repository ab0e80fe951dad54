//! The fleet file: a YAML description of simulated nodes, read and checked into node specs.
//! The format is documented in docs/fleet.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::latency::Latency;
use super::puppet::PuppetSpec;
use super::range::{expand_identity, RangeError};
use super::FleetError;
use crate::protocol::{is_subject_token, statuscode};
use crate::transport::{validate_publish_subject, TransportError};

/// Agents every node runs without listing them.
const BUILT_IN_AGENTS: [&str; 2] = ["rpcutil", "discovery"];
/// The agent a `puppet:` section gives a node.
const PUPPET_AGENT: &str = "puppet";

/// What is wrong in a fleet file that reads as YAML.
#[derive(Debug, thiserror::Error)]
pub enum FleetProblem {
    #[error("agent {agent} is built in and cannot be defined under agents:")]
    BuiltInAgentDefined { agent: String },
    #[error("{what} name {name:?} cannot be used in a subject")]
    NotASubjectToken { what: &'static str, name: String },
    #[error("{place}: statuscode {statuscode} is not 0 to 5")]
    BadStatuscode { place: String, statuscode: u8 },
    #[error(transparent)]
    BadRange(#[from] RangeError),
    #[error("node {identity} is described twice")]
    DescribedTwice { identity: String },
    #[error("node {identity}: {source}")]
    BadIdentity {
        identity: String,
        source: TransportError,
    },
    #[error("node {identity} lists agent puppet: give it a puppet: section instead (puppet: {{}} for the defaults)")]
    PuppetListed { identity: String },
    #[error("node {identity} runs agent {agent}, which is not defined under agents:")]
    UndefinedAgent { identity: String, agent: String },
    #[error("node {identity}: replies key {key:?} is not agent#action")]
    NotAgentAction { identity: String, key: String },
    #[error("node {identity} has replies for {key} but does not run agent {agent}")]
    RepliesForAnotherAgent {
        identity: String,
        key: String,
        agent: String,
    },
    /// `--nodes N` with a fleet file of no node.
    #[error("the fleet file has no node to copy")]
    NothingToCopy,
}

/// A checked fleet file: agent definitions and one spec per node, ranges expanded.
#[derive(Clone, Debug)]
pub struct FleetFile {
    pub(crate) agents: BTreeMap<String, BTreeMap<String, ActionSpec>>,
    pub(crate) nodes: Vec<NodeSpec>,
    /// A folder of action policies every node applies (`policies:`); None: every request is
    /// allowed, as without security.
    pub(crate) policies: Option<PathBuf>,
}

/// One simulated node, as the file describes it.
#[derive(Clone, Debug)]
pub(crate) struct NodeSpec {
    pub identity: String,
    pub facts: Map<String, Value>,
    pub classes: Vec<String>,
    /// Agents from `agents:` sections the node runs (built-in and puppet agents not included).
    pub agents: Vec<String>,
    pub latency: Latency,
    pub silent: bool,
    /// Scripted replies: agent → action → replies, consumed one per request.
    pub replies: BTreeMap<String, BTreeMap<String, Vec<ReplySpec>>>,
    pub puppet: Option<PuppetSpec>,
}

/// An action's default reply, and the inputs it requires.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionSpec {
    #[serde(default)]
    pub inputs: Vec<String>,
    #[serde(default)]
    pub statuscode: u8,
    #[serde(default)]
    pub statusmsg: Option<String>,
    #[serde(default = "empty_object")]
    pub data: Value,
}

/// A reply as the file writes it. `data` strings may hold `{{input}}` placeholders.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplySpec {
    #[serde(default)]
    pub statuscode: u8,
    #[serde(default)]
    pub statusmsg: Option<String>,
    #[serde(default = "empty_object")]
    pub data: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFleet {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    agents: BTreeMap<String, BTreeMap<String, ActionSpec>>,
    nodes: Vec<RawNode>,
    policies: Option<PathBuf>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    #[serde(default)]
    latency: Latency,
    #[serde(default)]
    facts: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    identity: String,
    #[serde(default)]
    facts: Map<String, Value>,
    #[serde(default)]
    classes: Vec<String>,
    #[serde(default)]
    agents: Vec<String>,
    latency: Option<Latency>,
    #[serde(default)]
    silent: bool,
    #[serde(default)]
    replies: BTreeMap<String, Vec<ReplySpec>>,
    puppet: Option<PuppetSpec>,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl ActionSpec {
    /// The action's default reply.
    pub fn reply(&self) -> ReplySpec {
        ReplySpec {
            statuscode: self.statuscode,
            statusmsg: self.statusmsg.clone(),
            data: self.data.clone(),
        }
    }
}

impl ReplySpec {
    /// The statusmsg, or the statuscode's own name when the file gives none.
    pub fn statusmsg(&self) -> String {
        self.statusmsg
            .clone()
            .unwrap_or_else(|| statuscode::describe(self.statuscode).to_string())
    }
}

impl FleetFile {
    pub fn load(path: &Path) -> Result<FleetFile, FleetError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut fleet = FleetFile::parse(&text, &path.display().to_string())?;
        // A relative policies folder is the fleet file's neighbour.
        if let (Some(policies), Some(base)) = (&mut fleet.policies, path.parent()) {
            if policies.is_relative() {
                *policies = base.join(&*policies);
            }
        }
        Ok(fleet)
    }

    /// Reads a fleet file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<FleetFile, FleetError> {
        let raw: RawFleet = serde_yaml_ng::from_str(text).map_err(|source| FleetError::Parse {
            origin: origin.to_string(),
            source,
        })?;
        let invalid = |problem: FleetProblem| FleetError::Invalid {
            origin: origin.to_string(),
            problem,
        };
        check_agent_definitions(&raw.agents).map_err(invalid)?;
        let nodes = node_specs(&raw).map_err(invalid)?;
        Ok(FleetFile {
            agents: raw.agents,
            nodes,
            policies: raw.policies,
        })
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The folder of action policies the nodes apply, if the file gives one.
    pub fn policies(&self) -> Option<&Path> {
        self.policies.as_deref()
    }

    /// The identities of the fleet's nodes, in file order.
    pub fn identities(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|node| node.identity.as_str())
    }
}

fn check_agent_definitions(
    agents: &BTreeMap<String, BTreeMap<String, ActionSpec>>,
) -> Result<(), FleetProblem> {
    for (agent, actions) in agents {
        if BUILT_IN_AGENTS.contains(&agent.as_str()) || agent == PUPPET_AGENT {
            return Err(FleetProblem::BuiltInAgentDefined {
                agent: agent.clone(),
            });
        }
        check_subject_token("agent", agent)?;
        for (action, spec) in actions {
            check_statuscode(&format!("{agent}#{action}"), &spec.reply())?;
        }
    }
    Ok(())
}

fn node_specs(raw: &RawFleet) -> Result<Vec<NodeSpec>, FleetProblem> {
    let mut seen = BTreeSet::new();
    let mut specs = Vec::new();
    for entry in &raw.nodes {
        for identity in expand_identity(&entry.identity)? {
            if !seen.insert(identity.clone()) {
                return Err(FleetProblem::DescribedTwice { identity });
            }
            specs.push(node_spec(identity, entry, raw)?);
        }
    }
    Ok(specs)
}

fn node_spec(identity: String, entry: &RawNode, raw: &RawFleet) -> Result<NodeSpec, FleetProblem> {
    if let Err(source) = validate_publish_subject(&identity) {
        return Err(FleetProblem::BadIdentity { identity, source });
    }
    let agents = node_agents(&identity, entry, raw)?;
    let replies = node_replies(&identity, entry, &agents)?;
    let mut facts = raw.defaults.facts.clone();
    facts.extend(entry.facts.clone());
    Ok(NodeSpec {
        identity,
        facts,
        classes: entry.classes.clone(),
        agents,
        latency: entry.latency.unwrap_or(raw.defaults.latency),
        silent: entry.silent,
        replies,
        puppet: entry.puppet.clone(),
    })
}

/// The defined agents a node lists; built-in names are accepted and left out.
fn node_agents(
    identity: &str,
    entry: &RawNode,
    raw: &RawFleet,
) -> Result<Vec<String>, FleetProblem> {
    let mut agents = BTreeSet::new();
    for agent in &entry.agents {
        if BUILT_IN_AGENTS.contains(&agent.as_str()) {
            continue;
        }
        if agent == PUPPET_AGENT {
            if entry.puppet.is_none() {
                return Err(FleetProblem::PuppetListed {
                    identity: identity.to_string(),
                });
            }
            continue;
        }
        if !raw.agents.contains_key(agent) {
            return Err(FleetProblem::UndefinedAgent {
                identity: identity.to_string(),
                agent: agent.clone(),
            });
        }
        agents.insert(agent.clone());
    }
    Ok(agents.into_iter().collect())
}

/// `agent#action` keys split and checked against what the node runs.
fn node_replies(
    identity: &str,
    entry: &RawNode,
    agents: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, Vec<ReplySpec>>>, FleetProblem> {
    let mut replies: BTreeMap<String, BTreeMap<String, Vec<ReplySpec>>> = BTreeMap::new();
    for (key, script) in &entry.replies {
        let Some((agent, action)) = key.split_once('#') else {
            return Err(FleetProblem::NotAgentAction {
                identity: identity.to_string(),
                key: key.clone(),
            });
        };
        let runs = agents.iter().any(|known| known == agent)
            || BUILT_IN_AGENTS.contains(&agent)
            || (agent == PUPPET_AGENT && entry.puppet.is_some());
        if !runs {
            return Err(FleetProblem::RepliesForAnotherAgent {
                identity: identity.to_string(),
                key: key.clone(),
                agent: agent.to_string(),
            });
        }
        for reply in script {
            check_statuscode(&format!("node {identity}, {key}"), reply)?;
        }
        replies
            .entry(agent.to_string())
            .or_default()
            .insert(action.to_string(), script.clone());
    }
    Ok(replies)
}

fn check_statuscode(place: &str, reply: &ReplySpec) -> Result<(), FleetProblem> {
    if reply.statuscode > statuscode::UNKNOWN_ERROR {
        return Err(FleetProblem::BadStatuscode {
            place: place.to_string(),
            statuscode: reply.statuscode,
        });
    }
    Ok(())
}

fn check_subject_token(what: &'static str, name: &str) -> Result<(), FleetProblem> {
    if is_subject_token(name) {
        Ok(())
    } else {
        Err(FleetProblem::NotASubjectToken {
            what,
            name: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SMALL: &str = r#"
defaults:
  latency: 10ms
  facts: {dc: ams}
agents:
  appmgr:
    upgrade:
      inputs: [revision]
      data: {revision: "{{revision}}"}
    status: {data: {status: running}}
nodes:
  - identity: web[1-3].example.net
    facts: {cluster: alfa, dc: fra}
    classes: [role::web]
    agents: [appmgr, rpcutil]
  - identity: lb.example.net
    latency: 5ms..30ms
    silent: true
    replies:
      rpcutil#ping:
        - {statuscode: 1, statusmsg: busy}
    puppet: {run_duration: 1s}
"#;

    #[test]
    fn parses_and_expands() {
        let fleet = FleetFile::parse(SMALL, "small").unwrap();
        assert_eq!(fleet.node_count(), 4);
        assert_eq!(
            fleet.identities().collect::<Vec<_>>(),
            [
                "web1.example.net",
                "web2.example.net",
                "web3.example.net",
                "lb.example.net"
            ]
        );
        let web = &fleet.nodes[0];
        assert_eq!(web.agents, ["appmgr"]);
        assert_eq!(web.facts["dc"], "fra", "node facts win over defaults");
        assert_eq!(web.latency.min, Duration::from_millis(10));
        let lb = &fleet.nodes[3];
        assert!(lb.silent);
        assert_eq!(lb.facts["dc"], "ams");
        assert_eq!(lb.latency.max, Duration::from_millis(30));
        assert_eq!(lb.replies["rpcutil"]["ping"][0].statusmsg(), "busy");
        assert!(lb.puppet.is_some());
        assert_eq!(fleet.agents["appmgr"]["upgrade"].inputs, ["revision"]);
        assert_eq!(fleet.agents["appmgr"]["status"].reply().statusmsg(), "OK");
    }

    fn error_of(text: &str) -> String {
        FleetFile::parse(text, "test.yaml").unwrap_err().to_string()
    }

    #[test]
    fn explains_mistakes() {
        assert!(error_of("nodes: [{identity: a, agents: [nope]}]")
            .contains("not defined under agents:"));
        assert!(error_of("nodes: [{identity: a}, {identity: a}]").contains("described twice"));
        assert!(error_of("nodes: [{identity: 'a b'}]").contains("whitespace"));
        assert!(error_of("nodes: [{identity: 'a[1-'}]").contains("without `]`"));
        assert!(error_of("nodes: [{identity: a, agents: [puppet]}]").contains("puppet: section"));
        assert!(error_of("nodes: [{identity: a, replies: {x: []}}]").contains("agent#action"));
        assert!(error_of("nodes: [{identity: a, replies: {'x#y': []}}]")
            .contains("does not run agent x"));
        assert!(error_of("nodes: [{identity: a, colour: red}]").contains("unknown field"));
        assert!(error_of("agents: {rpcutil: {}}\nnodes: []").contains("built in"));
        assert!(error_of("agents: {a: {b: {statuscode: 9}}}\nnodes: []").contains("0 to 5"));
        assert!(error_of("nodes: [{identity: a, latency: ten}]").contains("is not a duration"));
        assert!(error_of("nodes: {").starts_with("test.yaml"));
    }
}
