//! Key forms only openssl makes: rcgen cannot make RSA keys with ring, and writes every key
//! PKCS#8, while Puppet writes RSA keys PKCS#1 (`RSA PRIVATE KEY`) and openssl's traditional
//! EC form is SEC1 (`EC PRIVATE KEY`). The unit tests of src/ include this file too
//! (`#[path]`).
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

/// A new RSA-2048 key, PKCS#8 PEM (what rcgen's `KeyPair::from_pem` reads).
pub fn rsa_pkcs8() -> String {
    let args = [
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
    ];
    openssl(&args, "")
}

/// An RSA key in PKCS#1, as Puppet writes it.
pub fn to_pkcs1(rsa_pkcs8: &str) -> String {
    let pem = openssl(&["rsa", "-traditional"], rsa_pkcs8);
    assert!(pem.contains("BEGIN RSA PRIVATE KEY"), "{pem}");
    pem
}

/// An EC key in SEC1, as `openssl ec` writes it.
pub fn to_sec1(ec_pkcs8: &str) -> String {
    let pem = openssl(&["ec"], ec_pkcs8);
    assert!(pem.contains("BEGIN EC PRIVATE KEY"), "{pem}");
    pem
}

/// `openssl ARGS` fed `input`: its stdout.
fn openssl(args: &[&str], input: &str) -> String {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "openssl {args:?} failed");
    String::from_utf8(output.stdout).unwrap()
}
