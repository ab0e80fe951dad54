//! Certificates made for a test with rcgen: a CA, certificates it issues as Puppet's CA does
//! for Choria (CN and DNS SAN the name, client and server authentication), and Puppet's ssldir
//! layout to put them in. The unit tests of src/ include this file too (`#[path]`), so there
//! is one way to make a test certificate.
//!
//! Names: clients are `<user>.mcollective` (`rip.mcollective`), nodes their identity
//! (`web1.example.net`), the broker `localhost` with the IP SAN `127.0.0.1`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The kind of key a certificate gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA P-256, written PKCS#8 (`PRIVATE KEY`, rcgen's own form).
    EcdsaP256,
    /// ECDSA P-256 written SEC1 (`EC PRIVATE KEY`, openssl's traditional form).
    EcdsaP256Sec1,
    Ed25519,
    /// RSA 2048 made by openssl and written PKCS#1 (`RSA PRIVATE KEY`), as Puppet writes keys.
    Rsa,
}

/// A certificate and its key, PEM.
#[derive(Clone, Debug)]
pub struct Issued {
    pub cert: String,
    pub key: String,
}

/// A certificate authority of the test's own.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    /// A self-signed CA named `Puppet CA: <name>`.
    pub fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(DnType::CommonName, format!("Puppet CA: {name}"));
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Authority { issuer }
    }

    /// The CA's certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `name` (its CN and its DNS SAN, or IP SAN for an address) and the
    /// other `alt_names`, usable to authenticate a client and a server, with an ECDSA key.
    pub fn issue(&self, name: &str, alt_names: &[&str]) -> Issued {
        self.issue_with(name, alt_names, KeyKind::EcdsaP256)
    }

    /// [`Authority::issue`] with a key of `kind`.
    pub fn issue_with(&self, name: &str, alt_names: &[&str], kind: KeyKind) -> Issued {
        let names: Vec<String> = std::iter::once(name)
            .chain(alt_names.iter().copied())
            .map(str::to_string)
            .collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let (key, key_pem) = new_key(kind);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            cert: cert.pem(),
            key: key_pem,
        }
    }

    /// The broker's certificate: `localhost` and `127.0.0.1`, where the tests reach it.
    pub fn issue_broker(&self) -> Issued {
        self.issue("localhost", &["127.0.0.1"])
    }
}

/// A key of `kind`, and its PEM as written to the key file.
fn new_key(kind: KeyKind) -> (KeyPair, String) {
    match kind {
        KeyKind::EcdsaP256 => {
            let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
            let pem = key.serialize_pem();
            (key, pem)
        }
        KeyKind::EcdsaP256Sec1 => {
            let (key, pkcs8) = new_key(KeyKind::EcdsaP256);
            let sec1 = openssl(&["ec"], Some(&pkcs8));
            assert!(sec1.contains("BEGIN EC PRIVATE KEY"), "{sec1}");
            (key, sec1)
        }
        KeyKind::Ed25519 => {
            let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
            let pem = key.serialize_pem();
            (key, pem)
        }
        KeyKind::Rsa => {
            // rcgen cannot make RSA keys with ring; openssl can, as Puppet's CA would.
            let pkcs8 = openssl(
                &[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                ],
                None,
            );
            let pkcs1 = openssl(&["rsa", "-traditional"], Some(&pkcs8));
            assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"), "{pkcs1}");
            (KeyPair::from_pem(&pkcs8).unwrap(), pkcs1)
        }
    }
}

/// `openssl ARGS`, fed `input`, its stdout.
fn openssl(args: &[&str], input: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(input.unwrap_or_default().as_bytes())
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "openssl {args:?} failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The three files of one party.
#[derive(Clone, Debug)]
pub struct SslFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Puppet's ssldir for `certname` under `ssldir`: `certs/<certname>.pem`,
/// `private_keys/<certname>.pem`, and `ca_pem` as `certs/ca.pem`.
pub fn write_ssldir(ssldir: &Path, certname: &str, issued: &Issued, ca_pem: &str) -> SslFiles {
    let files = SslFiles {
        ca: ssldir.join("certs/ca.pem"),
        cert: ssldir.join("certs").join(format!("{certname}.pem")),
        key: ssldir.join("private_keys").join(format!("{certname}.pem")),
    };
    std::fs::create_dir_all(ssldir.join("certs")).unwrap();
    std::fs::create_dir_all(ssldir.join("private_keys")).unwrap();
    std::fs::write(&files.ca, ca_pem).unwrap();
    std::fs::write(&files.cert, &issued.cert).unwrap();
    std::fs::write(&files.key, &issued.key).unwrap();
    files
}
