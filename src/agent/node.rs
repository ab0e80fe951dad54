//! One node: what it is (identity, facts, classes, agents) and how it turns a request into a
//! reply.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use serde_json::{Map, Value};

use super::{check_request, Agent, CompiledFilter, DiscoveryAgent, RpcutilAgent};
use crate::protocol::{decode_request, encode_reply, unix_now, Reply, Request, RpcReplyBody};

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

/// A reply ready for the wire: where it goes and its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub subject: String,
    pub payload: Bytes,
}

/// A node and its agents.
pub struct Node {
    info: NodeInfo,
    agents: BTreeMap<String, Arc<dyn Agent>>,
}

/// The built-in agents are stateless: every node shares one of each.
static RPCUTIL: LazyLock<Arc<dyn Agent>> = LazyLock::new(|| Arc::new(RpcutilAgent));
static DISCOVERY: LazyLock<Arc<dyn Agent>> = LazyLock::new(|| Arc::new(DiscoveryAgent));

impl Node {
    /// A node running the built-in `rpcutil` and `discovery` agents.
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
        };
        node.add_agent("rpcutil", RPCUTIL.clone());
        node.add_agent("discovery", DISCOVERY.clone());
        node
    }

    /// Runs `agent` under `name`, replacing any agent of that name.
    pub fn add_agent(&mut self, name: &str, agent: Arc<dyn Agent>) {
        self.agents.insert(name.to_string(), agent);
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
        self.agents.get(name).cloned()
    }

    /// The node's answer to an accepted request (see [`check_request`]), or None when the
    /// filter does not select this node. A request for an agent the node does not run only
    /// arrives directly (a node does not subscribe to other agents' broadcasts); it is answered
    /// statuscode 2 "Unknown agent", so the caller learns at once instead of timing out (Choria
    /// drops it silently).
    pub async fn answer(&self, request: &Request, filter: &CompiledFilter) -> Option<RpcReplyBody> {
        if !filter.matches(&self.info) {
            return None;
        }
        Some(match self.agents.get(&request.agent) {
            Some(agent) => agent.handle(&self.info, request).await,
            None => RpcReplyBody::unknown_agent(&request.agent),
        })
    }

    /// The encoded reply to `request` carrying `body`, addressed to the request's reply subject.
    pub fn reply_to(&self, request: &Request, body: &RpcReplyBody) -> Option<Outgoing> {
        let encoded = Reply::rpc(
            &request.id,
            self.identity(),
            &request.agent,
            unix_now(),
            body,
        )
        .and_then(|reply| encode_reply(&reply));
        match encoded {
            Ok(payload) => Some(Outgoing {
                subject: request.reply_to.clone(),
                payload,
            }),
            Err(error) => {
                tracing::warn!(node = %self.identity(), %error, "could not encode a reply");
                None
            }
        }
    }

    /// Everything a node does with a message from the wire: decode, accept, filter, dispatch,
    /// encode. None when there is nothing to send back (bad message, refused, not selected).
    pub async fn handle_request(&self, payload: &[u8]) -> Option<Outgoing> {
        let request = match decode_request(payload) {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(node = %self.identity(), %error, "dropping a request that does not decode");
                return None;
            }
        };
        if let Err(rejection) = check_request(&request, &self.info.collective, unix_now()) {
            tracing::warn!(node = %self.identity(), %rejection, "dropping a request");
            return None;
        }
        let body = self
            .answer(&request, &CompiledFilter::compile(&request.filter))
            .await?;
        self.reply_to(&request, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{decode_reply, encode_request, statuscode, Filter};
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

    async fn round_trip(request: &Request) -> Option<RpcReplyBody> {
        let outgoing = node()
            .handle_request(&encode_request(request).unwrap())
            .await?;
        assert_eq!(outgoing.subject, request.reply_to);
        let reply = decode_reply(&outgoing.payload).unwrap();
        assert_eq!(reply.sender, "web1.example.net");
        assert_eq!(reply.request_id, request.id);
        Some(reply.rpc_body().unwrap())
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
            None
        );
    }

    #[tokio::test]
    async fn expired_foreign_and_garbage_requests_get_no_reply() {
        let mut expired = request("rpcutil", "ping", json!({}), Filter::default());
        expired.time -= 120;
        assert_eq!(round_trip(&expired).await, None);
        let mut foreign = request("rpcutil", "ping", json!({}), Filter::default());
        foreign.collective = "other".into();
        assert_eq!(round_trip(&foreign).await, None);
        assert_eq!(node().handle_request(b"not json").await, None);
        assert_eq!(node().handle_request(b"").await, None);
    }
}
