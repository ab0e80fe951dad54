//! Certificates: a party's own (its chain and key, for signing), and the CA it trusts, with the
//! check of a certificate someone else sent (`pubcert`): the chain to the CA, the key usage,
//! the dates, and the names it carries. A certificate checked once is remembered (by the hash
//! of its PEM) until it expires, so a node answering many requests, or a client reading
//! thousands of replies, pays for the chain once per certificate and then only for signatures.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use sha2::{Digest, Sha256};
use webpki::{EndEntityCert, KeyUsage};

use super::kept_checks::{hex, KeptCheck, KeptChecks};
use super::keys::{KeyError, KeyKind, SigningKey};
use super::CertFiles;

/// Certificates remembered at most; past this the memory is started afresh.
const REMEMBERED_CERTIFICATES: usize = 100_000;

/// This party's certificate and private key.
pub struct Credentials {
    /// The PEM of the certificate (and any chain after it), as sent in `pubcert`.
    pubcert: String,
    /// The certificate's CN: the caller name (`choria=<name>`) of a client.
    name: String,
    /// The CN and the DNS SANs: the identities a node may answer as.
    names: Vec<String>,
    key: SigningKey,
}

/// The CA this party trusts, and the certificates it has checked.
#[derive(Debug)]
pub struct Trust {
    anchors: Vec<TrustAnchor<'static>>,
    checked: Mutex<HashMap<[u8; 32], Arc<CheckedCert>>>,
    /// The SHA-256 of the CA file's text: names this trust in what is kept of its checks.
    fingerprint: [u8; 32],
    /// A client's checks kept between processes (None: this process only).
    kept: Option<KeptChecks>,
}

/// A certificate that chains to the CA with the usage it was checked for, and what it says.
#[derive(Debug)]
pub struct CheckedCert {
    der: CertificateDer<'static>,
    /// The subject's CN and DNS SANs.
    pub names: Vec<String>,
    pub key: KeyKind,
    /// Its last valid second, Unix time.
    pub not_after: u64,
    usage: Usage,
}

/// What a certificate is checked as: the signer of a request (client auth), or of a reply
/// (a node's certificate: client or server auth, as Puppet's CA issues both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Usage {
    Client,
    Node,
}

/// Why a certificate file or a sent certificate cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {problem}", path.display())]
    File { path: PathBuf, problem: String },
    #[error("{}: {source}", path.display())]
    Key { path: PathBuf, source: KeyError },
    #[error("{} is not the key of {}", key.display(), cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("no certificate in pubcert")]
    NoCertificate,
    #[error("the certificate does not parse: {0}")]
    Unparsable(String),
    #[error("the certificate is not valid: {0}")]
    Invalid(webpki::Error),
    #[error("the certificate's key is not RSA, ECDSA P-256 or Ed25519")]
    UnsupportedKey,
    #[error("the signature does not verify")]
    BadSignature,
}

/// What kind of [`CertError`] it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertErrorKind {
    /// A local file is missing, unreadable or wrong.
    File,
    /// A sent certificate is not one to trust.
    Untrusted,
    /// A signature does not match.
    BadSignature,
}

