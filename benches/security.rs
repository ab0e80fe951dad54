//! What signing costs, per key kind: a signature (what a node pays per reply, a client per
//! request), its verification (what a client pays per reply, a node per request), and the
//! check of a certificate's chain, paid once per certificate (it is remembered after).
//! RSA-2048 is Puppet's CA's kind (its key made by the real `openssl`); ECDSA P-256 and
//! Ed25519 are what the ephemeral CA of the simulated fleet can issue.

use criterion::{criterion_group, criterion_main, Criterion};
use orchestrate::protocol::{
    decode_sealed_reply, encode_signed_reply, unix_now, Reply, RpcReplyBody, Signer,
};
use orchestrate::security::{Authority, Credentials, KeyKind, Trust, Usage};

#[path = "../tests/support/openssl.rs"]
mod openssl;

/// A reply as a node sends it: a ping's answer, about 300 bytes of JSON.
fn reply() -> Reply {
    let body = RpcReplyBody::ok(serde_json::json!({"pong": 1_795_308_284u64}));
    Reply::rpc(
        "0123456789abcdef0123456789abcdef",
        "node00001.example.net",
        "rpcutil",
        unix_now(),
        &body,
    )
    .unwrap()
}

fn credentials(ca: &Authority, kind: KeyKind) -> Credentials {
    let name = "node00001.example.net";
    match kind {
        KeyKind::Rsa => {
            let key = rcgen::KeyPair::from_pem(&openssl::rsa_pkcs8()).unwrap();
            ca.issue_for_key(name, key, |_| {})
                .unwrap()
                .credentials()
                .unwrap()
        }
        _ => ca.credentials(name).unwrap(),
    }
}

fn signatures(c: &mut Criterion) {
    let mut group = c.benchmark_group("security");
    for kind in [KeyKind::Rsa, KeyKind::EcdsaP256, KeyKind::Ed25519] {
        // The CA's own key is of the fast kind; RSA leaves are signed by an Ed25519 CA.
        let ca_kind = match kind {
            KeyKind::Rsa => KeyKind::Ed25519,
            other => other,
        };
        let ca = Authority::new("bench CA", ca_kind).unwrap();
        let node = credentials(&ca, kind);
        let label = kind.name().replace(' ', "_");
        let reply = reply();
        group.bench_function(format!("sign_reply/{label}"), |b| {
            b.iter(|| encode_signed_reply(&reply, Some(&node as &dyn Signer)).unwrap())
        });
        let wire = encode_signed_reply(&reply, Some(&node as &dyn Signer)).unwrap();
        let (decoded, seal) = decode_sealed_reply(&wire).unwrap();
        let trust = Trust::from_pem(&ca.ca_pem()).unwrap();
        let checked = trust.check(&seal.pubcert, Usage::Node, unix_now()).unwrap();
        group.bench_function(format!("verify_reply/{label}"), |b| {
            b.iter(|| {
                let (_, seal) = decode_sealed_reply(&wire).unwrap();
                let signer = trust.check(&seal.pubcert, Usage::Node, unix_now()).unwrap();
                signer
                    .verify(seal.message.as_bytes(), &seal.signature)
                    .unwrap();
                assert!(signer.is_named(&decoded.sender));
            })
        });
        group.bench_function(format!("verify_signature_only/{label}"), |b| {
            b.iter(|| {
                checked
                    .verify(seal.message.as_bytes(), &seal.signature)
                    .unwrap()
            })
        });
        group.bench_function(format!("check_chain_first_time/{label}"), |b| {
            b.iter(|| {
                let fresh = Trust::from_pem(&ca.ca_pem()).unwrap();
                fresh.check(&seal.pubcert, Usage::Node, unix_now()).unwrap()
            })
        });
    }
    group.bench_function("issue_node_certificate/Ed25519", |b| {
        let ca = Authority::new("bench CA", KeyKind::Ed25519).unwrap();
        b.iter(|| ca.credentials("node00001.example.net").unwrap())
    });
    group.bench_function("issue_node_certificate/ECDSA_P-256", |b| {
        let ca = Authority::new("bench CA", KeyKind::EcdsaP256).unwrap();
        b.iter(|| ca.credentials("node00001.example.net").unwrap())
    });
    group.finish();
}

criterion_group!(benches, signatures);
criterion_main!(benches);
