//! A party's private key and the signatures it makes: RSA (PKCS#1 v1.5, SHA-256, as Choria and
//! Puppet's CA use), ECDSA P-256 (SHA-256, ASN.1 DER signatures) and Ed25519.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;

/// The kinds of key a certificate may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    #[error("an EC key in SEC1 form (BEGIN EC PRIVATE KEY): convert it with `openssl pkcs8 -topk8 -nocrypt`")]
    Sec1,
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
            PrivateKeyDer::Sec1(_) => return Err(KeyError::Sec1),
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

    #[test]
    fn what_is_not_a_key_is_named() {
        let none = SigningKey::from_pem(b"hello").err().unwrap();
        assert!(none.to_string().contains("no private key"), "{none}");
    }
}
