//! The node daemon (`orchestrate agent`): one node on a real broker. It subscribes to the
//! broadcast subject of every agent it runs and to its own direct subject, handles requests
//! concurrently up to a limit (more wait their turn), answers each within its action's
//! timeout, and on stop answers what it has in hand before returning: whatever the connection
//! is doing, a stop ends it within a short bound (a broker that is away gets
//! [`BROKER_GRACE`] to come back for the last replies; a forced stop ends it at once).
//!
//! Each message goes through the node's one gate (`Node::handle`, in intake.rs): one that does
//! not decode, is for another collective, has expired, or is not for this node is logged and
//! dropped; nothing a sender writes can stop the daemon.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use serde_json::Map;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::config::{AgentConfig, ConfigError, PuppetConfig, DEFAULT_POLICIES_DIR};
use super::external::load_agents;
use super::facts::{parse_classes, parse_facts, WatchedFile};
use super::puppet::PuppetAgent;
use super::{Admitted, Agent, Dropped, Guard, Intake, Node, NodePolicies, Outgoing};
use crate::protocol::{broadcast_subject, direct_subject};
use crate::security::{AuditLog, NodeSecurity, SecuritySection};
use crate::stop::Stop;
use crate::transport::{Message, Subscription, Transport, TransportError, TransportErrorKind};

/// What the daemon is: who, where, and the agents beyond the built-in ones.
pub struct DaemonSettings {
    pub identity: String,
    pub collective: String,
    pub facts: Option<std::path::PathBuf>,
    pub classes: Option<std::path::PathBuf>,
    pub concurrency: usize,
    pub action_timeout: Duration,
    /// With security on: the request checks and the node's certificate.
    pub security: Option<NodeSecurity>,
}

/// One node's daemon. Shared by the tasks handling its requests.
pub struct Daemon {
    settings: DaemonSettings,
    intake: Intake,
    /// The agents beyond rpcutil and discovery, each with how long its actions may take.
    agents: Vec<(String, Arc<dyn Agent>, Duration)>,
    facts: Mutex<Option<WatchedFile<Map<String, serde_json::Value>>>>,
    classes: Mutex<Option<WatchedFile<Vec<String>>>>,
    /// The node as of the last look at the facts and classes files.
    node: Mutex<Arc<Node>>,
    /// Security on: the policies and audit log every request passes after the filter.
    guard: Option<Arc<Guard>>,
    /// Messages being admitted, at most [`ADMITTING`].
    admitting: Arc<Semaphore>,
    /// Messages received so far: the memory is given back after a burst of them.
    received: Arc<AtomicU64>,
}

/// How many messages are decoded and filtered at once; the others wait in the subscription.
/// A few more than the two admitting threads keep them busy; each in flight may hold a 1 MB
/// message and its decoded layers, so more would only raise the peak memory of a flood.
pub const ADMITTING: usize = 8;

/// The node's name on the wire: the configured identity, else with security on the
/// certificate's name, else the host name. With security on it must be a name of the
/// certificate, or every reply it signs would be refused as forged.
fn node_identity(
    config: &AgentConfig,
    security: Option<&NodeSecurity>,
) -> Result<String, ConfigError> {
    let Some(security) = security else {
        return Ok(config.identity());
    };
    let credentials = &security.credentials;
    let identity = config
        .identity
        .clone()
        .unwrap_or_else(|| credentials.name().to_string());
    if !credentials.is_named(&identity) {
        let cert = config
            .security
            .as_ref()
            .and_then(|section| section.files().ok())
            .map(|files| files.cert)
            .unwrap_or_default();
        return Err(ConfigError::IdentityNotInCertificate { identity, cert });
    }
    Ok(identity)
}

/// How long an external program gets after its own timeout to be killed and answered for,
/// before the daemon answers in its place.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// How long a stopping daemon waits for a broker that is away to come back and take the
/// replies in hand, before it gives them up and exits.
pub const BROKER_GRACE: Duration = Duration::from_secs(2);

/// How often a stopping daemon looks whether the broker is there.
const BROKER_POLL: Duration = Duration::from_millis(50);

