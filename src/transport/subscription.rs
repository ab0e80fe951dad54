//! A subscription: the messages of one subject pattern, until dropped.

use std::future::poll_fn;
use std::pin::Pin;

use futures_core::Stream;
use tokio::sync::mpsc;

use super::Message;

/// Receives the messages of one subscription. Dropping it unsubscribes. Every transport hands
/// out this one type: the in-process broker feeds a channel; a NATS subscription is read
/// directly, each message converted as it is taken (no forwarding task, so 50,000 replies to
/// one request pass one queue, not two).
pub struct Subscription {
    subject: String,
    source: Source,
    unsubscribe: Option<Box<dyn FnOnce() + Send + Sync>>,
}

enum Source {
    Channel(mpsc::Receiver<Message>),
    /// async-nats unsubscribes when its subscriber is dropped.
    Nats(async_nats::Subscriber),
}

impl Subscription {
    /// A subscription fed by `receiver`; `unsubscribe` runs once, when it is dropped.
    pub fn new(
        subject: String,
        receiver: mpsc::Receiver<Message>,
        unsubscribe: impl FnOnce() + Send + Sync + 'static,
    ) -> Subscription {
        Subscription {
            subject,
            source: Source::Channel(receiver),
            unsubscribe: Some(Box::new(unsubscribe)),
        }
    }

    /// A subscription reading an async-nats subscriber.
    pub(crate) fn nats(subject: String, subscriber: async_nats::Subscriber) -> Subscription {
        Subscription {
            subject,
            source: Source::Nats(subscriber),
            unsubscribe: None,
        }
    }

    /// The subject pattern subscribed to.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The next message; None once the transport has closed.
    pub async fn next(&mut self) -> Option<Message> {
        match &mut self.source {
            Source::Channel(receiver) => receiver.recv().await,
            Source::Nats(subscriber) => {
                poll_fn(|context| Pin::new(&mut *subscriber).poll_next(context))
                    .await
                    .map(from_nats)
            }
        }
    }

    /// The next message if one has already arrived, without waiting: lets a reader take what
    /// has piled up in one go (and verify it on all cores).
    pub fn try_next(&mut self) -> Option<Message> {
        match &mut self.source {
            Source::Channel(receiver) => receiver.try_recv().ok(),
            Source::Nats(subscriber) => {
                let mut context = std::task::Context::from_waker(std::task::Waker::noop());
                match Pin::new(&mut *subscriber).poll_next(&mut context) {
                    std::task::Poll::Ready(Some(message)) => Some(from_nats(message)),
                    _ => None,
                }
            }
        }
    }
}

fn from_nats(message: async_nats::Message) -> Message {
    Message {
        subject: message.subject.to_string(),
        reply: message.reply.map(|reply| reply.to_string()),
        payload: message.payload,
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(unsubscribe) = self.unsubscribe.take() {
            unsubscribe();
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Subscription")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}
