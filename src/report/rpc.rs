//! What an `orchestrate rpc` request tells its user: one line per node (its statuscode, its
//! message and its data; `-` and "no response" for a node that did not answer), then a summary
//! with the times; or all of it as one JSON document.

use std::time::Duration;

use serde_json::json;

use crate::rpc::CallResult;

/// What one request found, with its times.
pub struct Outcome {
    pub result: CallResult,
    /// How many nodes discovery found (None: the nodes were named).
    pub discovered: Option<usize>,
    /// How long discovery took.
    pub discovery: Option<Duration>,
    /// From the start to the last reply taken.
    pub total: Duration,
}

pub fn print_lines(outcome: &Outcome) {
    let result = &outcome.result;
    let width = result
        .replies
        .iter()
        .map(|reply| reply.identity.len())
        .chain(result.missing.iter().map(String::len))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for reply in &result.replies {
        out.push_str(&format!(
            "{:<width$}  {}  {}  {}\n",
            reply.identity, reply.statuscode, reply.statusmsg, reply.data
        ));
    }
    for node in &result.missing {
        out.push_str(&format!("{node:<width$}  -  no response\n"));
    }
    for reply in &result.unexpected {
        out.push_str(&format!(
            "{:<width$}  {}  {}  {}  (answered, but discovery had not found it)\n",
            reply.identity, reply.statuscode, reply.statusmsg, reply.data
        ));
    }
    print!("{out}");
    println!("{}", summary(outcome));
}

/// `N replies, M ok, K failed, J no response in T s (discovery D s, last reply at L s)`.
fn summary(outcome: &Outcome) -> String {
    let result = &outcome.result;
    let failed = result.failed().count();
    let mut times = Vec::new();
    if let Some(discovery) = outcome.discovery {
        times.push(format!("discovery {:.2}s", discovery.as_secs_f64()));
    }
    if let Some(last) = result.last_reply {
        times.push(format!(
            "last reply {:.2}s after the request",
            last.as_secs_f64()
        ));
    }
    format!(
        "{} repl{}, {} ok, {failed} failed, {} no response in {:.2}s{}",
        result.replies.len(),
        if result.replies.len() == 1 {
            "y"
        } else {
            "ies"
        },
        result.replies.len() - failed,
        result.missing.len(),
        outcome.total.as_secs_f64(),
        if times.is_empty() {
            String::new()
        } else {
            format!(" ({})", times.join(", "))
        }
    )
}

pub fn print_json(agent: &str, action: &str, outcome: &Outcome) {
    let result = &outcome.result;
    let failed = result.failed().count();
    let document = json!({
        "agent": agent,
        "action": action,
        "replies": result.replies,
        "missing": result.missing,
        "unexpected": result.unexpected,
        "summary": {
            "replies": result.replies.len(),
            "ok": result.replies.len() - failed,
            "failed": failed,
            "no_response": result.missing.len(),
            "discovered": outcome.discovered,
            "seconds": outcome.total.as_secs_f64(),
            "discovery_seconds": outcome.discovery.map(|d| d.as_secs_f64()),
            "last_reply_seconds": result.last_reply.map(|d| d.as_secs_f64()),
        },
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&document).unwrap_or_default()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::NodeReply;

    #[test]
    fn the_summary_counts_replies_failures_and_silence_with_the_times() {
        let reply = |identity: &str, statuscode| NodeReply {
            identity: identity.into(),
            statuscode,
            statusmsg: "OK".into(),
            data: json!({}),
        };
        let outcome = Outcome {
            result: CallResult {
                replies: vec![reply("web1", 0), reply("web2", 1)],
                missing: vec!["web3".into()],
                last_reply: Some(Duration::from_millis(250)),
                unexpected: vec![],
            },
            discovered: Some(3),
            discovery: Some(Duration::from_millis(100)),
            total: Duration::from_millis(1500),
        };
        assert_eq!(
            summary(&outcome),
            "2 replies, 1 ok, 1 failed, 1 no response in 1.50s (discovery 0.10s, last reply 0.25s after the request)"
        );
    }
}
