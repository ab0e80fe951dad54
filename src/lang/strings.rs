//! Puppet's string rules: escapes, interpolation names, heredoc margins and flags.

use super::ast::{Expr, ExprKind, StringPart};
use super::prescan::HeredocInfo;

/// In single quotes only `\\` and `\'` are escapes; any other backslash stays.
pub fn unescape_single(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(n @ ('\\' | '\'')) => out.push(n),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// One escape of a double-quoted string, such as `\n`, `\u{1F600}` or `\$`. Puppet keeps an
/// unknown escape as written; a `\u` escape that names no character is `None`.
pub fn dq_escape(escape: &str) -> Option<String> {
    let rest = &escape[1..];
    Some(match rest {
        "n" => "\n".into(),
        "t" => "\t".into(),
        "r" => "\r".into(),
        "s" => " ".into(),
        "$" | "\"" | "'" | "\\" => rest.into(),
        _ if rest.starts_with('u') && rest.len() > 1 => unicode(rest)?,
        _ => escape.into(),
    })
}

fn unicode(rest: &str) -> Option<String> {
    let hex = rest[1..].trim_start_matches('{').trim_end_matches('}');
    char::from_u32(u32::from_str_radix(hex, 16).ok()?).map(String::from)
}

/// One escape in a heredoc: only the escapes its flags enable are escapes; `\\` is one as soon
/// as any flag is given.
pub fn heredoc_escape(escape: &str, info: &HeredocInfo) -> String {
    let rest = &escape[1..];
    let enabled = |flag: char| info.escapes.contains(flag);
    match rest {
        "\\" if !info.escapes.is_empty() => "\\".into(),
        "t" if enabled('t') => "\t".into(),
        "r" if enabled('r') => "\r".into(),
        "n" if enabled('n') => "\n".into(),
        "s" if enabled('s') => " ".into(),
        "$" if enabled('$') => "$".into(),
        "\n" | "\r\n" if enabled('L') => String::new(),
        _ if rest.starts_with('u') && rest.len() > 1 && enabled('u') => {
            unicode(rest).unwrap_or_else(|| escape.into())
        }
        _ => escape.into(),
    }
}

/// Appends text, merging with a preceding text part.
pub fn push_text(parts: &mut Vec<StringPart>, text: &str) {
    if let Some(StringPart::Text(last)) = parts.last_mut() {
        last.push_str(text);
    } else {
        parts.push(StringPart::Text(text.to_string()));
    }
}

/// Inside `${}` a leading bare word names a variable: `${x}` is `$x`, `${x[0]}` is `$x[0]`,
/// `${x.upcase}` is `$x.upcase`, `${1}` is `$1`.
pub fn name_to_variable(mut expr: Expr) -> Expr {
    match expr.kind {
        ExprKind::Name(name) => expr.kind = ExprKind::Variable(name),
        ExprKind::Integer(n) => expr.kind = ExprKind::Variable(n.to_string()),
        ExprKind::Access { target, keys } => {
            expr.kind = ExprKind::Access {
                target: Box::new(name_to_variable(*target)),
                keys,
            }
        }
        ExprKind::MethodCall { receiver, call } => {
            expr.kind = ExprKind::MethodCall {
                receiver: Box::new(name_to_variable(*receiver)),
                call,
            }
        }
        _ => {}
    }
    expr
}

/// Removes the margin (the end marker's exact indentation) from each line of `text` that
/// starts with it, as Puppet does; the first line only when it starts a line of the heredoc.
pub fn strip_margin(text: &str, margin: &str, at_line_start: bool) -> String {
    if margin.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let strip = i > 0 || at_line_start;
        out.push_str(match line.strip_prefix(margin) {
            Some(rest) if strip => rest,
            _ => line,
        });
    }
    out
}

/// The text of a non-interpolating heredoc: margin stripped, then the enabled escapes applied.
pub fn heredoc_text(body: &str, info: &HeredocInfo, at_line_start: bool) -> String {
    let text = strip_margin(body, &info.margin, at_line_start);
    if info.escapes.is_empty() || !text.contains('\\') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let len = escape_len(tail);
        out.push_str(&heredoc_escape(&tail[..len], info));
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// The byte length of the escape at the start of `text` (which starts with a backslash).
fn escape_len(text: &str) -> usize {
    let after = &text[1..];
    if let Some(braced) = after.strip_prefix("u{") {
        if let Some(close) = braced.find('}') {
            return 3 + close + 1;
        }
    }
    if after.starts_with('u')
        && after.len() >= 5
        && after.as_bytes()[1..5].iter().all(u8::is_ascii_hexdigit)
    {
        return 6;
    }
    if after.starts_with("\r\n") {
        return 3;
    }
    1 + after.chars().next().map_or(0, char::len_utf8)
}

/// `-` before the end tag removes the last line break of the text.
pub fn trim_heredoc(mut parts: Vec<StringPart>, trim: bool) -> Vec<StringPart> {
    if trim {
        if let Some(StringPart::Text(last)) = parts.last_mut() {
            if last.ends_with('\n') {
                last.pop();
                if last.ends_with('\r') {
                    last.pop();
                }
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_quote_escapes() {
        assert_eq!(unescape_single(r"a\'b\\c\nd"), r"a'b\c\nd");
    }

    #[test]
    fn double_quote_escapes() {
        assert_eq!(dq_escape(r"\n").unwrap(), "\n");
        assert_eq!(dq_escape(r"\s").unwrap(), " ");
        assert_eq!(dq_escape(r"\u{1F600}").unwrap(), "😀");
        assert_eq!(dq_escape(r"\u00e9").unwrap(), "é");
        assert_eq!(dq_escape(r"\q").unwrap(), r"\q");
        assert_eq!(dq_escape(r"\u{110000}"), None);
    }

    #[test]
    fn margins_strip_the_exact_indentation() {
        // As `puppet apply` prints them: a line that does not start with the margin is kept.
        assert_eq!(strip_margin("    a\n  b\nc\n", "    ", true), "a\n  b\nc\n");
        assert_eq!(strip_margin("x\n    y", "  ", false), "x\n  y");
        assert_eq!(strip_margin("\ta\n  c\n", "\t", true), "a\n  c\n");
    }
}
