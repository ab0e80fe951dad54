//! The node's compiled filter regexes, shared by every request: a flood of one costly regex
//! costs one compile (or one refusal), not one per message. Bounded: when full it starts again
//! empty, so a sender cycling through fresh patterns costs compiles, never memory.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use regex::Regex;

use crate::protocol::compile_filter_regex;

/// How many patterns (compiled or refused) the cache holds. Each compiled one is at most
/// [`crate::protocol::REGEX_SIZE_LIMIT`] plus its matching cache
/// ([`crate::protocol::REGEX_DFA_LIMIT`]), so the cache stays within a few MB even when a
/// sender fills it with the costliest patterns allowed.
pub const CACHED_PATTERNS: usize = 16;

/// Why a filter regex is not used: it does not parse, or compiles to more than nodes allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the filter regex {pattern} {reason}")]
pub struct RegexRefused {
    /// The pattern, escaped and cut short for a log line.
    pub pattern: super::bounds::Excerpt,
    pub reason: String,
}

type Compiled = Result<Arc<Regex>, RegexRefused>;

/// Compiled patterns by their text, at most `capacity` of them.
pub struct RegexCache {
    capacity: usize,
    patterns: Mutex<HashMap<String, Compiled>>,
}

/// The process's one cache: every request of every node of this process goes through it.
pub static FILTER_REGEXES: LazyLock<RegexCache> =
    LazyLock::new(|| RegexCache::new(CACHED_PATTERNS));

impl RegexCache {
    pub fn new(capacity: usize) -> RegexCache {
        RegexCache {
            capacity,
            patterns: Mutex::new(HashMap::new()),
        }
    }

    /// `pattern` compiled within the node's limits, from the cache when it was seen before.
    pub fn compiled(&self, pattern: &str) -> Compiled {
        if let Some(found) = self.lock().get(pattern) {
            return found.clone();
        }
        // Compiled outside the lock: one slow compile does not hold up other requests'
        // lookups.
        let compiled = compile_filter_regex(pattern)
            .map(Arc::new)
            .map_err(|error| refused(pattern, &error));
        let mut patterns = self.lock();
        if patterns.len() >= self.capacity {
            patterns.clear();
        }
        patterns.insert(pattern.to_string(), compiled.clone());
        compiled
    }

    /// Empties the cache (after a burst, with the allocator's trim, to give the memory back).
    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Compiled>> {
        self.patterns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn refused(pattern: &str, error: &regex::Error) -> RegexRefused {
    let reason = match error {
        regex::Error::CompiledTooBig(limit) => format!("compiles to more than {limit} bytes"),
        _ => "does not parse".to_string(),
    };
    RegexRefused {
        pattern: super::bounds::Excerpt::of(pattern),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// The costly patterns of the flood are refused, each within a few milliseconds even in a
    /// debug build, and the second time from the cache.
    #[test]
    fn costly_regexes_are_refused_fast() {
        let cache = RegexCache::new(CACHED_PATTERNS);
        for pattern in [r"(?i)\w{1000}", r"(a{100}){100}", r"(?i)\w{30}"] {
            let started = Instant::now();
            let first = cache.compiled(pattern).unwrap_err();
            let first_took = started.elapsed();
            assert!(first.reason.contains("compiles to more than"), "{first}");
            assert!(
                first_took < Duration::from_millis(200),
                "{pattern}: {first_took:?}"
            );
            let started = Instant::now();
            assert_eq!(cache.compiled(pattern).unwrap_err(), first);
            assert!(started.elapsed() < Duration::from_millis(1), "cached");
        }
    }

    #[test]
    fn names_patterns_compile_and_are_shared() {
        let cache = RegexCache::new(CACHED_PATTERNS);
        let first = cache.compiled(r"^web\d+\.example\.net$").unwrap();
        let second = cache.compiled(r"^web\d+\.example\.net$").unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert!(first.is_match("web12.example.net"));
        let broken = cache.compiled("(").unwrap_err();
        assert_eq!(broken.reason, "does not parse");
    }

    /// The largest regex within the limit, against a 50 KB fact: matching stays linear and
    /// short.
    #[test]
    fn a_big_allowed_regex_matches_a_long_fact_quickly() {
        let fact = "a".repeat(50_000);
        let regex = RegexCache::new(1).compiled("a{1000}b").unwrap();
        let started = Instant::now();
        assert!(!regex.is_match(&fact));
        let took = started.elapsed();
        // 23 ms in a release build; a debug build is ten times slower.
        assert!(took < Duration::from_millis(1500), "{took:?}");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = RegexCache::new(8);
        for index in 0..8 * 3 {
            let _ = cache.compiled(&format!("^bounded{index}$"));
            assert!(cache.len() <= 8);
        }
    }
}
