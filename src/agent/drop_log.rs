//! The one home of the node's "dropping a message" lines: what a sender wrote is escaped before
//! it reaches the log (tracing's fmt layer prints `%` fields as they are, so a newline in a
//! callerid would start a forged line), and the lines are rate-limited: the first
//! [`DROPS_LOGGED_PER_INTERVAL`] of each [`DROP_LOG_INTERVAL`], then one summary line saying
//! how many more there were. A flood of bad messages costs a few lines, not a line each.

use std::fmt::{self, Display, Write as _};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How many drop lines an interval logs in full.
pub const DROPS_LOGGED_PER_INTERVAL: u32 = 10;
/// The rate limiter's interval.
pub const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// The longest reason a drop line shows, in characters.
const MAX_REASON_CHARS: usize = 400;

/// The process's one limiter: every node of the process shares the budget.
static DROP_LOG: LazyLock<DropLimiter> =
    LazyLock::new(|| DropLimiter::new(DROPS_LOGGED_PER_INTERVAL, DROP_LOG_INTERVAL));

/// Logs that a message from `subject` was dropped because of `reason`, within the budget.
pub fn warn_dropped(subject: &str, reason: &dyn Display) {
    let verdict = DROP_LOG.record(Instant::now());
    if let Some(summary) = verdict.summary {
        summary.log();
    }
    if verdict.log {
        tracing::warn!(
            subject = %Escaped(&subject),
            reason = %Escaped(reason),
            "dropping a message"
        );
    }
}

/// Logs the summary of an interval that ended with lines held back (called from time to
/// time by the daemon, so the last burst is accounted for even when nothing follows it).
pub fn flush_dropped() {
    if let Some(summary) = DROP_LOG.flush(Instant::now()) {
        summary.log();
    }
}

/// Logs the summary of the interval so far, over or not: a stopping daemon's last word on
/// what it held back.
pub fn flush_dropped_now() {
    if let Some(summary) = DROP_LOG.flush_now(Instant::now()) {
        summary.log();
    }
}

/// Text a sender controls, as a log line may show it: control characters escaped (`\n`,
/// `\u{1b}`), cut at [`MAX_REASON_CHARS`].
pub struct Escaped<'a, T: Display + ?Sized>(pub &'a T);

impl<T: Display + ?Sized> Display for Escaped<'_, T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        for (index, c) in text.chars().enumerate() {
            if index == MAX_REASON_CHARS {
                return write!(formatter, "... ({} bytes)", text.len());
            }
            if c.is_control() {
                write!(formatter, "{}", c.escape_default())?;
            } else {
                formatter.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// The first `burst` events of each `interval` pass; the rest are counted.
pub struct DropLimiter {
    burst: u32,
    interval: Duration,
    window: Mutex<Window>,
}

struct Window {
    started: Option<Instant>,
    logged: u32,
    held_back: u64,
}

/// What to log for one event.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The summary of the interval before, if it held lines back.
    pub summary: Option<Summary>,
    /// Whether this event gets its line.
    pub log: bool,
}

/// "dropped K more messages in the last S s".
#[derive(Debug, PartialEq, Eq)]
pub struct Summary {
    pub held_back: u64,
    pub over: Duration,
}

impl Summary {
    fn log(&self) {
        tracing::warn!(
            "dropped {} more messages in the last {} s",
            self.held_back,
            self.over.as_secs()
        );
    }
}

impl DropLimiter {
    pub fn new(burst: u32, interval: Duration) -> DropLimiter {
        DropLimiter {
            burst,
            interval,
            window: Mutex::new(Window {
                started: None,
                logged: 0,
                held_back: 0,
            }),
        }
    }

    /// One event at `now`.
    pub fn record(&self, now: Instant) -> Verdict {
        let mut window = self.lock();
        let summary = self.roll(&mut window, now, self.interval);
        let log = window.logged < self.burst;
        if log {
            window.logged += 1;
        } else {
            window.held_back += 1;
        }
        Verdict { summary, log }
    }

    /// The summary of the interval, if it is over and held lines back.
    pub fn flush(&self, now: Instant) -> Option<Summary> {
        let mut window = self.lock();
        self.roll(&mut window, now, self.interval)
    }

    /// The summary of the interval so far, if it held lines back; a new interval starts.
    pub fn flush_now(&self, now: Instant) -> Option<Summary> {
        let mut window = self.lock();
        self.roll(&mut window, now, Duration::ZERO)
    }

    /// Starts a new window when the current one is `at_least` old, returning its summary.
    fn roll(&self, window: &mut Window, now: Instant, at_least: Duration) -> Option<Summary> {
        let started = *window.started.get_or_insert(now);
        let over = now.saturating_duration_since(started);
        if over < at_least {
            return None;
        }
        let summary = (window.held_back > 0).then_some(Summary {
            held_back: window.held_back,
            over,
        });
        *window = Window {
            started: Some(now),
            logged: 0,
            held_back: 0,
        };
        summary
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests;
