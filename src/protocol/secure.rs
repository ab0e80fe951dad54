//! The security layer: `choria:secure:request:1` carries the request with its signature and the
//! caller's certificate; `choria:secure:reply:1` carries the reply with its SHA-256 hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::encoding::{expect_protocol, from_base64, from_json, to_base64, to_json};
use super::ProtocolError;

pub(crate) const SECURE_REQUEST: &str = "choria:secure:request:1";
pub(crate) const SECURE_REPLY: &str = "choria:secure:reply:1";
/// A node's entry in the registry (orchestrate's own: Choria has no signed registry).
pub(crate) const REGISTRY_ENTRY: &str = "orchestrate:registry:entry:1";

/// A signed layer: Choria's secure request, and the registry entry of the same shape.
#[derive(Debug, Serialize, Deserialize)]
struct SecureRequest {
    protocol: String,
    message: String,
    #[serde(default)]
    signature: String,
    #[serde(default)]
    pubcert: String,
}

/// Choria's secure reply carries only `hash`; a signing node adds `signature` and `pubcert`,
/// which Choria clients ignore.
#[derive(Debug, Serialize, Deserialize)]
struct SecureReply {
    protocol: String,
    message: String,
    hash: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    signature: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pubcert: String,
}

/// Whoever signs what this end sends: the caller of a request, the node of a reply.
pub trait Signer: Send + Sync {
    /// The signature of `message`, exactly those bytes.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
    /// The signer's certificate, PEM (optionally followed by its chain).
    fn pubcert(&self) -> &str;
}

/// What a secure layer says about its message, for a verifier: the message exactly as it
/// arrived (the bytes that were signed), the signature (empty: none) and the certificate sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seal {
    pub message: String,
    pub signature: Vec<u8>,
    pub pubcert: String,
}

impl Seal {
    pub fn is_signed(&self) -> bool {
        !self.signature.is_empty()
    }
}

/// The signature and certificate of `message` by `signer`, or empty ones without a signer.
fn signed_by(signer: Option<&dyn Signer>, message: &str) -> (String, String) {
    match signer {
        Some(signer) => (
            to_base64(&signer.sign(message.as_bytes())),
            signer.pubcert().to_string(),
        ),
        None => (String::new(), String::new()),
    }
}

/// Wraps a request's JSON, signed by `signer` (RSA, ECDSA or Ed25519 over exactly these
/// bytes) or, without one, with the signature and certificate written empty.
pub(crate) fn seal_request(
    request_json: String,
    signer: Option<&dyn Signer>,
) -> Result<String, ProtocolError> {
    seal_signed(SECURE_REQUEST, request_json, signer)
}

/// The request JSON inside a secure request, with its signature for the node to check.
pub(crate) fn open_request(bytes: &[u8]) -> Result<Seal, ProtocolError> {
    open_signed(SECURE_REQUEST, bytes)
}

/// `message` in the signed layer `layer` (a secure request, a registry entry): the
/// protocol, the message, its signature and the signer's certificate.
fn seal_signed(
    layer: &'static str,
    message: String,
    signer: Option<&dyn Signer>,
) -> Result<String, ProtocolError> {
    let (signature, pubcert) = signed_by(signer, &message);
    let sealed = SecureRequest {
        protocol: layer.to_string(),
        message,
        signature,
        pubcert,
    };
    to_json(layer, &sealed)
}

/// The message inside the signed layer `layer`, with its signature for a verifier.
fn open_signed(layer: &'static str, bytes: &[u8]) -> Result<Seal, ProtocolError> {
    let sealed: SecureRequest = from_json(layer, bytes)?;
    expect_protocol(layer, &sealed.protocol)?;
    Ok(Seal {
        signature: from_base64(layer, &sealed.signature)?,
        message: sealed.message,
        pubcert: sealed.pubcert,
    })
}

/// Wraps a reply's JSON with base64(sha256(reply JSON)), as Choria does, and with `signer`'s
/// signature and certificate.
pub(crate) fn seal_reply(
    reply_json: String,
    signer: Option<&dyn Signer>,
) -> Result<String, ProtocolError> {
    let (signature, pubcert) = signed_by(signer, &reply_json);
    let secure = SecureReply {
        protocol: SECURE_REPLY.to_string(),
        hash: hash_of(&reply_json),
        message: reply_json,
        signature,
        pubcert,
    };
    to_json(SECURE_REPLY, &secure)
}

/// The reply JSON inside a secure reply, once its hash has been checked, with its signature
/// (if any) for the client to check.
pub(crate) fn open_reply(bytes: &[u8]) -> Result<Seal, ProtocolError> {
    let secure: SecureReply = from_json(SECURE_REPLY, bytes)?;
    expect_protocol(SECURE_REPLY, &secure.protocol)?;
    if hash_of(&secure.message) != secure.hash {
        return Err(ProtocolError::HashMismatch);
    }
    Ok(Seal {
        signature: from_base64(SECURE_REPLY, &secure.signature)?,
        message: secure.message,
        pubcert: secure.pubcert,
    })
}

/// A registry entry: the inventory's JSON with the node's signature and certificate (empty
/// without a signer), the same shape as a secure request.
pub fn seal_entry(
    inventory_json: String,
    signer: Option<&dyn Signer>,
) -> Result<String, ProtocolError> {
    seal_signed(REGISTRY_ENTRY, inventory_json, signer)
}

/// The inventory JSON inside a registry entry, with its signature for the reader to check.
pub fn open_entry(bytes: &[u8]) -> Result<Seal, ProtocolError> {
    open_signed(REGISTRY_ENTRY, bytes)
}

fn hash_of(message: &str) -> String {
    to_base64(Sha256::digest(message.as_bytes()).as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip_with_empty_signature() {
        let sealed = seal_request(r#"{"a":1}"#.into(), None).unwrap();
        assert!(sealed.contains(r#""signature":"""#));
        assert!(sealed.contains(r#""pubcert":"""#));
        let opened = open_request(sealed.as_bytes()).unwrap();
        assert_eq!(opened.message, r#"{"a":1}"#);
        assert!(!opened.is_signed());
    }

    #[test]
    fn reply_hash_is_base64_sha256_of_the_message() {
        let sealed = seal_reply("hello".into(), None).unwrap();
        // sha256("hello"), base64
        assert!(sealed.contains("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="));
        // An unsigned reply is Choria's shape exactly: no signature fields.
        assert!(!sealed.contains("signature"), "{sealed}");
        assert_eq!(open_reply(sealed.as_bytes()).unwrap().message, "hello");
    }

    #[test]
    fn reply_with_a_wrong_hash_is_rejected() {
        let tampered = r#"{"protocol":"choria:secure:reply:1","message":"hello","hash":"AAAA"}"#;
        assert!(matches!(
            open_reply(tampered.as_bytes()),
            Err(ProtocolError::HashMismatch)
        ));
    }
}
