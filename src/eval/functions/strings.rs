//! String functions of Puppet's core library and of stdlib: `regsubst`, `match`, `versioncmp`.

use regex::{Captures, Regex, RegexBuilder};

use super::{bad, describe_value_type, FunctionError, Value};
use crate::eval::evaluator::ruby_to_rust_regex;
use crate::eval::types::Type;

/// Ruby's regex flags, as `regsubst` spells them.
#[derive(Default, Clone, Copy)]
pub(super) struct RegexFlags {
    pub ignore_case: bool,
    /// Ruby's EXTENDED: whitespace and `#` comments in the pattern are ignored.
    pub extended: bool,
    /// Ruby's MULTILINE: `.` matches a newline too.
    pub dot_all: bool,
}

/// A Ruby regular expression compiled for Rust. In Ruby `^` and `$` always match at line
/// breaks, so the pattern is compiled in Rust's multi-line mode.
pub(super) fn ruby_regex(pattern: &str, flags: RegexFlags) -> Result<Regex, FunctionError> {
    RegexBuilder::new(&ruby_to_rust_regex(pattern))
        .multi_line(true)
        .case_insensitive(flags.ignore_case)
        .ignore_whitespace(flags.extended)
        .dot_matches_new_line(flags.dot_all)
        .build()
        .map_err(|e| FunctionError::regex(pattern, e))
}

/// `regsubst(target, pattern, replacement, flags, encoding)`.
pub(super) fn regsubst(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let refused = || {
        bad("The function 'regsubst' was called with arguments it does not accept. It expects one of:\n  (Variant[Array[String], String] target, String pattern, Variant[String, Hash[String, String]] replacement, Optional[Optional[Pattern[/^[GEIM]*$/]]] flags, Optional[Enum['N', 'E', 'S', 'U']] encoding)\n  (Variant[Array[String], String] target, Variant[Regexp, Type[Regexp]] pattern, Variant[String, Hash[String, String]] replacement, Optional[Pattern[/^G?$/]] flags)")
    };
    if !(3..=5).contains(&args.len()) {
        return Err(refused());
    }
    let targets_fit = match &args[0] {
        Value::String(_) => true,
        Value::Array(items) => items.iter().all(|v| matches!(v, Value::String(_))),
        _ => false,
    };
    let replacement = match &args[2] {
        Value::String(text) => Replacement::Text(text),
        Value::Hash(map)
            if map
                .iter()
                .all(|(k, v)| k.as_str().is_some() && v.as_str().is_some()) =>
        {
            Replacement::Lookup(map)
        }
        _ => return Err(refused()),
    };
    let flags = match args.get(3) {
        None | Some(Value::Undef) => "",
        Some(Value::String(f)) => f.as_str(),
        Some(_) => return Err(refused()),
    };
    let (pattern, regex_flags) = match &args[1] {
        Value::String(p) if args.len() <= 5 && flags.chars().all(|c| "GEIM".contains(c)) => {
            let regex_flags = RegexFlags {
                ignore_case: flags.contains('I'),
                extended: flags.contains('E'),
                dot_all: flags.contains('M'),
            };
            (p.clone(), regex_flags)
        }
        Value::Regex(p) if args.len() <= 4 && matches!(flags, "" | "G") => {
            (p.clone(), RegexFlags::default())
        }
        Value::Type(t) if args.len() <= 4 && matches!(flags, "" | "G") => match &**t {
            Type::Regexp(p) => (p.clone().unwrap_or_default(), RegexFlags::default()),
            _ => return Err(refused()),
        },
        _ => return Err(refused()),
    };
    if !targets_fit
        || matches!(args.get(4), Some(v) if !matches!(v.as_str(), Some("N" | "E" | "S" | "U")))
    {
        return Err(refused());
    }
    let regex = ruby_regex(&pattern, regex_flags)?;
    let global = flags.contains('G');
    let substitute = |text: &str| substitute(&regex, text, &replacement, global);
    Ok(match &args[0] {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| Value::String(substitute(v.as_str().unwrap_or_default())))
                .collect(),
        ),
        other => Value::String(substitute(other.as_str().unwrap_or_default())),
    })
}

