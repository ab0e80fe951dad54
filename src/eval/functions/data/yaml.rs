//! `to_yaml` writes YAML the way Ruby's Psych 4 does over libyaml 0.2.5: Psych chooses a
//! style for each string (so that it reads back as a string), libyaml downgrades styles that
//! cannot carry the text, folds long lines at 80 columns, and lays out blocks. The emitter
//! below follows libyaml's column and whitespace bookkeeping, which decides every space and
//! line break of the output.

use std::sync::LazyLock;

use regex::Regex;

use super::super::super::value::{format_float, HashMap as ValueMap, Value};
use super::super::{bad, first_of, FunctionError};

/// libyaml's defaults: two spaces per level, fold past 80 columns.
const BEST_INDENT: i64 = 2;
const BEST_WIDTH: usize = 80;
/// The longest key libyaml writes as `key: value` rather than `? key`.
const MAX_SIMPLE_KEY: usize = 128;

pub(in crate::eval::functions) fn to_yaml(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    match args.get(1) {
        None | Some(Value::Undef) => {}
        Some(Value::Hash(options)) if options.is_empty() => {}
        Some(Value::Hash(_)) => {
            return Err(bad(
                "to_yaml(): Psych's options (line_width, indentation, ...) are not supported",
            ))
        }
        Some(other) => {
            return Err(bad(format!(
                "'to_yaml' parameter 'options' expects a Hash value, got {}",
                other.type_name()
            )))
        }
    }
    document(&first_of(args)).map(Value::String)
}

/// `---`, the value, and `...` when a block scalar kept trailing blank lines (libyaml marks
/// the end so that they are not lost).
fn document(value: &Value) -> Result<String, FunctionError> {
    let mut emitter = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        indent: -1,
        indents: Vec::new(),
        open_ended: false,
    };
    emitter.write_indicator("---", true, false, false);
    emitter.node(value, Context::default())?;
    emitter.write_indent();
    if emitter.open_ended {
        emitter.write_indicator("...", true, false, false);
        emitter.write_indent();
    }
    Ok(emitter.out)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Any,
    Plain,
    Single,
    Double,
    Literal,
}

/// A scalar as Psych hands it to libyaml.
struct Scalar {
    text: String,
    tag: Option<&'static str>,
    /// May be written plain without its tag / quoted without its tag.
    plain_implicit: bool,
    quoted_implicit: bool,
    style: Style,
}

impl Scalar {
    fn of(value: &Value) -> Result<Scalar, FunctionError> {
        let implicit = |text: String| Scalar {
            text,
            tag: None,
            plain_implicit: true,
            quoted_implicit: false,
            style: Style::Any,
        };
        Ok(match value {
            Value::Undef => Scalar {
                tag: Some("!!null"),
                ..implicit(String::new())
            },
            Value::Bool(b) => implicit(b.to_string()),
            Value::Integer(i) => implicit(i.to_string()),
            Value::Float(f) if f.is_nan() => implicit(".nan".into()),
            Value::Float(f) if f.is_infinite() => {
                implicit(if *f > 0.0 { ".inf" } else { "-.inf" }.into())
            }
            Value::Float(f) => implicit(format_float(*f)),
            // `default` is Ruby's symbol :default.
            Value::Default => implicit(":default".into()),
            Value::Regex(pattern) => Scalar {
                tag: Some("!ruby/regexp"),
                plain_implicit: false,
                ..implicit(format!("/{pattern}/"))
            },
            Value::String(s) if s == "<<" => Scalar {
                tag: Some("!!str"),
                plain_implicit: false,
                style: Style::Single,
                ..implicit(s.clone())
            },
            Value::String(s) => Scalar {
                quoted_implicit: true,
                style: psych_style(s),
                ..implicit(s.clone())
            },
            other => {
                return Err(bad(format!(
                    "to_yaml(): {} has no YAML form",
                    other.type_name()
                )))
            }
        })
    }

    /// libyaml keeps a tag only when the scalar may not be read without it.
    fn kept_tag(&self) -> Option<&'static str> {
        self.tag
            .filter(|_| !self.plain_implicit && !self.quoted_implicit)
    }
}

/// The style Psych asks for a string: a literal block for inner line breaks, double quotes
/// when a line starts with a non-word character, single quotes when the text would read
/// back as something else (`'true'`, `'1'`, `'2020-01-01'`), plain otherwise.
fn psych_style(s: &str) -> Style {
    if has_inner_line_break(s) {
        Style::Literal
    } else if s == "y" || s == "n" || line_starts_with_non_word(s) {
        Style::Double
    } else if !reads_back_as_string(s) || PATTERNS.octal_with_8_or_9.is_match(s) {
        Style::Single
    } else {
        Style::Plain
    }
}

