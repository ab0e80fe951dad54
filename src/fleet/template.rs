//! Reply data templates: a string `"{{revision}}"` in a reply's data becomes the request's
//! `revision` input, keeping its type; inside a longer string (`"at {{revision}}"`) it is
//! written as text. An input the request lacks becomes null, or nothing inside a string.

use serde_json::Value;

/// `data` with every `{{input}}` replaced from the request's `inputs`.
pub fn render(data: &Value, inputs: &Value) -> Value {
    match data {
        Value::String(text) => render_string(text, inputs),
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| render(item, inputs)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), render(value, inputs)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn render_string(text: &str, inputs: &Value) -> Value {
    if let Some(name) = whole_placeholder(text) {
        return inputs.get(name).cloned().unwrap_or(Value::Null);
    }
    let mut rendered = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(length) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + 2 + length].trim();
        rendered.push_str(&rest[..start]);
        rendered.push_str(&input_text(inputs.get(name)));
        rest = &rest[start + 2 + length + 2..];
    }
    rendered.push_str(rest);
    Value::String(rendered)
}

/// The input name when the whole string is one placeholder.
fn whole_placeholder(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim())
}

fn input_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_whole_placeholder_keeps_the_input_type() {
        let inputs = json!({"revision": 20, "name": "app"});
        assert_eq!(render(&json!("{{revision}}"), &inputs), json!(20));
        assert_eq!(render(&json!("{{ name }}"), &inputs), json!("app"));
        assert_eq!(render(&json!("{{missing}}"), &inputs), Value::Null);
    }

    #[test]
    fn placeholders_inside_text_and_nested_values() {
        let inputs = json!({"revision": 20, "command": "check_load"});
        let data = json!({"msg": "upgraded to {{revision}} by {{who}}", "list": ["{{command}}", 1], "n": true});
        assert_eq!(
            render(&data, &inputs),
            json!({"msg": "upgraded to 20 by ", "list": ["check_load", 1], "n": true})
        );
        assert_eq!(render(&json!("a {{b"), &inputs), json!("a {{b"));
        assert_eq!(
            render(&json!("{{a}} and {{b}}"), &json!({"a": 1, "b": 2})),
            json!("1 and 2")
        );
    }
}
