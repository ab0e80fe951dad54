//! Serving a simulated fleet on a transport: a handful of subscriptions (each agent's broadcast
//! subject, and every node's direct subject with one wildcard) shared by every node; each
//! message is admitted once (the node side's one gate, `agent::Intake`), then accepted and
//! answered by each node it concerns, each reply sent after that node's latency.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::build::build_nodes;
use super::latency::Latency;
use super::{FleetError, FleetFile, FleetSecurity};
use crate::agent::{Admitted, Intake, Node, Outgoing};
use crate::protocol::{broadcast_subject, direct_subjects, Addressee};
use crate::registry::PublishedNode;
use crate::transport::{Message, Subscription, Transport};

/// How many nodes answer a request on one task: their replies due at once leave together.
const SEND_BATCH: usize = 512;

/// A fleet answering requests until it is stopped or dropped.
pub struct SimulatedFleet {
    shared: Arc<Fleet>,
    listeners: Vec<JoinHandle<()>>,
    stopped: Arc<AtomicBool>,
    node_count: usize,
}

/// What every listener shares.
struct Fleet {
    transport: Arc<dyn Transport>,
    intake: Intake,
    nodes: Vec<SimulatedNode>,
    by_identity: HashMap<String, usize>,
    by_agent: HashMap<String, Vec<usize>>,
    stopped: Arc<AtomicBool>,
}

struct SimulatedNode {
    node: Node,
    latency: Latency,
    silent: bool,
}

impl SimulatedFleet {
    /// Subscribes the fleet's nodes on the transport and answers requests until dropped or
    /// stopped. The subscriptions are in place when this returns.
    pub async fn serve(
        fleet: FleetFile,
        transport: Arc<dyn Transport>,
        collective: &str,
    ) -> Result<SimulatedFleet, FleetError> {
        SimulatedFleet::serve_secured(fleet, transport, collective, None).await
    }

    /// [`SimulatedFleet::serve`], with security on when `security` is given: requests are
    /// checked as a real node checks them, and every node signs its replies.
    pub async fn serve_secured(
        fleet: FleetFile,
        transport: Arc<dyn Transport>,
        collective: &str,
        security: Option<&FleetSecurity>,
    ) -> Result<SimulatedFleet, FleetError> {
        let stopped = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Fleet::new(
            &fleet,
            transport.clone(),
            collective,
            stopped.clone(),
            security,
        )?);
        let mut subjects: Vec<String> = shared
            .by_agent
            .keys()
            .map(|agent| broadcast_subject(collective, agent))
            .collect();
        subjects.sort();
        subjects.push(direct_subjects(collective));
        let mut listeners = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let subscription = transport.subscribe(subject).await?;
            listeners.push(tokio::spawn(listen(shared.clone(), subscription)));
        }
        Ok(SimulatedFleet {
            shared,
            listeners,
            stopped,
            node_count: fleet.node_count(),
        })
    }

    pub fn node_count(&self) -> usize {
        self.node_count
    }

    /// What every node writes into the node registry (silent ones too: a hung node is still
    /// registered until it expires, as a real one would be).
    pub fn registrations(&self) -> Vec<PublishedNode> {
        self.shared
            .nodes
            .iter()
            .map(|simulated| simulated.node.registration())
            .collect()
    }

    /// Stops answering; replies still waiting out their latency are not sent.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for SimulatedFleet {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        for listener in &self.listeners {
            listener.abort();
        }
    }
}

