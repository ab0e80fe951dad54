//! Why an RPC operation could not be carried out (as opposed to nodes failing, which is a
//! result, not an error).

use std::time::Duration;

use crate::protocol::ProtocolError;
use crate::transport::TransportError;

/// What kind of failure an [`RpcError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpcErrorKind {
    /// Publishing or subscribing failed, or the connection closed while waiting.
    Transport,
    /// The request could not be encoded.
    Encoding,
    /// A target identity cannot be addressed (empty, whitespace, wildcard).
    InvalidTarget,
    /// The connection to the broker is lost and did not come back within the client's
    /// grace: nothing can be sent or heard. A run stops on it.
    Unreachable,
    /// The node registry cannot be read, or a filter cannot be evaluated on it.
    Registry,
}

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("the connection closed while waiting for replies to request {request_id}")]
    Closed { request_id: String },
    #[error(transparent)]
    Encoding(#[from] ProtocolError),
    #[error("cannot address node {target:?}: not a valid identity")]
    InvalidTarget { target: String },
    /// `broker` is where the transport connects (`nats://host:4222`).
    #[error("the broker at {broker} is unreachable (no connection for {})", seconds(*.grace))]
    Unreachable { broker: String, grace: Duration },
    /// The connection kept dropping: every discovery lost it part way.
    #[error(
        "the connection to the broker at {broker} was lost during each of {attempts} discoveries"
    )]
    Unsettled { broker: String, attempts: u32 },
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// Registry discovery asked of a client that has no registry (the embedded fleet, a
    /// broker without JetStream, or one where no node registered), and why when known.
    #[error("registry discovery needs a node registry, and there is none: {why} (discover by broadcast)")]
    NoRegistry { why: String },
    /// A filter the client will not evaluate on registry entries (as nodes would refuse it).
    #[error(transparent)]
    Filter(#[from] crate::agent::filter::FilterRefused),
}

/// `5s`, `0.5s`.
fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

impl RpcError {
    pub fn kind(&self) -> RpcErrorKind {
        match self {
            RpcError::Transport(_) | RpcError::Closed { .. } => RpcErrorKind::Transport,
            RpcError::Encoding(_) => RpcErrorKind::Encoding,
            RpcError::InvalidTarget { .. } => RpcErrorKind::InvalidTarget,
            RpcError::Unreachable { .. } | RpcError::Unsettled { .. } => RpcErrorKind::Unreachable,
            RpcError::Registry(_) | RpcError::Filter(_) | RpcError::NoRegistry { .. } => {
                RpcErrorKind::Registry
            }
        }
    }
}
