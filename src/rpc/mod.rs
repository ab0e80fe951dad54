//! The RPC client: discovery of nodes and calls to agents' actions over a [`Transport`],
//! speaking Choria's protocol v1.

mod broadcast;
mod call;
mod collect;
mod connection;
mod discover;
mod error;
mod options;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::protocol::{
    encode_signed_request, new_request_id, reply_subject, unix_now, Filter, Request,
};
use crate::security::ClientSecurity;
use crate::transport::Transport;

pub use call::{CallResult, NodeFailure, NodeReply};
pub use error::{RpcError, RpcErrorKind};
pub use options::{ClientOptions, DEFAULT_RECONNECT_GRACE};

/// The time to live written into every request, unless the request waits longer.
const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// A client of the fleet. Cheap to clone; clones share the transport.
#[derive(Clone)]
pub struct RpcClient {
    transport: Arc<dyn Transport>,
    options: Arc<ClientOptions>,
    /// With security on: what signs requests and checks replies.
    security: Option<Arc<ClientSecurity>>,
}

impl RpcClient {
    pub fn new(transport: Arc<dyn Transport>, options: ClientOptions) -> RpcClient {
        RpcClient {
            transport,
            options: Arc::new(options),
            security: None,
        }
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
            transport,
            options: Arc::new(options),
            security: Some(security),
        }
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
        }
    }
}

#[cfg(test)]
mod tests;
