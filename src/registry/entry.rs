//! One node's entry: what it publishes (its [`Inventory`]), sealed with its signature, and what
//! a reader keeps of it once checked (a [`RegisteredNode`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::protocol::{open_entry, seal_entry, ProtocolError, Seal, Signer};
use crate::security::{ClientSecurity, Refusal};

/// What a node says about itself in the registry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub identity: String,
    pub collectives: Vec<String>,
    pub agents: Vec<AgentVersion>,
    pub facts: Map<String, Value>,
    pub classes: Vec<String>,
    /// How often the node writes its entry (seconds): an entry older than this is stale.
    pub heartbeat: u64,
}

/// An agent a node runs, with its version when it has one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentVersion {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A node as read from the registry, its entry checked.
#[derive(Clone, Debug, PartialEq)]
pub struct RegisteredNode {
    pub inventory: Inventory,
    /// When the broker took the node's latest write (heartbeat or change), Unix seconds.
    pub last_seen: i64,
}

impl RegisteredNode {
    /// Whether the node has missed a heartbeat at Unix time `now` (one second of slack for
    /// clocks and rounding).
    pub fn is_stale(&self, now: i64) -> bool {
        let heartbeat = i64::try_from(self.inventory.heartbeat).unwrap_or(i64::MAX);
        now.saturating_sub(self.last_seen) > heartbeat.saturating_add(1)
    }

    pub fn in_collective(&self, collective: &str) -> bool {
        self.inventory
            .collectives
            .iter()
            .any(|own| own == collective)
    }
}

/// Why an entry read from the bucket is dropped.
#[derive(Debug, thiserror::Error)]
pub enum EntryRefused {
    #[error(transparent)]
    Unreadable(#[from] ProtocolError),
    #[error("not an inventory: {0}")]
    NotAnInventory(serde_json::Error),
    #[error("its key {key:?} is not the identity it gives, {identity:?}")]
    WrongKey { key: String, identity: String },
    #[error(transparent)]
    Refused(#[from] Refusal),
}

impl Inventory {
    /// The entry's bytes: the inventory's JSON, signed by `signer` when security is on.
    pub fn seal(&self, signer: Option<&dyn Signer>) -> Result<String, ProtocolError> {
        let json = serde_json::to_string(self).map_err(|source| ProtocolError::Json {
            layer: "registry entry",
            source,
        })?;
        seal_entry(json, signer)
    }
}

/// The inventory in the entry stored under `key`, once the entry checks: readable, for the
/// identity it is stored under, and with security on signed by that node (or unsigned where
/// the client accepts unsigned replies). Returns it with the signature's certificate's last
/// valid second (None: unsigned).
pub fn open_checked(
    key: &str,
    bytes: &[u8],
    security: Option<&ClientSecurity>,
    now: u64,
) -> Result<(Inventory, Option<u64>), EntryRefused> {
    let seal: Seal = open_entry(bytes)?;
    let inventory: Inventory =
        serde_json::from_str(&seal.message).map_err(EntryRefused::NotAnInventory)?;
    if inventory.identity != key {
        return Err(EntryRefused::WrongKey {
            key: key.to_string(),
            identity: inventory.identity,
        });
    }
    let valid_until = match security {
        Some(security) => security.verify_node_entry(key, &seal, now)?,
        None => None,
    };
    Ok((inventory, valid_until))
}
