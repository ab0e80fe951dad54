//! From a `security:` section to what each side runs with: a client's credentials and reply
//! check, a node's request check and the credentials that sign its replies.

use std::sync::Arc;

use super::certs::{CertError, Credentials, Trust};
use super::refusal::Refusal;
use super::verify::{ReplyVerifier, RequestVerifier};
use super::{CallerRuleError, LocateError, SecuritySection};
use crate::protocol::{Reply, Seal, Signer};

/// Why security cannot be set up from a configuration.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error(transparent)]
    Locate(#[from] LocateError),
    #[error(transparent)]
    Certificate(#[from] CertError),
    #[error(transparent)]
    CallerRule(#[from] CallerRuleError),
}

/// What kind of [`SecurityError`] it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityErrorKind {
    /// The section does not say where the certificates are.
    Locate,
    /// A certificate, key or CA file is missing or wrong.
    Certificate,
    /// A caller regex does not compile.
    CallerRule,
}

impl SecurityError {
    pub fn kind(&self) -> SecurityErrorKind {
        match self {
            SecurityError::Locate(_) => SecurityErrorKind::Locate,
            SecurityError::Certificate(_) => SecurityErrorKind::Certificate,
            SecurityError::CallerRule(_) => SecurityErrorKind::CallerRule,
        }
    }
}

/// The client's side: it signs requests as `choria=<certname>` and checks replies.
#[derive(Debug)]
pub struct ClientSecurity {
    credentials: Credentials,
    replies: ReplyVerifier,
}

/// The node's side: the check of every request, and what signs its replies.
#[derive(Clone, Debug)]
pub struct NodeSecurity {
    pub verifier: Arc<RequestVerifier>,
    pub credentials: Arc<Credentials>,
}

impl ClientSecurity {
    pub fn new(
        credentials: Credentials,
        trust: Arc<Trust>,
        accept_unsigned_replies: bool,
    ) -> ClientSecurity {
        ClientSecurity {
            credentials,
            replies: ReplyVerifier::new(trust, accept_unsigned_replies),
        }
    }

    /// The section's certificates and settings.
    pub fn load(section: &SecuritySection) -> Result<ClientSecurity, SecurityError> {
        let files = section.files()?;
        let trust = Arc::new(Trust::load(&files.ca)?.keeping_checks());
        let credentials = Credentials::load(&files)?;
        Ok(ClientSecurity::new(
            credentials,
            trust,
            section.accept_unsigned_replies,
        ))
    }

    /// The certificate's name: who the client is on the wire.
    pub fn certname(&self) -> &str {
        self.credentials.name()
    }

    /// `choria=<certname>`, taken from the certificate.
    pub fn caller_id(&self) -> String {
        format!("choria={}", self.credentials.name())
    }

    pub fn signer(&self) -> &dyn Signer {
        &self.credentials
    }

    pub fn verify_reply(&self, reply: &Reply, seal: &Seal, now: u64) -> Result<(), Refusal> {
        self.replies.verify(reply, seal, now)
    }

    /// The SHA-256 of the CA the client trusts, in hex: what names its checks when they are
    /// kept (the registry's checked entries).
    pub fn trust_fingerprint(&self) -> String {
        self.replies.trust().fingerprint()
    }

    /// Whether `seal` is signed by the node `name`, or unsigned where that is accepted: a
    /// registry entry. Some(until when the certificate holds) when signed.
    pub fn verify_node_entry(
        &self,
        name: &str,
        seal: &Seal,
        now: u64,
    ) -> Result<Option<u64>, Refusal> {
        self.replies.verify_node(name, seal, now)
    }
}

impl NodeSecurity {
    pub fn new(
        trust: Arc<Trust>,
        credentials: Credentials,
        section: &SecuritySection,
    ) -> Result<NodeSecurity, SecurityError> {
        Ok(NodeSecurity {
            verifier: Arc::new(RequestVerifier::new(trust, section)?),
            credentials: Arc::new(credentials),
        })
    }

    /// The section's certificates and settings.
    pub fn load(section: &SecuritySection) -> Result<NodeSecurity, SecurityError> {
        let files = section.files()?;
        let trust = Arc::new(Trust::load(&files.ca)?);
        NodeSecurity::new(trust, Credentials::load(&files)?, section)
    }
}
