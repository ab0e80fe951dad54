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

    fn compile(filter: &Filter) -> Result<CompiledFilter, String> {
        CompiledFilter::compile(filter).map_err(|refused| refused.to_string())
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::agent::{Agent, Intake, Node};
    use crate::protocol::{decode_reply, encode_request, REDACTED};
    use crate::transport::BoxFuture;

    /// An agent that counts the requests that reach it, and declares `token` secret.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Agent for Counting {
        fn handle<'a>(&'a self, _: &'a NodeInfo, _: &'a Request) -> BoxFuture<'a, RpcReplyBody> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { RpcReplyBody::ok(json!({})) })
        }

        fn sensitive_inputs(&self, _: &str) -> Vec<String> {
            vec!["token".into()]
        }
    }

    struct Guarded {
        node: Node,
        agent: Arc<Counting>,
        audit: std::path::PathBuf,
        _dir: tempfile::TempDir,
    }

    fn guarded(policy: &str) -> Guarded {
        let dir = tempfile::tempdir().unwrap();
        let policies = dir.path().join("policies");
        std::fs::create_dir(&policies).unwrap();
        std::fs::write(policies.join("appmgr.policy"), policy).unwrap();
        let audit = dir.path().join("audit.log");
        let guard = Guard::new(
            NodePolicies::new(&policies),
            Some(AuditLog::open(&audit).unwrap()),
        );
        let mut node = Node::new(
            "web1.example.net",
            "mcollective",
            Default::default(),
            vec![],
        );
        let agent = Arc::new(Counting::default());
        node.add_agent("appmgr", agent.clone());
        node.guard_with(Arc::new(guard));
        Guarded {
            node,
            agent,
            audit,
            _dir: dir,
        }
    }

    async fn ask(node: &Node, request: &Request) -> RpcReplyBody {
        let payload = encode_request(request).unwrap();
        let reply = node
            .handle(&Intake::new("mcollective"), &payload)
            .await
            .unwrap();
        decode_reply(&reply.payload).unwrap().rpc_body().unwrap()
    }

    fn audit_lines(guarded: &Guarded) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&guarded.audit)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_denied_request_is_answered_statuscode_1_and_never_reaches_its_agent() {
        let guarded = guarded("policy default deny\nallow\t*\tstatus\t*\t*\n");
        let mut status = Request::example("appmgr", "status", json!({}), Filter::default());
        status.id = "1".repeat(32);
        status.reply_to = crate::protocol::reply_subject("mcollective", "orch", &status.id);
        assert_eq!(ask(&guarded.node, &status).await.statuscode, statuscode::OK);
        let mut upgrade = Request::example(
            "appmgr",
            "upgrade",
            json!({"revision": 20, "token": "t0ps3cret", "password": "hunter2"}),
            Filter::default(),
        );
        upgrade.sensitive_inputs = vec!["password".into()];
        let denied = ask(&guarded.node, &upgrade).await;
        assert_eq!(denied.statuscode, statuscode::ABORTED);
        assert_eq!(denied.statusmsg, NOT_AUTHORIZED);
        assert_eq!(guarded.agent.0.load(Ordering::SeqCst), 1, "only status ran");
        guarded.node.guard().unwrap().audit().unwrap().sync().await;
        let lines = audit_lines(&guarded);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["decision"], "allow");
        assert_eq!(lines[0]["request_id"], status.id);
        assert_eq!(lines[1]["decision"], "deny");
        assert_eq!(lines[1]["action"], "upgrade");
        assert_eq!(lines[1]["caller"], "choria=rip.mcollective");
        assert!(
            lines[1]["reason"].as_str().unwrap().contains("default"),
            "{}",
            lines[1]
        );
        assert_eq!(
            lines[1]["data"],
            json!({"revision": 20, "token": REDACTED, "password": REDACTED}),
            "the agent's and the caller's sensitive inputs"
        );
        let raw = std::fs::read_to_string(&guarded.audit).unwrap();
        assert!(
            !raw.contains("hunter2") && !raw.contains("t0ps3cret"),
            "{raw}"
        );
    }

    #[tokio::test]
    async fn built_in_agents_need_a_policy_and_discovery_does_not() {
        let guarded = guarded("policy default allow\n");
        let ping = Request::example("rpcutil", "ping", json!({}), Filter::default());
        let denied = ask(&guarded.node, &ping).await;
        assert_eq!(
            denied.statusmsg, NOT_AUTHORIZED,
            "no rpcutil.policy, no default.policy"
        );
        let discovery = Request::example("discovery", "ping", json!({}), Filter::default());
        assert_eq!(
            ask(&guarded.node, &discovery).await.statuscode,
            statuscode::OK
        );
        guarded.node.guard().unwrap().audit().unwrap().sync().await;
        let lines = audit_lines(&guarded);
        assert_eq!(lines[0]["decision"], "deny");
        assert!(lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no policy for agent rpcutil"));
        assert_eq!(lines[1]["agent"], "discovery");
        assert_eq!(lines[1]["decision"], "allow");
    }
}
