//! Requests a node has acted on, remembered until their time to live ends, so a captured
//! request sent again is dropped (Choria keeps no such memory and acts on a replay for the
//! whole ttl).

use std::collections::HashMap;
use std::sync::Mutex;

/// How many new ids between two sweeps of the expired ones.
const SWEEP_EVERY: usize = 1024;

#[derive(Debug, Default)]
pub struct ReplayCache {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// Request id → the Unix second after which the request is refused as expired anyway.
    until: HashMap<String, u64>,
    since_sweep: usize,
}

impl ReplayCache {
    /// Records `id`, valid until `until`; false when it was recorded before and has not
    /// expired (a replay).
    pub fn first_time(&self, id: &str, until: u64, now: u64) -> bool {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        seen.since_sweep += 1;
        if seen.since_sweep >= SWEEP_EVERY {
            seen.until.retain(|_, until| *until >= now);
            seen.until.shrink_to_fit();
            seen.since_sweep = 0;
        }
        match seen.until.get(id) {
            Some(known) if *known >= now => false,
            _ => {
                seen.until.insert(id.to_string(), until);
                true
            }
        }
    }

    /// Whether `id` is remembered and has not expired, without recording it.
    pub fn remembers(&self, id: &str, now: u64) -> bool {
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        seen.until.get(id).is_some_and(|until| *until >= now)
    }

    pub fn len(&self) -> usize {
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        seen.until.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_is_refused_until_it_expires() {
        let cache = ReplayCache::default();
        assert!(cache.first_time("a", 160, 100));
        assert!(!cache.first_time("a", 160, 150));
        assert!(cache.first_time("b", 160, 150));
        // Past its ttl the node refuses it as expired; the memory may let it go.
        assert!(cache.first_time("a", 300, 161));
    }

    #[test]
    fn expired_ids_are_swept() {
        let cache = ReplayCache::default();
        for n in 0..SWEEP_EVERY - 1 {
            cache.first_time(&n.to_string(), 10, 0);
        }
        assert!(cache.first_time("late", 100, 50));
        assert!(cache.len() <= 2, "{}", cache.len());
    }
}
