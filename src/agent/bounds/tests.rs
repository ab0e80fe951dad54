use super::*;
use crate::agent::{Dropped, DroppedKind, Intake, Node};
use crate::protocol::{encode_request, FactFilter};
use serde_json::json;

fn request() -> Request {
    Request::example("rpcutil", "ping", json!({}), Filter::default())
}

fn refusal(request: &Request) -> OutOfBoundsKind {
    check_request_shape(request).unwrap_err().kind()
}

#[test]
fn a_request_as_the_client_sends_it_is_in_shape() {
    assert_eq!(check_request_shape(&request()), Ok(()));
}

/// The 5 KB reply subject of the flood: refused at intake, so the node has nothing to publish
/// (the broker would refuse the line and drop the connection).
#[tokio::test]
async fn a_long_reply_subject_is_refused_and_nothing_is_published() {
    let mut long = request();
    long.reply_to = format!("mcollective.reply.{}.{}", "x".repeat(5000), long.id);
    assert_eq!(refusal(&long), OutOfBoundsKind::ReplySubject);
    let node = Node::new("n1.example.net", "mcollective", Default::default(), vec![]);
    let payload = encode_request(&long).unwrap();
    let handled = node.handle(&Intake::new("mcollective"), &payload).await;
    let dropped = handled.expect_err("no reply is made, so nothing is published");
    assert_eq!(dropped.kind(), DroppedKind::OutOfBounds);
    assert!(dropped.to_string().len() < 400, "{dropped}");
}

#[test]
fn the_reply_subject_must_be_the_one_the_envelope_derives() {
    let mut redirected = request();
    redirected.reply_to = format!("mcollective.reply.attacker.{}", redirected.id);
    assert_eq!(refusal(&redirected), OutOfBoundsKind::ReplySubject);
    let mut other_collective = request();
    other_collective.reply_to = format!("other.reply.orch.{}", other_collective.id);
    assert_eq!(refusal(&other_collective), OutOfBoundsKind::ReplySubject);
}

#[test]
fn request_ids_are_32_lower_case_hex() {
    for bad in [
        "",
        "1",
        "0123456789ABCDEF0123456789ABCDEF",
        &"a".repeat(33),
        "0123456789abcdef0123456789abcdeg",
    ] {
        let mut wrong = request();
        wrong.id = bad.to_string();
        wrong.reply_to = reply_subject("mcollective", "orch", bad);
        assert_eq!(refusal(&wrong), OutOfBoundsKind::RequestId, "{bad}");
    }
}

#[test]
fn callers_are_choria_and_a_certificate_name() {
    for bad in [
        "choria=rip\nWARN forged line",
        "rip.mcollective",
        "choria=",
        "choria=bob.mcollective,x",
        "choria=a b",
        &format!("choria={}", "a".repeat(254)),
    ] {
        let mut wrong = request();
        wrong.caller = bad.to_string();
        assert_eq!(refusal(&wrong), OutOfBoundsKind::Caller, "{bad:?}");
    }
    let mut good = request();
    good.caller = "choria=Rip_1.example-net.mcollective".into();
    assert_eq!(check_request_shape(&good), Ok(()));
}

#[test]
fn names_are_bounded_certificate_names() {
    let mut sender = request();
    sender.sender = "a".repeat(254);
    sender.reply_to = reply_subject("mcollective", &sender.sender, &sender.id);
    assert_eq!(refusal(&sender), OutOfBoundsKind::Name);
    for (agent, action) in [
        ("rpc util", "ping"),
        ("rpcutil", "pi*ng"),
        ("rpcutil", ""),
        (&*"a".repeat(65), "ping"),
    ] {
        let mut wrong = request();
        wrong.agent = agent.to_string();
        wrong.action = action.to_string();
        assert_eq!(refusal(&wrong), OutOfBoundsKind::Name, "{agent} {action}");
    }
}

