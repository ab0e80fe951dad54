//! Who may call: the caller id `choria=<name>` must name the certificate that signed the
//! request (its CN or a DNS SAN, compared whole: Choria's unanchored match lets
//! `choria=bob.mcollective,x` pass for `bob.mcollective`), unless the certificate is a
//! privileged one; and the name must match the allowed callers.

use regex::RegexSet;

use super::certs::CheckedCert;
use super::refusal::Refusal;

/// The caller rules of a node.
#[derive(Debug)]
pub struct CallerRules {
    allowed: RegexSet,
    privileged: RegexSet,
}

/// A caller regex of the configuration that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("security.{key}: {source}")]
pub struct CallerRuleError {
    pub key: &'static str,
    source: regex::Error,
}

impl CallerRules {
    pub fn new(allowed: &[String], privileged: &[String]) -> Result<CallerRules, CallerRuleError> {
        let set = |key: &'static str, patterns: &[String]| {
            RegexSet::new(patterns).map_err(|source| CallerRuleError { key, source })
        };
        Ok(CallerRules {
            allowed: set("allowed_callers", allowed)?,
            privileged: set("privileged_callers", privileged)?,
        })
    }

    /// Whether `callerid`, in a request signed with `signer`, may call.
    pub fn check(&self, callerid: &str, signer: &CheckedCert) -> Result<(), Refusal> {
        let name = callerid
            .strip_prefix("choria=")
            .filter(|name| !name.is_empty())
            .ok_or_else(|| Refusal::NotACallerId(callerid.to_string()))?;
        let privileged = signer.names.iter().any(|own| self.privileged.is_match(own));
        if !privileged && !signer.is_named(name) {
            return Err(Refusal::CallerMismatch {
                caller: callerid.to_string(),
                names: signer.names.clone(),
            });
        }
        if !self.allowed.is_match(name) {
            return Err(Refusal::CallerNotAllowed(callerid.to_string()));
        }
        Ok(())
    }
}
