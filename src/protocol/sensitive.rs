//! Sensitive inputs: how a request says which of its inputs hold secrets, and the one way they
//! are shown where they must not be (the node's audit log, the orchestrator's run report).
//!
//! A Puppet `Sensitive` value is sent revealed (the node needs it), and the request's RPC body
//! names the top-level inputs that held one in `sensitive_inputs`, a key Choria nodes ignore
//! (they read `agent`, `action` and `data` of the body). The body is inside the signed
//! message, so the list cannot be stripped on the way; and a node redacts the inputs its
//! agents declare sensitive besides, so a caller can only ever add to what is hidden.

use serde_json::Value;

/// What a redacted value reads as: Puppet's words for a `Sensitive` value.
pub const REDACTED: &str = "Sensitive [value redacted]";

/// `data` with each input named in `sensitive` replaced by [`REDACTED`]. Inputs that are not
/// a hash of names are kept whole only when nothing is sensitive.
pub fn redact_inputs<'a>(data: &Value, sensitive: impl IntoIterator<Item = &'a str>) -> Value {
    let mut sensitive = sensitive.into_iter().peekable();
    if sensitive.peek().is_none() {
        return data.clone();
    }
    let Value::Object(inputs) = data else {
        return Value::String(REDACTED.to_string());
    };
    let mut redacted = inputs.clone();
    for name in sensitive {
        if let Some(value) = redacted.get_mut(name) {
            *value = Value::String(REDACTED.to_string());
        }
    }
    Value::Object(redacted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_named_inputs_are_redacted() {
        let data = json!({"user": "app", "password": "hunter2", "db": {"token": "t"}});
        let shown = redact_inputs(&data, ["password", "db", "absent"]);
        assert_eq!(
            shown,
            json!({"user": "app", "password": REDACTED, "db": REDACTED})
        );
        assert_eq!(redact_inputs(&data, []), data);
        assert_eq!(redact_inputs(&json!(["x"]), ["x"]), json!(REDACTED));
    }
}
