//! The one gate every request passes on the node side, for the daemon's one node and for each
//! node of the simulated fleet alike: decode → verify → filter → dispatch → encode the reply.
//!
//! The stages split where the simulated fleet needs them split: [`Intake::admit`] (decode and
//! verify) is done once per message however many nodes then consider it; [`Node::accept`]
//! (the filter) and [`Accepted::answer`] (dispatch, the reply) once per node. [`Node::handle`]
//! runs them all for one node. Each stage says why a message goes no further with a typed
//! [`Dropped`]. Signature verification and replay refusal belong in [`Intake::admit`]; policies
//! in [`Node::accept`]; the audit next to the "answered" log line of [`Accepted::answer`].

use std::sync::Arc;
use std::time::Duration;

use super::acceptance::{check_request, Rejection};
use super::{Agent, CompiledFilter, Node, Outgoing};
use crate::protocol::{
    decode_request, encode_reply, statuscode, unix_now, ProtocolError, Reply, Request, RpcReplyBody,
};

/// What one collective's nodes admit: the checks done once per message.
#[derive(Clone, Debug)]
pub struct Intake {
    collective: String,
}

/// A request that decoded and passed verification: what each node then considers.
#[derive(Debug)]
pub struct Admitted {
    request: Request,
    filter: CompiledFilter,
}

/// A request one node will answer: it selects the node, and names the agent to run (None: an
/// agent the node does not run).
pub struct Accepted<'a> {
    node: &'a Node,
    request: &'a Request,
    agent: Option<(Arc<dyn Agent>, Option<Duration>)>,
}

/// Why a message goes unanswered. Nothing a sender writes stops a node: every bad message is
/// one of these, logged and dropped.
#[derive(Debug, thiserror::Error)]
pub enum Dropped {
    #[error("not a request: {0}")]
    Undecodable(#[source] ProtocolError),
    #[error(transparent)]
    Refused(#[from] Rejection),
    #[error("request {id}: the filter does not select {node}")]
    NotSelected { id: String, node: String },
    #[error("request {id}: {node} could not encode its reply: {source}")]
    Unencodable {
        id: String,
        node: String,
        source: ProtocolError,
    },
}

/// What kind of [`Dropped`] it is, to branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DroppedKind {
    Undecodable,
    /// Another collective's, expired, or from the future ([`Rejection`] says which).
    Refused,
    NotSelected,
    Unencodable,
}

impl Dropped {
    pub fn kind(&self) -> DroppedKind {
        match self {
            Dropped::Undecodable(_) => DroppedKind::Undecodable,
            Dropped::Refused(_) => DroppedKind::Refused,
            Dropped::NotSelected { .. } => DroppedKind::NotSelected,
            Dropped::Unencodable { .. } => DroppedKind::Unencodable,
        }
    }

    /// Logs the drop: a request for other nodes is routine (debug); anything else is worth a
    /// warning.
    pub fn log(&self, subject: &str) {
        match self.kind() {
            DroppedKind::NotSelected => {
                tracing::debug!(%subject, reason = %self, "not for this node")
            }
            _ => tracing::warn!(%subject, reason = %self, "dropping a message"),
        }
    }
}

impl Intake {
    /// The intake of a node (or nodes) serving `collective`.
    pub fn new(collective: impl Into<String>) -> Intake {
        Intake {
            collective: collective.into(),
        }
    }

    pub fn collective(&self) -> &str {
        &self.collective
    }

    /// Decodes a message from the wire and verifies it now.
    pub fn admit(&self, payload: &[u8]) -> Result<Admitted, Dropped> {
        self.admit_at(payload, unix_now())
    }

    /// [`Intake::admit`] at Unix time `now`.
    pub fn admit_at(&self, payload: &[u8], now: u64) -> Result<Admitted, Dropped> {
        let request = decode_request(payload).map_err(Dropped::Undecodable)?;
        check_request(&request, &self.collective, now)?;
        let filter = CompiledFilter::compile(&request.filter);
        Ok(Admitted { request, filter })
    }
}

impl Admitted {
    pub fn request(&self) -> &Request {
        &self.request
    }
}

impl Node {
    /// Whether this node answers `admitted`: its filter must select the node. A request for an
    /// agent the node does not run only arrives directly (a node does not subscribe to other
    /// agents' broadcasts); it is accepted, to be answered statuscode 2 "Unknown agent", so
    /// the caller learns at once instead of timing out (Choria drops it silently).
    pub fn accept<'a>(&'a self, admitted: &'a Admitted) -> Result<Accepted<'a>, Dropped> {
        if !admitted.filter.matches(self.info()) {
            return Err(Dropped::NotSelected {
                id: admitted.request.id.clone(),
                node: self.identity().to_string(),
            });
        }
        Ok(Accepted {
            node: self,
            request: &admitted.request,
            agent: self.hosted(&admitted.request.agent),
        })
    }

    /// Everything this node does with a message from the wire: the whole gate.
    pub async fn handle(&self, intake: &Intake, payload: &[u8]) -> Result<Outgoing, Dropped> {
        let admitted = intake.admit(payload)?;
        self.accept(&admitted)?.answer().await
    }
}

impl Accepted<'_> {
    pub fn request(&self) -> &Request {
        self.request
    }

    /// Runs the action (within the agent's time limit, if it has one) and encodes the reply,
    /// addressed to the request's reply subject.
    pub async fn answer(&self) -> Result<Outgoing, Dropped> {
        let body = self.dispatch().await;
        // Every request answered is in the log: who asked what, and how it went.
        tracing::info!(
            node = %self.node.identity(),
            request = %self.request.id,
            caller = %self.request.caller,
            agent = %self.request.agent,
            action = %self.request.action,
            statuscode = body.statuscode,
            statusmsg = %body.statusmsg,
            "answered"
        );
        self.reply(&body)
    }

    async fn dispatch(&self) -> RpcReplyBody {
        let request = self.request;
        let Some((agent, limit)) = &self.agent else {
            return RpcReplyBody::unknown_agent(&request.agent);
        };
        let running = agent.handle(self.node.info(), request);
        let Some(limit) = limit else {
            return running.await;
        };
        match tokio::time::timeout(*limit, running).await {
            Ok(body) => body,
            Err(_) => RpcReplyBody::fail(
                statuscode::UNKNOWN_ERROR,
                format!(
                    "{}#{} did not finish within {} s",
                    request.agent,
                    request.action,
                    limit.as_secs_f64()
                ),
            ),
        }
    }

    /// The encoded reply carrying `body`.
    fn reply(&self, body: &RpcReplyBody) -> Result<Outgoing, Dropped> {
        let request = self.request;
        let identity = self.node.identity();
        Reply::rpc(&request.id, identity, &request.agent, unix_now(), body)
            .and_then(|reply| encode_reply(&reply))
            .map(|payload| Outgoing {
                subject: request.reply_to.clone(),
                payload,
            })
            .map_err(|source| Dropped::Unencodable {
                id: request.id.clone(),
                node: identity.to_string(),
                source,
            })
    }
}
