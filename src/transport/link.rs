//! The state of a connection to the broker, as those who send through it wait on it: up, or
//! down since some moment, and how many times it was lost. The NATS transport updates it from
//! the client's connection events; the RPC client waits on it (a request cannot leave while the
//! connection is down, and its replies cannot come back).

use tokio::sync::watch;
use tokio::time::Instant;

/// The connection as it is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkState {
    /// None while connected; the moment the connection was lost while it is down.
    pub down_since: Option<Instant>,
    /// How many times the connection was lost since it was made.
    pub losses: u64,
}

/// Where the connection's state is set (the transport's side). Cloning shares it.
#[derive(Clone, Debug)]
pub struct Link(std::sync::Arc<watch::Sender<LinkState>>);

/// A view of a [`Link`] to wait on (the sender's side).
#[derive(Clone, Debug)]
pub struct LinkWatch(watch::Receiver<LinkState>);

impl Link {
    /// A link that is up.
    pub fn up() -> Link {
        let state = LinkState {
            down_since: None,
            losses: 0,
        };
        Link(std::sync::Arc::new(watch::Sender::new(state)))
    }

    /// The connection is lost (now, unless it was already). Whether it was up before.
    pub fn lost(&self) -> bool {
        self.0.send_if_modified(|state| {
            let was_up = state.down_since.is_none();
            if was_up {
                state.down_since = Some(Instant::now());
                state.losses += 1;
            }
            was_up
        })
    }

    /// The connection is back. Whether it was down before.
    pub fn regained(&self) -> bool {
        self.0
            .send_if_modified(|state| state.down_since.take().is_some())
    }

    pub fn watch(&self) -> LinkWatch {
        LinkWatch(self.0.subscribe())
    }
}

impl LinkWatch {
    /// A connection that is always up (a transport without a broker to lose).
    pub fn always_up() -> LinkWatch {
        // The sender is dropped at once: the state never changes.
        Link::up().watch()
    }

    pub fn state(&self) -> LinkState {
        *self.0.borrow()
    }

    /// Returns once the connection is down (at once if it is), with the moment it was lost.
    /// Never returns for a connection that cannot be lost.
    pub async fn disconnected(&self) -> Instant {
        let mut watching = self.0.clone();
        let down = watching
            .wait_for(|state| state.down_since.is_some())
            .await
            .map(|state| state.down_since);
        match down {
            Ok(since) => since.unwrap_or_else(Instant::now),
            // Nobody can change the state any more, and it is up.
            Err(_) => std::future::pending().await,
        }
    }

    /// Waits until the connection is up, at most until `deadline`: whether it is then. At once
    /// when it is up now (whatever the deadline).
    pub async fn connected_by(&self, deadline: Instant) -> bool {
        let mut watching = self.0.clone();
        let up = async {
            let up = watching.wait_for(|state| state.down_since.is_none()).await;
            up.is_ok()
        };
        tokio::time::timeout_at(deadline, up).await == Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const MOMENT: Duration = Duration::from_millis(100);

    #[tokio::test]
    async fn a_lost_connection_is_seen_with_when_it_went() {
        let link = Link::up();
        let watch = link.watch();
        assert!(watch.connected_by(Instant::now()).await);
        let waiting = tokio::spawn({
            let watch = watch.clone();
            async move { watch.disconnected().await }
        });
        tokio::time::sleep(MOMENT).await;
        assert!(link.lost());
        assert!(!link.lost(), "lost once, not twice");
        let since = waiting.await.unwrap();
        assert_eq!(watch.state().down_since, Some(since));
        assert_eq!(watch.state().losses, 1);
        // Not back by the deadline: false, once the deadline has passed.
        let deadline = Instant::now() + MOMENT;
        assert!(!watch.connected_by(deadline).await);
        assert!(Instant::now() >= deadline);
        // Back before the deadline: true as soon as it is.
        let back = tokio::spawn({
            let link = link.clone();
            async move {
                tokio::time::sleep(MOMENT).await;
                link.regained()
            }
        });
        let asked = Instant::now();
        assert!(watch.connected_by(asked + 50 * MOMENT).await);
        assert!(asked.elapsed() < 20 * MOMENT);
        assert!(back.await.unwrap());
        assert_eq!(watch.state().down_since, None);
        assert!(!link.regained(), "up already");
    }

    #[tokio::test]
    async fn a_connection_that_cannot_be_lost_never_is() {
        let watch = LinkWatch::always_up();
        assert!(watch.connected_by(Instant::now()).await);
        let lost = tokio::time::timeout(MOMENT, watch.disconnected()).await;
        assert!(lost.is_err());
    }
}
