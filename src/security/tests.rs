//! The checks of signed requests and replies, each refusal on its own, with certificates made
//! here (rcgen; RSA keys by the real `openssl`).

use std::sync::Arc;

use serde_json::json;

use crate::openssl;

use super::*;
use crate::protocol::{
    decode_sealed_reply, decode_sealed_request, encode_signed_reply, encode_signed_request,
    reply_subject, unix_now, Filter, Reply, Request, RpcReplyBody, Seal,
};

fn authority(kind: KeyKind) -> Authority {
    Authority::new("Test CA", kind).unwrap()
}

fn section() -> SecuritySection {
    SecuritySection::default()
}

fn request(caller: &str, ttl: u64) -> Request {
    let id = crate::protocol::new_request_id();
    Request {
        reply_to: reply_subject("mcollective", "orch", &id),
        id,
        sender: "orch".into(),
        caller: caller.into(),
        collective: "mcollective".into(),
        agent: "rpcutil".into(),
        action: "ping".into(),
        data: json!({}),
        ttl,
        time: unix_now(),
        filter: Filter::default(),
        sensitive_inputs: Vec::new(),
    }
}

/// The request as a node reads it off the wire, signed by `signer`.
fn signed(request: &Request, signer: Option<&Credentials>) -> (Request, Seal) {
    let signer = signer.map(|credentials| credentials as &dyn crate::protocol::Signer);
    let wire = encode_signed_request(request, signer).unwrap();
    decode_sealed_request(&wire).unwrap()
}

fn verifier(ca: &Authority) -> RequestVerifier {
    RequestVerifier::new(Arc::new(ca.trust().unwrap()), &section()).unwrap()
}

#[test]
fn a_signed_request_passes_for_each_fast_kind() {
    for kind in [KeyKind::EcdsaP256, KeyKind::Ed25519] {
        let ca = authority(kind);
        let rip = ca.credentials("rip.mcollective").unwrap();
        let (request, seal) = signed(&request("choria=rip.mcollective", 60), Some(&rip));
        verifier(&ca).verify(&request, &seal, unix_now()).unwrap();
    }
}

/// Puppet's CA issues RSA keys; rcgen cannot make them with ring, openssl can.
#[test]
fn a_signed_request_passes_with_an_rsa_key() {
    let ca = authority(KeyKind::Ed25519);
    let rsa = openssl::rsa_pkcs8();
    let issued = ca
        .issue_for_key(
            "rip.mcollective",
            rcgen::KeyPair::from_pem(&rsa).unwrap(),
            |_| {},
        )
        .unwrap();
    let rip = issued.credentials().unwrap();
    assert_eq!(rip.key_kind(), KeyKind::Rsa);
    let (request, seal) = signed(&request("choria=rip.mcollective", 60), Some(&rip));
    assert_eq!(seal.signature.len(), 256, "RSA-2048");
    verifier(&ca).verify(&request, &seal, unix_now()).unwrap();
}

#[test]
fn every_forgery_is_refused() {
    let ca = authority(KeyKind::Ed25519);
    let other_ca = authority(KeyKind::Ed25519);
    let rip = ca.credentials("rip.mcollective").unwrap();
    let now = unix_now();
    let expired = ca
        .issue_with("rip.mcollective", |params| {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        })
        .unwrap()
        .credentials()
        .unwrap();
    let server_only = ca
        .issue_with("rip.mcollective", |params| {
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        })
        .unwrap()
        .credentials()
        .unwrap();
    let stranger = other_ca.credentials("rip.mcollective").unwrap();
    let web = ca.credentials("web1.example.net").unwrap();
    let verifier = verifier(&ca);
    let refused =
        |request: &Request, seal: &Seal| verifier.verify(request, seal, now).unwrap_err().kind();

    let (r, s) = signed(&request("choria=rip.mcollective", 60), None);
    assert_eq!(refused(&r, &s), RefusalKind::Unsigned);
    for wrong in [&stranger, &expired, &server_only] {
        let (r, s) = signed(&request("choria=rip.mcollective", 60), Some(wrong));
        assert_eq!(refused(&r, &s), RefusalKind::Certificate);
    }
    for caller in [
        "choria=bob.mcollective",
        "choria=rip.mcollective,x",
        "choria=rip.mcollectiv",
        "rip.mcollective",
    ] {
        let (r, s) = signed(&request(caller, 60), Some(&rip));
        assert_eq!(refused(&r, &s), RefusalKind::Caller, "{caller}");
    }
    let (r, s) = signed(&request("choria=web1.example.net", 60), Some(&web));
    assert_eq!(
        refused(&r, &s),
        RefusalKind::Caller,
        "not an allowed caller"
    );
    let (r, s) = signed(&request("choria=rip.mcollective", 301), Some(&rip));
    assert_eq!(refused(&r, &s), RefusalKind::Ttl);

    let (r, mut s) = signed(&request("choria=rip.mcollective", 60), Some(&rip));
    s.message = s.message.replace("\"ttl\":60", "\"ttl\":61");
    assert_eq!(refused(&r, &s), RefusalKind::BadSignature, "tampered body");

    let (r, s) = signed(&request("choria=rip.mcollective", 60), Some(&rip));
    verifier.verify(&r, &s, now).unwrap();
    verifier.first_time(&r, "web1", now).unwrap();
    verifier.first_time(&r, "web2", now).unwrap();
    let replayed = verifier.first_time(&r, "web1", now).unwrap_err();
    assert_eq!(replayed.kind(), RefusalKind::Replay);
}

