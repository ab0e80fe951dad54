//! What can go wrong talking to a broker, with a small kind to branch on (as async-nats does).

use std::fmt;

/// What kind of failure a [`TransportError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// The subject is empty, has an empty token, or has a wildcard where none is allowed.
    InvalidSubject,
    /// The connection is closed or lost.
    NotConnected,
    /// The broker refuses a message this large.
    PayloadTooLarge,
    /// Anything else the broker or the network reports.
    Other,
}

/// A failure to publish or subscribe.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct TransportError {
    kind: TransportErrorKind,
    message: String,
}

impl TransportError {
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> TransportError {
        TransportError {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// What happened, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            TransportErrorKind::InvalidSubject => "invalid subject",
            TransportErrorKind::NotConnected => "not connected",
            TransportErrorKind::PayloadTooLarge => "payload too large",
            TransportErrorKind::Other => "transport error",
        };
        formatter.write_str(text)
    }
}
