//! The registry's bucket on the broker: opened (nodes create it on first use), its entries
//! written in a pipeline, and read whole, each entry checked once.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::context::GetStreamErrorKind;
use async_nats::jetstream::kv;
use async_nats::jetstream::{self, ErrorCode};
use bytes::Bytes;
use futures_core::Stream;

use super::checked::{digest_of, CheckedEntries, EntryDigest};
use super::entry::{open_checked, EntryRefused, RegisteredNode};
use super::{RegistryError, RegistrySection};
use crate::protocol::unix_now;
use crate::security::ClientSecurity;
use crate::transport::Transport;

/// The largest entry the bucket takes: a node with very many facts still fits, and one entry
/// cannot grow without bound.
const MOST_ENTRY_BYTES: i32 = 1 << 20;
/// The longest the bucket's lookup may take.
const LOOKUP_WITHIN: Duration = Duration::from_secs(2);
/// Writes in flight at once when many nodes write together (the simulated fleet).
const WRITES_IN_FLIGHT: usize = 1024;
/// Entries checked in one share per core (below it, on one core).
const FEWEST_TO_SHARE: usize = 256;
/// How many dropped entries are named in the log on one read; the rest are counted.
const DROPS_NAMED: usize = 5;

/// The registry's bucket, for reading and writing.
pub struct Registry {
    jetstream: jetstream::Context,
    store: kv::Store,
    bucket: String,
    /// With security on: what checks each entry's signature.
    security: Option<Arc<ClientSecurity>>,
    /// Entries whose signature checked: the same bytes again are not checked again.
    checked: Arc<CheckedEntries>,
}

impl Registry {
    /// The bucket named by `section`, which must exist (a client: no bucket means no node
    /// ever registered, [`RegistryError::NoBucket`]).
    pub async fn open(
        transport: &dyn Transport,
        section: &RegistrySection,
        security: Option<Arc<ClientSecurity>>,
    ) -> Result<Registry, RegistryError> {
        let (jetstream, bucket, broker) = context(transport, section)?;
        let unavailable = |reason: String| RegistryError::Unavailable {
            bucket: bucket.clone(),
            broker: broker.clone(),
            reason,
        };
        // A broker that does not let this party use JetStream never answers: a short wait,
        // so that a client that would discover by broadcast anyway is not held up.
        let lookup = jetstream.get_stream(format!("KV_{bucket}"));
        let Ok(looked_up) = tokio::time::timeout(LOOKUP_WITHIN, lookup).await else {
            return Err(unavailable(format!(
                "no answer within {}s (does the broker let this certificate use JetStream? orchestrate broker-config)",
                LOOKUP_WITHIN.as_secs()
            )));
        };
        if let Err(error) = looked_up {
            return Err(match error.kind() {
                GetStreamErrorKind::JetStream(inner)
                    if inner.error_code() == ErrorCode::STREAM_NOT_FOUND =>
                {
                    RegistryError::NoBucket { bucket, broker }
                }
                _ => unavailable(error.to_string()),
            });
        }
        let store = jetstream
            .get_key_value(&bucket)
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        Ok(Registry::of(jetstream, store, bucket, security))
    }

    /// The bucket named by `section`, created with the section's age limit when it does not
    /// exist yet (a node).
    pub async fn open_or_create(
        transport: &dyn Transport,
        section: &RegistrySection,
    ) -> Result<Registry, RegistryError> {
        match Registry::open(transport, section, None).await {
            Err(RegistryError::NoBucket { .. }) => {}
            opened => return opened,
        }
        let (jetstream, bucket, broker) = context(transport, section)?;
        // The bucket's stream made as a key-value bucket is (`create_key_value` first asks
        // for the account's limits, in a shape nats-server 2.9 does not answer in).
        let config = jetstream::stream::Config {
            name: format!("KV_{bucket}"),
            description: Some("orchestrate: one entry per node".to_string()),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            max_age: section.expire_after(),
            max_message_size: MOST_ENTRY_BYTES,
            storage: jetstream::stream::StorageType::Memory,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            num_replicas: 1,
            discard: jetstream::stream::DiscardPolicy::New,
            ..Default::default()
        };
        let created = jetstream.create_stream(config).await;
        // Another node may have created it first: what counts is that it is there now.
        let store = jetstream.get_key_value(&bucket).await.map_err(|error| {
            let reason = match created {
                Err(refused) => refused.to_string(),
                Ok(_) => error.to_string(),
            };
            RegistryError::Unavailable {
                bucket: bucket.clone(),
                broker: broker.clone(),
                reason,
            }
        })?;
        Ok(Registry::of(jetstream, store, bucket, None))
    }

