//! Certificates for the tests that need TLS, from the crate's own [`Authority`] (rcgen):
//! parties named as Choria names them (`rip.mcollective`, `web1.example.net`: CN and DNS SAN,
//! client and server authentication), with any key kind and form, and the broker `localhost`
//! with the IP SAN `127.0.0.1`, where the tests reach it.
#![allow(dead_code)]

use std::path::Path;

use orchestrate::security::{Authority, CertFiles, KeyKind};

use super::nats::NatsServer;
use super::openssl;

/// A key and the form its file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyForm {
    /// ECDSA P-256, PKCS#8.
    Ecdsa,
    /// ECDSA P-256, SEC1 (`EC PRIVATE KEY`).
    EcdsaSec1,
    Ed25519,
    /// RSA-2048 in PKCS#1 (`RSA PRIVATE KEY`), as Puppet's CA issues.
    RsaPkcs1,
}

/// A CA for a test.
pub fn authority(name: &str) -> Authority {
    Authority::new(&format!("Puppet CA: {name}"), KeyKind::EcdsaP256).unwrap()
}

/// Puppet's ssldir for `name` under `ssldir` (`certs/<name>.pem`, `private_keys/<name>.pem`):
/// a certificate from `issuer` with a key of `form`, and `ca_pem` as `certs/ca.pem`.
pub fn write_ssldir(
    ssldir: &Path,
    name: &str,
    issuer: &Authority,
    form: KeyForm,
    ca_pem: &str,
) -> CertFiles {
    let (key, written) = key(form);
    let issued = issuer
        .issue_for_key(name, key, |params| {
            if name == "localhost" {
                let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
                params
                    .subject_alt_names
                    .push(rcgen::SanType::IpAddress(loopback));
            }
        })
        .unwrap();
    let files = issued.write_ssldir(ssldir, name, ca_pem).unwrap();
    if let Some(pem) = written {
        std::fs::write(&files.key, pem).unwrap();
    }
    files
}

/// The key, and its file's text when it is not rcgen's PKCS#8.
fn key(form: KeyForm) -> (rcgen::KeyPair, Option<String>) {
    let generate = |algorithm| rcgen::KeyPair::generate_for(algorithm).unwrap();
    match form {
        KeyForm::Ecdsa => (generate(&rcgen::PKCS_ECDSA_P256_SHA256), None),
        KeyForm::EcdsaSec1 => {
            let key = generate(&rcgen::PKCS_ECDSA_P256_SHA256);
            let sec1 = openssl::to_sec1(&key.serialize_pem());
            (key, Some(sec1))
        }
        KeyForm::Ed25519 => (generate(&rcgen::PKCS_ED25519), None),
        KeyForm::RsaPkcs1 => {
            let pkcs8 = openssl::rsa_pkcs8();
            let pkcs1 = openssl::to_pkcs1(&pkcs8);
            (rcgen::KeyPair::from_pem(&pkcs8).unwrap(), Some(pkcs1))
        }
    }
}

/// A broker requiring mutual TLS with `ca`'s certificates (docs/nats.md), its own
/// certificate issued by `issuer` for `name` (`localhost` is where clients reach it), in
/// `dir`.
pub fn tls_broker(dir: &Path, ca: &Authority, issuer: &Authority, name: &str) -> NatsServer {
    let files = write_ssldir(
        &dir.join("broker-ssl"),
        name,
        issuer,
        KeyForm::Ecdsa,
        &ca.ca_pem(),
    );
    NatsServer::start_tls(&files.ca, &files.cert, &files.key)
}
