//! Choria's security model, and what it leaves open closed: certificates the Puppet way,
//! signed requests and replies, no replays, action policies and an audit trail
//! (docs/security.md).

mod audit;
mod config;
mod policy;

pub use audit::{AuditEntry, AuditError, AuditErrorKind, AuditLog};
pub use config::{
    CertFiles, LocateError, SecuritySection, DEFAULT_ALLOWED_CALLERS, DEFAULT_MAX_CLOCK_SKEW,
    DEFAULT_MAX_TTL, DEFAULT_PRIVILEGED_CALLERS,
};
pub use policy::{
    Asking, Decision, Effect, LineProblem, NodeCondition, Policies, PolicyError, PolicyErrorKind,
    PolicyFile, DEFAULT_POLICY,
};