impl Fleet {
    fn new(
        file: &FleetFile,
        transport: Arc<dyn Transport>,
        collective: &str,
        stopped: Arc<AtomicBool>,
        security: Option<&FleetSecurity>,
    ) -> Result<Fleet, FleetError> {
        let mut built = build_nodes(file, collective);
        let intake = match security {
            Some(security) => {
                security.sign_replies(&mut built)?;
                Intake::secured(collective, security.verifier())
            }
            None => Intake::new(collective),
        };
        let nodes: Vec<SimulatedNode> = built
            .into_iter()
            .zip(&file.nodes)
            .map(|(node, spec)| SimulatedNode {
                node,
                latency: spec.latency,
                silent: spec.silent,
            })
            .collect();
        let mut by_identity = HashMap::new();
        let mut by_agent: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, simulated) in nodes.iter().enumerate() {
            by_identity.insert(simulated.node.identity().to_string(), index);
            for agent in &simulated.node.info().agents {
                by_agent.entry(agent.clone()).or_default().push(index);
            }
        }
        Ok(Fleet {
            transport,
            intake,
            nodes,
            by_identity,
            by_agent,
            stopped,
        })
    }

    /// The nodes a message reaches: the one named by a direct subject, or every node running
    /// the agent of a broadcast subject.
    fn addressees(&self, subject: &str) -> &[usize] {
        let found = match Addressee::of(self.intake.collective(), subject) {
            Some(Addressee::Node(identity)) => {
                self.by_identity.get(identity).map(std::slice::from_ref)
            }
            Some(Addressee::Agent(agent)) => self.by_agent.get(agent).map(Vec::as_slice),
            None => None,
        };
        found.unwrap_or_default()
    }

    async fn handle(self: Arc<Self>, message: Message) {
        let admitted = match self.intake.admit(&message.payload) {
            Ok(admitted) => Arc::new(admitted),
            Err(dropped) => return dropped.log(&message.subject),
        };
        // Each share of the addressees answers on its own task: with signing on, 50,000
        // replies take seconds of one core to make, and the shares sign on every core.
        let subject: Arc<str> = message.subject.into();
        for share in self.addressees(&subject).chunks(SEND_BATCH) {
            let share = share.to_vec();
            tokio::spawn(
                self.clone()
                    .answer_share(admitted.clone(), subject.clone(), share),
            );
        }
    }

    /// The replies of the nodes `share` (indices into `nodes`) to one request. Those due at
    /// once leave together as soon as they are made, the first not waiting for the last share.
    async fn answer_share(
        self: Arc<Self>,
        admitted: Arc<Admitted>,
        subject: Arc<str>,
        share: Vec<usize>,
    ) {
        let mut due_now: Vec<Outgoing> = Vec::new();
        let mut by_delay: BTreeMap<Duration, Vec<Outgoing>> = BTreeMap::new();
        for index in share {
            let simulated = &self.nodes[index];
            let Some(reply) = simulated.answer(&admitted, &subject).await else {
                continue;
            };
            let delay = simulated.delay();
            if delay.is_zero() {
                due_now.push(reply);
            } else {
                by_delay.entry(delay).or_default().push(reply);
            }
        }
        self.send(due_now).await;
        for (delay, replies) in by_delay {
            let fleet = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                fleet.send(replies).await;
            });
        }
    }

    async fn send(&self, replies: Vec<Outgoing>) {
        for reply in replies {
            if self.stopped.load(Ordering::SeqCst) {
                return;
            }
            if let Err(error) = self
                .transport
                .publish(reply.subject, None, reply.payload)
                .await
            {
                tracing::warn!(%error, "simulated fleet: could not send a reply");
            }
        }
    }
}

impl SimulatedNode {
    /// This node's reply, if it gives one: a silent node never does.
    async fn answer(&self, admitted: &Admitted, subject: &str) -> Option<Outgoing> {
        if self.silent {
            return None;
        }
        let answered = match self.node.accept(admitted) {
            Ok(accepted) => accepted.answer().await,
            Err(dropped) => Err(dropped),
        };
        answered.map_err(|dropped| dropped.log(subject)).ok()
    }

    /// This reply's latency, to the millisecond, so replies group into few timers.
    fn delay(&self) -> Duration {
        let sample = self.latency.sample();
        Duration::from_millis(sample.as_millis().min(u128::from(u64::MAX)) as u64)
    }
}

/// Hands each message of one subscription to its own task, so slow replies never hold up the
/// next request.
async fn listen(fleet: Arc<Fleet>, mut subscription: Subscription) {
    while let Some(message) = subscription.next().await {
        if fleet.stopped.load(Ordering::SeqCst) {
            return;
        }
        tokio::spawn(fleet.clone().handle(message));
    }
}
