//! Who the client is and how long it waits.

use std::time::Duration;

/// The client's identity on the wire and its waiting times.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientOptions {
    /// The collective requests go to, `mcollective` by default.
    pub collective: String,
    /// Who asks: `choria=<user>.mcollective`.
    pub caller_id: String,
    /// This host's name; replies come back on `<collective>.reply.<sender_id>.<requestid>`.
    pub sender_id: String,
    /// The longest a discovery waits for replies.
    pub discovery_timeout: Duration,
    /// With Some, discovery stops once this long has passed without a new node answering
    /// (after at least one has), still bounded by `discovery_timeout`.
    pub discovery_window: Option<Duration>,
    /// The per-request timeout of a step that sets none.
    pub default_timeout: Duration,
    /// How long the connection to the broker may be down before a request fails with
    /// [`RpcError::Unreachable`](super::RpcError::Unreachable) (a broker restarting comes back
    /// within it; one that is gone does not).
    pub reconnect_grace: Duration,
}

/// How long a lost connection to the broker may take to come back, by default: a restarted
/// `nats-server` is back in well under a second, a failover to another server at once.
pub const DEFAULT_RECONNECT_GRACE: Duration = Duration::from_secs(5);

impl ClientOptions {
    /// Choria's defaults for `user` on this host: 2 s discovery with a 300 ms window, 10 s
    /// per request; and 5 s for a lost broker to come back.
    pub fn for_user(user: &str) -> ClientOptions {
        ClientOptions {
            collective: "mcollective".to_string(),
            caller_id: format!("choria={user}.mcollective"),
            sender_id: host_name(),
            discovery_timeout: Duration::from_secs(2),
            discovery_window: Some(Duration::from_millis(300)),
            default_timeout: Duration::from_secs(10),
            reconnect_grace: DEFAULT_RECONNECT_GRACE,
        }
    }
}

/// This host's name, made fit to be part of a subject (it lands in the reply subject).
fn host_name() -> String {
    let found = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    subject_safe(found.trim()).unwrap_or_else(|| "localhost".to_string())
}

/// Dot-separated tokens with no empty token, whitespace or wildcard: None when nothing is left.
fn subject_safe(name: &str) -> Option<String> {
    let tokens: Vec<String> = name
        .split('.')
        .filter(|token| !token.is_empty())
        .map(|token| {
            token
                .chars()
                .map(|c| {
                    if c.is_whitespace() || c == '*' || c == '>' {
                        '_'
                    } else {
                        c
                    }
                })
                .collect()
        })
        .collect();
    (!tokens.is_empty()).then(|| tokens.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_for_a_user() {
        let options = ClientOptions::for_user("rip");
        assert_eq!(options.collective, "mcollective");
        assert_eq!(options.caller_id, "choria=rip.mcollective");
        assert!(!options.sender_id.is_empty());
        assert_eq!(options.discovery_timeout, Duration::from_secs(2));
        assert_eq!(options.discovery_window, Some(Duration::from_millis(300)));
        assert_eq!(options.default_timeout, Duration::from_secs(10));
    }

    #[test]
    fn host_names_are_made_subject_safe() {
        assert_eq!(
            subject_safe("orch.example.net").as_deref(),
            Some("orch.example.net")
        );
        assert_eq!(subject_safe("my host..x*").as_deref(), Some("my_host.x_"));
        assert_eq!(subject_safe(""), None);
        assert_eq!(subject_safe("..."), None);
    }
}
