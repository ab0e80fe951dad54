//! What differs from one run to the next, replaced by a placeholder so whole outputs can be
//! compared and kept as snapshots.

use std::sync::OnceLock;

use regex::Regex;

/// The output with every varying part replaced, rule by rule in the order of `rules`.
pub fn normalise(text: &str) -> String {
    rules()
        .iter()
        .fold(text.to_string(), |text, (pattern, with)| {
            pattern.replace_all(&text, *with).into_owned()
        })
}

/// The rules, compiled once per test binary.
fn rules() -> &'static [(Regex, &'static str)] {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RULES.get_or_init(|| {
        let temp_dir = regex::escape(&std::env::temp_dir().display().to_string());
        [
            // Scratch folders of `tempfile` (first: a name like `.tmpab12s` holds a "time").
            (format!(r"{temp_dir}/\.tmp[[:alnum:]]{{6}}"), "<tmp>"),
            // Local time stamps of the site run's lines, `2025-01-31 12:00:00`.
            (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d".to_string(), "<time>"),
            // Durations in words, `in 0.52 seconds`.
            (r"\d+(\.\d+)? seconds".to_string(), "<t> seconds"),
            // Durations, `0.50s` and `(0.04s)`.
            (r"\d+(\.\d+)?s\b".to_string(), "<t>"),
            // The free port each test's nats-server got.
            (
                r"nats://127\.0\.0\.1:\d+".to_string(),
                "nats://127.0.0.1:<port>",
            ),
            // rpcutil ping's answer: the node's clock.
            (r#""pong":\d+"#.to_string(), r#""pong":<time>"#),
        ]
        .into_iter()
        .map(|(pattern, with)| (Regex::new(&pattern).expect("a valid rule"), with))
        .collect()
    })
}
