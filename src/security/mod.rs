//! Choria's security model, and what it leaves open closed: certificates the Puppet way,
//! signed requests and replies, no replays, action policies and an audit trail
//! (docs/security.md).

mod authority;
mod callers;
mod certs;
mod config;
mod keys;
mod refusal;
mod replay;
mod setup;
mod verify;

pub use authority::{Authority, AuthorityError, IssuedCert};
pub use callers::{CallerRuleError, CallerRules};
pub use certs::{CertError, CertErrorKind, CheckedCert, Credentials, Trust, Usage};
pub use config::{
    CertFiles, LocateError, SecuritySection, DEFAULT_ALLOWED_CALLERS, DEFAULT_MAX_CLOCK_SKEW,
    DEFAULT_MAX_TTL, DEFAULT_PRIVILEGED_CALLERS,
};
pub use keys::{KeyError, KeyKind, SigningKey};
pub use refusal::{Refusal, RefusalKind};
pub use replay::ReplayCache;
pub use setup::{ClientSecurity, NodeSecurity, SecurityError, SecurityErrorKind};
pub use verify::{ReplyVerifier, RequestVerifier};

#[cfg(test)]
mod tests;
