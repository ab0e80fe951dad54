//! Why the registry cannot be read or written.

/// A failure to open, read or write the registry's bucket.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The transport has no broker (the in-process fleet): there is no registry.
    #[error("there is no node registry without a NATS broker")]
    NoBroker,
    /// The broker does not run JetStream, or refused the bucket.
    #[error("the node registry (JetStream bucket {bucket}) is not available on {broker}: {reason} (does the broker run JetStream, nats-server -js?)")]
    Unavailable {
        bucket: String,
        broker: String,
        reason: String,
    },
    /// The bucket does not exist: no node ever registered.
    #[error("no node has registered yet: JetStream bucket {bucket} does not exist on {broker}")]
    NoBucket { bucket: String, broker: String },
    /// Reading or writing an entry failed on the way.
    #[error("the node registry (JetStream bucket {bucket}): {reason}")]
    Io { bucket: String, reason: String },
}

/// What kind of [`RegistryError`] it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryErrorKind {
    NoBroker,
    Unavailable,
    NoBucket,
    Io,
}

impl RegistryError {
    pub fn kind(&self) -> RegistryErrorKind {
        match self {
            RegistryError::NoBroker => RegistryErrorKind::NoBroker,
            RegistryError::Unavailable { .. } => RegistryErrorKind::Unavailable,
            RegistryError::NoBucket { .. } => RegistryErrorKind::NoBucket,
            RegistryError::Io { .. } => RegistryErrorKind::Io,
        }
    }
}
