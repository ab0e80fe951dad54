//! Why a message could not be encoded or decoded.

/// A layer of a message that did not encode or decode. `layer` names the protocol layer
/// (`choria:transport:1`, ...) so a warning about a bad message says where it broke.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("{layer}: not valid JSON: {source}")]
    Json {
        layer: &'static str,
        source: serde_json::Error,
    },
    #[error("{layer}: not valid base64: {source}")]
    Base64 {
        layer: &'static str,
        source: base64::DecodeError,
    },
    #[error("{layer}: expected protocol {layer}, found {found:?}")]
    WrongProtocol { layer: &'static str, found: String },
    #[error("choria:secure:reply:1: the hash does not match the message")]
    HashMismatch,
    #[error("{layer}: {reason}")]
    Invalid { layer: &'static str, reason: String },
}
