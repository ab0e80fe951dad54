//! Choria's security model, and what it leaves open closed: certificates the Puppet way,
//! signed requests and replies, no replays, action policies and an audit trail
//! (docs/security.md).

mod broker_tls;
mod config;

pub use broker_tls::{broker_tls, BrokerTls, BrokerTlsError, BrokerTlsFiles};
pub use config::{
    CertFiles, LocateError, SecuritySection, DEFAULT_ALLOWED_CALLERS, DEFAULT_MAX_CLOCK_SKEW,
    DEFAULT_MAX_TTL, DEFAULT_PRIVILEGED_CALLERS,
};
