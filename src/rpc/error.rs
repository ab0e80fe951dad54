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
#[error("{message}")]
pub struct RpcError {
    kind: RpcErrorKind,
    message: String,
}

impl RpcError {
    pub fn new(kind: RpcErrorKind, message: impl Into<String>) -> RpcError {
        RpcError {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> RpcErrorKind {
        self.kind
    }
}

impl From<TransportError> for RpcError {
    fn from(error: TransportError) -> RpcError {
        RpcError::new(RpcErrorKind::Transport, error.to_string())
    }
}

impl From<ProtocolError> for RpcError {
    fn from(error: ProtocolError) -> RpcError {
        RpcError::new(RpcErrorKind::Encoding, error.to_string())
    }
}