/// What a match is replaced with: a text with Ruby's back-references, or the match's entry in
/// a hash (nothing when the hash has none).
enum Replacement<'a> {
    Text(&'a str),
    Lookup(&'a super::ValueMap),
}

/// Ruby's `sub` (the first match) or `gsub` (every match). Unlike Rust's iterator, Ruby
/// lets an empty match follow a non-empty one (`'aaa'` with `a*` is replaced twice).
fn substitute(regex: &Regex, text: &str, replacement: &Replacement<'_>, global: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(captures) = regex.captures_at(text, from) {
        let whole = captures.get(0).map_or(0..0, |m| m.range());
        out.push_str(&text[copied..whole.start]);
        match replacement {
            Replacement::Text(template) => expand(template, &captures, text, &mut out),
            Replacement::Lookup(map) => {
                let key = Value::string(&text[whole.clone()]);
                out.push_str(
                    &map.get(&key)
                        .map(Value::to_display_string)
                        .unwrap_or_default(),
                );
            }
        }
        copied = whole.end;
        from = whole.end;
        if whole.is_empty() {
            // The next search starts after the character the empty match stood before.
            match text[whole.end..].chars().next() {
                Some(c) => from += c.len_utf8(),
                None => break,
            }
        }
        if !global {
            break;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Ruby's replacement text: `\0`-`\9` and `\&` (groups, the whole match), `` \` `` and `\'`
/// (the text before and after), `\k<name>`, `\\` (a backslash); any other backslash is kept.
fn expand(template: &str, captures: &Captures<'_>, text: &str, out: &mut String) {
    let group = |n: usize| captures.get(n).map_or("", |m| m.as_str());
    let whole = captures.get(0).map_or(0..0, |m| m.range());
    let mut chars = template.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&(at, next)) = chars.peek() else {
            out.push('\\');
            break;
        };
        let consumed = match next {
            '0'..='9' => {
                out.push_str(group(next as usize - '0' as usize));
                true
            }
            '&' => {
                out.push_str(group(0));
                true
            }
            '`' => {
                out.push_str(&text[..whole.start]);
                true
            }
            '\'' => {
                out.push_str(&text[whole.end..]);
                true
            }
            '\\' => {
                out.push('\\');
                true
            }
            'k' => match named_reference(&template[at + 1..]) {
                Some(name) => {
                    out.push_str(captures.name(name).map_or("", |m| m.as_str()));
                    // `k`, `<`, the name and `>`.
                    for _ in 0..name.chars().count() + 2 {
                        chars.next();
                    }
                    true
                }
                None => false,
            },
            _ => false,
        };
        if consumed {
            chars.next();
        } else {
            out.push('\\');
        }
    }
}

/// The name of `<name>` at the start of a text.
fn named_reference(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('<')?;
    let end = inner.find('>')?;
    let name = &inner[..end];
    (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(name)
}

/// `match(string or array of strings, pattern)`.
pub(super) fn match_function(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let [target, pattern] = args else {
        return Err(bad(format!(
            "'match' expects 2 arguments, got {}",
            args.len()
        )));
    };
    match target {
        Value::String(text) => match_one(text, pattern),
        Value::Array(items) if items.iter().all(|v| matches!(v, Value::String(_))) => items
            .iter()
            .map(|item| match_one(item.as_str().unwrap_or_default(), pattern))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Err(bad(format!(
            "'match' parameter 'string' expects a value of type String or Array[String], got {}",
            describe_value_type(other)
        ))),
    }
}

/// The match of one pattern (or the first of several that matches) against a text: the whole
/// match and its groups, `undef` for a group that took no part; `undef` if none matches.
fn match_one(text: &str, pattern: &Value) -> Result<Value, FunctionError> {
    match pattern {
        Value::String(p) | Value::Regex(p) => {
            let regex = ruby_regex(p, RegexFlags::default())?;
            Ok(regex.captures(text).map_or(Value::Undef, |captures| {
                Value::Array(
                    captures
                        .iter()
                        .map(|g| g.map_or(Value::Undef, |m| Value::string(m.as_str())))
                        .collect(),
                )
            }))
        }
        Value::Array(patterns) => first_match(text, patterns.iter().cloned()),
        Value::Type(t) => match &**t {
            Type::Regexp(Some(p)) => match_one(text, &Value::Regex(p.clone())),
            Type::Regexp(None) => Err(bad("Given Regexp Type has no regular expression")),
            Type::Pattern(patterns) => {
                first_match(text, patterns.iter().map(|p| Value::Regex(p.clone())))
            }
            Type::Variant(types) => {
                first_match(text, types.iter().map(|t| Value::Type(Box::new(t.clone()))))
            }
            _ => Err(unmatchable(pattern)),
        },
        other => Err(unmatchable(other)),
    }
}

fn first_match(text: &str, patterns: impl Iterator<Item = Value>) -> Result<Value, FunctionError> {
    for pattern in patterns {
        let found = match_one(text, &pattern)?;
        if !matches!(found, Value::Undef) {
            return Ok(found);
        }
    }
    Ok(Value::Undef)
}

fn unmatchable(pattern: &Value) -> FunctionError {
    let class = match pattern {
        Value::Undef => "NilClass",
        Value::Bool(true) => "TrueClass",
        Value::Bool(false) => "FalseClass",
        Value::Default => "Symbol",
        Value::Type(_) => "Puppet::Pops::Types::PAnyType",
        other => other.type_name(),
    };
    bad(format!("match() expects pattern of T, where T is String, Regexp, Regexp[r], Pattern[p], or Array[T]. Got {class}"))
}

/// `versioncmp(a, b, ignore_trailing_zeroes)`: -1, 0 or 1.
pub(super) fn versioncmp(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let names = ["a", "b"];
    for (name, value) in names.iter().zip(args) {
        if value.as_str().is_none() {
            return Err(bad(format!(
                "'versioncmp' parameter '{name}' expects a String value, got {}",
                value.type_name()
            )));
        }
    }
    let (Some(a), Some(b)) = (
        args.first().and_then(Value::as_str),
        args.get(1).and_then(Value::as_str),
    ) else {
        return Err(bad(format!(
            "'versioncmp' expects 2 or 3 arguments, got {}",
            args.len()
        )));
    };
    let ignore_zeroes = match args.get(2) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(bad(format!(
                "'versioncmp' parameter 'ignore_trailing_zeroes' expects a Boolean value, got {}",
                other.type_name()
            )))
        }
    };
    let order = if ignore_zeroes {
        compare_versions(&without_trailing_zeroes(a), &without_trailing_zeroes(b))
    } else {
        compare_versions(a, b)
    };
    Ok(Value::Integer(order as i64))
}

