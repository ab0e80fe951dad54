//! A certificate authority made on the spot (rcgen): the embedded default and the simulated
//! fleet sign and verify with one made at start, so a demo runs the same security code as a
//! real fleet; tests make theirs the same way. It issues the fast key kinds (ECDSA P-256,
//! Ed25519): thousands of simulated nodes sign replies in one process.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

use super::certs::{CertError, Credentials, Trust};
use super::keys::{KeyKind, SigningKey};
use super::CertFiles;

/// A CA and the key kind it issues.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
    kind: KeyKind,
}

/// A certificate and its key, PEM.
#[derive(Clone, Debug)]
pub struct IssuedCert {
    pub cert: String,
    pub key: String,
}

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    #[error("cannot make {kind} keys here: the ephemeral CA issues ECDSA P-256 or Ed25519")]
    KindUnsupported { kind: &'static str },
    #[error("cannot make a certificate for {name:?}: {source}")]
    Certificate { name: String, source: rcgen::Error },
    #[error(transparent)]
    Credentials(#[from] CertError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Authority {
    /// A new CA named `name`, with a key of `kind`, issuing keys of `kind`.
    pub fn new(name: &str, kind: KeyKind) -> Result<Authority, AuthorityError> {
        let failed = |source| AuthorityError::Certificate {
            name: name.to_string(),
            source,
        };
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, new_key(kind)?).map_err(failed)?;
        Ok(Authority { issuer, kind })
    }

    /// The CA's certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn trust(&self) -> Result<Trust, CertError> {
        Trust::from_pem(&self.ca_pem())
    }

    /// A certificate for `name` (its CN and DNS SAN), usable to sign requests and replies and
    /// for TLS both ways.
    pub fn issue(&self, name: &str) -> Result<IssuedCert, AuthorityError> {
        self.issue_with(name, |_| {})
    }

    /// [`Authority::issue`], with `adjust` changing the certificate's parameters first (tests
    /// make expired certificates, or ones without client-auth usage, this way).
    pub fn issue_with(
        &self,
        name: &str,
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> Result<IssuedCert, AuthorityError> {
        self.issue_for_key(name, new_key(self.kind)?, adjust)
    }

    /// A certificate for `name` carrying `key`'s public half (an RSA key made elsewhere, say).
    pub fn issue_for_key(
        &self,
        name: &str,
        key: KeyPair,
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> Result<IssuedCert, AuthorityError> {
        let failed = |source| AuthorityError::Certificate {
            name: name.to_string(),
            source,
        };
        let mut params = CertificateParams::new(vec![name.to_string()]).map_err(failed)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        adjust(&mut params);
        let cert = params.signed_by(&key, &self.issuer).map_err(failed)?;
        Ok(IssuedCert {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }

    /// Credentials for `name`, ready to sign.
    pub fn credentials(&self, name: &str) -> Result<Credentials, AuthorityError> {
        self.issue(name)?.credentials()
    }
}

impl IssuedCert {
    pub fn credentials(&self) -> Result<Credentials, AuthorityError> {
        let key = SigningKey::from_pem(self.key.as_bytes()).map_err(|source| CertError::Key {
            path: PathBuf::from("(issued key)"),
            source,
        })?;
        Ok(Credentials::from_pem(self.cert.clone(), key)?)
    }

    /// Writes the certificate, its key (mode 0600) and `ca_pem` in Puppet's ssldir layout
    /// under `ssldir`, and says where they are.
    pub fn write_ssldir(
        &self,
        ssldir: &Path,
        certname: &str,
        ca_pem: &str,
    ) -> Result<CertFiles, AuthorityError> {
        let files = CertFiles::in_ssldir(ssldir, certname);
        write(&files.ca, ca_pem, 0o644)?;
        write(&files.cert, &self.cert, 0o644)?;
        write(&files.key, &self.key, 0o600)?;
        Ok(files)
    }
}

fn new_key(kind: KeyKind) -> Result<KeyPair, AuthorityError> {
    let algorithm = match kind {
        KeyKind::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyKind::Ed25519 => &rcgen::PKCS_ED25519,
        KeyKind::Rsa => return Err(AuthorityError::KindUnsupported { kind: kind.name() }),
    };
    KeyPair::generate_for(algorithm).map_err(|source| AuthorityError::Certificate {
        name: "(key)".to_string(),
        source,
    })
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), AuthorityError> {
    use std::os::unix::fs::PermissionsExt;
    let failed = |source| AuthorityError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(failed)?;
    }
    std::fs::write(path, text).map_err(failed)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(failed)
}
