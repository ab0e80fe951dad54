//! Calling an action on a set of nodes, addressed directly, and gathering what they answer.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::collect::{Next, Replies};
use super::{Addressed, RpcClient, RpcError};
use crate::protocol::{direct_subject, statuscode, Filter, Reply};
use crate::transport::{validate_publish_subject, Transport};

/// What the targets of a call answered.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct CallResult {
    /// One per answering target, sorted by identity.
    pub replies: Vec<NodeReply>,
    /// Targets that did not answer in time, sorted.
    pub missing: Vec<String>,
    /// From the requests leaving to the last reply taken (None without replies).
    #[serde(skip)]
    pub last_reply: Option<Duration>,
    /// Nodes that answered a broadcast although discovery had not found them (they came up,
    /// or changed, since): reported, not counted among the replies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unexpected: Vec<NodeReply>,
}

impl CallResult {
    /// The replies collected, and which of `asked` are not among them.
    pub(super) fn collected(
        answered: BTreeMap<String, NodeReply>,
        asked: &BTreeSet<&str>,
        last_reply: Option<Duration>,
    ) -> CallResult {
        let missing = asked
            .iter()
            .filter(|node| !answered.contains_key(**node))
            .map(|node| node.to_string())
            .collect();
        let (replies, unexpected) = answered
            .into_values()
            .partition(|reply| asked.contains(reply.identity.as_str()));
        CallResult {
            replies,
            missing,
            last_reply,
            unexpected,
        }
    }
}

/// One node's answer.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct NodeReply {
    pub identity: String,
    pub statuscode: u8,
    pub statusmsg: String,
    pub data: Value,
}

/// A node that failed an action: no answer, or an answer with an error.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NodeFailure {
    pub identity: String,
    /// The reply's statusmsg, or "no response".
    pub message: String,
    pub statuscode: Option<u8>,
}

impl CallResult {
    /// Every target answered, all with statuscode 0.
    pub fn all_ok(&self) -> bool {
        self.missing.is_empty() && self.failed().next().is_none()
    }

    /// The replies with a non-zero statuscode.
    pub fn failed(&self) -> impl Iterator<Item = &NodeReply> {
        self.replies
            .iter()
            .filter(|reply| reply.statuscode != statuscode::OK)
    }
}

impl RpcClient {
    /// Sends agent#action with `data` directly to each target (subject
    /// <collective>.node.<identity>) and collects replies until every target answered or
    /// `timeout` elapsed (counted from when the requests are out). Never fails because nodes
    /// failed: that is in the result. The request carries an empty filter: the targets were
    /// chosen already, and a target lacking the agent should say so (statuscode 2) rather than
    /// stay silent. A broker that stays away longer than the reconnect grace fails it
    /// ([`RpcError::Unreachable`]).
    pub async fn call(
        &self,
        agent: &str,
        action: &str,
        data: &Value,
        targets: &[String],
        timeout: Duration,
    ) -> Result<CallResult, RpcError> {
        let call = self.call_directly(agent, action, data, targets, timeout);
        self.while_connected(call).await
    }

    async fn call_directly(
        &self,
        agent: &str,
        action: &str,
        data: &Value,
        targets: &[String],
        timeout: Duration,
    ) -> Result<CallResult, RpcError> {
        let targets: BTreeSet<&str> = targets.iter().map(String::as_str).collect();
        let subjects = self.target_subjects(&targets)?;
        if targets.is_empty() {
            return Ok(CallResult::default());
        }
        let request = self.new_request(agent, action, data, Filter::default(), timeout);
        let payload = self.encode(&request)?;
        let addressed: Vec<&str> = targets.iter().copied().collect();
        self.sent.record(&request, Addressed::Nodes(&addressed));
        let subscription = self.transport.subscribe(request.reply_to.clone()).await?;
        let mut replies = Replies::new(subscription, &request.id, self.security.clone());
        for subject in subjects {
            self.transport
                .publish(subject, None, payload.clone())
                .await?;
        }
        flush(self.transport.as_ref(), timeout).await?;
        let sent = Instant::now();
        let until = sent + timeout;
        let mut answered: BTreeMap<String, NodeReply> = BTreeMap::new();
        let mut last_reply = None;
        while answered.len() < targets.len() {
            let Next::Reply(reply) = replies.next(until).await? else {
                break;
            };
            accept(reply, Some(&targets), &mut answered);
            last_reply = Some(sent.elapsed());
        }
        Ok(CallResult::collected(answered, &targets, last_reply))
    }

    /// The direct subject of every target, or an error naming one that cannot be addressed.
    fn target_subjects(&self, targets: &BTreeSet<&str>) -> Result<Vec<String>, RpcError> {
        targets
            .iter()
            .map(|target| {
                let subject = direct_subject(&self.options.collective, target);
                match validate_publish_subject(&subject) {
                    Ok(()) if !target.is_empty() => Ok(subject),
                    _ => Err(RpcError::InvalidTarget {
                        target: target.to_string(),
                    }),
                }
            })
            .collect()
    }
}

/// Waits until the requests have left this process, so the nodes get the whole timeout. A
/// broker that is down holds them until it is back (the client reconnects): the wait is
/// bounded by the timeout, after which the collection starts anyway and reports who did not
/// answer (a broker away for longer than the reconnect grace ends the request before).
pub(super) async fn flush(transport: &dyn Transport, timeout: Duration) -> Result<(), RpcError> {
    match tokio::time::timeout(timeout, transport.flush()).await {
        Ok(result) => Ok(result?),
        Err(_) => {
            tracing::warn!("the requests did not leave within the timeout; is the broker down?");
            Ok(())
        }
    }
}

/// Records a reply from a target that has not answered yet; logs and drops anything else.
/// Without `targets` (a broadcast), every sender is a target.
pub(super) fn accept(
    reply: Reply,
    targets: Option<&BTreeSet<&str>>,
    answered: &mut BTreeMap<String, NodeReply>,
) {
    if targets.is_some_and(|targets| !targets.contains(reply.sender.as_str())) {
        tracing::warn!(sender = %reply.sender, "dropping a reply from a node that was not asked");
        return;
    }
    if answered.contains_key(&reply.sender) {
        tracing::warn!(sender = %reply.sender, "dropping a repeated reply");
        return;
    }
    match reply.rpc_body() {
        Ok(body) => {
            answered.insert(
                reply.sender.clone(),
                NodeReply {
                    identity: reply.sender,
                    statuscode: body.statuscode,
                    statusmsg: body.statusmsg,
                    data: body.data,
                },
            );
        }
        Err(error) => {
            tracing::warn!(sender = %reply.sender, %error, "dropping a reply whose body is not an RPC reply")
        }
    }
}
