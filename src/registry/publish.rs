//! The nodes' side: their entries written at start, again on every heartbeat (the same bytes,
//! re-signed only when the inventory changed), and removed when a node stops cleanly.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{Inventory, Registry, RegistrySection};
use crate::protocol::Signer;
use crate::stop::Stop;
use crate::transport::Transport;

/// Entries sealed in one share per core (signing is most of the cost of a large fleet's start).
const FEWEST_TO_SHARE: usize = 256;

/// A node to register: its inventory now, and what signs its entry (None: security off).
#[derive(Clone)]
pub struct PublishedNode {
    pub inventory: Inventory,
    pub signer: Option<Arc<dyn Signer>>,
}

/// The heartbeat of one node (`orchestrate agent`) or of many (`orchestrate fleet`).
pub struct Heartbeat {
    transport: Arc<dyn Transport>,
    section: RegistrySection,
    /// Removes the entries when stopped (a daemon); a simulated fleet lets them expire.
    remove_on_stop: bool,
    /// How long a start waits for the first entries to be written; None: until they are.
    first_write_within: Option<Duration>,
}

impl Heartbeat {
    pub fn new(transport: Arc<dyn Transport>, section: RegistrySection) -> Heartbeat {
        Heartbeat {
            transport,
            section,
            remove_on_stop: false,
            first_write_within: None,
        }
    }

    /// A start waits at most `within` for its first entries: a daemon serves even when the
    /// broker does not answer JetStream (or does not let the node use it); the entry is
    /// written when it can be.
    pub fn serving_after(mut self, within: Duration) -> Heartbeat {
        self.first_write_within = Some(within);
        self
    }

    /// The entries are removed when the heartbeat stops, rather than left to expire.
    pub fn removing_on_stop(mut self) -> Heartbeat {
        self.remove_on_stop = true;
        self
    }

    /// Writes the entries of `nodes()` now (returning once they are written, or see
    /// [`Heartbeat::serving_after`]), then every heartbeat until `stop`, on a task of its own (the handle
    /// ends once the entries are removed, with [`Heartbeat::removing_on_stop`]).
    /// A broker without JetStream is said once and tried again every heartbeat; the nodes keep
    /// serving.
    pub async fn start<F>(self, nodes: F, stop: Stop) -> tokio::task::JoinHandle<()>
    where
        F: Fn() -> Vec<PublishedNode> + Send + Sync + 'static,
    {
        let first_write_within = self.first_write_within;
        let mut beating = Beating {
            heartbeat: self,
            registry: None,
            sealed: Sealed::default(),
            said_unavailable: false,
        };
        let (first, written) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            beating.beat(nodes()).await;
            let _ = first.send(());
            let interval = beating.heartbeat.section.heartbeat();
            loop {
                tokio::select! {
                    _ = stop.requested() => break,
                    _ = tokio::time::sleep(interval) => {}
                }
                beating.beat(nodes()).await;
            }
            beating.remove().await;
        });
        match first_write_within {
            Some(within) => drop(tokio::time::timeout(within, written).await),
            None => drop(written.await),
        }
        task
    }
}

/// A heartbeat going on: the bucket once opened, and the entries as last written.
struct Beating {
    heartbeat: Heartbeat,
    registry: Option<Registry>,
    sealed: Sealed,
    said_unavailable: bool,
}

impl Beating {
    async fn beat(&mut self, nodes: Vec<PublishedNode>) {
        let Heartbeat {
            transport, section, ..
        } = &self.heartbeat;
        if self.registry.is_none() {
            match Registry::open_or_create(transport.as_ref(), section).await {
                Ok(opened) => self.registry = Some(opened),
                Err(error) if !self.said_unavailable => {
                    tracing::warn!("not writing to the node registry: {error}");
                    self.said_unavailable = true;
                }
                Err(_) => {}
            }
        }
        let Some(registry) = &self.registry else {
            return;
        };
        let entries = self.sealed.update(nodes, section.heartbeat()).await;
        if let Err(error) = registry.put_all(entries).await {
            tracing::warn!("the registry heartbeat failed: {error}");
        }
    }

    async fn remove(&self) {
        let (true, Some(registry)) = (self.heartbeat.remove_on_stop, &self.registry) else {
            return;
        };
        for identity in self.sealed.identities() {
            if let Err(error) = registry.remove(identity).await {
                tracing::warn!("{error}");
            }
        }
    }
}

/// Each node's last inventory and its sealed entry.
#[derive(Default)]
struct Sealed {
    entries: HashMap<String, (Inventory, Bytes)>,
}

impl Sealed {
    /// The entries to write now: the sealed bytes kept for an unchanged inventory, new ones
    /// (signed on every core) for a new or changed one.
    async fn update(
        &mut self,
        nodes: Vec<PublishedNode>,
        heartbeat: Duration,
    ) -> Vec<(String, Bytes)> {
        let mut changed = Vec::new();
        let mut current = Vec::with_capacity(nodes.len());
        for mut node in nodes {
            node.inventory.heartbeat = heartbeat.as_secs().max(1);
            let identity = node.inventory.identity.clone();
            match self.entries.get(&identity) {
                Some((known, _)) if *known == node.inventory => {}
                _ => changed.push(node),
            }
            current.push(identity);
        }
        let resealed = crate::cores::in_shares(changed, FEWEST_TO_SHARE, |part| {
            part.iter().filter_map(seal).collect()
        })
        .await;
        for (inventory, bytes) in resealed {
            if self.entries.contains_key(&inventory.identity) {
                tracing::info!(node = %inventory.identity, "the registry entry changed");
            }
            self.entries
                .insert(inventory.identity.clone(), (inventory, bytes));
        }
        current
            .into_iter()
            .filter_map(|identity| {
                let bytes = self.entries.get(&identity)?.1.clone();
                Some((identity, bytes))
            })
            .collect()
    }

    fn identities(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

fn seal(node: &PublishedNode) -> Option<(Inventory, Bytes)> {
    match node.inventory.seal(node.signer.as_deref()) {
        Ok(text) => Some((node.inventory.clone(), Bytes::from(text))),
        Err(error) => {
            tracing::error!(node = %node.inventory.identity, "cannot write a registry entry: {error}");
            None
        }
    }
}