#[test]
fn a_privileged_certificate_signs_for_others() {
    let ca = authority(KeyKind::EcdsaP256);
    let aaa = ca.credentials("aaa.privileged.choria").unwrap();
    let (r, s) = signed(&request("choria=bob.mcollective", 60), Some(&aaa));
    verifier(&ca).verify(&r, &s, unix_now()).unwrap();
}

fn reply_from(sender: &str, signer: Option<&Credentials>) -> (Reply, Seal) {
    let reply = Reply::rpc(
        "0123",
        sender,
        "rpcutil",
        unix_now(),
        &RpcReplyBody::ok(json!({})),
    )
    .unwrap();
    let signer = signer.map(|credentials| credentials as &dyn crate::protocol::Signer);
    decode_sealed_reply(&encode_signed_reply(&reply, signer).unwrap()).unwrap()
}

#[test]
fn replies_are_taken_only_from_their_signer() {
    let ca = authority(KeyKind::Ed25519);
    let trust = Arc::new(ca.trust().unwrap());
    let web1 = ca.credentials("web1.example.net").unwrap();
    let web2 = ca.credentials("web2.example.net").unwrap();
    let strict = ReplyVerifier::new(trust.clone(), false);
    let now = unix_now();
    let (reply, seal) = reply_from("web1.example.net", Some(&web1));
    strict.verify(&reply, &seal, now).unwrap();
    let (forged, seal) = reply_from("web1.example.net", Some(&web2));
    assert_eq!(
        strict.verify(&forged, &seal, now).unwrap_err().kind(),
        RefusalKind::Signer
    );
    let (unsigned, seal) = reply_from("web1.example.net", None);
    assert_eq!(
        strict.verify(&unsigned, &seal, now).unwrap_err().kind(),
        RefusalKind::Unsigned
    );
    ReplyVerifier::new(trust, true)
        .verify(&unsigned, &seal, now)
        .unwrap();
    let stranger = authority(KeyKind::Ed25519)
        .credentials("web1.example.net")
        .unwrap();
    let (foreign, seal) = reply_from("web1.example.net", Some(&stranger));
    assert_eq!(
        strict.verify(&foreign, &seal, now).unwrap_err().kind(),
        RefusalKind::Certificate
    );
}

#[test]
fn credentials_from_files_name_what_is_wrong() {
    let ca = authority(KeyKind::Ed25519);
    let dir = tempfile::tempdir().unwrap();
    let issued = ca.issue("rip.mcollective").unwrap();
    let files = issued
        .write_ssldir(dir.path(), "rip.mcollective", &ca.ca_pem())
        .unwrap();
    let credentials = Credentials::load(&files).unwrap();
    assert_eq!(credentials.name(), "rip.mcollective");
    Trust::load(&files.ca).unwrap();
    let other = ca.issue("bob.mcollective").unwrap();
    std::fs::write(&files.key, other.key).unwrap();
    let mismatch = Credentials::load(&files).err().unwrap();
    assert!(
        mismatch.to_string().contains("is not the key of"),
        "{mismatch}"
    );
    std::fs::remove_file(&files.cert).unwrap();
    let missing = Credentials::load(&files).err().unwrap();
    assert_eq!(missing.kind(), CertErrorKind::File);
    assert!(
        missing.to_string().contains("rip.mcollective.pem"),
        "{missing}"
    );
}

/// A signature checked once is remembered for the same bytes only: the same message and
/// signature sent with another certificate of the CA is checked afresh, and refused.
#[test]
fn a_remembered_signature_does_not_vouch_for_another_certificate() {
    let ca = authority(KeyKind::Ed25519);
    let rip = ca.credentials("rip.mcollective").unwrap();
    let aaa = ca.credentials("aaa.privileged.choria").unwrap();
    let verifier = verifier(&ca);
    let now = unix_now();
    let (request, seal) = signed(&request("choria=rip.mcollective", 60), Some(&rip));
    verifier.verify(&request, &seal, now).unwrap();
    verifier.verify(&request, &seal, now).unwrap();
    let borrowed = Seal {
        pubcert: aaa.pubcert().to_string(),
        ..seal
    };
    let refused = verifier.verify(&request, &borrowed, now).unwrap_err();
    assert_eq!(refused.kind(), RefusalKind::BadSignature);
}
