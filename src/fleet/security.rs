//! Security for a simulated fleet: the same request checks and signed replies as a real node,
//! each simulated node with a certificate of its own name. Its certificates come from an
//! authority made at start (the embedded default, `orchestrate fleet --issue-certs`), or from
//! a Puppet ssldir holding each node's certificate and key (`orchestrate fleet` with a
//! `security:` section: real certificates).

use std::path::PathBuf;
use std::sync::Arc;

use super::FleetError;
use crate::agent::Node;
use crate::security::{Authority, CertFiles, Credentials, RequestVerifier, SecuritySection, Trust};

/// What a secured simulated fleet runs with.
pub struct FleetSecurity {
    verifier: Arc<RequestVerifier>,
    certificates: Certificates,
}

enum Certificates {
    Issued(Arc<Authority>),
    /// `certs/<identity>.pem` and `private_keys/<identity>.pem` under this folder.
    Ssldir(PathBuf),
}

impl FleetSecurity {
    /// Nodes with certificates issued by `authority`, checking requests against it with
    /// `section`'s rules (callers, skew, ttl).
    pub fn issued_by(
        authority: Arc<Authority>,
        section: &SecuritySection,
    ) -> Result<FleetSecurity, FleetError> {
        let trust = Arc::new(authority.trust().map_err(security_error)?);
        Ok(FleetSecurity {
            verifier: Arc::new(RequestVerifier::new(trust, section).map_err(security_error)?),
            certificates: Certificates::Issued(authority),
        })
    }

    /// Nodes with the certificates of `section`'s ssldir, one per identity, trusting its CA.
    pub fn from_section(section: &SecuritySection) -> Result<FleetSecurity, FleetError> {
        let files = section.files().map_err(security_error)?;
        let ssldir = section.ssldir.clone().ok_or_else(|| FleetError::Security {
            problem: "a simulated fleet with real certificates needs security.ssldir, holding certs/<identity>.pem and private_keys/<identity>.pem for each node".into(),
        })?;
        let trust = Arc::new(Trust::load(&files.ca).map_err(security_error)?);
        Ok(FleetSecurity {
            verifier: Arc::new(RequestVerifier::new(trust, section).map_err(security_error)?),
            certificates: Certificates::Ssldir(ssldir),
        })
    }

    pub(super) fn verifier(&self) -> Arc<RequestVerifier> {
        self.verifier.clone()
    }

    /// Gives every node its certificate, so it signs its replies.
    pub(super) fn sign_replies(&self, nodes: &mut [Node]) -> Result<(), FleetError> {
        // Issuing is a key pair and a signature per node: shared out over the cores.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = nodes.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let workers: Vec<_> = nodes
                .chunks_mut(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        for node in part {
                            let credentials = self.credentials_for(node.identity())?;
                            node.sign_replies(Arc::new(credentials));
                        }
                        Ok::<(), FleetError>(())
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|worker| {
                worker.join().unwrap_or_else(|_| {
                    Err(FleetError::Security {
                        problem: "issuing certificates failed".into(),
                    })
                })
            })
        })
    }

    fn credentials_for(&self, identity: &str) -> Result<Credentials, FleetError> {
        match &self.certificates {
            Certificates::Issued(authority) => {
                authority.credentials(identity).map_err(security_error)
            }
            Certificates::Ssldir(ssldir) => {
                Credentials::load(&CertFiles::in_ssldir(ssldir, identity)).map_err(security_error)
            }
        }
    }
}

fn security_error(error: impl std::fmt::Display) -> FleetError {
    FleetError::Security {
        problem: error.to_string(),
    }
}