impl Daemon {
    pub fn new(settings: DaemonSettings) -> Daemon {
        let facts = settings
            .facts
            .clone()
            .map(|path| WatchedFile::new(path, parse_facts));
        let classes = settings
            .classes
            .clone()
            .map(|path| WatchedFile::new(path, parse_classes));
        let daemon = Daemon {
            node: Mutex::new(Arc::new(Node::new(
                settings.identity.clone(),
                settings.collective.clone(),
                Map::new(),
                Vec::new(),
            ))),
            intake: match &settings.security {
                Some(security) => {
                    Intake::secured(settings.collective.clone(), security.verifier.clone())
                }
                None => Intake::new(settings.collective.clone()),
            },
            settings,
            agents: Vec::new(),
            facts: Mutex::new(facts),
            classes: Mutex::new(classes),
            guard: None,
            admitting: Arc::new(Semaphore::new(ADMITTING)),
            received: Arc::new(AtomicU64::new(0)),
        };
        daemon.rebuild_node();
        daemon
    }

    /// Checks every request against `guard` (policies, audit) before its agent runs.
    pub fn guard_with(&mut self, guard: Guard) {
        self.guard = Some(Arc::new(guard));
        self.rebuild_node();
    }

    /// The daemon a configuration describes: the `puppet` agent (unless disabled, or not
    /// configured and Puppet is not installed) and the agents folder's external agents.
    pub fn from_config(config: &AgentConfig) -> Result<Daemon, ConfigError> {
        let puppet = match &config.puppet {
            Some(puppet) if !puppet.enabled => None,
            Some(puppet) => {
                Some(PuppetAgent::new(puppet).map_err(|error| ConfigError::Puppet(error.into()))?)
            }
            None => match PuppetAgent::new(&PuppetConfig::default()) {
                Ok(agent) => Some(agent),
                Err(error) => {
                    tracing::warn!(%error, "running without the puppet agent");
                    None
                }
            },
        };
        let classes = config.classes.clone().or_else(|| {
            puppet
                .as_ref()
                .and_then(|agent| agent.paths().classfile.clone())
        });
        let security = config
            .security
            .as_ref()
            .map(NodeSecurity::load)
            .transpose()?;
        let identity = node_identity(config, security.as_ref())?;
        let mut daemon = Daemon::new(DaemonSettings {
            identity,
            collective: config.collective(),
            facts: config.facts.clone(),
            classes,
            concurrency: config.concurrency,
            action_timeout: config.action_timeout,
            security,
        });
        if let Some(security) = &config.security {
            daemon.guard_with(guard_of(security)?);
        }
        if let Some(puppet) = puppet {
            tracing::info!(command = %puppet.describe_command(), "puppet agent ready");
            daemon.add_agent("puppet", Arc::new(puppet), config.action_timeout);
        }
        if let Some(dir) = &config.agents_dir {
            for agent in load_agents(dir, config.action_timeout)? {
                let name = agent.name().to_string();
                let timeout = agent.timeout() + KILL_GRACE;
                tracing::info!(agent = %name, program = %agent.program().display(), "external agent ready");
                daemon.add_agent(&name, Arc::new(agent), timeout);
            }
        }
        Ok(daemon)
    }

    /// Runs `agent` under `name`, its actions allowed `timeout`.
    pub fn add_agent(&mut self, name: &str, agent: Arc<dyn Agent>, timeout: Duration) {
        self.agents.retain(|(known, _, _)| known != name);
        self.agents.push((name.to_string(), agent, timeout));
        self.rebuild_node();
    }

    pub fn identity(&self) -> &str {
        &self.settings.identity
    }

    /// The node now, its facts and classes re-read if their files changed.
    pub fn node(&self) -> Arc<Node> {
        let facts_changed = lock(&self.facts)
            .as_mut()
            .is_some_and(|facts| facts.refresh(parse_facts));
        let classes_changed = lock(&self.classes)
            .as_mut()
            .is_some_and(|classes| classes.refresh(parse_classes));
        if facts_changed || classes_changed {
            tracing::info!("facts or classes changed");
            self.rebuild_node();
        }
        lock(&self.node).clone()
    }

    fn rebuild_node(&self) {
        let facts = lock(&self.facts)
            .as_ref()
            .map(|facts| facts.value().clone())
            .unwrap_or_default();
        let classes = lock(&self.classes)
            .as_ref()
            .map(|classes| classes.value().clone())
            .unwrap_or_default();
        let mut node = Node::new(
            self.settings.identity.clone(),
            self.settings.collective.clone(),
            facts,
            classes,
        );
        node.limit_actions(self.settings.action_timeout);
        if let Some(guard) = &self.guard {
            node.guard_with(guard.clone());
        }
        if let Some(security) = &self.settings.security {
            node.sign_replies(security.credentials.clone());
        }
        for (name, agent, timeout) in &self.agents {
            node.add_agent_within(name, agent.clone(), *timeout);
        }
        *lock(&self.node) = Arc::new(node);
    }

