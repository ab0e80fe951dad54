//! An in-process broker with NATS semantics: the default transport when no NATS server is
//! configured, carrying the same encoded messages the NATS transport would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::subject::{subject_matches, validate_publish_subject, validate_subscribe_subject};
use super::{BoxFuture, Message, Subscription, Transport, TransportError, TransportErrorKind};

/// How many undelivered messages one subscription may hold before further ones are dropped
/// (NATS drops a slow consumer's messages too). Channels allocate as they fill, so a large
/// bound costs nothing until used; it covers a discovery of a million nodes.
const DEFAULT_CAPACITY: usize = 1 << 20;

/// A broker living in this process. Clones share the broker.
#[derive(Clone)]
pub struct InProcess {
    broker: Arc<Broker>,
}

struct Broker {
    capacity: usize,
    routes: Mutex<Routes>,
}

#[derive(Default)]
struct Routes {
    next_id: u64,
    closed: bool,
    /// Subscriptions without wildcards, by subject: one lookup per publish.
    literal: HashMap<String, Vec<Route>>,
    /// Subscriptions with wildcards, tried one by one (a handful: the nodes' `>` and spies).
    wildcard: Vec<(String, Route)>,
}

struct Route {
    id: u64,
    sender: mpsc::Sender<Message>,
}

impl Default for InProcess {
    fn default() -> Self {
        InProcess::new()
    }
}

impl InProcess {
    pub fn new() -> InProcess {
        InProcess::with_capacity(DEFAULT_CAPACITY)
    }

    /// A broker whose subscriptions each buffer at most `capacity` messages.
    pub fn with_capacity(capacity: usize) -> InProcess {
        InProcess {
            broker: Arc::new(Broker {
                capacity: capacity.max(1),
                routes: Mutex::new(Routes::default()),
            }),
        }
    }

    /// Shuts the broker: every subscription ends and later calls fail with `NotConnected`,
    /// like a lost NATS connection.
    pub fn close(&self) {
        let mut routes = self.broker.lock();
        routes.closed = true;
        routes.literal.clear();
        routes.wildcard.clear();
    }

    fn deliver(
        &self,
        subject: String,
        reply: Option<String>,
        payload: Bytes,
    ) -> Result<(), TransportError> {
        validate_publish_subject(&subject)?;
        let routes = self.broker.lock();
        if routes.closed {
            return Err(not_connected());
        }
        let message = Message {
            subject,
            reply,
            payload,
        };
        let literal = routes.literal.get(&message.subject).into_iter().flatten();
        let wildcard = routes
            .wildcard
            .iter()
            .filter(|(pattern, _)| subject_matches(pattern, &message.subject))
            .map(|(_, route)| route);
        for route in literal.chain(wildcard) {
            if let Err(mpsc::error::TrySendError::Full(dropped)) =
                route.sender.try_send(message.clone())
            {
                tracing::warn!(subject = %dropped.subject, "slow consumer: a subscription is full, message dropped");
            }
        }
        Ok(())
    }

    fn add_route(&self, subject: String) -> Result<Subscription, TransportError> {
        validate_subscribe_subject(&subject)?;
        let (sender, receiver) = mpsc::channel(self.broker.capacity);
        let mut routes = self.broker.lock();
        if routes.closed {
            return Err(not_connected());
        }
        routes.next_id += 1;
        let id = routes.next_id;
        let route = Route { id, sender };
        if is_wildcard(&subject) {
            routes.wildcard.push((subject.clone(), route));
        } else {
            routes
                .literal
                .entry(subject.clone())
                .or_default()
                .push(route);
        }
        let broker = Arc::downgrade(&self.broker);
        let pattern = subject.clone();
        Ok(Subscription::new(subject, receiver, move || {
            remove_route(&broker, &pattern, id)
        }))
    }
}

impl Broker {
    /// The routing table; a panic elsewhere while it was held leaves it consistent (every
    /// change is one insert or remove), so a poisoned lock is still used.
    fn lock(&self) -> MutexGuard<'_, Routes> {
        self.routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn remove_route(broker: &Weak<Broker>, pattern: &str, id: u64) {
    let Some(broker) = broker.upgrade() else {
        return;
    };
    let mut routes = broker.lock();
    if is_wildcard(pattern) {
        routes.wildcard.retain(|(_, route)| route.id != id);
    } else if let Some(list) = routes.literal.get_mut(pattern) {
        list.retain(|route| route.id != id);
        if list.is_empty() {
            routes.literal.remove(pattern);
        }
    }
}

fn is_wildcard(subject: &str) -> bool {
    subject.split('.').any(|token| token == "*" || token == ">")
}

fn not_connected() -> TransportError {
    TransportError::new(
        TransportErrorKind::NotConnected,
        "the in-process broker is closed",
    )
}

impl Transport for InProcess {
    fn publish(
        &self,
        subject: String,
        reply: Option<String>,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        let result = self.deliver(subject, reply, payload);
        Box::pin(async move { result })
    }

    fn subscribe(&self, subject: String) -> BoxFuture<'_, Result<Subscription, TransportError>> {
        let result = self.add_route(subject);
        Box::pin(async move { result })
    }