/// Ruby's `/\n(?!\Z)/`: a line break that is not the last character, nor just before a
/// final line break.
fn has_inner_line_break(s: &str) -> bool {
    let len = s.len();
    s.match_indices('\n').any(|(i, _)| {
        let after = i + 1;
        after < len && !(after == len - 1 && s.ends_with('\n'))
    })
}

/// Ruby's `/^[^[:word:]][^"]*$/`: some line starts with a non-word character and has no
/// double quote after it up to the end of that line.
fn line_starts_with_non_word(s: &str) -> bool {
    let mut starts = vec![0];
    starts.extend(s.match_indices('\n').map(|(i, _)| i + 1));
    starts.into_iter().any(|start| {
        let mut rest = s[start..].chars();
        match rest.next() {
            Some(c) if !is_word(c) => !rest.take_while(|&c| c != '\n').any(|c| c == '"'),
            _ => false,
        }
    })
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Psych's `ScalarScanner#tokenize`, reduced to the question Psych asks: would this text,
/// written plain, read back as a string?
fn reads_back_as_string(s: &str) -> bool {
    let p = &*PATTERNS;
    if s.is_empty() {
        return false;
    }
    if p.word_like.is_match(s) || s.contains('\n') {
        let lower = s.to_lowercase();
        return s.chars().count() > 5
            || !matches!(
                lower.chars().next(),
                Some('y' | 't' | 'o' | 'n' | 'f' | '~')
            )
            || !matches!(
                lower.as_str(),
                "~" | "null" | "yes" | "true" | "on" | "no" | "false" | "off"
            );
    }
    if let Some(time) = p.time.captures(s) {
        return !valid_date(&time[1], &time[2], &time[3]);
    }
    if let Some(date) = p.date.captures(s) {
        return !valid_date(&date[1], &date[2], &date[3]);
    }
    if p.special_float.is_match(s) || s.starts_with(':') && s.chars().nth(1).is_some() {
        return false;
    }
    if p.sexagesimal.is_match(s) {
        return false;
    }
    if p.float.is_match(s) {
        return p.lone_dot.is_match(s);
    }
    !p.integer.is_match(s)
}

fn valid_date(year: &str, month: &str, day: &str) -> bool {
    match (year.parse(), month.parse(), day.parse()) {
        (Ok(y), Ok(m), Ok(d)) => chrono::NaiveDate::from_ymd_opt(y, m, d).is_some(),
        _ => false,
    }
}

/// Psych's scanner patterns, with Ruby's ASCII `\d` and `\s` spelled out.
struct Patterns {
    word_like: Regex,
    time: Regex,
    date: Regex,
    special_float: Regex,
    sexagesimal: Regex,
    float: Regex,
    lone_dot: Regex,
    integer: Regex,
    octal_with_8_or_9: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let re = |pattern: &str| Regex::new(pattern).expect("a valid pattern");
    Patterns {
        word_like: re(r"^[^0-9.:\-]?[\p{Alphabetic}_ \t\r\n\x0B\x0C!@#$%^&*(){}<>|/\\~;=]+"),
        time: re(concat!(
            r"^-?([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]|[ \t\r\n\x0B\x0C]+)",
            r"[0-9]{1,2}:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?",
            r"(?:[ \t\r\n\x0B\x0C]*(?:Z|[-+][0-9]{1,2}:?(?:[0-9][0-9])?))?$"
        )),
        date: re(r"^([0-9]{4})-(1[012]|0[0-9]|[0-9])-([12][0-9]|3[01]|0[0-9]|[0-9])$"),
        special_float: re(r"(?i)^(?:\+?\.inf|-\.inf|\.nan)$"),
        sexagesimal: re(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}(?:\.[0-9_]*)?$"),
        float: re(r"^[-+]?(?:[0-9][0-9_,]*)?\.[0-9]*(?:[eE][-+][0-9]+)?$"),
        lone_dot: re(r"^[-+]?\.$"),
        integer: re(concat!(
            r"^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)",
            r"|[-+]?0x[0-9a-fA-F_,]+)$"
        )),
        octal_with_8_or_9: re(r"^0[0-7]*[89]"),
    }
});

