//! A party's private key and the signatures it makes: RSA (PKCS#1 v1.5, SHA-256, as Choria and
//! Puppet's CA use), ECDSA P-256 (SHA-256, ASN.1 DER signatures) and Ed25519.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;

/// The kinds of key a certificate may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeyKind {
    Rsa,
    EcdsaP256,
    Ed25519,
}

impl KeyKind {
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Rsa => "RSA",
            KeyKind::EcdsaP256 => "ECDSA P-256",
            KeyKind::Ed25519 => "Ed25519",
        }
    }

    /// How a signature made by such a key is checked against a certificate.
    pub(super) fn verification(
        self,
    ) -> &'static dyn rustls_pki_types::SignatureVerificationAlgorithm {
        match self {
            KeyKind::Rsa => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            KeyKind::EcdsaP256 => webpki::ring::ECDSA_P256_SHA256,
            KeyKind::Ed25519 => webpki::ring::ED25519,
        }
    }
}

/// A private key, ready to sign.
pub struct SigningKey {
    pair: KeyPair,
    random: SystemRandom,
}

enum KeyPair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// Why a private key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no private key in it ({0:?})")]
    NotPem(rustls_pki_types::pem::Error),
    #[error("not an RSA (2048 bits or more), ECDSA P-256 or Ed25519 key")]
    Unsupported,
}

impl SigningKey {
    /// The key in a PEM file's text: PKCS#1 RSA (Puppet's CA writes these), or PKCS#8 of any
    /// supported kind.
    pub fn from_pem(pem: &[u8]) -> Result<SigningKey, KeyError> {
        let random = SystemRandom::new();
        let pair = match PrivateKeyDer::from_pem_slice(pem).map_err(KeyError::NotPem)? {
            PrivateKeyDer::Pkcs1(der) => KeyPair::Rsa(
                RsaKeyPair::from_der(der.secret_pkcs1_der()).map_err(|_| KeyError::Unsupported)?,
            ),
            PrivateKeyDer::Sec1(der) => {
                pkcs8_pair(&p256_sec1_as_pkcs8(der.secret_sec1_der()), &random)?
            }
            PrivateKeyDer::Pkcs8(der) => pkcs8_pair(der.secret_pkcs8_der(), &random)?,
            _ => return Err(KeyError::Unsupported),
        };
        Ok(SigningKey { pair, random })
    }

    pub fn kind(&self) -> KeyKind {
        match self.pair {
            KeyPair::Rsa(_) => KeyKind::Rsa,
            KeyPair::Ecdsa(_) => KeyKind::EcdsaP256,
            KeyPair::Ed25519(_) => KeyKind::Ed25519,
        }
    }

    /// The public half, as a certificate's subject public key carries it.
    pub fn public_key(&self) -> &[u8] {
        use ring::signature::KeyPair as _;
        match &self.pair {
            KeyPair::Rsa(pair) => pair.public_key().as_ref(),
            KeyPair::Ecdsa(pair) => pair.public_key().as_ref(),
            KeyPair::Ed25519(pair) => pair.public_key().as_ref(),
        }
    }

    /// The signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.pair {
            KeyPair::Rsa(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                // Fails only for a buffer of the wrong length, which this is not.
                match pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &self.random,
                    message,
                    &mut signature,
                ) {
                    Ok(()) => signature,
                    Err(_) => Vec::new(),
                }
            }
            KeyPair::Ecdsa(pair) => pair
                .sign(&self.random, message)
                .map(|signature| signature.as_ref().to_vec())
                // Fails only when the system's random source does; an empty signature is
                // refused by every verifier, so nothing unsigned passes for signed.
                .unwrap_or_default(),
            KeyPair::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }
}

/// An EC key in SEC1 form (`BEGIN EC PRIVATE KEY`, as `openssl ecparam -genkey` writes it)
/// wrapped as PKCS#8 for the P-256 curve, which ring reads: SEQUENCE { version 0,
/// AlgorithmIdentifier { id-ecPublicKey, prime256v1 }, OCTET STRING { the SEC1 key } }.
/// A key of another curve then fails to load as unsupported.
fn p256_sec1_as_pkcs8(sec1: &[u8]) -> Vec<u8> {
    const VERSION: [u8; 3] = [0x02, 0x01, 0x00];
    const P256_ALGORITHM: [u8; 21] = [
        0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
        0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    let key = der_element(0x04, sec1);
    let mut body = Vec::with_capacity(VERSION.len() + P256_ALGORITHM.len() + key.len());
    body.extend_from_slice(&VERSION);
    body.extend_from_slice(&P256_ALGORITHM);
    body.extend_from_slice(&key);
    der_element(0x30, &body)
}

/// A DER element: tag, definite length, content.
fn der_element(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut element = vec![tag];
    let length = content.len();
    if length < 0x80 {
        element.push(length as u8);
    } else {
        let bytes: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|byte| *byte == 0)
            .collect();
        element.push(0x80 | bytes.len() as u8);
        element.extend_from_slice(&bytes);
    }
    element.extend_from_slice(content);
    element
}

/// A PKCS#8 key of any supported kind.
fn pkcs8_pair(der: &[u8], random: &SystemRandom) -> Result<KeyPair, KeyError> {
    if let Ok(pair) = RsaKeyPair::from_pkcs8(der) {
        return Ok(KeyPair::Rsa(pair));
    }
    if let Ok(pair) =
        EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der, random)
    {
        return Ok(KeyPair::Ecdsa(pair));
    }
    Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
        .map(KeyPair::Ed25519)
        .map_err(|_| KeyError::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_signs() {
        for (algorithm, kind) in [
            (&rcgen::PKCS_ECDSA_P256_SHA256, KeyKind::EcdsaP256),
            (&rcgen::PKCS_ED25519, KeyKind::Ed25519),
        ] {
            let generated = rcgen::KeyPair::generate_for(algorithm).unwrap();
            let key = SigningKey::from_pem(generated.serialize_pem().as_bytes()).unwrap();
            assert_eq!(key.kind(), kind);
            assert!(!key.sign(b"message").is_empty());
        }
    }

    /// `openssl ecparam -genkey` writes SEC1; the same key signs as its PKCS#8 form does.
    #[test]
    fn an_ec_key_in_sec1_form_signs() {
        let output = std::process::Command::new("openssl")
            .args(["ecparam", "-name", "prime256v1", "-genkey", "-noout"])
            .output()
            .expect("openssl");
        let pem = String::from_utf8(output.stdout).unwrap();
        assert!(pem.contains("BEGIN EC PRIVATE KEY"), "{pem}");
        let key = SigningKey::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(key.kind(), KeyKind::EcdsaP256);
    }

    #[test]
    fn what_is_not_a_key_is_named() {
        let none = SigningKey::from_pem(b"hello").err().unwrap();
        assert!(none.to_string().contains("no private key"), "{none}");
    }
}
