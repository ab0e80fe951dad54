//! The one gate every request passes on the node side, for the daemon's one node and for each
//! node of the simulated fleet alike: decode → verify → filter → dispatch → encode the reply.
//!
//! The stages split where the simulated fleet needs them split: [`Intake::admit`] (decode and
//! verify) is done once per message however many nodes then consider it; [`Node::accept`]
//! (the filter) and [`Accepted::answer`] (dispatch, the reply) once per node. [`Node::handle`]
//! runs them all for one node. Each stage says why a message goes no further with a typed
//! [`Dropped`]. [`Intake::admit`] checks the shape of every field first (bounds.rs), before
//! anything else is spent on the message, then verifies the signature; a node refuses a
//! replay once its filter selects it; the policies and the audit (`authorize.rs`) open
//! [`Accepted::answer`]: a denied request is answered statuscode 1 and never reaches its agent.

use std::sync::Arc;
use std::time::Duration;

use super::acceptance::{check_request, Rejection, ALLOWED_CLOCK_SKEW_SECS};
use super::bounds::{check_request_shape, check_size, OutOfBounds};
use super::drop_log::{warn_dropped, Escaped};
use super::filter::FilterRefused;
use super::{Agent, CompiledFilter, Node, Outgoing};
use crate::protocol::{
    decode_sealed_request, encode_signed_reply, statuscode, unix_now, ProtocolError, Reply,
    Request, RpcReplyBody,
};
use crate::security::{Refusal, RequestVerifier};

/// What one collective's nodes admit: the checks done once per message.
#[derive(Clone, Debug)]
pub struct Intake {
    collective: String,
    /// With security on: the signature, caller and replay checks.
    verifier: Option<Arc<RequestVerifier>>,
}