    /// The subjects the daemon listens on: each agent's broadcast subject, then its own.
    pub fn subjects(&self) -> Vec<String> {
        let node = lock(&self.node).clone();
        let collective = &self.settings.collective;
        let mut subjects: Vec<String> = node
            .info()
            .agents
            .iter()
            .map(|agent| broadcast_subject(collective, agent))
            .collect();
        subjects.push(direct_subject(collective, &self.settings.identity));
        subjects
    }

    /// The reply to one message, or why there is none.
    pub async fn handle(&self, message: &Message) -> Result<Outgoing, Dropped> {
        self.node().handle(&self.intake, &message.payload).await
    }

    /// Decodes, verifies and filters a message on the blocking pool, not the runtime's
    /// thread: the node it was filtered for, and the request.
    async fn admit(&self, payload: Bytes) -> Result<(Arc<Node>, Admitted), Dropped> {
        let node = self.node();
        let intake = self.intake.clone();
        let admitting = tokio::task::spawn_blocking(move || {
            let admitted = intake.admit(&payload)?;
            node.select(&admitted)?;
            Ok((node, admitted))
        });
        match admitting.await {
            Ok(admitted) => admitted,
            Err(error) => {
                tracing::error!(%error, "admitting a message failed");
                Err(Dropped::Lost)
            }
        }
    }

    /// Subscribes to the daemon's subjects on `transport`; the subscriptions are in place
    /// (as far as this process can tell: a NATS caller may want a round trip to the broker
    /// first) when this returns. Nothing is handled until [`Listening::serve`].
    pub async fn listen(
        self: Arc<Self>,
        transport: Arc<dyn Transport>,
    ) -> Result<Listening, TransportError> {
        let mut subscriptions = Vec::new();
        for subject in self.subjects() {
            subscriptions.push(transport.subscribe(subject).await?);
        }
        Ok(Listening {
            daemon: self,
            transport,
            subscriptions,
        })
    }

    /// [`Daemon::listen`], then [`Listening::serve`].
    pub async fn serve(
        self: Arc<Self>,
        transport: Arc<dyn Transport>,
        stop: &Stop,
    ) -> Result<(), TransportError> {
        self.listen(transport).await?.serve(stop).await
    }
}

/// A daemon subscribed to its subjects, ready to serve.
pub struct Listening {
    daemon: Arc<Daemon>,
    transport: Arc<dyn Transport>,
    subscriptions: Vec<Subscription>,
}