/// Puppet's version order: segments of digits, of other text, and the separators `-` and `.`
/// compared in turn; numbers as numbers unless one has a leading zero; text case-insensitively.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let segments = |v: &str| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut kind = None;
        for c in v.chars() {
            let this = if c == '-' || c == '.' {
                0
            } else if c.is_ascii_digit() {
                1
            } else {
                2
            };
            match out.last_mut() {
                Some(last) if this != 0 && kind == Some(this) => last.push(c),
                _ => out.push(c.to_string()),
            }
            kind = Some(this);
        }
        out
    };
    let is_number = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    for (x, y) in segments(a).iter().zip(segments(b).iter()) {
        if x == y {
            continue;
        }
        for (separator, when_x) in [("-", Ordering::Less), (".", Ordering::Less)] {
            if x == separator {
                return when_x;
            }
            if y == separator {
                return when_x.reverse();
            }
        }
        if is_number(x) && is_number(y) && !x.starts_with('0') && !y.starts_with('0') {
            let numbers = |s: &str| s.trim_start_matches('0').len();
            return numbers(x).cmp(&numbers(y)).then_with(|| x.cmp(y));
        }
        return x.to_uppercase().cmp(&y.to_uppercase());
    }
    a.cmp(b)
}

/// The version with the run of dots and zeros at the end of its first `-` part removed:
/// `1.2.0` is `1.2` (and, as in Puppet, `10` is `1`).
fn without_trailing_zeroes(version: &str) -> String {
    let mut parts: Vec<String> = version.split('-').map(str::to_string).collect();
    if let Some(first) = parts.first_mut() {
        let kept = first.trim_end_matches(['.', '0']).len();
        first.truncate(kept);
    }
    parts.join("-")
}

