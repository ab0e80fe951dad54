//! The built-in `rpcutil` agent every node runs: `ping`, `inventory`, `get_fact`,
//! `agent_inventory`.

use serde_json::{json, Value};

use crate::protocol::{unix_now, Request, RpcReplyBody};
use crate::transport::BoxFuture;

use super::{string_input, Agent, NodeInfo};

/// Answers questions about the node itself.
pub struct RpcutilAgent;

impl Agent for RpcutilAgent {
    fn handle<'a>(
        &'a self,
        node: &'a NodeInfo,
        request: &'a Request,
    ) -> BoxFuture<'a, RpcReplyBody> {
        let reply = match request.action.as_str() {
            "ping" => RpcReplyBody::ok(json!({ "pong": unix_now() })),
            "inventory" => RpcReplyBody::ok(inventory(node)),
            "get_fact" => get_fact(node, request),
            "agent_inventory" => RpcReplyBody::ok(agent_inventory(node)),
            other => RpcReplyBody::unknown_action("rpcutil", other),
        };
        Box::pin(async move { reply })
    }
}

fn inventory(node: &NodeInfo) -> Value {
    json!({
        "agents": node.agents,
        "classes": node.classes,
        "facts": node.facts,
        "collectives": [node.collective],
        "main_collective": node.collective,
        "data_plugins": [],
        "version": env!("CARGO_PKG_VERSION"),
    })
}

fn get_fact(node: &NodeInfo, request: &Request) -> RpcReplyBody {
    let Some(fact) = string_input(request, "fact") else {
        return RpcReplyBody::missing_input("fact");
    };
    let value = node.facts.get(fact).cloned().unwrap_or(Value::Null);
    RpcReplyBody::ok(json!({ "fact": fact, "value": value }))
}

fn agent_inventory(node: &NodeInfo) -> Value {
    let agents: Vec<Value> = node
        .agents
        .iter()
        .map(|name| json!({ "agent": name, "name": name }))
        .collect();
    json!({ "agents": agents })
}
