//! The `puppet` agent's replies as both ends read them. The agent writes its `status` data
//! from [`Status`] and its `last_run_summary` data from
//! [`LastRunReport`](super::LastRunReport); the site run (`site/run/puppet.rs`) reads them back
//! with the same types, and tells a refusal it can live with by its statuscode. Nothing is
//! decided by the wording of a message.

use serde_json::{json, Value};

use crate::protocol::statuscode;

/// The statuscode of a `disable` refused because Puppet is disabled already (Choria's agent
/// fails it with 1 too).
pub const ALREADY_DISABLED: u8 = statuscode::ABORTED;

/// The statuscode of an `enable` refused because Puppet is enabled already.
pub const ALREADY_ENABLED: u8 = statuscode::ABORTED;

/// What `status` says of a Puppet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub enabled: bool,
    /// A catalog is being applied. Reported even while disabled: a run may be under way when
    /// someone disables, and "disable, then wait until idle" relies on seeing it.
    pub applying: bool,
    pub daemon_present: bool,
    /// When the last completed run ended (Unix seconds); 0 when Puppet never ran.
    pub lastrun: u64,
    /// The disable lock's message; "" when enabled or when the lock has none.
    pub disable_message: String,
}

/// The one-word state `status` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Disabled,
    Applying,
    Idling,
    Stopped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Disabled => "disabled",
            State::Applying => "applying a catalog",
            State::Idling => "idling",
            State::Stopped => "stopped",
        }
    }
}

/// A `status` reply that lacks what a status must say.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the status reply has no '{field}'")]
pub struct StatusReplyError {
    /// The field missing or of the wrong type.
    pub field: &'static str,
}

impl Status {
    /// The daemon waits for its next run.
    pub fn idling(&self) -> bool {
        self.daemon_present && !self.applying
    }

    pub fn state(&self) -> State {
        if !self.enabled {
            State::Disabled
        } else if self.applying {
            State::Applying
        } else if self.idling() {
            State::Idling
        } else {
            State::Stopped
        }
    }

    /// The reply data, `now` being the node's clock (Unix seconds).
    pub fn to_data(&self, now: u64) -> Value {
        let state = self.state().as_str();
        let since_lastrun = now.saturating_sub(self.lastrun);
        json!({
            "applying": self.applying,
            "idling": self.idling(),
            "enabled": self.enabled,
            "daemon_present": self.daemon_present,
            "lastrun": self.lastrun,
            "since_lastrun": since_lastrun,
            "status": state,
            "disable_message": self.disable_message,
            "message": format!("Currently {state}; last completed run {since_lastrun} seconds ago"),
        })
    }

    /// The status a reply's data gives. `applying`, `enabled` and `lastrun` must be there
    /// (every `puppet` agent, Choria's included, says them); a fractional `lastrun` counts
    /// in whole seconds.
    pub fn from_data(data: &Value) -> Result<Status, StatusReplyError> {
        let flag = |field: &'static str| {
            data.get(field)
                .and_then(Value::as_bool)
                .ok_or(StatusReplyError { field })
        };
        let lastrun = data
            .get("lastrun")
            .and_then(whole_seconds)
            .ok_or(StatusReplyError { field: "lastrun" })?;
        Ok(Status {
            applying: flag("applying")?,
            enabled: flag("enabled")?,
            lastrun,
            daemon_present: flag("daemon_present").unwrap_or(false),
            disable_message: data
                .get("disable_message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// The run started at `initiated_at` has been seen: applying now, or a run completed
    /// since. A short run can start and end between two polls and never be seen applying;
    /// `lastrun` tells the truth then.
    pub fn run_seen(&self, initiated_at: u64) -> bool {
        self.applying || self.lastrun >= initiated_at
    }

    /// The run started at `initiated_at` is over.
    pub fn run_over(&self, initiated_at: u64) -> bool {
        !self.applying && self.lastrun >= initiated_at
    }
}

/// A time in Unix seconds, whole or not (a fraction counts as the second it is in); None when
/// `value` is no number.
pub fn whole_seconds(value: &Value) -> Option<u64> {
    // A float too large or negative saturates, as `as` does.
    value.as_u64().or_else(|| value.as_f64().map(|f| f as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(applying: bool, lastrun: u64) -> Status {
        Status {
            enabled: true,
            applying,
            daemon_present: false,
            lastrun,
            disable_message: String::new(),
        }
    }

    #[test]
    fn a_run_that_ended_between_two_polls_is_seen_and_over() {
        let initiated_at = 1_795_308_300;
        let finished = status(false, initiated_at + 1);
        assert!(finished.run_seen(initiated_at));
        assert!(finished.run_over(initiated_at));
        let before = status(false, initiated_at - 1800);
        assert!(!before.run_seen(initiated_at));
        assert!(!before.run_over(initiated_at));
        let applying = status(true, initiated_at - 1800);
        assert!(applying.run_seen(initiated_at));
        assert!(!applying.run_over(initiated_at));
    }

    #[test]
    fn the_data_reads_back_as_the_status_it_was_written_from() {
        let disabled = Status {
            enabled: false,
            applying: true,
            daemon_present: true,
            lastrun: 1_795_308_284,
            disable_message: "maintenance by rip".into(),
        };
        let data = disabled.to_data(1_795_308_300);
        assert_eq!(data["status"], "disabled");
        assert_eq!(data["idling"], false);
        assert_eq!(data["since_lastrun"], 16);
        assert_eq!(
            data["message"],
            "Currently disabled; last completed run 16 seconds ago"
        );
        assert_eq!(Status::from_data(&data), Ok(disabled));
        let idling = Status {
            daemon_present: true,
            ..status(false, 7)
        };
        assert_eq!(idling.state(), State::Idling);
        assert_eq!(status(false, 7).state(), State::Stopped);
        assert_eq!(status(true, 7).state(), State::Applying);
    }

    #[test]
    fn malformed_statuses_are_errors_not_panics() {
        assert_eq!(
            Status::from_data(&json!({})),
            Err(StatusReplyError { field: "lastrun" })
        );
        assert_eq!(
            Status::from_data(&json!({"applying": "yes", "lastrun": 1})),
            Err(StatusReplyError { field: "applying" })
        );
        assert!(Status::from_data(&json!("nonsense")).is_err());
        assert_eq!(
            Status::from_data(&json!({"applying": false, "enabled": true, "lastrun": 7.5})),
            Ok(status(false, 7))
        );
    }
}
