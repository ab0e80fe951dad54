//! How messages move between the orchestrator and the nodes: a NATS-shaped publish/subscribe
//! trait, and its implementations: in-process, and NATS (async-nats), with mutual TLS.
//!
//! Subjects are NATS subjects: dot-separated tokens; a subscription may use `*` for one token
//! and a final `>` for one or more tokens. Delivery is at most once: a message published to a
//! subject nobody listens on is gone, as with NATS.

mod error;
mod in_process;
mod link;
mod nats;
mod subject;
mod subscription;
mod tls;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

pub use error::{TransportError, TransportErrorKind};
pub use in_process::InProcess;
pub use link::{Link, LinkState, LinkWatch};
pub use nats::{Nats, NatsAuth, NatsOptions, DEFAULT_CONNECT_TIMEOUT};
pub use subject::{subject_matches, validate_publish_subject, validate_subscribe_subject};
pub use subscription::Subscription;
pub use tls::TlsFiles;

/// A boxed future that can cross threads, so [`Transport`] stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One message as a subscriber receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub subject: String,
    /// The NATS reply subject, when the publisher gave one. Choria v1 carries its reply subject
    /// inside the message (transport header `reply-to`), so the protocol does not rely on it.
    pub reply: Option<String>,
    pub payload: Bytes,
}

/// A connection to a message broker, shared as `Arc<dyn Transport>`.
pub trait Transport: Send + Sync + 'static {
    /// Sends a message to every current subscription whose subject matches. Nobody listening is
    /// not an error. Fails on an invalid subject (empty token, wildcard) or a lost connection.
    fn publish(
        &self,
        subject: String,
        reply: Option<String>,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<(), TransportError>>;

    /// Starts receiving the messages published to `subject` (wildcards allowed). The
    /// subscription is in place when the future completes, so a message published afterwards
    /// is delivered to it. Dropping the subscription unsubscribes.
    fn subscribe(&self, subject: String) -> BoxFuture<'_, Result<Subscription, TransportError>>;

    /// Returns once everything published so far has left this process (NATS buffers
    /// publishes). A fan-out calls it before starting its reply timer, so the time nodes have
    /// to answer is not spent in the client's buffer.
    fn flush(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async { Ok(()) })
    }

    /// Whether the connection to the broker is up now. A stopping node waits a short while
    /// at most for a broker that is away, rather than for ever.
    fn is_connected(&self) -> bool {
        true
    }

    /// The connection's state to wait on: a request cannot leave while it is down. Always up
    /// for a transport without a broker to lose (in-process).
    fn link(&self) -> LinkWatch {
        LinkWatch::always_up()
    }

    /// Where the broker is, for messages: `nats://host:4222`.
    fn broker(&self) -> String {
        "in-process".to_string()
    }

    /// JetStream on this connection, for state shared through the broker (the node registry).
    /// None where there is no broker (in-process); a broker without JetStream says so when
    /// the context is first used.
    fn jetstream(&self) -> Option<async_nats::jetstream::Context> {
        None
    }

    /// A fresh subject nobody else uses, for ad hoc replies (`_INBOX.<random>`, as NATS makes
    /// them). Choria replies go to subjects derived from the request instead.
    fn new_inbox(&self) -> String {
        format!("_INBOX.{:032x}", rand::random::<u128>())
    }
}
