//! Mutual TLS to the broker: the three PEM files, the rustls client configuration made from
//! them (ring as the one crypto provider), and what a failed handshake means in words that
//! name the file to look at. nats-server's side is `tls { cert_file, key_file, ca_file,
//! verify: true }` (docs/nats.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};

use super::{TransportError, TransportErrorKind};

/// The CA the broker's certificate must chain to, and this party's own certificate (its
/// chain, leaf first) and private key, all PEM. Keys may be RSA, ECDSA P-256 or Ed25519, in
/// PKCS#1, PKCS#8 or SEC1 form, as Puppet and openssl write them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// The rustls client configuration: only the CA is trusted (not the system's roots), and
    /// the certificate is offered to the broker. Every file is read and checked here, so a
    /// mistake is found before any connection is tried.
    pub fn client_config(&self) -> Result<ClientConfig, TransportError> {
        let roots = self.roots()?;
        let chain = certificates(&self.cert, "certificate")?;
        let key = private_key(&self.key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| tls_error(format!("TLS: {error}")))?
            .with_root_certificates(roots);
        builder
            .with_client_auth_cert(chain, key)
            .map_err(|error| self.unusable_pair(error))
    }

    fn roots(&self) -> Result<RootCertStore, TransportError> {
        let mut roots = RootCertStore::empty();
        for certificate in certificates(&self.ca, "CA certificate")? {
            roots.add(certificate).map_err(|error| {
                tls_error(format!(
                    "the NATS TLS CA certificate {} cannot be used: {error}",
                    self.ca.display()
                ))
            })?;
        }
        Ok(roots)
    }

    fn unusable_pair(&self, error: rustls::Error) -> TransportError {
        let why = match error {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                "the key does not belong to the certificate".to_string()
            }
            other => other.to_string(),
        };
        tls_error(format!(
            "the NATS TLS key {} and certificate {} cannot be used: {why}",
            self.key.display(),
            self.cert.display()
        ))
    }

    /// What a failed connection means when the handshake or the broker's answer to our
    /// certificate is the cause: None when it is something else (a port nobody listens on).
    pub(super) fn explain(&self, error: &async_nats::ConnectError, server: &str) -> Option<String> {
        if error.kind() == async_nats::ConnectErrorKind::AuthorizationViolation {
            return Some(format!(
                "the broker at {server} accepted the certificate {} but maps it to no user it knows (authorization violation): list its name in the broker's authorization (orchestrate broker-config)",
                self.cert.display()
            ));
        }
        let cause = rustls_cause(error)?;
        Some(match cause {
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
            | rustls::Error::InvalidCertificate(CertificateError::BadSignature) => format!(
                "the broker at {server} has a certificate that does not chain to the CA in {}",
                self.ca.display()
            ),
            rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                expected,
                presented,
            }) => format!(
                "the broker's certificate at {server} is not made out to {} (it names {})",
                expected.to_str(),
                presented
                    .iter()
                    .map(|shown| presented_name(shown))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            rustls::Error::InvalidCertificate(_) => format!(
                "the broker's certificate at {server} is refused ({cause}); it was checked against the CA in {}",
                self.ca.display()
            ),
            rustls::Error::AlertReceived(alert) => format!(
                "the broker at {server} refused the certificate {} ({}): is it signed by the CA the broker trusts, and valid for client authentication?",
                self.cert.display(),
                describe_alert(*alert)
            ),
            // A broker without TLS answers the handshake in plain NATS.
            rustls::Error::InvalidMessage(_) => format!(
                "the broker at {server} does not speak TLS (it answered the TLS handshake with {cause}): give it a tls block (docs/nats.md), or set nats.tls: false to connect without TLS"
            ),
            other => format!("TLS with the broker at {server} failed: {other}"),
        })
    }
}

/// Why a broker that needs TLS could not be spoken to when no certificates are configured.
pub(super) fn explain_without_files(
    error: &async_nats::ConnectError,
    server: &str,
) -> Option<String> {
    rustls_cause(error).map(|cause| {
        format!(
            "the broker at {server} needs TLS and the handshake failed ({cause}): set nats.tls {{ca, cert, key}} or a security section"
        )
    })
}

/// The rustls error somewhere in `error`'s chain. `io::Error::source` skips the error it
/// wraps, so each io::Error's inner error is looked at too.
fn rustls_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        let inner = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if inner.is_some() {
            return inner;
        }
        current = error.source();
    }
    None
}

/// A name of a certificate as webpki shows it (`DnsName("broker.example.net")`,
/// `IpAddress(10.0.0.1)`): the name alone.
fn presented_name(shown: &str) -> &str {
    shown
        .split_once('(')
        .and_then(|(_, inner)| inner.strip_suffix(')'))
        .map(|inner| inner.trim_matches('"'))
        .unwrap_or(shown)
}

fn describe_alert(alert: AlertDescription) -> &'static str {
    match alert {
        AlertDescription::BadCertificate => "bad certificate",
        AlertDescription::UnknownCA => "unknown CA",
        AlertDescription::CertificateRequired => "certificate required",
        AlertDescription::CertificateExpired => "certificate expired",
        AlertDescription::UnsupportedCertificate => "unsupported certificate",
        AlertDescription::HandshakeFailure => "handshake failure",
        _ => "TLS alert",
    }
}

/// The PEM file's bytes; `what` names it in the message.
fn read(path: &Path, what: &str) -> Result<Vec<u8>, TransportError> {
    std::fs::read(path).map_err(|error| {
        tls_error(format!(
            "cannot read the NATS TLS {what} {}: {error}",
            path.display()
        ))
    })
}

/// Every certificate of a PEM file; a file with none is an error.
fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let pem = read(path, what)?;
    let found: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&pem).collect();
    match found {
        Ok(certificates) if !certificates.is_empty() => Ok(certificates),
        Ok(_) => Err(tls_error(format!(
            "the NATS TLS {what} {} holds no PEM certificate",
            path.display()
        ))),
        Err(error) => Err(tls_error(format!(
            "the NATS TLS {what} {} is not PEM: {error}",
            path.display()
        ))),
    }
}

/// The first private key of a PEM file: PKCS#1 (`RSA PRIVATE KEY`, Puppet's), PKCS#8
/// (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TransportError> {
    let pem = read(path, "key")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|error| {
        let why = match error {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no PEM private key (PKCS#1, PKCS#8 or SEC1) in it".to_string()
            }
            other => other.to_string(),
        };
        tls_error(format!("the NATS TLS key {}: {why}", path.display()))
    })
}

fn tls_error(message: String) -> TransportError {
    TransportError::new(TransportErrorKind::Tls, message)
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