/// A request that decoded and passed verification: what each node then considers.
#[derive(Debug)]
pub struct Admitted {
    request: Request,
    filter: CompiledFilter,
    /// With security on: who remembers the requests each node took.
    verifier: Option<Arc<RequestVerifier>>,
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
    #[error("out of shape: {0}")]
    OutOfBounds(#[from] OutOfBounds),
    #[error(transparent)]
    Refused(#[from] Rejection),
    #[error("request {id}: {source}")]
    FilterRefused { id: String, source: FilterRefused },
    #[error("request {id} from {caller:?} refused: {refusal}")]
    Unverified {
        id: String,
        caller: String,
        refusal: Refusal,
    },
    #[error("request {id}: the filter does not select {node}")]
    NotSelected { id: String, node: String },
    /// The work on the message was lost (its task panicked): logged where it happened.
    #[error("the message was lost while being admitted")]
    Lost,
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
    /// A size or a field out of bounds ([`OutOfBounds`] says which).
    OutOfBounds,
    /// A filter regex that does not compile within the node's limits, or a compound filter
    /// that does not parse.
    FilterRefused,
    /// Another collective's, expired, or from the future ([`Rejection`] says which).
    Refused,
    /// Security is on and the signature, the certificate, the caller, the ttl or the request
    /// id (a replay) does not pass.
    Unverified,
    NotSelected,
    Lost,
    Unencodable,
}

impl Dropped {
    pub fn kind(&self) -> DroppedKind {
        match self {
            Dropped::Undecodable(_) => DroppedKind::Undecodable,
            Dropped::OutOfBounds(_) => DroppedKind::OutOfBounds,
            Dropped::FilterRefused { .. } => DroppedKind::FilterRefused,
            Dropped::Refused(_) => DroppedKind::Refused,
            Dropped::Unverified { .. } => DroppedKind::Unverified,
            Dropped::NotSelected { .. } => DroppedKind::NotSelected,
            Dropped::Lost => DroppedKind::Lost,
            Dropped::Unencodable { .. } => DroppedKind::Unencodable,
        }
    }

    /// Logs the drop: a request for other nodes is routine (debug); anything else is worth a
    /// warning, escaped and rate-limited (drop_log.rs).
    pub fn log(&self, subject: &str) {
        match self.kind() {
            DroppedKind::NotSelected => {
                tracing::debug!(subject = %Escaped(subject), reason = %Escaped(self), "not for this node")
            }
            _ => warn_dropped(subject, self),
        }
    }
}

impl Intake {
    /// The intake of a node (or nodes) serving `collective`.
    /// Without security: nothing is signed, anyone on the broker may ask.
    pub fn new(collective: impl Into<String>) -> Intake {
        Intake {
            collective: collective.into(),
            verifier: None,
        }
    }

    /// With security on: nothing unsigned, untrusted, replayed or from a caller not allowed
    /// goes further.
    pub fn secured(collective: impl Into<String>, verifier: Arc<RequestVerifier>) -> Intake {
        Intake {
            collective: collective.into(),
            verifier: Some(verifier),
        }
    }

    pub fn is_secured(&self) -> bool {
        self.verifier.is_some()
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
        check_size(payload)?;
        let (request, seal) = decode_sealed_request(payload).map_err(Dropped::Undecodable)?;
        check_request_shape(&request)?;
        let skew = self
            .verifier
            .as_ref()
            .map_or(ALLOWED_CLOCK_SKEW_SECS, |verifier| {
                verifier.max_clock_skew().as_secs()
            });
        check_request(&request, &self.collective, now, skew)?;
        if let Some(verifier) = &self.verifier {
            verifier
                .verify(&request, &seal, now)
                .map_err(|refusal| Dropped::Unverified {
                    id: request.id.clone(),
                    caller: request.caller.clone(),
                    refusal,
                })?;
        }
        let filter =
            CompiledFilter::compile(&request.filter).map_err(|source| Dropped::FilterRefused {
                id: request.id.clone(),
                source,
            })?;
        Ok(Admitted {
            request,
            filter,
            verifier: self.verifier.clone(),
        })
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
        self.select(admitted)?;
        self.accept_selected(admitted)
    }

    /// Whether the filter selects this node: the costly part of [`Node::accept`] (regexes
    /// against facts), which the daemon runs off its runtime's thread.
    pub fn select(&self, admitted: &Admitted) -> Result<(), Dropped> {
        if !admitted.filter.matches(self.info()) {
            return Err(Dropped::NotSelected {
                id: admitted.request.id.clone(),
                node: self.identity().to_string(),
            });
        }
        Ok(())
    }

    /// [`Node::accept`] for a request [`Node::select`] has already passed.
    pub fn accept_selected<'a>(&'a self, admitted: &'a Admitted) -> Result<Accepted<'a>, Dropped> {
        if let Some(verifier) = &admitted.verifier {
            let request = &admitted.request;
            verifier
                .first_time(request, self.identity(), unix_now())
                .map_err(|refusal| Dropped::Unverified {
                    id: request.id.clone(),
                    caller: request.caller.clone(),
                    refusal,
                })?;
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
        let body = match self.authorize().await {
            Some(denied) => denied,
            None => self.dispatch().await,
        };
        // Every request answered is in the log: who asked what, and how it went. The names are
        // in shape (bounds.rs); the status message may echo a sender's inputs, so it is escaped.
        tracing::info!(
            node = %self.node.identity(),
            request = %self.request.id,
            caller = %self.request.caller,
            agent = %self.request.agent,
            action = %self.request.action,
            statuscode = body.statuscode,
            statusmsg = %Escaped(&body.statusmsg),
            "answered"
        );
        self.reply(&body)
    }

    /// The node's guard's verdict (policies, audit): Some(reply) for a denied request.
    async fn authorize(&self) -> Option<RpcReplyBody> {
        let guard = self.node.guard()?;
        let sensitive = match &self.agent {
            Some((agent, _)) => agent.sensitive_inputs(&self.request.action),
            None => Vec::new(),
        };
        guard
            .check(self.node.info(), self.request, &sensitive)
            .await
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
        let signer = self.node.signer();
        Reply::rpc(&request.id, identity, &request.agent, unix_now(), body)
            .and_then(|reply| encode_signed_reply(&reply, signer))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::NodeInfo;
    use crate::protocol::{decode_reply, encode_request, Filter};
    use crate::transport::BoxFuture;
    use serde_json::{json, Map};

    /// An agent whose every action takes an hour.
    struct Stuck;

    impl Agent for Stuck {
        fn handle<'a>(&'a self, _: &'a NodeInfo, _: &'a Request) -> BoxFuture<'a, RpcReplyBody> {
            Box::pin(std::future::pending())
        }
    }

    fn node(identity: &str, cluster: &str) -> Node {
        let facts: Map<String, serde_json::Value> =
            json!({ "cluster": cluster }).as_object().unwrap().clone();
        Node::new(identity, "mcollective", facts, Vec::new())
    }

    fn wire(agent: &str, filter: Filter) -> (Request, bytes::Bytes) {
        let request = Request::example(agent, "ping", json!({}), filter);
        let payload = encode_request(&request).unwrap();
        (request, payload)
    }

    #[test]
    fn admission_refuses_what_no_node_may_answer() {
        let intake = Intake::new("mcollective");
        let (request, payload) = wire("rpcutil", Filter::default());
        assert!(intake.admit_at(&payload, request.time).is_ok());
        let expired = intake.admit_at(&payload, request.time + request.ttl + 1);
        assert!(matches!(
            expired,
            Err(Dropped::Refused(Rejection::Expired { .. }))
        ));
        let foreign = Intake::new("other").admit_at(&payload, request.time);
        assert!(matches!(
            foreign,
            Err(Dropped::Refused(Rejection::WrongCollective { .. }))
        ));
        let garbage = intake.admit(b"{}").unwrap_err();
        assert_eq!(garbage.kind(), DroppedKind::Undecodable);
    }

    /// The simulated fleet's way: one admission, then each node decides for itself.
    #[tokio::test]
    async fn one_admission_serves_every_node_it_reaches() {
        let intake = Intake::new("mcollective");
        let filter = Filter {
            fact: vec![crate::protocol::FactFilter::parse("cluster=alfa").unwrap()],
            ..Filter::default()
        };
        let (request, payload) = wire("rpcutil", filter);
        let admitted = intake.admit(&payload).unwrap();
        let alfa = node("a1.example.net", "alfa");
        let bravo = node("b1.example.net", "bravo");
        let reply = alfa.accept(&admitted).unwrap().answer().await.unwrap();
        assert_eq!(reply.subject, request.reply_to);
        let decoded = decode_reply(&reply.payload).unwrap();
        assert_eq!(decoded.sender, "a1.example.net");
        assert_eq!(decoded.rpc_body().unwrap().statuscode, statuscode::OK);
        let refused = bravo.accept(&admitted).err().unwrap();
        assert_eq!(refused.kind(), DroppedKind::NotSelected);
        assert!(refused.to_string().contains("b1.example.net"), "{refused}");
    }

    #[tokio::test]
    async fn an_action_past_its_limit_is_answered_statuscode_5() {
        let mut limited = node("a1.example.net", "alfa");
        limited.add_agent_within("stuck", Arc::new(Stuck), Duration::from_millis(20));
        let intake = Intake::new("mcollective");
        let (_, payload) = wire("stuck", Filter::default());
        let reply = limited.handle(&intake, &payload).await.unwrap();
        let body = decode_reply(&reply.payload).unwrap().rpc_body().unwrap();
        assert_eq!(body.statuscode, statuscode::UNKNOWN_ERROR);
        assert_eq!(body.statusmsg, "stuck#ping did not finish within 0.02 s");
    }

    #[test]
    fn a_node_wide_limit_applies_to_agents_without_their_own() {
        let mut limited = node("a1.example.net", "alfa");
        assert_eq!(limited.limit("rpcutil"), None);
        limited.limit_actions(Duration::from_secs(60));
        limited.add_agent_within("stuck", Arc::new(Stuck), Duration::from_secs(3));
        assert_eq!(limited.limit("rpcutil"), Some(Duration::from_secs(60)));
        assert_eq!(limited.limit("stuck"), Some(Duration::from_secs(3)));
    }
}