    fn of(
        jetstream: jetstream::Context,
        store: kv::Store,
        bucket: String,
        security: Option<Arc<ClientSecurity>>,
    ) -> Registry {
        Registry {
            jetstream,
            store,
            bucket,
            security,
            checked: Arc::new(CheckedEntries::in_memory()),
        }
    }

    /// The registry with the entries whose signature checked kept between processes too (a
    /// client's, in the user's cache folder, per bucket and CA): the next process does not
    /// check them again. Without security there is nothing to keep.
    pub fn keeping_checks(mut self) -> Registry {
        let fingerprint = self.security.as_ref().map(|s| s.trust_fingerprint());
        let file = fingerprint.and_then(|f| CheckedEntries::file_for(&self.bucket, &f));
        if let Some(file) = file {
            self.checked = Arc::new(CheckedEntries::kept_in(file));
        }
        self
    }

    /// Writes the entries `(identity, bytes)`, many in flight at once, each acknowledged by the
    /// broker before this returns.
    pub async fn put_all(&self, entries: Vec<(String, Bytes)>) -> Result<(), RegistryError> {
        let mut in_flight = std::collections::VecDeque::with_capacity(WRITES_IN_FLIGHT);
        for (key, bytes) in entries {
            if in_flight.len() == WRITES_IN_FLIGHT {
                if let Some(ack) = in_flight.pop_front() {
                    self.acknowledged(ack).await?;
                }
            }
            let subject = format!("$KV.{}.{key}", self.bucket);
            let ack = self
                .jetstream
                .publish(subject, bytes)
                .await
                .map_err(|error| self.io(format!("writing {key}: {error}")))?;
            in_flight.push_back(ack);
        }
        for ack in in_flight {
            self.acknowledged(ack).await?;
        }
        Ok(())
    }

    async fn acknowledged(
        &self,
        ack: jetstream::context::PublishAckFuture,
    ) -> Result<(), RegistryError> {
        ack.await
            .map(|_| ())
            .map_err(|error| self.io(format!("an entry was not stored: {error}")))
    }

    /// Removes `identity`'s entry (a node that stops cleanly): a deletion marker written on
    /// its own key, which is all a broker lets a node write (permissions.rs).
    pub async fn remove(&self, identity: &str) -> Result<(), RegistryError> {
        self.store
            .delete(identity)
            .await
            .map_err(|error| self.io(format!("removing {identity}: {error}")))
    }

    /// Every node in the registry whose entry checks, by identity. An entry that does not
    /// check (unreadable, under another node's name, or with security on unsigned or signed by
    /// anyone but that node) is dropped and logged. Entries are read and checked on every
    /// core; a signature checked before (by this process or the last) is not checked again.
    pub async fn nodes(&self) -> Result<Vec<RegisteredNode>, RegistryError> {
        let started = std::time::Instant::now();
        let raw = self.read_all().await?;
        let read = started.elapsed();
        let now = unix_now();
        let (security, checked) = (self.security.clone(), self.checked.clone());
        let outcomes = crate::cores::in_shares(raw, FEWEST_TO_SHARE, move |part| {
            part.iter()
                .map(|raw| Outcome::of(raw, security.as_deref(), &checked, now))
                .collect()
        })
        .await;
        let mut nodes = Vec::with_capacity(outcomes.len());
        let mut current = Vec::with_capacity(outcomes.len());
        let mut dropped = 0;
        for outcome in outcomes {
            match outcome.checked {
                Ok((node, until)) => {
                    if let (false, Some(digest), Some(until)) =
                        (outcome.known, outcome.digest, until)
                    {
                        self.checked.remember(digest, until);
                    }
                    current.extend(outcome.digest);
                    nodes.push(node);
                }
                Err(refused) => {
                    dropped += 1;
                    if dropped <= DROPS_NAMED {
                        tracing::warn!(key = %outcome.key, bucket = %self.bucket, "dropped a registry entry: {refused}");
                    }
                }
            }
        }
        if dropped > DROPS_NAMED {
            tracing::warn!(bucket = %self.bucket, "dropped {dropped} registry entries in all");
        }
        self.checked.keep_only(&current);
        nodes.sort_by(|a, b| a.inventory.identity.cmp(&b.inventory.identity));
        tracing::debug!(nodes = nodes.len(), ?read, checked = ?started.elapsed(), "read the registry");
        Ok(nodes)
    }

