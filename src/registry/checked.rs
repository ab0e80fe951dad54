//! The registry entries whose signature checked, by the SHA-256 of their bytes, each until its
//! certificate ends: a heartbeat writes the same bytes again, so a reader checks a node's entry
//! once, not at every read. Kept in a file of the user's cache folder as well, one per bucket
//! and CA, so the next `orchestrate` process does not check 50,000 signatures again before it
//! can choose nodes. The file holds only digests of entries that passed; whoever can write it
//! can already act as this user.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use sha2::{Digest, Sha256};

use crate::security::{cache_folder, write_atomically};

/// One remembered check on disk: the digest, then the last valid second (little-endian).
const RECORD: usize = 32 + 8;

pub(super) type EntryDigest = [u8; 32];

/// The checks passed, in memory and (when there is a cache folder) on disk.
pub(super) struct CheckedEntries {
    file: Option<PathBuf>,
    passed: RwLock<HashMap<EntryDigest, u64>>,
    changed: AtomicBool,
}

pub(super) fn digest_of(bytes: &[u8]) -> EntryDigest {
    Sha256::digest(bytes).into()
}

impl CheckedEntries {
    /// Remembered in this process only.
    pub fn in_memory() -> CheckedEntries {
        CheckedEntries {
            file: None,
            passed: RwLock::default(),
            changed: AtomicBool::new(false),
        }
    }

    /// Remembered in `file` too, read now if it is there (a file that cannot be read is an
    /// empty memory: everything is checked again).
    pub fn kept_in(file: PathBuf) -> CheckedEntries {
        let passed = std::fs::read(&file)
            .map(|bytes| read_records(&bytes))
            .unwrap_or_default();
        CheckedEntries {
            file: Some(file),
            passed: RwLock::new(passed),
            changed: AtomicBool::new(false),
        }
    }

    /// The file for `bucket`'s entries checked against the CA `fingerprint`, in the user's
    /// cache folder (`$XDG_CACHE_HOME`, else `~/.cache`); None without either.
    pub fn file_for(bucket: &str, fingerprint: &str) -> Option<PathBuf> {
        let short = fingerprint.get(..16).unwrap_or(fingerprint);
        Some(
            cache_folder()?
                .join("registry")
                .join(format!("{bucket}-{short}")),
        )
    }

    /// Whether the entry with `digest` passed its check and its certificate holds at `now`.
    pub fn passed(&self, digest: &EntryDigest, now: u64) -> bool {
        let passed = self
            .passed
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        passed.get(digest).is_some_and(|until| now <= *until)
    }

    pub fn remember(&self, digest: EntryDigest, until: u64) {
        let mut passed = self
            .passed
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        passed.insert(digest, until);
        self.changed.store(true, Ordering::Relaxed);
    }

    /// Keeps only the checks of `current` (the entries just read) and writes them to the file
    /// when anything changed. Failing to write costs the next process its checks, nothing
    /// else: it is logged.
    pub fn keep_only(&self, current: &[EntryDigest]) {
        if !self.changed.swap(false, Ordering::Relaxed) {
            return;
        }
        let records = {
            let mut passed = self
                .passed
                .write()
                .unwrap_or_else(|poison| poison.into_inner());
            let kept: HashMap<EntryDigest, u64> = current
                .iter()
                .filter_map(|digest| Some((*digest, *passed.get(digest)?)))
                .collect();
            *passed = kept;
            write_records(&passed)
        };
        if let Some(file) = &self.file {
            if let Err(error) = write_atomically(file, &records) {
                tracing::debug!(file = %file.display(), %error, "cannot keep the registry's checked entries");
            }
        }
    }
}

fn read_records(bytes: &[u8]) -> HashMap<EntryDigest, u64> {
    bytes
        .chunks_exact(RECORD)
        .filter_map(|record| {
            let digest: EntryDigest = record.get(..32)?.try_into().ok()?;
            let until = u64::from_le_bytes(record.get(32..)?.try_into().ok()?);
            Some((digest, until))
        })
        .collect()
}

fn write_records(passed: &HashMap<EntryDigest, u64>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(passed.len() * RECORD);
    for (digest, until) in passed {
        bytes.extend_from_slice(digest);
        bytes.extend_from_slice(&until.to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_kept_in_a_file_are_there_for_the_next_process() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("checked");
        let (a, b) = (digest_of(b"a"), digest_of(b"b"));
        let first = CheckedEntries::kept_in(file.clone());
        first.remember(a, 100);
        first.remember(b, 100);
        first.keep_only(&[a]);
        let next = CheckedEntries::kept_in(file.clone());
        assert!(next.passed(&a, 100));
        assert!(!next.passed(&a, 101), "past its certificate's end");
        assert!(!next.passed(&b, 50), "not among the entries last read");
        std::fs::write(&file, b"garbage").unwrap();
        assert!(!CheckedEntries::kept_in(file).passed(&a, 1));
    }
}
