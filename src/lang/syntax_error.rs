//! Parse errors in words a Puppet user understands, with a hint for the common mistakes.

use pest::error::{ErrorVariant, InputLocation};
use pest::Parser as _;

use super::ast::Span;
use super::parser::{PuppetParser, Rule};
use super::prescan::{Prescan, ScanProblem};

/// A problem in a manifest: what is wrong, where, and (when a common mistake is likely) how to
/// fix it. `check` turns it into a miette diagnostic with the file's text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
}

impl SyntaxError {
    pub fn new(message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        SyntaxError {
            message: message.into(),
            span,
            label: label.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn from_scan(problem: ScanProblem) -> Self {
        SyntaxError {
            message: problem.message,
            span: problem.span,
            label: problem.label,
            help: problem.help,
        }
    }
}

/// Translates pest's failure into a `SyntaxError`.
pub fn from_pest(err: pest::error::Error<Rule>, source: &str, scan: &Prescan) -> SyntaxError {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // pest read a copy of the text where comments and heredoc bodies are spaces, so its
    // position may fall inside a character of the original: move to the next whole one.
    let mut pos = pos.min(source.len());
    while !source.is_char_boundary(pos) {
        pos += 1;
    }
    // Point at the token the parser could not take, not at the whitespace before it.
    let pos = skip_trivia(source, pos);
    if let Some(e) = unterminated(source, pos, scan) {
        return e;
    }
    let detailed = detailed_error(&scan.text).unwrap_or(err);
    let mut expected = expected_words(&detailed);
    if source[pos..].starts_with('=') {
        // The second characters of `==` and `=~`, which the `=` found already starts.
        expected.retain(|w| w != "`=`" && w != "`~`");
    }
    let found = found_words(source, pos);
    let message = match expected.is_empty() {
        true => format!("unexpected {found}"),
        false => format!("expected {}, found {found}", join_or(&expected)),
    };
    let mut error = if pos >= source.len() {
        // Nothing to point at past the end: point at the last thing written.
        let last = source.trim_end().len().saturating_sub(1);
        let last = (0..=last)
            .rev()
            .find(|i| source.is_char_boundary(*i))
            .unwrap_or(0);
        let span = Span::new(last, next_char_end(source, last));
        SyntaxError::new(message, span, "the file ends after this")
    } else {
        let span = Span::new(pos, next_char_end(source, pos));
        SyntaxError::new(message, span, format!("unexpected {found}"))
    };
    error.help = hint(source, pos, &expected);
    error
}

/// pest tracks the tokens it tried only when asked to, which slows every parse; so a failed
/// parse is repeated once with tracking on to learn what was expected. The switch is global:
/// the lock keeps two threads from turning it off under each other, and it is turned off again
/// so that later parses run at full speed.
fn detailed_error(text: &str) -> Option<pest::error::Error<Rule>> {
    static DETAIL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = DETAIL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    pest::set_error_detail(true);
    let result = PuppetParser::parse(Rule::program, text).err();
    pest::set_error_detail(false);
    result
}

/// An unterminated string or an unclosed bracket makes pest fail at the end of the file, far
/// from the mistake: point at where it starts instead.
fn unterminated(source: &str, pos: usize, scan: &Prescan) -> Option<SyntaxError> {
    let at_end = source[pos.min(source.len())..].trim().is_empty();
    if let Some((start, quote)) = scan.unterminated_string {
        if pos >= start {
            let what = if quote == '"' { "double" } else { "single" };
            return Some(
                SyntaxError::new(
                    format!("unterminated {what}-quoted string"),
                    Span::new(start, start + 1),
                    "this string is never closed",
                )
                .with_help(format!(
                    "add the closing {quote} where the string should end"
                )),
            );
        }
    }
    if at_end {
        if let Some((start, bracket)) = scan.unclosed_bracket {
            let closing = match bracket {
                '{' => '}',
                '[' => ']',
                _ => ')',
            };
            return Some(
                SyntaxError::new(
                    format!("unexpected end of file: `{bracket}` is never closed"),
                    Span::new(start, start + 1),
                    format!("this `{bracket}` has no matching `{closing}`"),
                )
                .with_help(format!("add the missing `{closing}`")),
            );
        }
    }
    None
}

/// The offset of the next token at or after `pos`: past whitespace and comments.
fn skip_trivia(source: &str, mut pos: usize) -> usize {
    let bytes = source.as_bytes();
    while pos < bytes.len() {
        match bytes[pos] {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'#' => pos = source[pos..].find('\n').map_or(bytes.len(), |i| pos + i),
            b'/' if bytes.get(pos + 1) == Some(&b'*') => match source[pos + 2..].find("*/") {
                Some(i) => pos += i + 4,
                None => return pos,
            },
            _ => return pos,
        }
    }
    pos.min(bytes.len())
}

fn next_char_end(source: &str, pos: usize) -> usize {
    source[pos.min(source.len())..]
        .chars()
        .next()
        .map_or(pos, |c| pos + c.len_utf8())
}

/// What the parser saw at the error: a word, a symbol, or the end of the file.
fn found_words(source: &str, pos: usize) -> String {
    let rest = &source[pos.min(source.len())..];
    let Some(first) = rest.chars().next() else {
        return "end of file".into();
    };
    if first == '\n' || first == '\r' {
        return "end of line".into();
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':' || *c == '$')
        .take(40)
        .collect();
    if word.is_empty() {
        let symbol: String = rest
            .chars()
            .take_while(|c| "=>-~<!+*/%|&?.,;:@".contains(*c))
            .take(3)
            .collect();
        let symbol = if symbol.is_empty() {
            first.to_string()
        } else {
            symbol
        };
        format!("`{symbol}`")
    } else {
        format!("`{word}`")
    }
}

fn expected_words(err: &pest::error::Error<Rule>) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut add = |w: &str| {
        if !w.is_empty() && !words.iter().any(|x| x == w) {
            words.push(w.to_string());
        }
    };
    if let Some(attempts) = err.parse_attempts() {
        for token in attempts.expected_tokens() {
            // The token type is not exported; its text is what we need.
            add(&token_words(&token.to_string()));
        }
    }
    if let ErrorVariant::ParsingError { positives, .. } = &err.variant {
        for rule in positives {
            add(rule_words(*rule));
        }
    }
    // "an expression" covers the characters and words that start one.
    if words
        .iter()
        .any(|w| w == "an expression" || w == "a statement")
    {
        words.retain(|w| {
            !matches!(
                w.as_str(),
                "`true`"
                    | "`false`"
                    | "`undef`"
                    | "`default`"
                    | "`(`"
                    | "`[`"
                    | "`{`"
                    | "`!`"
                    | "`-`"
                    | "`*`"
                    | "`@`"
                    | "`@@`"
                    | "`\"`"
                    | "`'`"
                    | "`$`"
                    | "`:`"
                    | "`_`"
                    | "`/`"
            )
        });
    }
    // After a complete value, a separator is the likely intent, not a call's `(`, a
    // resource's `{` or an access's `[` continuing the value.
    if words
        .iter()
        .any(|w| matches!(w.as_str(), "`,`" | "`;`" | "`}`" | "`]`" | "`)`"))
    {
        words.retain(|w| !matches!(w.as_str(), "`(`" | "`[`" | "`{`"));
    }
    // Characters that only start a longer token or a word, never what was missing.
    if words
        .iter()
        .any(|w| w == "an attribute name" || w == "an expression")
    {
        words.retain(|w| !matches!(w.as_str(), "`_`" | "`*`"));
    }
    // Rare continuations of a type name that only distract from the likely mistake.
    let rare = [
        "`<|`",
        "`<<|`",
        "`produces`",
        "`consumes`",
        "`produces` or `consumes`",
    ];
    if words.iter().any(|w| !rare.contains(&w.as_str())) {
        words.retain(|w| !rare.contains(&w.as_str()));
    }
    // Operators, listed one by one, drown the useful words.
    let operators = words.iter().filter(|w| is_operator(w)).count();
    if operators > 2 {
        words.retain(|w| !is_operator(w));
        words.push("an operator".into());
    }
    words
}

fn is_operator(word: &str) -> bool {
    matches!(
        word,
        "`->`"
            | "`~>`"
            | "`<-`"
            | "`<~`"
            | "`<<`"
            | "`>>`"
            | "`==`"
            | "`!=`"
            | "`=~`"
            | "`!~`"
            | "`<=`"
            | "`>=`"
            | "`+=`"
            | "`-=`"
            | "`=`"
            | "`<`"
            | "`>`"
            | "`+`"
            | "`-`"
            | "`*`"
            | "`/`"
            | "`%`"
            | "`and`"
            | "`or`"
            | "`in`"
            | "`.`"
            | "`?`"
            | "`!`"
            | "`~`"
            | "an operator"
    )
}

fn token_words(token: &str) -> String {
    match token {
        // Parts of longer tokens, or whitespace and comments: never what a user should type.
        "#" | "/*" | "*/" | " " | "\t" | "\r" | "\n" | "\u{feff}" | "0x" | "0X" | "::" | "${"
        | "u{" | "u" | "e" | "E" => String::new(),
        "x" | "BUILTIN_RULE" | "\\" => String::new(),
        // A single character written as a range in the grammar ('x'..'x').
        t if t.chars().count() == 4
            && t.chars().nth(1) == Some('.')
            && t.chars().nth(2) == Some('.') =>
        {
            let mut c = t.chars();
            match (c.next(), c.nth(2)) {
                // Letters come from the lookaheads that gate keyword rules: not tokens to type.
                (Some(a), Some(b))
                    if a == b
                        && !a.is_whitespace()
                        && !a.is_alphanumeric()
                        && a != '#'
                        && a != '/' =>
                {
                    format!("`{a}`")
                }
                _ => String::new(),
            }
        }
        t if t.chars().all(|c| c.is_ascii_alphabetic()) && t.len() > 1 => format!("`{t}`"),
        t if t.chars().any(|c| c.is_ascii_alphanumeric()) => String::new(),
        t => format!("`{t}`"),
    }
}

fn rule_words(rule: Rule) -> &'static str {
    use Rule::*;
    match rule {
        expression | cond_expression | operand | cond_operand | variable | sq_string
        | dq_string | number | heredoc | resource_expr | if_expr | unless_expr | case_expr
        | type_primary | cond_type_primary | word_expr | cond_word_expr | bare_word | array
        | hash | paren | regex | kw_true | kw_false | kw_undef | op_not | op_neg | op_splat => {
            "an expression"
        }
        resource_block => "`{`",
        statement_call | class_def | define_def | node_def | function_def | type_alias
        | plan_def | application_def | site_def | capability_mapping | statement_fn => {
            "a statement"
        }
        op_out_edge | op_out_edge_sub | op_in_edge | op_in_edge_sub | op_lshift | op_rshift
        | op_eq | op_ne | op_match | op_nomatch | op_le | op_ge | op_append | op_delete
        | op_assign | op_lt | op_gt | op_plus | op_minus | op_times | op_div | op_mod | op_and
        | op_or | op_in | access | method_call | selector => "an operator",
        attribute | attribute_name | splat_name => "an attribute name",
        attr_set | attr_add => "`=>`",
        resource_body => "a resource title",
        block => "`{`",
        param | param_list | captures_rest => "a parameter",
        definition_name | name => "a name",
        type_ref | type_expr => "a type name",
        case_option => "a case value",
        selector_case | hash_entry => "a `key => value` pair",
        lambda => "a lambda `|$x| { }`",
        call_args => "`(`",
        hostname => "a node name",
        kw_default => "`default`",
        kw_inherits => "`inherits`",
        kw_elsif => "`elsif`",
        kw_else => "`else`",
        kw_produces | kw_consumes => "`produces` or `consumes`",
        query | query_and | query_compare => "a query such as `tag == 'x'`",
        EOI => "end of file",
        _ => "",
    }
}

