//! Discovery: which nodes a filter selects.

use std::collections::BTreeSet;

use serde_json::json;
use tokio::time::Instant;

use super::collect::{next_reply, Next};
use super::{RpcClient, RpcError};
use crate::protocol::{broadcast_subject, encode_request, Filter};

impl RpcClient {
    /// Node identities, sorted and unique. Agent defaults to "rpcutil" at the caller, not here.
    /// An identity-only filter made of plain names (no /regex/) needs no network: returns them
    /// as given (sorted, deduped). Otherwise broadcasts discovery#ping (agent filter += agent)
    /// and collects senders: until `discovery_timeout`, or with a discovery window, until the
    /// window passes without a new node once some node has answered. Without any answer it
    /// waits the whole timeout, so slow networks do not look like empty ones.
    pub async fn discover(&self, agent: &str, filter: &Filter) -> Result<Vec<String>, RpcError> {
        if let Some(names) = filter.plain_identities() {
            return Ok(sorted_unique(names.iter().cloned()));
        }
        let options = &self.options;
        let filter = filter.clone().with_agent(agent);
        let request = self.new_request(
            "discovery",
            "ping",
            &json!({}),
            filter,
            options.discovery_timeout,
        );
        let payload = encode_request(&request)?;
        self.sent.record(&request, super::Addressed::Broadcast);
        let mut replies = self.transport.subscribe(request.reply_to.clone()).await?;
        let subject = broadcast_subject(&options.collective, "discovery");
        self.transport.publish(subject, None, payload).await?;
        super::call::flush(self.transport.as_ref(), options.discovery_timeout).await?;

        let give_up = Instant::now() + options.discovery_timeout;
        let mut found = BTreeSet::new();
        let mut last_new = Instant::now();
        loop {
            let until = match options.discovery_window {
                Some(window) if !found.is_empty() => give_up.min(last_new + window),
                _ => give_up,
            };
            match next_reply(&mut replies, &request.id, until).await? {
                Next::TimedOut => break,
                Next::Reply(reply) => {
                    if found.insert(reply.sender) {
                        last_new = Instant::now();
                    }
                }
            }
        }
        Ok(found.into_iter().collect())
    }
}

fn sorted_unique(names: impl Iterator<Item = String>) -> Vec<String> {
    names.collect::<BTreeSet<_>>().into_iter().collect()
}
