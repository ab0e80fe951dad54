//! The shell: core Puppet's `shellquote`, and `generate`, which runs a command on the host
//! that runs the playbook.

use super::super::value::Value;
use super::{bad, FunctionError};

/// Characters a word may hold and stay unquoted.
fn is_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "@%_+=:,./-".contains(c)
}

/// Characters that keep their meaning inside double quotes.
fn is_dangerous(c: char) -> bool {
    "!\"`$\\".contains(c)
}

/// `shellquote(words...)`: each word as it is when it is safe, else in double quotes, else in
/// single quotes, else in double quotes with the dangerous characters escaped.
pub(super) fn shellquote(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let mut words = Vec::new();
    flatten_words(args, &mut words)?;
    let quoted: Vec<String> = words.iter().map(|w| quote_word(w)).collect();
    Ok(Value::String(quoted.join(" ")))
}

fn flatten_words(args: &[Value], words: &mut Vec<String>) -> Result<(), FunctionError> {
    for arg in args {
        match arg {
            Value::Array(items) => flatten_words(items, words)?,
            Value::String(word) => words.push(word.clone()),
            // A Puppet 3 function gets undef as the empty string.
            Value::Undef => words.push(String::new()),
            other => {
                return Err(bad(format!(
                    "undefined method `length' for {other}:{}",
                    other.type_name()
                )))
            }
        }
    }
    Ok(())
}

fn quote_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(is_safe) {
        word.to_string()
    } else if !word.chars().any(is_dangerous) {
        format!("\"{word}\"")
    } else if !word.contains('\'') {
        format!("'{word}'")
    } else {
        let mut out = String::from("\"");
        for c in word.chars() {
            if is_dangerous(c) {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }
}