impl Listening {
    /// Serves requests until `stop` is requested, then stops taking new requests, finishes
    /// those in hand, sends their replies and returns (see [`BROKER_GRACE`] for a broker that
    /// is away, and a forced stop). Fails if the transport closes under it.
    pub async fn serve(self, stop: &Stop) -> Result<(), TransportError> {
        let Listening {
            daemon,
            transport,
            subscriptions,
        } = self;
        let permits = daemon.settings.concurrency.clamp(1, u32::MAX as usize);
        let slots = Arc::new(Semaphore::new(permits));
        let mut listeners = tokio::task::JoinSet::new();
        for subscription in subscriptions {
            listeners.spawn(listen(
                daemon.clone(),
                transport.clone(),
                subscription,
                slots.clone(),
                stop.clone(),
            ));
        }
        tracing::info!(
            identity = %daemon.settings.identity,
            collective = %daemon.settings.collective,
            agents = ?lock(&daemon.node).info().agents,
            "serving requests"
        );
        after_burst::configure_allocator();
        let give_back = tokio::spawn(after_burst::give_back(
            daemon.received.clone(),
            stop.clone(),
        ));
        let transport_lost = async { while listeners.join_next().await.is_some() {} };
        // The listeners end on the stop too: a stop seen first is a stop, not a lost broker.
        let lost = tokio::select! {
            biased;
            () = stop.requested() => false,
            () = transport_lost => true,
        };
        tracing::info!("stopping: no new requests; finishing those in hand");
        while listeners.join_next().await.is_some() {}
        give_back.abort();
        // What the drop log held back, said before the daemon's last lines.
        crate::agent::drop_log::flush_dropped_now();
        finish_in_hand(&slots, permits, transport.as_ref(), stop).await;
        // The audit lines of the requests answered are on disk before the process ends.
        if let Some(audit) = daemon.guard.as_ref().and_then(|guard| guard.audit()) {
            audit.sync().await;
        }
        if lost {
            return Err(TransportError::new(
                TransportErrorKind::NotConnected,
                "the connection to the broker closed",
            ));
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// The guard a `security:` section describes: its policies folder, and its audit log opened
/// now (so a log that cannot be written stops the daemon at start, not at the first request).
fn guard_of(security: &SecuritySection) -> Result<Guard, ConfigError> {
    let dir = security
        .policies
        .clone()
        .unwrap_or_else(|| DEFAULT_POLICIES_DIR.into());
    if !dir.is_dir() {
        tracing::warn!(policies = %dir.display(), "the policies folder is missing: every request but discovery is denied");
    }
    let audit = match &security.audit_log {
        Some(path) => Some(AuditLog::open(path)?),
        None => {
            tracing::warn!("security is on but no audit_log is set: requests are not audited");
            None
        }
    };
    tracing::info!(policies = %dir.display(), audit_log = ?security.audit_log, "action policies on");
    Ok(Guard::new(NodePolicies::new(dir), audit))
}

/// Waits for the requests in hand to be answered and their replies sent: as long as they
/// take while the broker is there, [`BROKER_GRACE`] while it is away, not at all once the
/// stop is forced.
async fn finish_in_hand(slots: &Semaphore, permits: usize, transport: &dyn Transport, stop: &Stop) {
    // Every slot free again means every request in hand has been answered.
    tokio::select! {
        _ = slots.acquire_many(permits as u32) => {}
        () = stop.forced() => {
            tracing::warn!("stopping at once: the requests in hand go unanswered");
            return;
        }
        () = away_for(transport, BROKER_GRACE) => {
            tracing::warn!("the broker is away: the requests in hand go unanswered");
            return;
        }
    }
    let flushed = tokio::select! {
        flushed = tokio::time::timeout(BROKER_GRACE, transport.flush()) => flushed,
        () = stop.forced() => return,
    };
    match flushed {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "could not send the last replies"),
        Err(_) => tracing::warn!("the broker did not take the last replies"),
    }
}

/// Returns once the broker has been away for `grace` without a break.
async fn away_for(transport: &dyn Transport, grace: Duration) {
    let mut last_seen = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(BROKER_POLL).await;
        if transport.is_connected() {
            last_seen = tokio::time::Instant::now();
        } else if last_seen.elapsed() >= grace {
            return;
        }
    }
}

/// Takes one subscription's messages, each to a task of its own, until told to stop or the
/// subscription ends. The loop itself only receives: decoding, verifying and filtering run in
/// the task, off the runtime's thread ([`Daemon::admit`]), so one costly message holds up no
/// other and the connection keeps being read. At most [`ADMITTING`] messages are admitted at
/// once (more wait in the subscription); an admitted request waits for one of the
/// `concurrency` slots to run its action.
async fn listen(
    daemon: Arc<Daemon>,
    transport: Arc<dyn Transport>,
    mut subscription: Subscription,
    slots: Arc<Semaphore>,
    stop: Stop,
) {
    loop {
        let message = tokio::select! {
            biased;
            () = stop.requested() => return,
            message = subscription.next() => match message {
                Some(message) => message,
                None => {
                    tracing::error!(subject = %subscription.subject(), "the subscription ended");
                    return;
                }
            },
        };
        let admission = tokio::select! {
            biased;
            () = stop.requested() => return,
            admission = daemon.admitting.clone().acquire_owned() => match admission {
                Ok(admission) => admission,
                Err(_) => return,
            },
        };
        daemon.received.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(answer(
            daemon.clone(),
            transport.clone(),
            message,
            admission,
            slots.clone(),
            stop.clone(),
        ));
    }
}

/// One message, from admission to the reply sent.
async fn answer(
    daemon: Arc<Daemon>,
    transport: Arc<dyn Transport>,
    message: Message,
    admission: OwnedSemaphorePermit,
    slots: Arc<Semaphore>,
    stop: Stop,
) {
    let admitted = daemon.admit(message.payload.clone()).await;
    drop(admission);
    let (node, admitted) = match admitted {
        Ok(admitted) => admitted,
        Err(dropped) => return dropped.log(&message.subject),
    };
    // A request admitted after the stop is not taken in hand.
    if stop.is_requested() {
        return;
    }
    let Ok(_slot) = slots.acquire_owned().await else {
        return;
    };
    let reply = match node.accept_selected(&admitted) {
        Ok(accepted) => accepted.answer().await,
        Err(dropped) => Err(dropped),
    };
    let reply = match reply {
        Ok(reply) => reply,
        Err(dropped) => return dropped.log(&message.subject),
    };
    if let Err(error) = transport.publish(reply.subject, None, reply.payload).await {
        tracing::warn!(%error, "could not send a reply");
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

mod after_burst;
#[cfg(test)]
mod tests;
