//! `nats.tls`, the same key in the client's configuration and the node daemon's: which
//! certificates the broker connection uses. By default, with a `security` section, the
//! section's own (the Puppet certificates that sign requests also open the broker); other
//! files when `nats.tls` names them; none with `nats.tls: false`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::config::{LocateError, SecuritySection};
use crate::transport::TlsFiles;

/// `nats.tls` as written: `true`, `false`, or the three files.
#[derive(Clone, Debug, PartialEq)]
pub enum BrokerTls {
    /// `false`: no certificates of ours (a broker without TLS, or `tls://` checked against
    /// the system's roots).
    Off,
    /// `true`: the security section's certificates, as when `nats.tls` is not set.
    Security,
    /// `{ca, cert, key}`: these files rather than the security section's.
    Files(BrokerTlsFiles),
}

/// `nats.tls: {ca, cert, key}`: every one is needed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerTlsFiles {
    /// The CA the broker's certificate must chain to.
    pub ca: PathBuf,
    /// Our certificate (its chain, leaf first), shown to the broker.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

/// Why the broker's TLS cannot be settled.
#[derive(Debug, thiserror::Error)]
pub enum BrokerTlsError {
    #[error("nats.tls: true takes the security section's certificates, and there is no security section: give nats.tls {{ca, cert, key}}")]
    NoSecuritySection,
    /// The security section does not say where its certificates are.
    #[error("nats.tls: the broker's TLS uses the security section's certificates: {0}")]
    Locate(#[from] LocateError),
}

impl BrokerTls {
    /// Takes relative paths from `base` (the configuration file's folder).
    pub fn resolve_relative_to(&mut self, base: &Path) {
        if let BrokerTls::Files(files) = self {
            for path in [&mut files.ca, &mut files.cert, &mut files.key] {
                if path.is_relative() {
                    *path = base.join(&*path);
                }
            }
        }
    }
}

/// The files the broker connection uses: `nats.tls`'s, else the security section's when
/// there is one, else none (no TLS of ours).
pub fn broker_tls(
    setting: Option<&BrokerTls>,
    security: Option<&SecuritySection>,
) -> Result<Option<TlsFiles>, BrokerTlsError> {
    match (setting, security) {
        (Some(BrokerTls::Off), _) | (None, None) => Ok(None),
        (Some(BrokerTls::Files(files)), _) => Ok(Some(TlsFiles {
            ca: files.ca.clone(),
            cert: files.cert.clone(),
            key: files.key.clone(),
        })),
        (Some(BrokerTls::Security), None) => Err(BrokerTlsError::NoSecuritySection),
        (Some(BrokerTls::Security) | None, Some(section)) => {
            let files = section.files()?;
            Ok(Some(TlsFiles {
                ca: files.ca,
                cert: files.cert,
                key: files.key,
            }))
        }
    }
}

impl<'de> Deserialize<'de> for BrokerTls {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<BrokerTls, D::Error> {
        deserializer.deserialize_any(BrokerTlsVisitor)
    }
}

/// `true`, `false` or a mapping; the mapping read as [`BrokerTlsFiles`], so a missing or
/// misspelt key is named as serde names it.
struct BrokerTlsVisitor;

impl<'de> Visitor<'de> for BrokerTlsVisitor {
    type Value = BrokerTls;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("true, false, or {ca, cert, key}")
    }

    fn visit_bool<E: de::Error>(self, on: bool) -> Result<BrokerTls, E> {
        Ok(if on {
            BrokerTls::Security
        } else {
            BrokerTls::Off
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<BrokerTls, A::Error> {
        let files = BrokerTlsFiles::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(BrokerTls::Files(files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(yaml: &str) -> Result<BrokerTls, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(yaml)
    }

    fn security(yaml: &str) -> SecuritySection {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn the_three_forms() {
        assert_eq!(setting("false").unwrap(), BrokerTls::Off);
        assert_eq!(setting("true").unwrap(), BrokerTls::Security);
        let files = setting("{ca: ca.pem, cert: me.pem, key: me.key}").unwrap();
        assert_eq!(
            files,
            BrokerTls::Files(BrokerTlsFiles {
                ca: "ca.pem".into(),
                cert: "me.pem".into(),
                key: "me.key".into()
            })
        );
        let missing = setting("{ca: ca.pem, cert: me.pem}").unwrap_err();
        assert!(
            missing.to_string().contains("missing field `key`"),
            "{missing}"
        );
        let typo = setting("{ca: a, cert: b, key: c, verify: false}").unwrap_err();
        assert!(
            typo.to_string().contains("unknown field `verify`"),
            "{typo}"
        );
        let other = setting("yes please").unwrap_err();
        assert!(
            other
                .to_string()
                .contains("true, false, or {ca, cert, key}"),
            "{other}"
        );
    }

    #[test]
    fn the_security_sections_certificates_by_default() {
        let section = security("{ssldir: /ssl, certname: web1.example.net}");
        let files = broker_tls(None, Some(&section)).unwrap().unwrap();
        assert_eq!(files.ca, PathBuf::from("/ssl/certs/ca.pem"));
        assert_eq!(files.cert, PathBuf::from("/ssl/certs/web1.example.net.pem"));
        assert_eq!(
            files.key,
            PathBuf::from("/ssl/private_keys/web1.example.net.pem")
        );
        assert_eq!(
            broker_tls(Some(&BrokerTls::Security), Some(&section)).unwrap(),
            Some(files)
        );
        assert_eq!(
            broker_tls(Some(&BrokerTls::Off), Some(&section)).unwrap(),
            None
        );
        assert_eq!(broker_tls(None, None).unwrap(), None);
    }

    #[test]
    fn explicit_files_win_and_true_needs_a_section() {
        let mut given = setting("{ca: ca.pem, cert: /abs/me.pem, key: me.key}").unwrap();
        given.resolve_relative_to(Path::new("/etc/orchestrate"));
        let section = security("{ssldir: /ssl, certname: web1.example.net}");
        let files = broker_tls(Some(&given), Some(&section)).unwrap().unwrap();
        assert_eq!(files.ca, PathBuf::from("/etc/orchestrate/ca.pem"));
        assert_eq!(files.cert, PathBuf::from("/abs/me.pem"));
        let error = broker_tls(Some(&BrokerTls::Security), None).unwrap_err();
        assert!(error.to_string().contains("no security section"), "{error}");
    }
}
