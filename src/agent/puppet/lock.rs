//! Puppet's lock files: the disable lock (`agent_disabled_lockfile`, JSON
//! `{"disabled_message": ...}`, as `puppet agent --disable` writes it) and the PID files (the
//! catalog-run lock and the daemon's PID file), which count only while their process lives.

use std::io::Write;
use std::path::Path;

use super::backend::{DisableError, EnableError};

/// The disable message when the agent is disabled; None when enabled. A lock file that is
/// empty or not JSON (older Puppets wrote an empty one) still disables, with no message.
pub fn disabled_message(path: &Path) -> Option<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot read the disable lock; taking Puppet as disabled");
            return Some(String::new());
        }
    };
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|lock| lock.get("disabled_message")?.as_str().map(str::to_string));
    Some(message.unwrap_or_default())
}

/// Writes the disable lock, failing when it already exists. The file is created exclusively, so
/// two `disable` requests at once cannot both succeed.
pub fn disable(path: &Path, message: &str) -> Result<(), DisableError> {
    let cannot_write = |source| DisableError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(cannot_write)?;
    }
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(DisableError::Already(
                disabled_message(path).unwrap_or_default(),
            ))
        }
        Err(error) => return Err(cannot_write(error)),
    };
    let lock = serde_json::json!({ "disabled_message": message });
    file.write_all(lock.to_string().as_bytes())
        .map_err(cannot_write)
}

/// Removes the disable lock; false when there was none.
pub fn enable(path: &Path) -> Result<bool, EnableError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(EnableError {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Whether the PID file at `path` names a live process. Puppet leaves stale lock files
/// behind after a crash and treats them as unlocked; so does this.
pub fn pid_file_is_live(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .is_some_and(process_is_live)
}

/// A process is live when /proc has it and it is not a zombie (exited, not yet reaped).
pub fn process_is_live(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may contain spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disable_and_enable_round_trip_in_puppets_format() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("state/agent_disabled.lock");
        assert_eq!(disabled_message(&lock), None);
        disable(&lock, "maintenance by rip").unwrap();
        assert_eq!(
            std::fs::read_to_string(&lock).unwrap(),
            r#"{"disabled_message":"maintenance by rip"}"#
        );
        assert_eq!(
            disabled_message(&lock).as_deref(),
            Some("maintenance by rip")
        );
        assert!(matches!(
            disable(&lock, "again"),
            Err(DisableError::Already(message)) if message == "maintenance by rip"
        ));
        assert!(enable(&lock).unwrap());
        assert!(!enable(&lock).unwrap());
        std::fs::write(&lock, "").unwrap();
        assert_eq!(disabled_message(&lock).as_deref(), Some(""));
    }

    #[test]
    fn pid_files_count_only_for_live_processes() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("agent.pid");
        assert!(!pid_file_is_live(&pid_file));
        std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
        assert!(pid_file_is_live(&pid_file));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        std::fs::write(&pid_file, pid.to_string()).unwrap();
        assert!(!pid_file_is_live(&pid_file));
        std::fs::write(&pid_file, "garbage").unwrap();
        assert!(!pid_file_is_live(&pid_file));
    }
}
