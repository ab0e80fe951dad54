//! Choria's security model, and what it leaves open closed: certificates the Puppet way,
//! signed requests and replies, no replays, action policies and an audit trail
//! (docs/security.md).

mod audit;
mod authority;
mod broker_tls;
mod callers;
mod certs;
mod config;
mod kept_checks;
mod keys;
mod policy;
mod refusal;
mod replay;
mod setup;
mod verify;

pub use audit::{AuditEntry, AuditError, AuditErrorKind, AuditLog};
pub use authority::{Authority, AuthorityError, IssuedCert};
pub use broker_tls::{broker_tls, BrokerTls, BrokerTlsError, BrokerTlsFiles};
pub use callers::{CallerRuleError, CallerRules};
pub use certs::{CertError, CertErrorKind, CheckedCert, Credentials, Trust, Usage};
pub use config::{
    CertFiles, LocateError, SecuritySection, DEFAULT_ALLOWED_CALLERS, DEFAULT_MAX_CLOCK_SKEW,
    DEFAULT_MAX_TTL, DEFAULT_PRIVILEGED_CALLERS,
};
pub use kept_checks::{cache_folder, write_atomically};
pub use keys::{KeyError, KeyKind, SigningKey};
pub use policy::{
    Asking, Decision, Effect, LineProblem, NodeCondition, Policies, PolicyError, PolicyErrorKind,
    PolicyFile, DEFAULT_POLICY,
};
pub use refusal::{Refusal, RefusalKind};
pub use replay::ReplayCache;
pub use setup::{ClientSecurity, NodeSecurity, SecurityError, SecurityErrorKind};
pub use verify::{ReplyVerifier, RequestVerifier};

#[cfg(test)]
mod tests;
