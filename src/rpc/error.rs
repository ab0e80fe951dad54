//! Why an RPC operation could not be carried out (as opposed to nodes failing, which is a
//! result, not an error).

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
}

impl RpcError {
    pub fn kind(&self) -> RpcErrorKind {
        match self {
            RpcError::Transport(_) | RpcError::Closed { .. } => RpcErrorKind::Transport,
            RpcError::Encoding(_) => RpcErrorKind::Encoding,
            RpcError::InvalidTarget { .. } => RpcErrorKind::InvalidTarget,
        }
    }
}