/// stdlib's reading of a boolean word: `1 t y true yes` and `0 f n false no` in any case,
/// `''`, `undef` and `undefined` as false; a boolean is itself.
pub(super) fn str2bool_value(value: &Value) -> Result<bool, FunctionError> {
    let text = match value {
        Value::Bool(b) => return Ok(*b),
        Value::String(s) => s,
        _ => return Err(bad("str2bool(): Requires string to work with")),
    };
    match text.to_lowercase().as_str() {
        "1" | "t" | "y" | "true" | "yes" => Ok(true),
        "" | "0" | "f" | "n" | "false" | "no" => Ok(false),
        _ if matches!(text.as_str(), "undef" | "undefined") => Ok(false),
        _ => Err(bad("str2bool(): Unknown type of boolean given")),
    }
}

/// stdlib's `str2bool(text)`.
pub(super) fn str2bool(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    match super::collections::as_3x(args).first() {
        Some(value) => str2bool_value(value).map(Value::Bool),
        None => Err(bad("str2bool(): Wrong number of arguments given (0 for 1)")),
    }
}

/// stdlib's `bool2str(boolean, true_text, false_text)`.
pub(super) fn bool2str(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    if !matches!(args.len(), 1 | 3) {
        return Err(bad(format!(
            "bool2str(): Wrong number of arguments given ({} for 3)",
            args.len()
        )));
    }
    let args = super::collections::as_3x(args);
    let Value::Bool(value) = args[0] else {
        return Err(bad("bool2str(): Requires a boolean to work with"));
    };
    let word = |i: usize, default: &str| match args.get(i) {
        None => Ok(default.to_string()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(bad("bool2str(): Requires strings to convert to")),
    };
    let (yes, no) = (word(1, "true")?, word(2, "false")?);
    Ok(Value::String(if value { yes } else { no }))
}

/// stdlib's `squeeze(text or texts, characters)`: runs of one character (of those given,
/// in Ruby's set syntax: `a-c` ranges, a leading `^` negates) become one.
pub(super) fn squeeze(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    if !matches!(args.len(), 1 | 2) {
        return Err(bad(format!(
            "squeeze(): Wrong number of arguments given {} for 2 or 1",
            args.len()
        )));
    }
    let set = match args.get(1) {
        None | Some(Value::Undef) => None,
        Some(Value::String(s)) => Some(CharacterSet::parse(s)),
        Some(other) => {
            return Err(bad(format!(
                "squeeze(): the characters must be a String, got {}",
                describe_value_type(other)
            )))
        }
    };
    let squeeze_one = |value: &Value| match value {
        Value::String(text) => Ok(Value::String(squeezed(text, set.as_ref()))),
        other => Err(bad(format!(
            "squeeze(): cannot squeeze {}",
            describe_value_type(other)
        ))),
    };
    match &args[0] {
        Value::Array(items) => items
            .iter()
            .map(squeeze_one)
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => squeeze_one(other),
    }
}

fn squeezed(text: &str, set: Option<&CharacterSet>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous = None;
    for c in text.chars() {
        if previous == Some(c) && set.is_none_or(|s| s.contains(c)) {
            continue;
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// A set of characters as Ruby's `String#squeeze` and `#count` write it.
struct CharacterSet {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl CharacterSet {
    fn parse(spec: &str) -> CharacterSet {
        let chars: Vec<char> = spec.chars().collect();
        let negated = chars.len() > 1 && chars[0] == '^';
        let mut ranges = Vec::new();
        let mut i = usize::from(negated);
        while i < chars.len() {
            if i + 2 < chars.len() && chars[i + 1] == '-' {
                ranges.push((chars[i], chars[i + 2]));
                i += 3;
            } else {
                ranges.push((chars[i], chars[i]));
                i += 1;
            }
        }
        CharacterSet { negated, ranges }
    }

    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != self.negated
    }
}

/// `stdlib::start_with(text, prefixes)` and `stdlib::end_with(text, suffixes)`.
pub(super) fn starts_or_ends_with(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let parameter = if name.ends_with("start_with") {
        ("test_string", "prefixes")
    } else {
        ("test_string", "suffixes")
    };
    let [Value::String(text), affixes] = args else {
        return Err(bad(format!(
            "'{name}' expects a String and a String or an Array of Strings ({}, {})",
            parameter.0, parameter.1
        )));
    };
    let affixes: Vec<&str> = match affixes {
        Value::String(s) if !s.is_empty() => vec![s],
        Value::Array(items)
            if !items.is_empty()
                && items.iter().all(|v| v.as_str().is_some_and(|s| !s.is_empty())) =>
        {
            items.iter().filter_map(Value::as_str).collect()
        }
        other => {
            return Err(bad(format!(
                "'{name}' parameter '{}' expects a value of type String[1] or Array[String[1], 1], got {}",
                parameter.1,
                other.type_name()
            )))
        }
    };
    Ok(Value::Bool(affixes.iter().any(|a| {
        if name.ends_with("start_with") {
            text.starts_with(a)
        } else {
            text.ends_with(a)
        }
    })))
}

/// `camelcase`: each `_`-separated part of a string capitalized and joined; numbers as they
/// are; an array of strings or of numbers element by element (Puppet refuses a mix).
pub(super) fn camelcase(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let refused = || {
        bad("The function 'camelcase' was called with arguments it does not accept. It expects one of:\n  (Numeric arg)\n  (String arg)\n  (Iterable[Variant[String, Numeric]] arg)")
    };
    match args {
        [Value::String(text)] => Ok(Value::String(camelcased(text))),
        [number] if number.is_number() => Ok(number.clone()),
        [Value::Array(items)]
            if items.iter().all(|v| v.as_str().is_some())
                || items.iter().all(Value::is_number) =>
        {
            Ok(Value::Array(
                items
                    .iter()
                    .map(|v| match v {
                        Value::String(text) => Value::String(camelcased(text)),
                        other => other.clone(),
                    })
                    .collect(),
            ))
        }
        [Value::Hash(_)] => Err(bad("'camelcase' parameter 'arg' expects a value of type Numeric, String, or Iterable[Variant[String, Numeric]], got Struct")),
        _ => Err(refused()),
    }
}

fn camelcased(text: &str) -> String {
    text.split('_').map(capitalized).collect()
}

/// Ruby's `capitalize`: the first character upper case, the rest lower case.
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// `shellquote(words...)`: each word (arrays flattened) quoted for a Bourne shell, joined
/// with spaces: safe words as they are, others in double quotes, or single quotes when they
/// hold what double quotes would expand, or double quotes with backslashes when they hold both.
pub(super) fn shellquote(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let is_safe = |c: char| c.is_ascii_alphanumeric() || "@%_+=:,./-".contains(c);
    let is_dangerous = |c: char| "!\"`$\\".contains(c);
    let words = super::flatten(super::collections::as_3x(args));
    let quoted: Vec<String> = words
        .iter()
        .map(|word| {
            let word = word.to_display_string();
            if !word.is_empty() && word.chars().all(is_safe) {
                word
            } else if !word.chars().any(is_dangerous) {
                format!("\"{word}\"")
            } else if !word.contains('\'') {
                format!("'{word}'")
            } else {
                let mut escaped = String::from('"');
                for c in word.chars() {
                    if is_dangerous(c) {
                        escaped.push('\\');
                    }
                    escaped.push(c);
                }
                escaped.push('"');
                escaped
            }
        })
        .collect();
    Ok(Value::String(quoted.join(" ")))
}
