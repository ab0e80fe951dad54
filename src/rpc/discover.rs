//! Discovery: which nodes a filter selects.

use std::collections::BTreeSet;

use serde_json::json;
use tokio::time::Instant;

use super::collect::{Next, Replies};
use super::{RpcClient, RpcError};
use crate::agent::{CompiledFilter, NodeInfo};
use crate::protocol::{broadcast_subject, unix_now, Filter};
use crate::registry::{DiscoveryMethod, Registry};

impl RpcClient {
    /// Node identities, sorted and unique. Agent defaults to "rpcutil" at the caller, not here.
    /// An identity-only filter made of plain names (no /regex/) needs no network: returns them
    /// as given (sorted, deduped). Otherwise broadcasts discovery#ping (agent filter += agent)
    /// and collects senders: until `discovery_timeout`, or with a discovery window, until the
    /// window passes without a new node once some node has answered. Without any answer it
    /// waits the whole timeout, so slow networks do not look like empty ones.
    ///
    /// A lost broker never passes for an empty fleet: one away for longer than the reconnect
    /// grace is [`RpcError::Unreachable`], and a discovery during which the connection was
    /// lost and came back (replies may have been lost with it) is made again.
    pub async fn discover(&self, agent: &str, filter: &Filter) -> Result<Vec<String>, RpcError> {
        self.discover_by(agent, filter, None).await
    }

    /// [`RpcClient::discover`] by `method` rather than the client's own (its
    /// [`RpcClient::with_discovery_method`], else from the registry where the client has one,
    /// else by broadcast). The registry method on a client without a registry is
    /// [`RpcError::NoRegistry`], never an empty list.
    pub async fn discover_by(
        &self,
        agent: &str,
        filter: &Filter,
        method: Option<DiscoveryMethod>,
    ) -> Result<Vec<String>, RpcError> {
        if let Some(names) = filter.plain_identities() {
            return Ok(sorted_unique(names.iter().cloned()));
        }
        match (method.or(self.method), &self.registry) {
            (Some(DiscoveryMethod::Broadcast), _) => {}
            (_, Some(registry)) => return self.discover_in(registry, agent, filter).await,
            (Some(DiscoveryMethod::Registry), None) => {
                let why = self.no_registry.as_deref();
                return Err(RpcError::NoRegistry {
                    why: why.unwrap_or("the client was not given one").to_string(),
                });
            }
            (None, None) => {}
        }
        let mut attempt = 1;
        loop {
            let losses = self.connection_losses();
            let found = self
                .while_connected(self.discover_once(agent, filter))
                .await?;
            if self.connection_losses() == losses {
                return Ok(found);
            }
            if attempt == DISCOVERY_ATTEMPTS {
                return Err(RpcError::Unsettled {
                    broker: self.transport.broker(),
                    attempts: attempt,
                });
            }
            tracing::warn!(
                found = found.len(),
                "the connection to the broker was lost during discovery; discovering again"
            );
            attempt += 1;
        }
    }

    /// One broadcast discovery (see [`RpcClient::discover`]).
    async fn discover_once(&self, agent: &str, filter: &Filter) -> Result<Vec<String>, RpcError> {
        let options = &self.options;
        let filter = filter.clone().with_agent(agent);
        let request = self.new_request(
            "discovery",
            "ping",
            &json!({}),
            filter,
            options.discovery_timeout,
        );
        let payload = self.encode(&request)?;
        self.sent.record(&request, super::Addressed::Broadcast);
        let subscription = self.transport.subscribe(request.reply_to.clone()).await?;
        let mut replies = Replies::new(subscription, &request.id, self.security.clone());
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
            match replies.next(until).await? {
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

impl RpcClient {
    /// Registry discovery: the filter evaluated on every registered node of the collective, as
    /// the nodes evaluate it. Nodes that missed a heartbeat are still chosen (the step will
    /// name them if they do not answer), and remembered as stale ([`RpcClient::stale_among`]).
    async fn discover_in(
        &self,
        registry: &Registry,
        agent: &str,
        filter: &Filter,
    ) -> Result<Vec<String>, RpcError> {
        let filter = CompiledFilter::compile(&filter.clone().with_agent(agent))?;
        let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
        let mut found = Vec::new();
        let mut stale = Vec::new();
        for node in registry.nodes().await? {
            if !node.in_collective(&self.options.collective) {
                continue;
            }
            let is_stale = node.is_stale(now);
            let info = NodeInfo::registered(node.inventory, &self.options.collective);
            if filter.matches(&info) {
                if is_stale {
                    stale.push(info.identity.clone());
                }
                found.push(info.identity);
            }
        }
        if !stale.is_empty() {
            let mut known = self
                .stale
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            known.extend(stale);
        }
        Ok(found)
    }
}

/// Discoveries made in a row, each spoilt by a lost connection, before giving up.
const DISCOVERY_ATTEMPTS: u32 = 3;

fn sorted_unique(names: impl Iterator<Item = String>) -> Vec<String> {
    names.collect::<BTreeSet<_>>().into_iter().collect()
}
