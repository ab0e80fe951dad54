//! Giving memory back after a burst of messages. A flood leaves the allocator holding what it
//! freed (glibc keeps freed memory in its arenas, one per thread that allocated) and the regex
//! cache full of the flood's patterns; once the node has been quiet for a tick, both are
//! released, and the drop log's held-back lines are summed up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::agent::drop_log::flush_dropped;
use crate::agent::regex_cache::FILTER_REGEXES;
use crate::stop::Stop;

/// How often the daemon looks whether a burst has ended.
pub const TICK: Duration = Duration::from_secs(2);
/// How many messages since the last give-back make a burst worth one.
pub const BURST: u64 = 100;
/// At most this many messages in a tick is a quiet tick (a node pinged now and then is quiet).
pub const QUIET: u64 = 10;

/// Runs until `stop`: after the first quiet tick that follows a burst, gives the memory back.
pub async fn give_back(received: Arc<AtomicU64>, stop: Stop) {
    let mut at_last_give_back = received.load(Ordering::Relaxed);
    let mut at_last_tick = at_last_give_back;
    loop {
        tokio::select! {
            () = stop.requested() => return,
            () = tokio::time::sleep(TICK) => {}
        }
        flush_dropped();
        let now = received.load(Ordering::Relaxed);
        let quiet = now - at_last_tick <= QUIET;
        at_last_tick = now;
        if quiet && now - at_last_give_back >= BURST {
            at_last_give_back = now;
            FILTER_REGEXES.clear();
            trim_allocator();
            tracing::debug!(messages = now, "gave memory back after a burst");
        }
    }
}

/// Sets glibc's allocator up for a daemon that sees bursts of messages of any size: large
/// blocks (messages of hundreds of KB) always get their own mapping, returned when freed,
/// rather than glibc's threshold rising to keep them in its arenas; and two arenas at most.
pub fn configure_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets the allocator's parameters; it is called before serving.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns the allocator's free memory to the system (glibc only; other allocators return
/// it on their own).
fn trim_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointer.
    unsafe {
        libc::malloc_trim(0);
    }
}
