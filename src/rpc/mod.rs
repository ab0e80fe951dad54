//! The RPC client: discovery of nodes and calls to agents' actions over a [`Transport`],
//! speaking Choria's protocol v1.

mod broadcast;
mod call;
mod collect;
mod connection;
mod discover;
mod error;
mod options;
mod sent;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::protocol::{
    encode_signed_request, new_request_id, reply_subject, unix_now, Filter, Request,
};
use crate::registry::{DiscoveryMethod, Registry};
use crate::security::ClientSecurity;
use crate::transport::Transport;

pub use call::{CallResult, NodeFailure, NodeReply};
pub use error::{RpcError, RpcErrorKind};
pub use options::{ClientOptions, DEFAULT_RECONNECT_GRACE};
pub use sent::SentRequest;

use sent::{Addressed, SentLog};

/// Above this many nodes found by a filter, one broadcast request with the filter replaces a
/// request per node, as MCollective's `direct_addressing_threshold`.
pub const DIRECT_ADDRESSING_THRESHOLD: usize = 10;

/// The time to live written into every request, unless the request waits longer.
const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// A client of the fleet. Cheap to clone; clones share the transport.
#[derive(Clone)]
pub struct RpcClient {
    transport: Arc<dyn Transport>,
    options: Arc<ClientOptions>,
    /// Every request sent by this client and its clones.
    sent: Arc<SentLog>,
    /// The inputs this client's requests mark sensitive (see [`RpcClient::marking_sensitive`]).
    sensitive: Arc<[String]>,
    /// With security on: what signs requests and checks replies.
    security: Option<Arc<ClientSecurity>>,
    /// Discovery from the node registry instead of a broadcast, when set.
    registry: Option<Arc<Registry>>,
    /// How this client discovers unless a call names a method; None: from the registry
    /// where it has one, else by broadcast.
    method: Option<DiscoveryMethod>,
    /// Why it has no registry, when that is known (said when a call asks for the registry).
    no_registry: Option<Arc<str>>,
    /// The nodes registry discovery chose although they had missed their last heartbeat.
    stale: Arc<Mutex<BTreeSet<String>>>,
}

impl RpcClient {
    pub fn new(transport: Arc<dyn Transport>, options: ClientOptions) -> RpcClient {
        RpcClient {
            transport,
            options: Arc::new(options),
            security: None,
            sent: Arc::default(),
            sensitive: Arc::new([]),
            registry: None,
            method: None,
            no_registry: None,
            stale: Arc::default(),
        }
    }

    /// A clone whose requests mark `inputs` as holding Puppet `Sensitive` values (those of
    /// them a request has): redacted in the nodes' audit logs and in [`RpcClient::sent`].
    pub fn marking_sensitive(&self, inputs: &[String]) -> RpcClient {
        RpcClient {
            sensitive: inputs.into(),
            ..self.clone()
        }
    }

    /// Every request this client (and its clones) sent, in order, sensitive inputs redacted.
    pub fn sent(&self) -> Vec<SentRequest> {
        self.sent.all()
    }

    /// The client with security on: requests signed and sent as `choria=<certname>` from
    /// sender `<certname>` (so the replies come back on the certificate's own reply subjects,
    /// the ones a broker's permissions give it), and replies taken only when signed by the
    /// node that answered.
    pub fn secured(
        transport: Arc<dyn Transport>,
        mut options: ClientOptions,
        security: Arc<ClientSecurity>,
    ) -> RpcClient {
        options.caller_id = security.caller_id();
        options.sender_id = security.certname().to_string();
        RpcClient {
            security: Some(security),
            ..RpcClient::new(transport, options)
        }
    }

    /// The client discovering nodes from `registry` (filters evaluated on its entries, no
    /// broadcast, no window to wait out).
    pub fn with_registry(mut self, registry: Arc<Registry>) -> RpcClient {
        self.registry = Some(registry);
        self
    }

    /// The client discovering by `method` unless a call names another (the registry, when it
    /// has one, is still there for a call that asks for it).
    pub fn with_discovery_method(mut self, method: DiscoveryMethod) -> RpcClient {
        self.method = Some(method);
        self
    }

    /// The client without a registry, and `why` (said by a call that asks for the registry).
    pub fn without_registry(mut self, why: impl std::fmt::Display) -> RpcClient {
        self.registry = None;
        self.no_registry = Some(why.to_string().into());
        self
    }

    /// Which of `nodes` registry discovery found stale (their entry older than its
    /// heartbeat): chosen, but maybe gone.
    pub fn stale_among(&self, nodes: &[String]) -> Vec<String> {
        let stale = self
            .stale
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        nodes
            .iter()
            .filter(|node| stale.contains(*node))
            .cloned()
            .collect()
    }

    /// Every node registry discovery found stale so far, sorted.
    pub fn stale(&self) -> Vec<String> {
        let stale = self
            .stale
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        stale.iter().cloned().collect()
    }

    /// The client's security, to share (the registry checks entries with it).
    pub fn security_handle(&self) -> Option<Arc<ClientSecurity>> {
        self.security.clone()
    }

    pub fn security(&self) -> Option<&ClientSecurity> {
        self.security.as_deref()
    }

    /// The request on the wire, signed when security is on.
    fn encode(&self, request: &Request) -> Result<bytes::Bytes, RpcError> {
        let signer = self.security().map(ClientSecurity::signer);
        Ok(encode_signed_request(request, signer)?)
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// The per-request timeout for a call whose step sets none.
    pub fn default_timeout(&self) -> Duration {
        self.options.default_timeout
    }

    /// A fresh request from this client, replies expected on its own reply subject. The ttl
    /// covers at least how long the caller waits, so nodes never drop a request the caller
    /// still waits for.
    fn new_request(
        &self,
        agent: &str,
        action: &str,
        data: &Value,
        filter: Filter,
        wait: Duration,
    ) -> Request {
        let id = new_request_id();
        let data = match data {
            Value::Null => Value::Object(Default::default()),
            other => other.clone(),
        };
        let sensitive_inputs = self
            .sensitive
            .iter()
            .filter(|name| data.get(name.as_str()).is_some())
            .cloned()
            .collect();
        Request {
            reply_to: reply_subject(&self.options.collective, &self.options.sender_id, &id),
            id,
            sender: self.options.sender_id.clone(),
            caller: self.options.caller_id.clone(),
            collective: self.options.collective.clone(),
            agent: agent.to_string(),
            action: action.to_string(),
            data,
            ttl: DEFAULT_TTL.max(wait).as_secs_f64().ceil() as u64,
            time: unix_now(),
            filter,
            sensitive_inputs,
        }
    }
}

#[cfg(test)]
mod tests;
