//! Fuzzing the node's one gate over the whole message: raw bytes, and messages well formed at
//! every layer but the one proptest varies, with random fields at every layer (any text,
//! control characters and long strings included). Whatever arrives, the intake answers with a
//! reply or a [`Dropped`](super::Dropped), and never panics.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::{Intake, Node};
use crate::protocol::unix_now;

/// Any text: mostly short, some long, with the characters that break subjects and logs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[a-z0-9.=_-]{0,40}",
        "[\n\r\t *>\u{1b}a]{0,20}",
        (0usize..6000).prop_map(|len| "x".repeat(len)),
    ]
}

/// A protocol name: usually the right one.
fn protocol(right: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![12 => Just(right.to_string()), 1 => text()]
}

fn list() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => Just(json!([])),
        1 => Just(Value::Null),
        1 => proptest::collection::vec(text(), 0..4).prop_map(|items| json!(items)),
        1 => proptest::collection::vec(
            prop_oneof![
                Just("/(?i)\\w{1000}/".to_string()),
                Just("/(a{100}){100}/".to_string()),
                Just("/(/".to_string()),
                text().prop_map(|t| format!("/{t}/")),
            ],
            0..3
        )
        .prop_map(|items| json!(items)),
    ]
}

fn fact() -> impl Strategy<Value = Value> {
    (
        text(),
        prop_oneof![Just("=~".to_string()), Just("==".to_string()), text()],
        text(),
    )
        .prop_map(
            |(fact, operator, value)| json!({"fact": fact, "operator": operator, "value": value}),
        )
}

fn filter() -> impl Strategy<Value = Value> {
    (
        list(),
        list(),
        list(),
        list(),
        proptest::collection::vec(fact(), 0..3),
    )
        .prop_map(|(identity, cf_class, agent, compound, fact)| {
            json!({"identity": identity, "cf_class": cf_class, "agent": agent,
                   "compound": compound, "fact": fact})
        })
}

/// A 32-hex id most of the time, anything otherwise.
fn request_id() -> impl Strategy<Value = String> {
    prop_oneof![6 => "[0-9a-f]{32}", 1 => text()]
}

prop_compose! {
    fn envelope()(id in request_id(), sender in prop_oneof![3 => Just("orch".to_string()), 1 => text()],
                  caller in prop_oneof![3 => Just("choria=rip.mcollective".to_string()), 1 => text()],
                  collective in prop_oneof![6 => Just("mcollective".to_string()), 1 => text()],
                  agent in prop_oneof![3 => Just("rpcutil".to_string()), 1 => text()],
                  ttl in prop_oneof![8 => Just(json!(60)), 1 => any::<i64>().prop_map(|n| json!(n)), 1 => text().prop_map(|t| json!(t))],
                  skew in -100i64..100, filter in filter()) -> Value {
        json!({"requestid": id, "senderid": sender, "callerid": caller, "collective": collective,
               "agent": agent, "ttl": ttl, "time": (unix_now() as i64 + skew).max(0),
               "filter": filter})
    }
}

prop_compose! {
    /// transport( secure( request( body ) ) ), each layer's fields drawn at random.
    fn message()(envelope in envelope(),
                 action in prop_oneof![3 => Just("ping".to_string()), 1 => text()],
                 data in prop_oneof![Just(json!({})), text().prop_map(|t| json!({"t": t}))],
                 body_agent in prop_oneof![8 => Just(None), 1 => text().prop_map(Some)],
                 request_protocol in protocol("choria:request:1"),
                 secure_protocol in protocol("choria:secure:request:1"),
                 transport_protocol in protocol("choria:transport:1"),
                 derived_reply in proptest::bool::weighted(0.8), reply in text(),
                 body_garbage in proptest::bool::weighted(0.1))
                 -> Vec<u8> {
        let agent = body_agent.unwrap_or_else(|| envelope["agent"].as_str().unwrap_or("").to_string());
        let body = json!({"agent": agent, "action": action, "data": data}).to_string();
        let body = if body_garbage { STANDARD.encode("{not json") } else { STANDARD.encode(body) };
        let reply_to = if derived_reply {
            format!("{}.reply.{}.{}", envelope["collective"].as_str().unwrap_or(""),
                    envelope["senderid"].as_str().unwrap_or(""), envelope["requestid"].as_str().unwrap_or(""))
        } else {
            reply
        };
        let request = json!({"protocol": request_protocol, "message": body, "envelope": envelope});
        let secure = json!({"protocol": secure_protocol, "message": request.to_string(),
                            "signature": "", "pubcert": ""});
        json!({"protocol": transport_protocol, "data": STANDARD.encode(secure.to_string()),
               "headers": {"reply-to": reply_to, "mc_sender": "orch"}})
            .to_string()
            .into_bytes()
    }
}

/// The whole gate, for one node whose facts hold a long value for the regexes to run on.
fn through_the_gate(payload: &[u8]) {
    let facts = json!({"cluster": "alfa", "motd": "a".repeat(50_000)});
    let node = Node::new(
        "n1.example.net",
        "mcollective",
        facts.as_object().unwrap().clone(),
        vec!["role::web".into()],
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _ = runtime.block_on(node.handle(&Intake::new("mcollective"), payload));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn raw_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        through_the_gate(&bytes);
    }

    #[test]
    fn structured_messages_never_panic(payload in message()) {
        through_the_gate(&payload);
    }
}
