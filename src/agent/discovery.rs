//! The built-in `discovery` agent: `ping` answers "pong". A node answers it only when the
//! request's filter selects the node, which is what makes it discovery.

use crate::protocol::{Request, RpcReplyBody};
use crate::transport::BoxFuture;

use super::{Agent, NodeInfo};

/// Answers `discovery#ping`. The reply is an ordinary RPC body whose data is `"pong"` (Choria's
/// own discovery agent sends a bare `pong` body; clients only read the reply's sender).
pub struct DiscoveryAgent;

impl Agent for DiscoveryAgent {
    fn handle<'a>(
        &'a self,
        _node: &'a NodeInfo,
        request: &'a Request,
    ) -> BoxFuture<'a, RpcReplyBody> {
        let reply = match request.action.as_str() {
            "ping" => RpcReplyBody::ok(serde_json::json!("pong")),
            other => RpcReplyBody::unknown_action("discovery", other),
        };
        Box::pin(async move { reply })
    }
}
