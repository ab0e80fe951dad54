//! `registry:` in a client's, an agent's or a fleet's configuration.

use std::time::Duration;

use serde::Deserialize;

/// The bucket every node and client uses unless told otherwise.
pub const DEFAULT_BUCKET: &str = "orchestrate_nodes";
/// How often a node writes its entry again by default.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);
/// A node is gone after this many heartbeats without one, by default (the bucket's age
/// limit, set when the bucket is created).
const HEARTBEATS_TO_EXPIRY: u32 = 3;

/// `registry: {bucket, heartbeat, expire_after, enabled}`; every key optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySection {
    /// The JetStream key-value bucket (default `orchestrate_nodes`).
    pub bucket: Option<String>,
    /// How often a node writes its entry again (default 30 s).
    #[serde(default, deserialize_with = "crate::duration::deserialize_optional")]
    pub heartbeat: Option<Duration>,
    /// How long an entry lives without a heartbeat: the bucket's age limit, applied by
    /// whoever creates the bucket (default three heartbeats).
    #[serde(default, deserialize_with = "crate::duration::deserialize_optional")]
    pub expire_after: Option<Duration>,
    /// Nodes: whether to write an entry at all (default true; it needs JetStream on the
    /// broker, and without it the node says so once and goes on serving).
    pub enabled: Option<bool>,
}

impl RegistrySection {
    pub fn bucket(&self) -> &str {
        self.bucket.as_deref().unwrap_or(DEFAULT_BUCKET)
    }

    pub fn heartbeat(&self) -> Duration {
        self.heartbeat.unwrap_or(DEFAULT_HEARTBEAT)
    }

    pub fn expire_after(&self) -> Duration {
        self.expire_after
            .unwrap_or(self.heartbeat() * HEARTBEATS_TO_EXPIRY)
    }

    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    /// Whether a node can keep its entry with these times: an entry that expired before the
    /// next heartbeat would come and go.
    pub fn check(&self) -> Result<(), String> {
        if self.heartbeat().is_zero() {
            return Err("heartbeat must be more than 0".to_string());
        }
        if self.expire_after() <= self.heartbeat() {
            return Err(format!(
                "expire_after ({}s) must be longer than the heartbeat ({}s), or nodes expire between heartbeats",
                self.expire_after().as_secs_f64(),
                self.heartbeat().as_secs_f64()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_given_values() {
        let section = RegistrySection::default();
        assert_eq!(section.bucket(), "orchestrate_nodes");
        assert_eq!(section.heartbeat(), Duration::from_secs(30));
        assert_eq!(section.expire_after(), Duration::from_secs(90));
        assert!(section.enabled());
        let section: RegistrySection =
            serde_yaml_ng::from_str("{bucket: nodes, heartbeat: 2s, enabled: false}").unwrap();
        assert_eq!(section.bucket(), "nodes");
        assert_eq!(section.expire_after(), Duration::from_secs(6));
        assert!(!section.enabled());
        assert!(serde_yaml_ng::from_str::<RegistrySection>("{ttl: 3}").is_err());
    }
}

/// How nodes are discovered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DiscoveryMethod {
    /// Ask the fleet (discovery#ping to every node) and wait for the answers.
    Broadcast,
    /// Evaluate the filter on the node registry's entries: no wait.
    Registry,
}
