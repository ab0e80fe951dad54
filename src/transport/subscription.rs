//! A subscription: the messages of one subject pattern, until dropped.

use tokio::sync::mpsc;

use super::Message;

/// Receives the messages of one subscription. Dropping it unsubscribes. Each transport feeds
/// it through a channel (the NATS transport forwards its subscriber into one), so every
/// transport hands out the same type.
pub struct Subscription {
    subject: String,
    receiver: mpsc::Receiver<Message>,
    unsubscribe: Option<Box<dyn FnOnce() + Send + Sync>>,
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
            receiver,
            unsubscribe: Some(Box::new(unsubscribe)),
        }
    }

    /// The subject pattern subscribed to.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The next message; None once the transport has closed.
    pub async fn next(&mut self) -> Option<Message> {
        self.receiver.recv().await
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
