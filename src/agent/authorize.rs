//! The stage of the gate after the filter: whether the caller may run this agent's action here
//! (the action policies) and the audit line of every request that gets this far, allowed or
//! denied. A node with security on carries a [`Guard`]; a node without one (the simulated
//! fleet without `policies:`, tests) allows every request and audits none.
//!
//! `discovery` is not subject to policies, as in go-choria (its discovery agent is not an RPC
//! agent and never consults the authorizer): a `ping` only tells that the node exists and its
//! filter selects it. It is audited like any other request.

use super::filter::CompiledFilter;
use super::NodeInfo;
use crate::protocol::{redact_inputs, statuscode, Filter, Request, RpcReplyBody};
use crate::security::{Asking, AuditEntry, AuditLog, Decision, Effect, NodeCondition, Policies};

/// The statusmsg of a denial, Choria's words.
pub const NOT_AUTHORIZED: &str = "You are not authorized to call this agent or action";

/// The agent no policy governs.
const DISCOVERY: &str = "discovery";

/// The action policies of a node, facts and classes matched by the node's filter code.
pub type NodePolicies = Policies<CompiledFilter>;

/// What a node with security on checks and records.
pub struct Guard {
    policies: NodePolicies,
    audit: Option<AuditLog>,
}

impl NodeCondition for CompiledFilter {
    type Node = NodeInfo;

    fn compile(filter: &Filter) -> CompiledFilter {
        CompiledFilter::compile(filter)
    }

    fn holds(&self, node: &NodeInfo) -> bool {
        self.matches(node)
    }
}

impl Guard {
    pub fn new(policies: NodePolicies, audit: Option<AuditLog>) -> Guard {
        Guard { policies, audit }
    }

    pub fn policies(&self) -> &NodePolicies {
        &self.policies
    }

    pub fn audit(&self) -> Option<&AuditLog> {
        self.audit.as_ref()
    }

    /// Decides `request` on `node` and audits it; Some(reply) when it is denied. `sensitive`
    /// names inputs the agent declares secret, redacted besides those the caller marked.
    pub async fn check(
        &self,
        node: &NodeInfo,
        request: &Request,
        sensitive: &[String],
    ) -> Option<RpcReplyBody> {
        let decision = self.decide(node, request);
        if let Some(audit) = &self.audit {
            audit.record(&entry(request, &decision, sensitive)).await;
        }
        if decision.allowed() {
            return None;
        }
        tracing::warn!(
            node = %node.identity,
            request = %request.id,
            caller = %request.caller.escape_debug(),
            agent = %request.agent.escape_debug(),
            action = %request.action.escape_debug(),
            reason = %decision.reason,
            "not authorized"
        );
        Some(RpcReplyBody::fail(statuscode::ABORTED, NOT_AUTHORIZED))
    }

    fn decide(&self, node: &NodeInfo, request: &Request) -> Decision {
        if request.agent == DISCOVERY {
            return Decision {
                effect: Effect::Allow,
                reason: "discovery is not subject to policies (as in Choria)".into(),
            };
        }
        let asking = Asking {
            caller: &request.caller,
            agent: &request.agent,
            action: &request.action,
        };
        self.policies.decide(&asking, node)
    }
}

/// The audit line of `request`.
fn entry(request: &Request, decision: &Decision, sensitive: &[String]) -> AuditEntry {
    let marked = request.sensitive_inputs.iter().chain(sensitive);
    AuditEntry {
        timestamp: AuditEntry::now(),
        request_id: request.id.clone(),
        request_time: request.time,
        caller: request.caller.clone(),
        sender: request.sender.clone(),
        agent: request.agent.clone(),
        action: request.action.clone(),
        data: redact_inputs(&request.data, marked.map(String::as_str)),
        decision: AuditEntry::decided(decision.effect),
        reason: decision.reason.clone(),
    }
}
