//! The certificate checks a client keeps between processes: a one-shot `orchestrate rpc` meets
//! every node's certificate afresh, and checking 10,000 chains costs it more than the
//! signatures do. What is kept, in the user's cache folder, one file per CA: for each
//! certificate that chained to that CA (by the SHA-256 of its PEM), what the check found: its
//! names, its key's kind, its last valid second and the usage it was checked for. A kept check
//! is used only for the very same PEM, before its end; the signature is still checked every
//! time. Whoever can write the file can already act as this user.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use serde::{Deserialize, Serialize};

use super::certs::Usage;
use super::keys::KeyKind;

/// What a certificate's check found, as kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct KeptCheck {
    pub names: Vec<String>,
    pub key: KeyKind,
    pub not_after: u64,
    pub usage: Usage,
}

/// The kept checks of one CA, read when first needed (a request to one node need not read
/// those of 50,000), and whether any was added since.
#[derive(Debug)]
pub(super) struct KeptChecks {
    file: PathBuf,
    checks: OnceLock<Mutex<(HashMap<String, KeptCheck>, bool)>>,
}

/// Past this many, the file is started afresh (a fleet of 100,000 is 15 MB of it).
const MOST_KEPT: usize = 100_000;

impl KeptChecks {
    /// The checks kept for the CA `fingerprint` (hex), in `$XDG_CACHE_HOME`, else `~/.cache`;
    /// None without either. A file that cannot be read is no checks.
    pub fn for_ca(fingerprint: &str) -> Option<KeptChecks> {
        let short = fingerprint.get(..16).unwrap_or(fingerprint);
        Some(KeptChecks {
            file: cache_folder()?.join("certificates").join(short),
            checks: OnceLock::new(),
        })
    }

    fn checks(&self) -> MutexGuard<'_, (HashMap<String, KeptCheck>, bool)> {
        let checks = self.checks.get_or_init(|| {
            let read = std::fs::read(&self.file)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_default();
            Mutex::new((read, false))
        });
        checks.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// The check kept for the certificate whose PEM has the SHA-256 `digest`, if it was
    /// checked for `usage` and holds at `now`.
    pub fn get(&self, digest: &[u8; 32], usage: Usage, now: u64) -> Option<KeptCheck> {
        let checks = self.checks();
        let kept = checks.0.get(&hex(digest))?;
        (kept.usage == usage && now <= kept.not_after).then(|| kept.clone())
    }

    pub fn keep(&self, digest: &[u8; 32], check: KeptCheck) {
        let mut checks = self.checks();
        if checks.0.len() >= MOST_KEPT {
            checks.0.clear();
        }
        checks.0.insert(hex(digest), check);
        checks.1 = true;
    }

    /// Writes the checks when any was added (beside, then renamed over). Failing costs the
    /// next process its checks, nothing else.
    pub fn write(&self) {
        let Some(checks) = self.checks.get() else {
            return;
        };
        let mut checks = checks.lock().unwrap_or_else(|poison| poison.into_inner());
        if !std::mem::take(&mut checks.1) {
            return;
        }
        let Ok(bytes) = serde_json::to_vec(&checks.0) else {
            return;
        };
        if let Err(error) = write_atomically(&self.file, &bytes) {
            tracing::debug!(file = %self.file.display(), %error, "cannot keep the certificate checks");
        }
    }
}

/// Where orchestrate keeps what a process may reuse: `$XDG_CACHE_HOME/orchestrate`, else
/// `~/.cache/orchestrate`; None without either.
pub fn cache_folder() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))?;
    Some(cache.join("orchestrate"))
}

/// `bytes` written beside `file`, then renamed over it, so a reader never sees half a file.
pub fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(folder) = file.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let partial = file.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, file)
}

/// A digest as lowercase hex, as it names files and kept checks.
pub(super) fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_checks_are_read_back_for_the_same_usage_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let kept = KeptChecks {
            file: dir.path().join("ca"),
            checks: OnceLock::new(),
        };
        let check = KeptCheck {
            names: vec!["web1".into()],
            key: KeyKind::EcdsaP256,
            not_after: 100,
            usage: Usage::Node,
        };
        kept.keep(&[7; 32], check.clone());
        kept.write();
        let read = KeptChecks {
            file: dir.path().join("ca"),
            checks: OnceLock::new(),
        };
        assert_eq!(read.get(&[7; 32], Usage::Node, 100), Some(check));
        assert_eq!(read.get(&[7; 32], Usage::Client, 100), None);
        assert_eq!(read.get(&[7; 32], Usage::Node, 101), None);
        assert_eq!(read.get(&[8; 32], Usage::Node, 1), None);
    }
}
