//! Why a signed message is not taken: each a line in the log of the side that drops it.

use super::certs::CertError;

#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("unsigned: security is on and the message carries no signature")]
    Unsigned,
    #[error("the certificate sent is refused: {0}")]
    Certificate(CertError),
    #[error("the signature does not match the message")]
    BadSignature,
    #[error("callerid {0:?} is not of the form choria=<certificate name>")]
    NotACallerId(String),
    #[error("callerid {caller:?} is not the signer's: the certificate names {names:?}")]
    CallerMismatch { caller: String, names: Vec<String> },
    #[error("caller {0:?} matches none of security.allowed_callers")]
    CallerNotAllowed(String),
    #[error("ttl {ttl} s is above security.max_ttl {max} s")]
    TtlTooLong { ttl: u64, max: u64 },
    #[error("a replay: request {0} was taken before")]
    Replayed(String),
    #[error("the reply from {sender:?} is signed by {names:?}")]
    SignerMismatch { sender: String, names: Vec<String> },
}

/// What kind of [`Refusal`] it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    Unsigned,
    Certificate,
    BadSignature,
    Caller,
    Ttl,
    Replay,
    Signer,
}

impl Refusal {
    pub fn kind(&self) -> RefusalKind {
        match self {
            Refusal::Unsigned => RefusalKind::Unsigned,
            Refusal::Certificate(_) => RefusalKind::Certificate,
            Refusal::BadSignature => RefusalKind::BadSignature,
            Refusal::NotACallerId(_)
            | Refusal::CallerMismatch { .. }
            | Refusal::CallerNotAllowed(_) => RefusalKind::Caller,
            Refusal::TtlTooLong { .. } => RefusalKind::Ttl,
            Refusal::Replayed(_) => RefusalKind::Replay,
            Refusal::SignerMismatch { .. } => RefusalKind::Signer,
        }
    }
}