impl CertError {
    pub fn kind(&self) -> CertErrorKind {
        match self {
            CertError::Read { .. }
            | CertError::File { .. }
            | CertError::Key { .. }
            | CertError::KeyMismatch { .. } => CertErrorKind::File,
            CertError::BadSignature => CertErrorKind::BadSignature,
            _ => CertErrorKind::Untrusted,
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("name", &self.name)
            .field("key", &self.key.kind())
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The certificate and key of `files`, checked to belong together.
    pub fn load(files: &CertFiles) -> Result<Credentials, CertError> {
        let pubcert = read_text(&files.cert)?;
        let key_pem = read_text(&files.key)?;
        let key = SigningKey::from_pem(key_pem.as_bytes()).map_err(|source| CertError::Key {
            path: files.key.clone(),
            source,
        })?;
        let in_file = |problem: String| CertError::File {
            path: files.cert.clone(),
            problem,
        };
        let credentials = Credentials::from_pem(pubcert, key).map_err(|error| match error {
            CertError::KeyMismatch { .. } => CertError::KeyMismatch {
                cert: files.cert.clone(),
                key: files.key.clone(),
            },
            other => in_file(other.to_string()),
        })?;
        Ok(credentials)
    }

    /// Credentials from a certificate's PEM and its key.
    pub fn from_pem(pubcert: String, key: SigningKey) -> Result<Credentials, CertError> {
        let der = first_certificate(&pubcert)?;
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
            .map_err(|error| CertError::Unparsable(error.to_string()))?;
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key() {
            return Err(CertError::KeyMismatch {
                cert: PathBuf::new(),
                key: PathBuf::new(),
            });
        }
        let name = common_name(&cert)
            .ok_or_else(|| CertError::Unparsable("the certificate has no common name".into()))?;
        let names = names_of(&cert);
        Ok(Credentials {
            pubcert,
            name,
            names,
            key,
        })
    }

    /// The certificate's common name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `name` is the certificate's CN or one of its DNS SANs.
    pub fn is_named(&self, name: &str) -> bool {
        self.names.iter().any(|own| own == name)
    }

    pub fn pubcert(&self) -> &str {
        &self.pubcert
    }

    pub fn key_kind(&self) -> KeyKind {
        self.key.kind()
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message)
    }
}

impl Trust {
    /// The CA certificates of a PEM file.
    pub fn load(ca: &Path) -> Result<Trust, CertError> {
        let text = read_text(ca)?;
        Trust::from_pem(&text).map_err(|error| CertError::File {
            path: ca.to_path_buf(),
            problem: error.to_string(),
        })
    }

    pub fn from_pem(pem: &str) -> Result<Trust, CertError> {
        let mut anchors = Vec::new();
        for der in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let der = der.map_err(|error| CertError::Unparsable(error.to_string()))?;
            let anchor = webpki::anchor_from_trusted_cert(&der).map_err(CertError::Invalid)?;
            anchors.push(anchor.to_owned());
        }
        if anchors.is_empty() {
            return Err(CertError::NoCertificate);
        }
        Ok(Trust {
            anchors,
            checked: Mutex::new(HashMap::new()),
            fingerprint: Sha256::digest(pem.as_bytes()).into(),
            kept: None,
        })
    }

    /// The SHA-256 of the CA certificates this trust was made from, in hex.
    pub fn fingerprint(&self) -> String {
        hex(&self.fingerprint)
    }

    /// `pubcert` (a PEM certificate, optionally followed by its chain) checked for `usage` at
    /// Unix time `now`: from memory when it was checked before and has not expired.
    pub fn check(
        &self,
        pubcert: &str,
        usage: Usage,
        now: u64,
    ) -> Result<Arc<CheckedCert>, CertError> {
        let digest: [u8; 32] = Sha256::digest(pubcert.as_bytes()).into();
        if let Some(known) = self.remembered(&digest) {
            if known.usage == usage && now <= known.not_after {
                return Ok(known);
            }
        }
        let checked = match self.kept_check(&digest, pubcert, usage, now) {
            Some(kept) => Arc::new(kept),
            None => {
                let checked = self.check_afresh(pubcert, usage, now)?;
                if let Some(kept) = &self.kept {
                    kept.keep(&digest, checked.kept());
                }
                Arc::new(checked)
            }
        };
        let mut memory = self
            .checked
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if memory.len() >= REMEMBERED_CERTIFICATES {
            memory.clear();
        }
        memory.insert(digest, checked.clone());
        Ok(checked)
    }

    /// This trust with its certificate checks kept between processes (a client's, in the
    /// user's cache folder): what a next process would check again is read back instead.
    pub fn keeping_checks(mut self) -> Trust {
        let fingerprint: String = self
            .fingerprint
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.kept = KeptChecks::for_ca(&fingerprint);
        self
    }

    /// Writes the checks made since they were read, when they are kept.
    pub fn write_kept_checks(&self) {
        if let Some(kept) = &self.kept {
            kept.write();
        }
    }

    /// The certificate as a check kept from an earlier process found it: the same PEM, the
    /// same usage, not past its end (the chain is not checked again; the signature will be).
    fn kept_check(
        &self,
        digest: &[u8; 32],
        pubcert: &str,
        usage: Usage,
        now: u64,
    ) -> Option<CheckedCert> {
        let kept = self.kept.as_ref()?.get(digest, usage, now)?;
        let leaf = CertificateDer::pem_slice_iter(pubcert.as_bytes())
            .next()?
            .ok()?;
        Some(CheckedCert {
            der: leaf.into_owned(),
            names: kept.names,
            key: kept.key,
            not_after: kept.not_after,
            usage: kept.usage,
        })
    }