    /// The latest value of every key, deletions left out: one ordered consumer over the
    /// bucket's stream, delivering every message it holds (with history 1, the last of each
    /// key: the broker scans the stream rather than looking up each key's last, 20% faster
    /// at 50,000), read until none is pending; of a key's several values, the latest counts.
    async fn read_all(&self) -> Result<Vec<RawEntry>, RegistryError> {
        let reading = |error: &dyn std::fmt::Display| self.io(format!("reading: {error}"));
        let prefix = format!("$KV.{}.", self.bucket);
        let consumer = self
            .store
            .stream
            .create_consumer(jetstream::consumer::push::OrderedConfig {
                // The connection's own inbox: where a broker lets this party receive.
                deliver_subject: self.jetstream.client().new_inbox(),
                filter_subject: format!("{prefix}>"),
                deliver_policy: jetstream::consumer::DeliverPolicy::All,
                replay_policy: jetstream::consumer::ReplayPolicy::Instant,
                ..Default::default()
            })
            .await
            .map_err(|error| reading(&error))?;
        let mut entries = Vec::new();
        if consumer.cached_info().num_pending == 0 {
            return Ok(entries);
        }
        let mut messages = consumer.messages().await.map_err(|error| reading(&error))?;
        while let Some(message) = next(&mut messages).await {
            let message = message.map_err(|error| reading(&error))?;
            let info = message.info().map_err(|error| reading(&error))?;
            let (pending, written) = (info.pending, info.published.unix_timestamp());
            let key = message
                .subject
                .strip_prefix(prefix.as_str())
                .map(str::to_string);
            // A deletion or purge marker carries its operation; an entry has none.
            let deleted = message
                .headers
                .as_ref()
                .is_some_and(|headers| headers.get("KV-Operation").is_some());
            if let Some(key) = key {
                entries.push(RawEntry {
                    key,
                    bytes: message.payload.clone(),
                    written,
                    deleted,
                });
            }
            if pending == 0 {
                break;
            }
        }
        // A key written during the read (or a bucket keeping history) gives several values,
        // in the order written: the last counts, and a deletion removes the node.
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        entries.dedup_by(|later, earlier| {
            let same = later.key == earlier.key;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        entries.retain(|entry| !entry.deleted);
        Ok(entries)
    }

    fn io(&self, reason: String) -> RegistryError {
        RegistryError::Io {
            bucket: self.bucket.clone(),
            reason,
        }
    }
}

/// One value as read from the bucket, not yet checked.
struct RawEntry {
    key: String,
    bytes: Bytes,
    written: i64,
    /// A deletion marker (the node stopped), not an entry.
    deleted: bool,
}

/// What reading one entry came to.
struct Outcome {
    key: String,
    /// With security on: what names the entry's check (without it there is nothing to keep).
    digest: Option<EntryDigest>,
    /// Its signature had checked before: only read this time.
    known: bool,
    checked: Result<(RegisteredNode, Option<u64>), EntryRefused>,
}

impl Outcome {
    fn of(
        raw: &RawEntry,
        security: Option<&ClientSecurity>,
        checked: &CheckedEntries,
        now: u64,
    ) -> Outcome {
        let digest = security.map(|_| digest_of(&raw.bytes));
        let known = digest.is_some_and(|digest| checked.passed(&digest, now));
        let security = if known { None } else { security };
        Outcome {
            key: raw.key.clone(),
            digest,
            known,
            checked: check(raw, security, now),
        }
    }
}

/// The node of `raw` once its entry checks, with until when its certificate holds.
fn check(
    raw: &RawEntry,
    security: Option<&ClientSecurity>,
    now: u64,
) -> Result<(RegisteredNode, Option<u64>), EntryRefused> {
    let (inventory, until) = open_checked(&raw.key, &raw.bytes, security, now)?;
    let node = RegisteredNode {
        inventory,
        last_seen: raw.written,
    };
    Ok((node, until))
}

/// The JetStream context of `transport` with the bucket's name and the broker's.
fn context(
    transport: &dyn Transport,
    section: &RegistrySection,
) -> Result<(jetstream::Context, String, String), RegistryError> {
    let jetstream = transport.jetstream().ok_or(RegistryError::NoBroker)?;
    Ok((jetstream, section.bucket().to_string(), transport.broker()))
}

async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
}
