//! The orchestrator's own record of what it sent: every request's id, agent, action, targets
//! (or filter), time and inputs, `Sensitive` inputs redacted as the nodes' audit logs show
//! them. It goes into the run report (`--report`), to set beside the nodes' audit logs.

use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use crate::protocol::{redact_inputs, Filter, Request};

/// One request as sent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SentRequest {
    pub request_id: String,
    /// The request's `time`, Unix seconds.
    pub time: u64,
    pub agent: String,
    pub action: String,
    /// The nodes addressed directly; empty for a broadcast (see `filter`).
    pub targets: Vec<String>,
    /// A broadcast's filter; None for direct requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// The inputs, sensitive ones redacted.
    pub data: Value,
}

/// Who a request went to.
pub(super) enum Addressed<'a> {
    Nodes(&'a [&'a str]),
    Broadcast,
}

/// The requests of one client and its clones, in the order they were sent.
#[derive(Debug, Default)]
pub(super) struct SentLog {
    sent: Mutex<Vec<SentRequest>>,
}

impl SentLog {
    pub(super) fn record(&self, request: &Request, addressed: Addressed<'_>) {
        let (targets, filter) = match addressed {
            Addressed::Nodes(nodes) => (nodes.iter().map(|n| n.to_string()).collect(), None),
            Addressed::Broadcast => (Vec::new(), Some(request.filter.clone())),
        };
        let sensitive = request.sensitive_inputs.iter().map(String::as_str);
        let entry = SentRequest {
            request_id: request.id.clone(),
            time: request.time,
            agent: request.agent.clone(),
            action: request.action.clone(),
            targets,
            filter,
            data: redact_inputs(&request.data, sensitive),
        };
        self.sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(entry);
    }

    pub(super) fn all(&self) -> Vec<SentRequest> {
        self.sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}
