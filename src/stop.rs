//! The one stop signal. Ctrl-C (SIGINT) and SIGTERM, the signal service managers and `kill`
//! send, raise it; every long-running part (a playbook run, a site run, the node daemon,
//! `orchestrate fleet`) watches the same [`Stop`] and ends at its next safe point, whatever its
//! connection to the broker is doing. A second signal forces the stop: whoever waits for
//! [`Stop::forced`] gives up its safe point and returns at once. A run that cannot go on (its
//! broker is unreachable) requests the same stop itself, with the cause ([`Stop::request_because`]),
//! so that what did not start says why. A leaf module: it uses nothing of the crate.

use std::sync::{Arc, OnceLock};

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;

/// How far the stop has gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Running,
    /// Stop at the next safe point.
    Requested,
    /// Stop now.
    Forced,
}

/// A stop signal shared by clones: raising it through one is seen by all.
#[derive(Clone, Debug)]
pub struct Stop {
    level: Arc<watch::Sender<Level>>,
    /// Why the work itself asked to stop; unset when a person did (or nobody).
    cause: Arc<OnceLock<String>>,
}

impl Default for Stop {
    fn default() -> Stop {
        Stop {
            level: Arc::new(watch::Sender::new(Level::Running)),
            cause: Arc::default(),
        }
    }
}

impl Stop {
    /// A stop raised only by [`Stop::request`] and [`Stop::force`] (tests, embedding).
    pub fn new() -> Stop {
        Stop::default()
    }

    /// A stop raised by the process's signals: the first SIGINT or SIGTERM requests it, the
    /// next forces it. Spawns the watcher on the current tokio runtime; it lives as long as the
    /// runtime does.
    pub fn on_signals() -> Stop {
        let stop = Stop::new();
        let raised = stop.clone();
        // The handlers are installed here, before this returns, so that a signal sent as soon
        // as the caller goes on is already ours (installed inside the task, it would meet the
        // OS default until the task first ran).
        let mut signals = Signals::install();
        tokio::spawn(async move {
            signals.next().await;
            tracing::info!("asked to stop");
            raised.request();
            signals.next().await;
            tracing::info!("asked again: stopping at once");
            raised.force();
        });
        stop
    }

    /// Asks everyone watching to stop at their next safe point.
    pub fn request(&self) {
        self.raise(Level::Requested);
    }

    /// Asks everyone watching to stop at their next safe point because the work cannot go
    /// on: `cause` says why (`the broker at nats://b1:4222 is unreachable`). A stop already
    /// requested keeps its cause (or, asked for by a signal, none).
    pub fn request_because(&self, cause: impl Into<String>) {
        if !self.is_requested() {
            // Set before the stop is raised, so whoever sees the stop sees its cause.
            let _ = self.cause.set(cause.into());
        }
        self.request();
    }

    /// Why the work asked to stop, when it did ([`Stop::request_because`]); None when the stop
    /// came from a signal or was not asked for.
    pub fn cause(&self) -> Option<&str> {
        self.cause.get().map(String::as_str)
    }

    /// Asks everyone watching to stop now.
    pub fn force(&self) {
        self.raise(Level::Forced);
    }

    pub fn is_requested(&self) -> bool {
        *self.level.borrow() >= Level::Requested
    }

    pub fn is_forced(&self) -> bool {
        *self.level.borrow() >= Level::Forced
    }

    /// Returns once a stop is requested (at once if it already is).
    pub async fn requested(&self) {
        self.reached(Level::Requested).await;
    }

    /// Returns once the stop is forced (at once if it already is).
    pub async fn forced(&self) {
        self.reached(Level::Forced).await;
    }

    fn raise(&self, level: Level) {
        self.level.send_if_modified(|current| {
            let higher = level > *current;
            if higher {
                *current = level;
            }
            higher
        });
    }

    async fn reached(&self, level: Level) {
        let mut watching = self.level.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = watching.wait_for(|current| *current >= level).await;
    }
}

/// SIGINT and SIGTERM, watched from the moment they are installed.
struct Signals {
    interrupt: Option<Signal>,
    terminate: Option<Signal>,
}

impl Signals {
    fn install() -> Signals {
        let watch = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(watching) => Some(watching),
            Err(error) => {
                tracing::warn!(%error, "cannot watch for {name}");
                None
            }
        };
        Signals {
            interrupt: watch(SignalKind::interrupt(), "SIGINT"),
            terminate: watch(SignalKind::terminate(), "SIGTERM"),
        }
    }

    /// Returns when either signal arrives (never, if neither could be watched).
    async fn next(&mut self) {
        tokio::select! {
            _ = received(self.interrupt.as_mut()) => {}
            _ = received(self.terminate.as_mut()) => {}
        }
    }
}

/// Returns when `watching` receives its signal; never, if it is not watched.
async fn received(watching: Option<&mut Signal>) {
    match watching {
        Some(watching) => {
            watching.recv().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_request_reaches_every_clone_and_waiter() {
        let stop = Stop::new();
        let watcher = stop.clone();
        let waiting = tokio::spawn(async move { watcher.requested().await });
        assert!(!stop.is_requested());
        stop.request();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the waiter saw the request")
            .unwrap();
        assert!(stop.is_requested() && !stop.is_forced());
        // Already requested: returns at once.
        stop.clone().requested().await;
    }

    #[tokio::test]
    async fn forcing_implies_requested_and_never_goes_back() {
        let stop = Stop::new();
        stop.force();
        stop.request();
        assert!(stop.is_forced() && stop.is_requested());
        stop.requested().await;
        stop.forced().await;
    }

    #[tokio::test]
    async fn a_stop_the_work_asks_for_keeps_its_cause() {
        let stop = Stop::new();
        let watcher = stop.clone();
        stop.request_because("the broker is unreachable");
        stop.request_because("another reason");
        watcher.requested().await;
        assert_eq!(watcher.cause(), Some("the broker is unreachable"));
        assert!(!watcher.is_forced());
        let by_signal = Stop::new();
        by_signal.request();
        by_signal.request_because("too late");
        assert_eq!(by_signal.cause(), None, "a person asked first");
    }

    #[tokio::test]
    async fn a_request_does_not_force() {
        let stop = Stop::new();
        stop.request();
        let forced = tokio::time::timeout(Duration::from_millis(50), stop.forced()).await;
        assert!(forced.is_err());
    }
}
