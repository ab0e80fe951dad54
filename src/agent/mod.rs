//! The node side: what a node does with a request. One gate (`intake.rs`: decoding, the
//! acceptance checks (collective, ttl and time), the filter, dispatch to an agent, and the
//! encoded reply) serves the simulated fleet for each of its nodes and the node daemon
//! (`orchestrate agent`, [`daemon`]) for its one node, with the real `puppet` agent and
//! external agents besides. With security on, the action policies and the audit log
//! (`authorize.rs`) stand between the filter and the agent.

mod acceptance;
mod authorize;
pub mod bounds;
pub mod config;
pub mod daemon;
mod discovery;
pub mod drop_log;
pub mod external;
pub mod facts;
pub mod filter;
mod intake;
#[cfg(test)]
mod intake_fuzz;
mod node;
pub mod puppet;
pub mod regex_cache;
mod rpcutil;

use crate::protocol::{Request, RpcReplyBody};
use crate::transport::BoxFuture;

pub use acceptance::{check_request, Rejection, ALLOWED_CLOCK_SKEW_SECS};
pub use authorize::{Guard, NodePolicies, NOT_AUTHORIZED};
pub use discovery::DiscoveryAgent;
pub use filter::CompiledFilter;
pub use intake::{Accepted, Admitted, Dropped, DroppedKind, Intake};
pub use node::{Node, NodeInfo, Outgoing};
pub use rpcutil::RpcutilAgent;

/// An RPC agent: a named set of actions a node runs for callers.
pub trait Agent: Send + Sync + 'static {
    /// Runs `request.action` with `request.data` as inputs on `node`. Failures are replies with
    /// a non-zero statuscode (see [`RpcReplyBody::fail`]); an action the agent lacks answers
    /// [`RpcReplyBody::unknown_action`].
    fn handle<'a>(
        &'a self,
        node: &'a NodeInfo,
        request: &'a Request,
    ) -> BoxFuture<'a, RpcReplyBody>;

    /// The agent's version, as the registry lists it: orchestrate's own for the agents built
    /// into it; an external agent's from its metadata file (None when it gives none).
    fn version(&self) -> Option<String> {
        Some(env!("CARGO_PKG_VERSION").to_string())
    }

    /// The inputs of `action` that hold secrets, redacted in the audit log besides those the
    /// caller marked sensitive.
    fn sensitive_inputs(&self, _action: &str) -> Vec<String> {
        Vec::new()
    }
}

/// A string input of a request, if given as a string.
pub fn string_input<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.data.get(name).and_then(serde_json::Value::as_str)
}