    fn remembered(&self, digest: &[u8; 32]) -> Option<Arc<CheckedCert>> {
        let memory = self
            .checked
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        memory.get(digest).cloned()
    }

    fn check_afresh(
        &self,
        pubcert: &str,
        usage: Usage,
        now: u64,
    ) -> Result<CheckedCert, CertError> {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(pubcert.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|error| CertError::Unparsable(error.to_string()))?;
        let (leaf, intermediates) = chain.split_first().ok_or(CertError::NoCertificate)?;
        let end_entity = EndEntityCert::try_from(leaf).map_err(CertError::Invalid)?;
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now));
        let verify = |key_usage: KeyUsage| {
            end_entity
                .verify_for_usage(
                    webpki::ALL_VERIFICATION_ALGS,
                    &self.anchors,
                    intermediates,
                    time,
                    key_usage,
                    None,
                    None,
                )
                .map(|_| ())
        };
        match usage {
            Usage::Client => verify(KeyUsage::client_auth()),
            Usage::Node => {
                verify(KeyUsage::client_auth()).or_else(|_| verify(KeyUsage::server_auth()))
            }
        }
        .map_err(CertError::Invalid)?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
            .map_err(|error| CertError::Unparsable(error.to_string()))?;
        Ok(CheckedCert {
            names: names_of(&cert),
            key: key_kind(&cert).ok_or(CertError::UnsupportedKey)?,
            not_after: cert.validity().not_after.timestamp().max(0) as u64,
            usage,
            der: leaf.clone().into_owned(),
        })
    }
}

impl Drop for Trust {
    fn drop(&mut self) {
        self.write_kept_checks();
    }
}

impl CheckedCert {
    fn kept(&self) -> KeptCheck {
        KeptCheck {
            names: self.names.clone(),
            key: self.key,
            not_after: self.not_after,
            usage: self.usage,
        }
    }

    /// Whether `name` is this certificate's CN or one of its DNS SANs, compared whole.
    pub fn is_named(&self, name: &str) -> bool {
        self.names.iter().any(|own| own == name)
    }

    /// Whether `signature` is this certificate's key's signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CertError> {
        let end_entity = EndEntityCert::try_from(&self.der).map_err(CertError::Invalid)?;
        end_entity
            .verify_signature(self.key.verification(), message, signature)
            .map_err(|_| CertError::BadSignature)
    }
}

fn read_text(path: &Path) -> Result<String, CertError> {
    std::fs::read_to_string(path).map_err(|source| CertError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn first_certificate(pem: &str) -> Result<CertificateDer<'static>, CertError> {
    match CertificateDer::pem_slice_iter(pem.as_bytes()).next() {
        Some(Ok(der)) => Ok(der),
        Some(Err(error)) => Err(CertError::Unparsable(error.to_string())),
        None => Err(CertError::NoCertificate),
    }
}

fn common_name(cert: &x509_parser::certificate::X509Certificate<'_>) -> Option<String> {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|name| name.as_str().ok())
        .map(str::to_string)
}

/// The CN and the DNS SANs.
fn names_of(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    let mut names: Vec<String> = common_name(cert).into_iter().collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                names.push(dns.to_string());
            }
        }
    }
    names
}

fn key_kind(cert: &x509_parser::certificate::X509Certificate<'_>) -> Option<KeyKind> {
    use x509_parser::oid_registry as oids;
    let algorithm = &cert.public_key().algorithm;
    let oid = &algorithm.algorithm;
    if *oid == oids::OID_PKCS1_RSAENCRYPTION {
        Some(KeyKind::Rsa)
    } else if *oid == oids::OID_SIG_ED25519 {
        Some(KeyKind::Ed25519)
    } else if *oid == oids::OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = algorithm.parameters.as_ref()?.as_oid().ok()?;
        (curve == oids::OID_EC_P256).then_some(KeyKind::EcdsaP256)
    } else {
        None
    }
}
