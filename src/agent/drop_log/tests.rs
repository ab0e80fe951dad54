use super::*;
use crate::agent::{Intake, Node};
use crate::protocol::{encode_request, Filter, Request};
use std::io::Write;
use std::sync::Arc;

#[test]
fn the_first_lines_of_an_interval_pass_then_one_summary() {
    let limiter = DropLimiter::new(3, Duration::from_secs(10));
    let start = Instant::now();
    let logged = (0..100).filter(|_| limiter.record(start).log).count();
    assert_eq!(logged, 3);
    assert_eq!(
        limiter.flush(start + Duration::from_secs(5)),
        None,
        "not over yet"
    );
    let next = limiter.record(start + Duration::from_secs(11));
    assert_eq!(
        next,
        Verdict {
            summary: Some(Summary {
                held_back: 97,
                over: Duration::from_secs(11)
            }),
            log: true
        }
    );
    assert_eq!(
        limiter.flush(start + Duration::from_secs(30)),
        None,
        "nothing held back"
    );
}

#[test]
fn escaped_text_has_no_control_characters() {
    let shown = Escaped("one\ntwo\r\u{1b}[31m").to_string();
    assert_eq!(shown, r"one\ntwo\r\u{1b}[31m");
    let long = Escaped(&"x".repeat(1000)).to_string();
    assert!(long.len() < 500 && long.ends_with("(1000 bytes)"), "{long}");
}

/// A writer the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A callerid with a newline, as the attacker sent it: the node's log gets one line, the
/// newline escaped in it.
#[tokio::test]
async fn a_newline_in_a_callerid_does_not_forge_a_log_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let mut forged = Request::example("rpcutil", "ping", serde_json::json!({}), Filter::default());
    forged.caller = "choria=rip\n2026-12-01T00:00:00Z  INFO answered caller=choria=root".into();
    let payload = encode_request(&forged).unwrap();
    let node = Node::new("n1.example.net", "mcollective", Default::default(), vec![]);
    let dropped = node
        .handle(&Intake::new("mcollective"), &payload)
        .await
        .unwrap_err();
    tracing::subscriber::with_default(
        subscriber,
        || tracing::warn!(reason = %Escaped(&dropped), "dropping a message"),
    );
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(r"choria=rip\n2026"), "{text}");
}