fn join_or(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A help line for the mistakes people make most.
fn hint(source: &str, pos: usize, expected: &[String]) -> Option<String> {
    let rest = &source[pos.min(source.len())..];
    let expects = |w: &str| expected.iter().any(|e| e == w);
    let line_start = source[..pos.min(source.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line_before = source[line_start..pos.min(source.len())].trim_start();
    let in_condition = ["if ", "elsif ", "unless ", "case "]
        .iter()
        .any(|k| line_before.starts_with(k) || line_before.contains(&format!("}} {k}")));
    if rest.starts_with('=') && !rest.starts_with("==") && !rest.starts_with("=~") && in_condition {
        return Some(
            "a condition compares with `==`; `=` assigns, which a condition cannot do".into(),
        );
    }
    let after_semicolon = line_before
        .trim_end()
        .rsplit_once(';')
        .is_some_and(|(_, word)| {
            word.trim()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
    if rest.starts_with("=>") && after_semicolon {
        return Some(
            "`;` separates resource bodies, each with its own title: separate attributes with `,`"
                .into(),
        );
    }
    if rest.starts_with('=')
        && !rest.starts_with("==")
        && !rest.starts_with("=>")
        && expects("`=>`")
    {
        return Some("attributes and hash entries are set with `=>`, not `=`".into());
    }
    if starts_attribute(rest) && (expects("`,`") || expects("`}`")) {
        return Some(
            "add a comma after the previous attribute: attributes are separated by `,`".into(),
        );
    }
    if source[..pos.min(source.len())].trim_end().ends_with(';') && expects("an expression") {
        return Some("a `;` goes between two statements: remove the one before this point".into());
    }
    if rest.starts_with(['}', ']', ')']) && expects("end of file") {
        return Some("this closing bracket has no opening one: remove it, or look for a missing opening bracket above".into());
    }
    if expects("`:`") && !rest.starts_with(':') {
        return Some("a resource title is followed by `:` before its attributes, as in `file { '/tmp/x': ensure => file }`".into());
    }
    None
}

/// `name =>` or `name +>`.
fn starts_attribute(text: &str) -> bool {
    let name_len = text
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    name_len > 0 && {
        let after = text[name_len..].trim_start();
        after.starts_with("=>") || after.starts_with("+>")
    }
}