#[test]
fn filters_and_data_are_bounded() {
    let mut many = request();
    many.filter.identity = vec!["n".to_string(); MAX_FILTER_ENTRIES + 1];
    assert_eq!(refusal(&many), OutOfBoundsKind::Filter);
    let mut long = request();
    long.filter.cf_class = vec!["c".repeat(MAX_FILTER_ENTRY + 1)];
    assert_eq!(refusal(&long), OutOfBoundsKind::Filter);
    let mut regexes = request();
    regexes.filter.identity = vec!["/^n/".to_string(); MAX_FILTER_REGEXES + 1];
    assert_eq!(refusal(&regexes), OutOfBoundsKind::Filter);
    let mut operator = request();
    operator.filter.fact = vec![FactFilter {
        fact: "a".into(),
        operator: "<>".into(),
        value: "b".into(),
    }];
    assert_eq!(refusal(&operator), OutOfBoundsKind::Filter);
    let mut data = request();
    data.data = json!({ "blob": "x".repeat(MAX_DATA) });
    assert_eq!(refusal(&data), OutOfBoundsKind::DataTooLarge);
}

#[test]
fn an_oversized_message_is_refused_before_decoding() {
    let huge = vec![b'{'; MAX_MESSAGE + 1];
    let refused = Intake::new("mcollective").admit(&huge).unwrap_err();
    assert!(matches!(
        refused,
        Dropped::OutOfBounds(OutOfBounds::MessageTooLarge { .. })
    ));
}

/// The costly regexes of the flood drop the request at intake, fast.
#[test]
fn costly_filter_regexes_drop_the_request() {
    let intake = Intake::new("mcollective");
    for filter in [
        Filter {
            identity: vec![r"/(?i)\w{1000}/".into()],
            ..Filter::default()
        },
        Filter {
            fact: vec![FactFilter::parse("motd=~/(a{100}){100}/").unwrap()],
            ..Filter::default()
        },
    ] {
        let costly = Request::example("rpcutil", "ping", json!({}), filter);
        let payload = encode_request(&costly).unwrap();
        let started = std::time::Instant::now();
        let refused = intake.admit(&payload).unwrap_err();
        assert_eq!(refused.kind(), DroppedKind::FilterRefused, "{refused}");
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
    }
}

#[test]
fn excerpts_escape_and_cut() {
    let shown = Excerpt::of(&format!("a\nb{}", "c".repeat(100))).to_string();
    assert!(!shown.contains('\n'), "{shown}");
    assert!(shown.starts_with(r#""a\nb"#), "{shown}");
    assert!(shown.ends_with("... (103 bytes)"), "{shown}");
}

/// A compound filter's regexes count with the other lists'; the deepest or longest ones a
/// sender can write are refused at intake without stalling the node.
#[test]
fn compound_filters_are_bounded() {
    let mut regexes = request();
    regexes.filter.identity = vec!["/^n/".to_string(); MAX_FILTER_REGEXES - 1];
    regexes.filter.compound = vec!["/a/ or os=~/b/".into()];
    assert_eq!(refusal(&regexes), OutOfBoundsKind::Filter);
    regexes.filter.compound = vec!["/a/ or os=b".into()];
    assert_eq!(check_request_shape(&regexes), Ok(()));

    let intake = Intake::new("mcollective");
    let nested = |levels: usize| format!("{}a{}", "(".repeat(levels), ")".repeat(levels));
    let long = nested(10_000);
    for (text, kind) in [
        (long.as_str(), DroppedKind::OutOfBounds),
        (&nested(400), DroppedKind::FilterRefused),
        ("a and", DroppedKind::FilterRefused),
        ("fact('os') == 'x'", DroppedKind::FilterRefused),
    ] {
        let mut bad = request();
        bad.filter.compound = vec![text.to_string()];
        let payload = encode_request(&bad).unwrap();
        let started = std::time::Instant::now();
        let refused = intake.admit(&payload).unwrap_err();
        assert_eq!(refused.kind(), kind, "{refused}");
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
    }
}
