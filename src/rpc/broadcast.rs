//! Calling an action on every node a filter selects with one broadcast message, as
//! MCollective does past its direct-addressing threshold: one publish instead of one per node,
//! which matters at thousands of nodes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::call::{accept, flush};
use super::collect::{Next, Replies};
use super::{CallResult, NodeReply, RpcClient, RpcError};
use crate::protocol::{broadcast_subject, Filter};

impl RpcClient {
    /// Publishes agent#action with `data` once to `<collective>.broadcast.agent.<agent>` with
    /// `filter` (the agent added), so each node running the agent and selected by the filter
    /// answers. Collects until every `expected` node (the discovered ones) has answered, or
    /// `timeout`. A node not expected that answers (it came up after discovery) is in
    /// `unexpected`, not among the replies; `missing` lists the expected nodes that did not
    /// answer. A broker that stays away
    /// longer than the reconnect grace fails it ([`RpcError::Unreachable`]).
    pub async fn broadcast_call(
        &self,
        agent: &str,
        action: &str,
        data: &Value,
        filter: &Filter,
        expected: &[String],
        timeout: Duration,
    ) -> Result<CallResult, RpcError> {
        let call = self.broadcast_once(agent, action, data, filter, expected, timeout);
        self.while_connected(call).await
    }

    async fn broadcast_once(
        &self,
        agent: &str,
        action: &str,
        data: &Value,
        filter: &Filter,
        expected: &[String],
        timeout: Duration,
    ) -> Result<CallResult, RpcError> {
        let expected: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
        let filter = filter.clone().with_agent(agent);
        let request = self.new_request(agent, action, data, filter, timeout);
        let payload = self.encode(&request)?;
        self.sent.record(&request, super::Addressed::Broadcast);
        let subscription = self.transport.subscribe(request.reply_to.clone()).await?;
        let mut replies = Replies::new(subscription, &request.id, self.security.clone());
        let subject = broadcast_subject(&self.options.collective, agent);
        self.transport.publish(subject, None, payload).await?;
        flush(self.transport.as_ref(), timeout).await?;
        let sent = Instant::now();
        let until = sent + timeout;
        let mut answered: BTreeMap<String, NodeReply> = BTreeMap::new();
        let mut outstanding = expected.len();
        let mut last_reply = None;
        while outstanding > 0 {
            let Next::Reply(reply) = replies.next(until).await? else {
                break;
            };
            let sender = reply.sender.clone();
            let before = answered.len();
            accept(reply, None, &mut answered);
            if answered.len() > before && expected.contains(sender.as_str()) {
                outstanding -= 1;
            }
            last_reply = Some(sent.elapsed());
        }
        Ok(CallResult::collected(answered, &expected, last_reply))
    }
}
