//! One node: what it is (identity, facts, classes, agents, how long their actions may take).
//! How it turns a request into a reply is the intake's (`intake.rs`).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::{Agent, DiscoveryAgent, Guard, RpcutilAgent};
use crate::protocol::Signer;
use crate::registry::{AgentVersion, Inventory, PublishedNode};
use crate::security::Credentials;

/// What a filter and the built-in agents know about a node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeInfo {
    pub identity: String,
    pub collective: String,
    pub facts: Map<String, Value>,
    pub classes: Vec<String>,
    /// Every agent the node runs, built-in ones included, sorted.
    pub agents: Vec<String>,
}

impl NodeInfo {
    /// A node as the registry lists it, seen from `collective` (one of its collectives).
    pub fn registered(inventory: Inventory, collective: &str) -> NodeInfo {
        let mut agents: Vec<String> = inventory.agents.into_iter().map(|a| a.name).collect();
        agents.sort();
        NodeInfo {
            identity: inventory.identity,
            collective: collective.to_string(),
            facts: inventory.facts,
            classes: inventory.classes,
            agents,
        }
    }
}

/// A reply ready for the wire: where it goes and its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub subject: String,
    pub payload: Bytes,
}

/// A node and its agents.
pub struct Node {
    info: NodeInfo,
    agents: BTreeMap<String, Hosted>,
    /// How long an action of an agent without a limit of its own may take; None: no limit.
    default_limit: Option<Duration>,
    /// Security on: the action policies and the audit log (shared by the nodes of a fleet).
    guard: Option<Arc<Guard>>,
    /// With security on: the node's certificate and key, which sign its replies.
    credentials: Option<Arc<Credentials>>,
}

/// An agent as a node runs it.
struct Hosted {
    agent: Arc<dyn Agent>,
    limit: Option<Duration>,
}

/// The built-in agents are stateless: every node shares one of each.
static RPCUTIL: LazyLock<Arc<dyn Agent>> = LazyLock::new(|| Arc::new(RpcutilAgent));
static DISCOVERY: LazyLock<Arc<dyn Agent>> = LazyLock::new(|| Arc::new(DiscoveryAgent));

impl Node {
    /// A node running the built-in `rpcutil` and `discovery` agents, its actions unlimited in
    /// time.
    pub fn new(
        identity: impl Into<String>,
        collective: impl Into<String>,
        facts: Map<String, Value>,
        classes: Vec<String>,
    ) -> Node {
        let mut node = Node {
            info: NodeInfo {
                identity: identity.into(),
                collective: collective.into(),
                facts,
                classes,
                agents: Vec::new(),
            },
            agents: BTreeMap::new(),
            default_limit: None,
            guard: None,
            credentials: None,
        };
        node.add_agent("rpcutil", RPCUTIL.clone());
        node.add_agent("discovery", DISCOVERY.clone());
        node
    }

    /// Runs `agent` under `name`, replacing any agent of that name.
    pub fn add_agent(&mut self, name: &str, agent: Arc<dyn Agent>) {
        self.host(name, Hosted { agent, limit: None });
    }

    /// Runs `agent` under `name`, each action answered statuscode 5 if it takes longer than
    /// `limit`.
    pub fn add_agent_within(&mut self, name: &str, agent: Arc<dyn Agent>, limit: Duration) {
        let limit = Some(limit);
        self.host(name, Hosted { agent, limit });
    }

    /// Limits the actions of every agent without a limit of its own to `limit`.
    pub fn limit_actions(&mut self, limit: Duration) {
        self.default_limit = Some(limit);
    }

    /// Checks every request against `guard`'s policies and audits it, before any agent runs.
    pub fn guard_with(&mut self, guard: Arc<Guard>) {
        self.guard = Some(guard);
    }

    pub fn guard(&self) -> Option<&Arc<Guard>> {
        self.guard.as_ref()
    }

    /// Signs this node's replies with `credentials` (its own certificate).
    pub fn sign_replies(&mut self, credentials: Arc<Credentials>) {
        self.credentials = Some(credentials);
    }

    /// What signs this node's replies; None: they are only hashed, as Choria's.
    pub fn signer(&self) -> Option<&dyn Signer> {
        self.credentials
            .as_deref()
            .map(|credentials| credentials as &dyn Signer)
    }

    /// Every agent the node runs with its version (None: its metadata gives none), by name.
    pub fn agent_versions(&self) -> impl Iterator<Item = (&str, Option<String>)> {
        self.agents
            .iter()
            .map(|(name, hosted)| (name.as_str(), hosted.agent.version()))
    }

    /// What the node writes into the node registry: its inventory, signed by its certificate
    /// when security is on.
    pub fn registration(&self) -> PublishedNode {
        let info = &self.info;
        let agents = self
            .agent_versions()
            .map(|(name, version)| AgentVersion {
                name: name.to_string(),
                version,
            })
            .collect();
        PublishedNode {
            inventory: Inventory {
                identity: info.identity.clone(),
                collectives: vec![info.collective.clone()],
                agents,
                facts: info.facts.clone(),
                classes: info.classes.clone(),
                heartbeat: 0,
            },
            signer: self
                .credentials
                .clone()
                .map(|credentials| credentials as Arc<dyn Signer>),
        }
    }

    fn host(&mut self, name: &str, hosted: Hosted) {
        self.agents.insert(name.to_string(), hosted);
        self.info.agents = self.agents.keys().cloned().collect();
    }

    pub fn info(&self) -> &NodeInfo {
        &self.info
    }

    pub fn identity(&self) -> &str {
        &self.info.identity
    }

    pub fn runs(&self, agent: &str) -> bool {
        self.agents.contains_key(agent)
    }

