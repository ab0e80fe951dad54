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
    /// A TLS file cannot be used, or the TLS handshake with the broker failed (its
    /// certificate or ours refused): a mistake to correct, not a broker to wait for.
    Tls,
    /// Anything else the broker or the network reports.
    Other,
}

/// A failure to connect, publish or subscribe: its kind, what happened, and the client's own
/// error when there is one.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct TransportError {
    kind: TransportErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> TransportError {
        TransportError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An error caused by `source` (an async-nats error, say), kept for whoever walks the
    /// chain; `message` says what happened in this crate's words.
    pub fn caused_by(
        kind: TransportErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> TransportError {
        TransportError {
            source: Some(Box::new(source)),
            ..TransportError::new(kind, message)
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
            TransportErrorKind::Tls => "TLS",
            TransportErrorKind::Other => "transport error",
        };
        formatter.write_str(text)
    }
}