/// What libyaml's `yaml_emitter_analyze_scalar` finds out about a text: which styles can
/// carry it.
struct Analysis {
    multiline: bool,
    plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(text: &str) -> Analysis {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Analysis {
            multiline: false,
            plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut indicators = text.starts_with("---") || text.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut edge_space, mut trailing_space) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_blank = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_blank = chars.get(i + 1).is_none_or(|&n| is_blank(n));
        let (first, last) = (i == 0, i + 1 == chars.len());
        if first {
            indicators |= "#,[]{}&*!|>'\"%@`".contains(c)
                || matches!(c, '?' | ':' | '-') && followed_by_blank;
        } else {
            indicators |= c == ':' && followed_by_blank || c == '#' && preceded_by_blank;
        }
        special |= !is_printable(c);
        line_breaks |= is_break(c);
        if c == ' ' {
            edge_space |= first || last;
            trailing_space |= last;
            break_space |= previous_break;
            (previous_space, previous_break) = (true, false);
        } else if is_break(c) {
            edge_space |= first || last;
            space_break |= previous_space;
            (previous_space, previous_break) = (false, true);
        } else {
            (previous_space, previous_break) = (false, false);
        }
        preceded_by_blank = is_blank(c);
    }
    let mangled = space_break || special;
    Analysis {
        multiline: line_breaks,
        plain_allowed: !(edge_space || break_space || mangled || line_breaks || indicators),
        single_quoted_allowed: !(break_space || mangled),
        block_allowed: !(trailing_space || mangled),
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t' || is_break(c)
}

/// libyaml's test, which (unlike YAML's spec) leaves out NEL, U+0085.
fn is_printable(c: char) -> bool {
    matches!(c as u32,
        0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..)
        && c != '\u{FEFF}'
}

/// Where a node is written: as a mapping's key or value, and whether as a `key:` key.
#[derive(Clone, Copy, Default)]
struct Context {
    mapping: bool,
    simple_key: bool,
}

struct Emitter {
    out: String,
    column: usize,
    /// The last thing written was whitespace (no space needed before an indicator).
    whitespace: bool,
    /// Only indentation has been written on this line.
    indention: bool,
    /// -1 before the root node.
    indent: i64,
    indents: Vec<i64>,
    /// A block scalar kept its trailing line breaks: the document ends with `...`.
    open_ended: bool,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// A line break of the text itself.
    fn write_break(&mut self, c: char) {
        self.out.push(c);
        self.column = 0;
    }

    fn write_indicator(&mut self, text: &str, need_space: bool, is_space: bool, is_indent: bool) {
        if need_space && !self.whitespace {
            self.put(' ');
        }
        text.chars().for_each(|c| self.put(c));
        self.whitespace = is_space;
        self.indention &= is_indent;
    }

    /// A new line when something is already on this one, then spaces to the indentation.
    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn node(&mut self, value: &Value, context: Context) -> Result<(), FunctionError> {
        match value {
            Value::Array(items) if !items.is_empty() => self.sequence(items, context),
            Value::Hash(map) if !map.is_empty() => self.mapping(map),
            Value::Array(_) => {
                self.empty_flow("[", "]");
                Ok(())
            }
            Value::Hash(_) => {
                self.empty_flow("{", "}");
                Ok(())
            }
            scalar => {
                self.scalar(&Scalar::of(scalar)?, context);
                Ok(())
            }
        }
    }

