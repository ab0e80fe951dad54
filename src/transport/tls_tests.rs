//! The client configuration from real PEM files (rcgen and openssl make them per test), and
//! every file mistake named. The handshakes themselves are tested against a real nats-server
//! in tests/tls.rs.

use std::path::Path;

use super::*;
use crate::security::{Authority, KeyKind};

use crate::openssl;

/// The key's form in its file.
#[derive(Clone, Copy, Debug)]
enum KeyForm {
    EcdsaPkcs8,
    EcdsaSec1,
    Ed25519,
    RsaPkcs1,
}

/// The files of `name`, issued by `ca` with a key of `form`, in Puppet's layout under `dir`.
fn files(dir: &Path, ca: &Authority, name: &str, form: KeyForm) -> TlsFiles {
    let generate = |algorithm| rcgen::KeyPair::generate_for(algorithm).unwrap();
    let (key, rewritten) = match form {
        KeyForm::EcdsaPkcs8 => (generate(&rcgen::PKCS_ECDSA_P256_SHA256), None),
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
    };
    let written = ca
        .issue_for_key(name, key, |_| {})
        .unwrap()
        .write_ssldir(dir, name, &ca.ca_pem())
        .unwrap();
    if let Some(pem) = rewritten {
        std::fs::write(&written.key, pem).unwrap();
    }
    TlsFiles {
        ca: written.ca,
        cert: written.cert,
        key: written.key,
    }
}

fn authority(name: &str) -> Authority {
    Authority::new(name, KeyKind::EcdsaP256).unwrap()
}

fn message(result: Result<ClientConfig, TransportError>) -> String {
    let error = result.expect_err("the files are refused");
    assert_eq!(error.kind(), TransportErrorKind::Tls, "{error}");
    error.message().to_string()
}

#[test]
fn every_key_kind_and_form_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let ca = authority("keys");
    for kind in [
        KeyForm::EcdsaPkcs8,
        KeyForm::EcdsaSec1,
        KeyForm::Ed25519,
        KeyForm::RsaPkcs1,
    ] {
        let files = files(
            &dir.path().join(format!("{kind:?}")),
            &ca,
            "rip.mcollective",
            kind,
        );
        let config = files
            .client_config()
            .unwrap_or_else(|error| panic!("{kind:?}: {error}"));
        assert!(config.client_auth_cert_resolver.has_certs(), "{kind:?}");
    }
}

#[test]
fn missing_and_unreadable_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let ca = authority("missing");
    let good = files(dir.path(), &ca, "rip.mcollective", KeyForm::EcdsaPkcs8);
    let gone = dir.path().join("gone.pem");
    for (files, what) in [
        (
            TlsFiles {
                ca: gone.clone(),
                ..good.clone()
            },
            "CA certificate",
        ),
        (
            TlsFiles {
                cert: gone.clone(),
                ..good.clone()
            },
            "certificate",
        ),
        (
            TlsFiles {
                key: gone.clone(),
                ..good.clone()
            },
            "key",
        ),
    ] {
        let text = message(files.client_config());
        assert!(
            text.starts_with(&format!(
                "cannot read the NATS TLS {what} {}",
                gone.display()
            )),
            "{text}"
        );
    }
}

#[test]
fn files_that_are_not_what_they_should_be_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let ca = authority("wrong");
    let good = files(dir.path(), &ca, "rip.mcollective", KeyForm::EcdsaPkcs8);
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "not a certificate\n").unwrap();
    let ca_not_pem = message(
        TlsFiles {
            ca: text_file.clone(),
            ..good.clone()
        }
        .client_config(),
    );
    assert_eq!(
        ca_not_pem,
        format!(
            "the NATS TLS CA certificate {} holds no PEM certificate",
            text_file.display()
        )
    );
    // A key where the certificate should be, and a certificate where the key should be.
    let swapped_cert = message(
        TlsFiles {
            cert: good.key.clone(),
            ..good.clone()
        }
        .client_config(),
    );
    assert!(
        swapped_cert.contains("holds no PEM certificate"),
        "{swapped_cert}"
    );
    assert!(
        swapped_cert.contains(&good.key.display().to_string()),
        "{swapped_cert}"
    );
    let swapped_key = message(
        TlsFiles {
            key: good.cert.clone(),
            ..good.clone()
        }
        .client_config(),
    );
    assert_eq!(
        swapped_key,
        format!(
            "the NATS TLS key {}: no PEM private key (PKCS#1, PKCS#8 or SEC1) in it",
            good.cert.display()
        )
    );
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = authority("pairs");
    let mine = files(
        &dir.path().join("a"),
        &ca,
        "rip.mcollective",
        KeyForm::EcdsaPkcs8,
    );
    let other = files(
        &dir.path().join("b"),
        &ca,
        "bob.mcollective",
        KeyForm::EcdsaPkcs8,
    );
    let mixed = TlsFiles {
        key: other.key.clone(),
        ..mine.clone()
    };
    let text = message(mixed.client_config());
    assert_eq!(
        text,
        format!(
            "the NATS TLS key {} and certificate {} cannot be used: the key does not belong to the certificate",
            other.key.display(),
            mine.cert.display()
        )
    );
}

#[test]
fn handshake_errors_are_found_inside_io_errors() {
    let refused = rustls::Error::AlertReceived(AlertDescription::BadCertificate);
    let io = std::io::Error::new(std::io::ErrorKind::InvalidData, refused.clone());
    let connect = async_nats::ConnectError::with_source(async_nats::ConnectErrorKind::Io, io);
    assert_eq!(rustls_cause(&connect), Some(&refused));
    let unrelated = async_nats::ConnectError::with_source(
        async_nats::ConnectErrorKind::Io,
        std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
    );
    assert_eq!(rustls_cause(&unrelated), None);
    assert_eq!(explain_without_files(&unrelated, "nats://x:1"), None);
}

#[test]
fn presented_names_are_shown_plain() {
    assert_eq!(
        presented_name("DnsName(\"broker.example.net\")"),
        "broker.example.net"
    );
    assert_eq!(presented_name("IpAddress(10.0.0.1)"), "10.0.0.1");
    assert_eq!(presented_name("DirectoryName"), "DirectoryName");
}