    fn is_connected(&self) -> bool {
        !self.broker.lock().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn publish(broker: &InProcess, subject: &str, payload: &'static str) {
        broker
            .publish(subject.into(), None, Bytes::from_static(payload.as_bytes()))
            .await
            .unwrap();
    }

    async fn next_payload(subscription: &mut Subscription) -> Option<Bytes> {
        tokio::time::timeout(Duration::from_millis(50), subscription.next())
            .await
            .ok()
            .flatten()
            .map(|message| message.payload)
    }

    #[tokio::test]
    async fn delivers_to_literal_and_wildcard_subscribers() {
        let broker = InProcess::new();
        let mut exact = broker
            .subscribe("mc.node.web1.example.net".into())
            .await
            .unwrap();
        let mut nodes = broker.subscribe("mc.node.>".into()).await.unwrap();
        let mut star = broker.subscribe("mc.*.web1".into()).await.unwrap();
        publish(&broker, "mc.node.web1.example.net", "one").await;
        publish(&broker, "mc.node.web1", "two").await;
        assert_eq!(next_payload(&mut exact).await.as_deref(), Some(&b"one"[..]));
        assert_eq!(next_payload(&mut exact).await, None);
        assert_eq!(next_payload(&mut nodes).await.as_deref(), Some(&b"one"[..]));
        assert_eq!(next_payload(&mut nodes).await.as_deref(), Some(&b"two"[..]));
        assert_eq!(next_payload(&mut star).await.as_deref(), Some(&b"two"[..]));
        assert_eq!(next_payload(&mut star).await, None);
    }

    #[tokio::test]
    async fn several_subscribers_of_one_subject_each_get_every_message() {
        let broker = InProcess::new();
        let mut first = broker.subscribe("a.b".into()).await.unwrap();
        let mut second = broker.subscribe("a.b".into()).await.unwrap();
        publish(&broker, "a.b", "x").await;
        assert_eq!(next_payload(&mut first).await.as_deref(), Some(&b"x"[..]));
        assert_eq!(next_payload(&mut second).await.as_deref(), Some(&b"x"[..]));
    }

    #[tokio::test]
    async fn the_reply_subject_travels_with_the_message() {
        let broker = InProcess::new();
        let mut subscription = broker.subscribe("a".into()).await.unwrap();
        broker
            .publish("a".into(), Some("back".into()), Bytes::new())
            .await
            .unwrap();
        let message = subscription.next().await.unwrap();
        assert_eq!(message.subject, "a");
        assert_eq!(message.reply.as_deref(), Some("back"));
    }

    #[tokio::test]
    async fn dropping_unsubscribes() {
        let broker = InProcess::new();
        let exact = broker.subscribe("a.b".into()).await.unwrap();
        let wildcard = broker.subscribe("a.>".into()).await.unwrap();
        let mut kept = broker.subscribe("a.b".into()).await.unwrap();
        drop(exact);
        drop(wildcard);
        {
            let routes = broker.broker.lock();
            assert_eq!(routes.literal["a.b"].len(), 1);
            assert!(routes.wildcard.is_empty());
        }
        publish(&broker, "a.b", "x").await;
        assert_eq!(next_payload(&mut kept).await.as_deref(), Some(&b"x"[..]));
        drop(kept);
        assert!(broker.broker.lock().literal.is_empty());
    }

    #[tokio::test]
    async fn publishing_to_nobody_is_fine_and_bad_subjects_are_refused() {
        let broker = InProcess::new();
        publish(&broker, "nobody.listens", "x").await;
        let error = broker
            .publish("a.*".into(), None, Bytes::new())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::InvalidSubject);
        let error = broker.subscribe("a..b".into()).await.unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::InvalidSubject);
    }

    #[tokio::test]
    async fn a_full_subscription_drops_instead_of_blocking() {
        let broker = InProcess::with_capacity(1);
        let mut subscription = broker.subscribe("a".into()).await.unwrap();
        publish(&broker, "a", "1").await;
        publish(&broker, "a", "2").await;
        assert_eq!(
            next_payload(&mut subscription).await.as_deref(),
            Some(&b"1"[..])
        );
        assert_eq!(next_payload(&mut subscription).await, None);
    }

    #[tokio::test]
    async fn closing_ends_subscriptions_and_refuses_calls() {
        let broker = InProcess::new();
        let mut subscription = broker.subscribe("a".into()).await.unwrap();
        broker.close();
        assert!(subscription.next().await.is_none());
        let error = broker
            .publish("a".into(), None, Bytes::new())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::NotConnected);
        assert!(broker.subscribe("a".into()).await.is_err());
    }

    #[tokio::test]
    async fn usable_as_a_shared_trait_object() {
        let transport: Arc<dyn Transport> = Arc::new(InProcess::new());
        let mut subscription = transport.subscribe("x.y".into()).await.unwrap();
        transport
            .publish("x.y".into(), None, Bytes::from_static(b"z"))
            .await
            .unwrap();
        assert_eq!(
            subscription.next().await.unwrap().payload,
            Bytes::from_static(b"z")
        );
        assert!(transport.new_inbox().starts_with("_INBOX."));
        assert_ne!(transport.new_inbox(), transport.new_inbox());
    }
}