    /// The agent running under `name`.
    pub fn agent(&self, name: &str) -> Option<Arc<dyn Agent>> {
        self.agents.get(name).map(|hosted| hosted.agent.clone())
    }

    /// How long an action of agent `name` may take; None: as long as it takes.
    pub fn limit(&self, name: &str) -> Option<Duration> {
        self.agents
            .get(name)
            .and_then(|hosted| hosted.limit)
            .or(self.default_limit)
    }

    /// The agent running under `name`, with its limit.
    pub(super) fn hosted(&self, name: &str) -> Option<(Arc<dyn Agent>, Option<Duration>)> {
        let hosted = self.agents.get(name)?;
        Some((hosted.agent.clone(), self.limit(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{DroppedKind, Intake};
    use crate::protocol::{
        decode_reply, encode_request, statuscode, unix_now, Filter, Request, RpcReplyBody,
    };
    use serde_json::json;

    fn node() -> Node {
        let facts = json!({"cluster": "bravo"}).as_object().unwrap().clone();
        Node::new(
            "web1.example.net",
            "mcollective",
            facts,
            vec!["role::web".into()],
        )
    }

    fn request(agent: &str, action: &str, data: Value, filter: Filter) -> Request {
        Request::example(agent, action, data, filter)
    }

    async fn handle(payload: &[u8]) -> Result<Outgoing, DroppedKind> {
        let intake = Intake::new("mcollective");
        node()
            .handle(&intake, payload)
            .await
            .map_err(|dropped| dropped.kind())
    }

    async fn round_trip(request: &Request) -> Result<RpcReplyBody, DroppedKind> {
        let outgoing = handle(&encode_request(request).unwrap()).await?;
        assert_eq!(outgoing.subject, request.reply_to);
        let reply = decode_reply(&outgoing.payload).unwrap();
        assert_eq!(reply.sender, "web1.example.net");
        assert_eq!(reply.request_id, request.id);
        Ok(reply.rpc_body().unwrap())
    }

    #[tokio::test]
    async fn rpcutil_ping_answers_pong_with_the_time() {
        let body = round_trip(&request("rpcutil", "ping", json!({}), Filter::default()))
            .await
            .unwrap();
        assert_eq!(body.statuscode, statuscode::OK);
        assert!(body.data["pong"].as_u64().unwrap() >= unix_now() - 5);
    }

    #[tokio::test]
    async fn rpcutil_inventory_and_facts() {
        let inventory = round_trip(&request(
            "rpcutil",
            "inventory",
            json!({}),
            Filter::default(),
        ))
        .await
        .unwrap();
        assert_eq!(inventory.data["agents"], json!(["discovery", "rpcutil"]));
        assert_eq!(inventory.data["classes"], json!(["role::web"]));
        assert_eq!(inventory.data["facts"]["cluster"], "bravo");
        let fact = round_trip(&request(
            "rpcutil",
            "get_fact",
            json!({"fact": "cluster"}),
            Filter::default(),
        ))
        .await
        .unwrap();
        assert_eq!(fact.data, json!({"fact": "cluster", "value": "bravo"}));
        let missing = round_trip(&request(
            "rpcutil",
            "get_fact",
            json!({}),
            Filter::default(),
        ))
        .await
        .unwrap();
        assert_eq!(missing.statuscode, statuscode::MISSING_DATA);
        let agents = round_trip(&request(
            "rpcutil",
            "agent_inventory",
            json!({}),
            Filter::default(),
        ))
        .await
        .unwrap();
        assert_eq!(agents.data["agents"][1]["agent"], "rpcutil");
    }

    #[tokio::test]
    async fn unknown_actions_and_agents_answer_statuscode_2() {
        let action = round_trip(&request("rpcutil", "reboot", json!({}), Filter::default()))
            .await
            .unwrap();
        assert_eq!(action.statuscode, statuscode::UNKNOWN_ACTION);
        assert_eq!(action.statusmsg, "Unknown action reboot for agent rpcutil");
        let agent = round_trip(&request("appmgr", "status", json!({}), Filter::default()))
            .await
            .unwrap();
        assert_eq!(agent.statuscode, statuscode::UNKNOWN_ACTION);
        assert_eq!(agent.statusmsg, "Unknown agent appmgr");
    }

    #[tokio::test]
    async fn discovery_answers_only_when_the_filter_selects_the_node() {
        let selecting = Filter::default().with_agent("rpcutil");
        let body = round_trip(&request("discovery", "ping", json!({}), selecting))
            .await
            .unwrap();
        assert_eq!(body.data, json!("pong"));
        let other_cluster = Filter {
            fact: vec![crate::protocol::FactFilter::parse("cluster=alfa").unwrap()],
            ..Filter::default()
        };
        assert_eq!(
            round_trip(&request("discovery", "ping", json!({}), other_cluster)).await,
            Err(DroppedKind::NotSelected)
        );
    }

    #[tokio::test]
    async fn expired_foreign_and_garbage_requests_get_no_reply() {
        let mut expired = request("rpcutil", "ping", json!({}), Filter::default());
        expired.time -= 120;
        assert_eq!(round_trip(&expired).await, Err(DroppedKind::Refused));
        let mut foreign = request("rpcutil", "ping", json!({}), Filter::default());
        foreign.collective = "other".into();
        foreign.reply_to = crate::protocol::reply_subject("other", &foreign.sender, &foreign.id);
        assert_eq!(round_trip(&foreign).await, Err(DroppedKind::Refused));
        assert_eq!(handle(b"not json").await, Err(DroppedKind::Undecodable));
        assert_eq!(handle(b"").await, Err(DroppedKind::Undecodable));
    }
}