    /// libyaml writes empty collections in flow style: `[]`, `{}`.
    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn sequence(&mut self, items: &[Value], context: Context) -> Result<(), FunctionError> {
        // A sequence that is a mapping's value is not indented under its key.
        self.increase_indent(false, context.mapping && !self.indention);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::default())?;
        }
        self.pop_indent();
        Ok(())
    }

    fn mapping(&mut self, map: &ValueMap) -> Result<(), FunctionError> {
        self.increase_indent(false, false);
        let value_context = Context {
            mapping: true,
            simple_key: false,
        };
        for (key, value) in map {
            self.write_indent();
            if is_simple_key(key)? {
                let key_context = Context {
                    mapping: true,
                    simple_key: true,
                };
                self.node(key, key_context)?;
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.node(key, value_context)?;
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, value_context)?;
        }
        self.pop_indent();
        Ok(())
    }

    fn scalar(&mut self, scalar: &Scalar, context: Context) {
        let analysis = analyze(&scalar.text);
        let style = select_style(scalar, &analysis, context.simple_key);
        let tag = match scalar.kept_tag() {
            None if !scalar.quoted_implicit && style != Style::Plain => Some("!"),
            kept => kept,
        };
        if let Some(tag) = tag {
            if !self.whitespace {
                self.put(' ');
            }
            tag.chars().for_each(|c| self.put(c));
            self.whitespace = false;
            self.indention = false;
        }
        self.increase_indent(true, false);
        let text = &scalar.text;
        let folds = !context.simple_key;
        match style {
            Style::Single => self.write_single_quoted(text, folds),
            Style::Double => self.write_double_quoted(text, folds),
            Style::Literal => self.write_literal(text),
            Style::Plain | Style::Any => self.write_plain(text, folds),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, text: &str, folds: bool) {
        // No trailing space after `-` or `key:` for an empty value.
        if !self.whitespace && !text.is_empty() {
            self.put(' ');
        }
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if folds && !spaces && self.column > BEST_WIDTH && chars.get(i + 1) != Some(&' ') {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                self.text_break(c, breaks);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                (spaces, breaks) = (false, false);
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    /// A line break inside a flow scalar is written twice (a single one would read as a
    /// space).
    fn text_break(&mut self, c: char, after_break: bool) {
        if !after_break && c == '\n' {
            self.put_break();
        }
        self.write_break(c);
        self.indention = true;
    }

    fn write_single_quoted(&mut self, text: &str, folds: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if folds
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i + 1 != chars.len()
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                self.text_break(c, breaks);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                (spaces, breaks) = (false, false);
            }
        }
        if breaks {
            self.write_indent();
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, text: &str, folds: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                escape(c).chars().for_each(|e| self.put(e));
                spaces = false;
            } else if c == ' ' {
                if folds && !spaces && self.column > BEST_WIDTH && i != 0 && i + 1 != chars.len() {
                    self.write_indent();
                    // A space at the start of a continuation line would be dropped.
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// `|`, the hints (`2` when the text starts with a space or a break; `-` without a final
    /// break, `+` with more than one), then the lines at the indentation.
    fn write_literal(&mut self, text: &str) {
        self.write_indicator("|", true, false, false);
        if text.starts_with(|c| c == ' ' || is_break(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let mut tail = text.chars().rev();
        let chomp = match (tail.next(), tail.next()) {
            (Some(last), _) if !is_break(last) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(before)) if is_break(before) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
            self.open_ended |= chomp == "+";
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in text.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                    breaks = false;
                }
                self.put(c);
                self.indention = false;
            }
        }
    }
}

/// libyaml's choice among the styles the text allows, starting from the one asked for.
fn select_style(scalar: &Scalar, analysis: &Analysis, simple_key: bool) -> Style {
    let no_tag = scalar.kept_tag().is_none();
    let mut style = match scalar.style {
        Style::Any => Style::Plain,
        style => style,
    };
    if simple_key && analysis.multiline {
        style = Style::Double;
    }
    if style == Style::Plain
        && (!analysis.plain_allowed
            || scalar.text.is_empty() && simple_key
            || no_tag && !scalar.plain_implicit)
    {
        style = Style::Single;
    }
    if style == Style::Single && !analysis.single_quoted_allowed {
        style = Style::Double;
    }
    if style == Style::Literal && (!analysis.block_allowed || simple_key) {
        style = Style::Double;
    }
    style
}

/// The escape libyaml writes after `\` in a double-quoted scalar.
fn escape(c: char) -> String {
    match c {
        '\0' => "0".into(),
        '\u{7}' => "a".into(),
        '\u{8}' => "b".into(),
        '\t' => "t".into(),
        '\n' => "n".into(),
        '\u{b}' => "v".into(),
        '\u{c}' => "f".into(),
        '\r' => "r".into(),
        '\u{1b}' => "e".into(),
        '"' => "\"".into(),
        '\\' => "\\".into(),
        '\u{85}' => "N".into(),
        '\u{a0}' => "_".into(),
        '\u{2028}' => "L".into(),
        '\u{2029}' => "P".into(),
        c if (c as u32) <= 0xFF => format!("x{:02X}", c as u32),
        c if (c as u32) <= 0xFFFF => format!("u{:04X}", c as u32),
        c => format!("U{:08X}", c as u32),
    }
}

/// Whether libyaml writes this key as `key:`: a one-line scalar of at most 128 bytes (its
/// tag included), or an empty collection.
fn is_simple_key(key: &Value) -> Result<bool, FunctionError> {
    Ok(match key {
        Value::Array(items) => items.is_empty(),
        Value::Hash(map) => map.is_empty(),
        scalar => {
            let scalar = Scalar::of(scalar)?;
            let tag = scalar.kept_tag().map_or(0, str::len);
            !analyze(&scalar.text).multiline && tag + scalar.text.len() <= MAX_SIMPLE_KEY
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_that_read_back_as_other_values_are_quoted() {
        for (text, style) in [
            ("true", Style::Single),
            ("yes", Style::Single),
            ("1", Style::Single),
            ("2020-01-01", Style::Single),
            ("2020-02-31", Style::Plain),
            ("12:30", Style::Single),
            ("019", Style::Single),
            ("1e3", Style::Plain),
            ("~", Style::Double),
            ("y", Style::Double),
            ("a\nb", Style::Literal),
            ("x\n", Style::Plain),
        ] {
            assert_eq!(psych_style(text), style, "{text:?}");
        }
    }

    #[test]
    fn a_keep_chomped_block_ends_the_document() {
        let text = document(&Value::from("a\nb\n\n")).unwrap();
        assert_eq!(text, "--- |+\n  a\n  b\n\n...\n");
    }
}
