//! The two checks of signed traffic: a node's of each request before anything else looks at
//! it, and a client's of each reply before it is counted.

use std::sync::Arc;
use std::time::Duration;

use super::callers::{CallerRuleError, CallerRules};
use super::certs::{CertError, CertErrorKind, Credentials, Trust, Usage};
use super::refusal::Refusal;
use super::replay::ReplayCache;
use super::SecuritySection;
use crate::protocol::{Reply, Request, Seal, Signer};

/// What a node checks of every request.
#[derive(Debug)]
pub struct RequestVerifier {
    trust: Arc<Trust>,
    callers: CallerRules,
    max_clock_skew: Duration,
    max_ttl: u64,
    replays: ReplayCache,
    /// Signed messages whose signature checked, by the SHA-256 of certificate, signature and
    /// message, until
    /// their ttl ends: a simulated fleet gets one direct call's request once per target, the
    /// same bytes each time, and checks its signature once. (A real node sees each message
    /// once; the memory costs it one hash.)
    signatures: ReplayCache,
}

/// What a client checks of every reply.
#[derive(Debug)]
pub struct ReplyVerifier {
    trust: Arc<Trust>,
    accept_unsigned: bool,
}

impl RequestVerifier {
    pub fn new(
        trust: Arc<Trust>,
        section: &SecuritySection,
    ) -> Result<RequestVerifier, CallerRuleError> {
        Ok(RequestVerifier {
            trust,
            callers: CallerRules::new(&section.allowed_callers(), &section.privileged_callers())?,
            max_clock_skew: section.max_clock_skew(),
            max_ttl: section.max_ttl().as_secs(),
            replays: ReplayCache::default(),
            signatures: ReplayCache::default(),
        })
    }

    /// How far a request's time may be ahead of this node's clock.
    pub fn max_clock_skew(&self) -> Duration {
        self.max_clock_skew
    }

    /// Whether `request` (read from `seal.message`) is signed by a caller who may call, within
    /// the longest ttl. Its time against the clock is checked with the collective, before this
    /// (agent/acceptance.rs); whether a node took it before, after ([`RequestVerifier::first_time`]).
    pub fn verify(&self, request: &Request, seal: &Seal, now: u64) -> Result<(), Refusal> {
        if request.ttl > self.max_ttl {
            return Err(Refusal::TtlTooLong {
                ttl: request.ttl,
                max: self.max_ttl,
            });
        }
        if !seal.is_signed() || seal.pubcert.is_empty() {
            return Err(Refusal::Unsigned);
        }
        let signer = self
            .trust
            .check(&seal.pubcert, Usage::Client, now)
            .map_err(Refusal::Certificate)?;
        let digest = signed_digest(seal);
        if !self.signatures.remembers(&digest, now) {
            signer
                .verify(seal.message.as_bytes(), &seal.signature)
                .map_err(refusal_of)?;
            let until = request.time.saturating_add(request.ttl);
            self.signatures.first_time(&digest, until, now);
        }
        self.callers.check(&request.caller, &signer)?;
        Ok(())
    }

    /// Whether `node` takes the verified `request` for the first time, remembering it until its
    /// ttl ends. Asked per node, since one direct call sends one request, same id, to each of
    /// its targets (a simulated fleet sees them all); asked only of a request that passed
    /// [`RequestVerifier::verify`], so a forgery bearing a real request's id cannot block it.
    pub fn first_time(&self, request: &Request, node: &str, now: u64) -> Result<(), Refusal> {
        let until = request.time.saturating_add(request.ttl);
        let key = format!("{}/{node}", request.id);
        match self.replays.first_time(&key, until, now) {
            true => Ok(()),
            false => Err(Refusal::Replayed(request.id.clone())),
        }
    }
}

impl ReplyVerifier {
    pub fn new(trust: Arc<Trust>, accept_unsigned: bool) -> ReplyVerifier {
        ReplyVerifier {
            trust,
            accept_unsigned,
        }
    }

    /// Whether `reply` (read from `seal.message`) is signed by the node that it says answered.
    pub fn verify(&self, reply: &Reply, seal: &Seal, now: u64) -> Result<(), Refusal> {
        self.verify_node(&reply.sender, seal, now).map(|_| ())
    }

    /// Whether `seal` is signed by the node `name` (its certificate chains to the CA and names
    /// it), or unsigned where unsigned replies are accepted: a reply, or a node's registry
    /// entry. Some(until when the certificate holds) when signed.
    pub fn verify_node(&self, name: &str, seal: &Seal, now: u64) -> Result<Option<u64>, Refusal> {
        if !seal.is_signed() {
            return match self.accept_unsigned {
                true => Ok(None),
                false => Err(Refusal::Unsigned),
            };
        }
        let signer = self
            .trust
            .check(&seal.pubcert, Usage::Node, now)
            .map_err(Refusal::Certificate)?;
        signer
            .verify(seal.message.as_bytes(), &seal.signature)
            .map_err(refusal_of)?;
        if !signer.is_named(name) {
            return Err(Refusal::SignerMismatch {
                sender: name.to_string(),
                names: signer.names.clone(),
            });
        }
        Ok(Some(signer.not_after))
    }

    pub fn trust(&self) -> &Trust {
        &self.trust
    }
}

/// The SHA-256 of a signed message, its signature and the certificate sent with it, as text
/// for the memory's key: what names one signature check.
fn signed_digest(seal: &Seal) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(seal.pubcert.as_bytes());
    hasher.update([0]);
    hasher.update(seal.signature.as_slice());
    hasher.update(seal.message.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
}

fn refusal_of(error: CertError) -> Refusal {
    match error.kind() {
        CertErrorKind::BadSignature => Refusal::BadSignature,
        _ => Refusal::Certificate(error),
    }
}

impl Signer for Credentials {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        Credentials::sign(self, message)
    }

    fn pubcert(&self) -> &str {
        Credentials::pubcert(self)
    }
}
