//! One quick pass over the text before pest runs.
//!
//! Comments are blanked out here (pest skips them as whitespace), which makes the skipping pest
//! does between every two tokens much cheaper.
//!
//! A heredoc's body starts on the line after its `@(TAG)` header while the rest of the header's
//! line is still code, which a PEG cannot express. This pass finds every header, cuts the body
//! (up to and including the end-marker line) out of a copy of the text by overwriting it with
//! spaces of the same byte length, and remembers where each body was. Spans stay valid because
//! nothing moves. The same pass measures bracket nesting (so pathological input is refused before
//! it can exhaust the stack) and notes where an unterminated string starts (for the diagnostic).

use std::borrow::Cow;
use std::collections::HashMap;

use super::ast::Span;

/// Bracket nesting deeper than this is refused: no real manifest comes near it, and the
/// recursive-descent parser must not run out of stack.
pub const MAX_NESTING: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub struct HeredocInfo {
    pub tag: String,
    pub interpolated: bool,
    pub syntax: Option<String>,
    /// The escape flags after `/`, expanded: `/` alone enables all of them.
    pub escapes: String,
    /// The body lines, without the end-marker line.
    pub body: Span,
    /// The indentation before the end marker's `|`, removed from each line that starts with it.
    pub margin: String,
    /// `-` before the tag: drop the final line break.
    pub trim: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScanProblem {
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
}

#[derive(Debug)]
pub struct Prescan<'a> {
    /// The text pest parses: the source with heredoc bodies blanked.
    pub text: Cow<'a, str>,
    /// Heredocs by the byte offset of their `@(`.
    pub heredocs: HashMap<usize, HeredocInfo>,
    /// Problems that make the file unparseable whatever pest says (a heredoc without end, too
    /// deep nesting).
    pub problems: Vec<ScanProblem>,
    /// A string that runs to the end of the file: (offset of its quote, the quote).
    pub unterminated_string: Option<(usize, char)>,
    /// Brackets still open at the end: the innermost one's offset and character.
    pub unclosed_bracket: Option<(usize, char)>,
    /// The deepest bracket nesting (which bounds the parser's recursion).
    pub max_depth: usize,
}

pub fn prescan(source: &str) -> Prescan<'_> {
    let mut scanner = Scanner::new(source.as_bytes());
    if source.starts_with('\u{feff}') {
        scanner.problems.push(ScanProblem {
            message: "the file starts with a byte-order mark, which Puppet does not accept".into(),
            span: Span::new(0, 3),
            label: "byte-order mark".into(),
            help: Some("save the file as UTF-8 without a BOM".into()),
        });
        return Prescan {
            text: Cow::Borrowed(source),
            heredocs: HashMap::new(),
            problems: scanner.problems,
            unterminated_string: None,
            unclosed_bracket: None,
            max_depth: 0,
        };
    }
    scanner.code(false);
    let text = if scanner.blanks.is_empty() && scanner.comments.is_empty() {
        Cow::Borrowed(source)
    } else {
        Cow::Owned(blank_out(
            source,
            scanner.blanks.iter().chain(&scanner.comments),
        ))
    };
    let unclosed_bracket = scanner.open.last().map(|&(at, c)| (at, c as char));
    Prescan {
        text,
        heredocs: scanner.heredocs,
        problems: scanner.problems,
        unterminated_string: scanner.unterminated_string,
        unclosed_bracket,
        max_depth: scanner.max_depth,
    }
}

/// Replaces every byte of the spans with a space, keeping line breaks (so line numbers hold).
fn blank_out<'s>(source: &str, blanks: impl Iterator<Item = &'s Span>) -> String {
    let mut bytes = source.as_bytes().to_vec();
    for span in blanks {
        for b in &mut bytes[span.start..span.end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    // Only whole UTF-8 sequences were replaced by ASCII spaces, so the text is still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

struct Scanner<'a> {
    src: &'a [u8],
    pos: usize,
    blanks: Vec<Span>,
    heredocs: HashMap<usize, HeredocInfo>,
    problems: Vec<ScanProblem>,
    unterminated_string: Option<(usize, char)>,
    /// Open brackets: offset and byte.
    open: Vec<(usize, u8)>,
    last_significant: Option<u8>,
    /// Where the next heredoc body on the current line starts (after an earlier heredoc's end).
    next_body_start: Option<(usize, usize)>,
    /// The first body in `blanks` the scan has not jumped over yet.
    next_blank: usize,
    /// Comments and Unicode spaces, which pest never sees: the grammar has no COMMENT rule, so
    /// that skipping between tokens costs one whitespace test instead of three.
    comments: Vec<Span>,
    /// A `@(` before this offset has no `)` on its line (so it is no heredoc).
    no_header_close_before: usize,
    /// Where the last run of plain bytes (names, operators) ended.
    last_plain_end: usize,
    max_depth: usize,
}

impl<'a> Scanner<'a> {
    fn new(src: &'a [u8]) -> Self {
        Scanner {
            src,
            pos: 0,
            blanks: Vec::new(),
            heredocs: HashMap::new(),
            problems: Vec::new(),
            unterminated_string: None,
            open: Vec::new(),
            last_significant: None,
            next_body_start: None,
            next_blank: 0,
            max_depth: 0,
            comments: Vec::new(),
            no_header_close_before: 0,
            last_plain_end: 0,
        }
    }

    /// The `${ }` in an interpolating heredoc's body are code: their nesting counts like the
    /// file's (a scan of its own, so nothing else of this scan changes).
    fn interpolations(&mut self, from: usize, to: usize) {
        let mut sub = Scanner::new(&self.src[..to]);
        sub.pos = from;
        sub.open = self.open.clone();
        loop {
            sub.skip_until(b"$\\");
            match (sub.peek(0), sub.peek(1)) {
                (Some(b'\\'), _) => sub.pos += 2,
                (Some(b'$'), Some(b'{')) => sub.interpolation(),
                (Some(_), _) => sub.pos += 1,
                (None, _) => break,
            }
        }
        self.max_depth = self.max_depth.max(sub.max_depth);
        self.problems.extend(sub.problems);
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.pos + ahead).copied()
    }

    /// Scans code until the end of input, or (inside `${ }`) until the brace that closes it.
    fn code(&mut self, in_interpolation: bool) {
        let base = self.open.len();
        while let Some(b) = self.peek(0) {
            match b {
                b'#' => self.skip_line_comment(),
                b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment(),
                b'/' if self.regex_may_start() => self.skip_regex(),
                b'\'' => self.single_quoted(),
                b'"' => self.double_quoted(),
                b'@' if self.peek(1) == Some(b'(') => self.heredoc_header(),
                b'(' | b'[' | b'{' => {
                    self.open_bracket(b);
                    self.pos += 1;
                }
                b')' | b']' | b'}' => {
                    if in_interpolation && b == b'}' && self.open.len() == base {
                        self.pos += 1;
                        return;
                    }
                    if self.open.len() > base {
                        self.close_bracket(b);
                    }
                    self.last_significant = Some(b);
                    self.pos += 1;
                }
                b'\n' => {
                    self.pos += 1;
                    self.skip_heredoc_bodies();
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                0..=0x1f | 0x7f => self.control_character(b),
                0x80.. => self.non_ascii(),
                _ => self.skip_plain(),
            }
        }
    }

    /// Jumps over a run of bytes that mean nothing to this scan (names, operators, digits).
    fn skip_plain(&mut self) {
        let run = self.src[self.pos..]
            .iter()
            .position(|b| !is_plain(*b))
            .unwrap_or(self.src.len() - self.pos)
            .max(1);
        self.last_significant = Some(self.src[self.pos + run - 1]);
        self.pos += run;
        self.last_plain_end = self.pos;
    }

    /// Control characters (a form feed, a vertical tab) are not whitespace in Puppet.
    fn control_character(&mut self, b: u8) {
        self.problems.push(ScanProblem {
            message: format!("unexpected control character U+{b:04X}"),
            span: Span::new(self.pos, self.pos + 1),
            label: "control character".into(),
            help: Some("remove it: only spaces, tabs and line breaks separate code".into()),
        });
        self.pos += 1;
    }

    /// Puppet reads the Unicode space separators (a no-break space, an em space) as
    /// whitespace: they become ASCII spaces in pest's text. Anything else is left to pest.
    fn non_ascii(&mut self) {
        // Decode the one character here (the text is UTF-8: it came from a &str).
        let window = &self.src[self.pos..(self.pos + 4).min(self.src.len())];
        let valid = match std::str::from_utf8(window) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or_default(),
        };
        let Some(c) = valid.chars().next() else {
            self.pos += 1;
            return;
        };
        let len = c.len_utf8();
        if is_space_separator(c) {
            self.comments.push(Span::new(self.pos, self.pos + len));
        } else {
            self.last_significant = Some(b'a');
        }
        self.pos += len;
    }

    /// At the start of a line, jumps over the heredoc bodies that begin there.
    fn skip_heredoc_bodies(&mut self) {
        while let Some(body) = self.blanks.get(self.next_blank) {
            if body.start > self.pos {
                return;
            }
            self.pos = self.pos.max(body.end);
            self.next_blank += 1;
        }
    }

    /// A bracket closed by another kind is a syntax error found here, before pest: pest would
    /// try every way to read the text between, which is exponential in its nesting.
    fn close_bracket(&mut self, close: u8) {
        let Some((at, open)) = self.open.pop() else {
            return;
        };
        let expected = match open {
            b'(' => b')',
            b'[' => b']',
            _ => b'}',
        };
        if close != expected && self.problems.is_empty() {
            let line = self.src[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            self.problems.push(ScanProblem {
                message: format!(
                    "`{}` cannot close the `{}` of line {line}",
                    close as char, open as char
                ),
                span: Span::new(self.pos, self.pos + 1),
                label: format!("expected `{}`", expected as char),
                help: Some(format!(
                    "close the `{}` first, or remove this `{}`",
                    open as char, close as char
                )),
            });
        }
    }

    fn open_bracket(&mut self, b: u8) {
        self.open.push((self.pos, b));
        self.max_depth = self.max_depth.max(self.open.len());
        self.last_significant = Some(b);
        if self.open.len() == MAX_NESTING + 1 {
            self.problems.push(ScanProblem {
                message: format!("brackets are nested more than {MAX_NESTING} deep"),
                span: Span::new(self.pos, self.pos + 1),
                label: "too deep".into(),
                help: Some("split the expression into variables".into()),
            });
        }
    }

    /// A `/` starts a regex where a value is expected, i.e. after an operator or an opening
    /// bracket, not after a value (where it divides).
    fn regex_may_start(&self) -> bool {
        match self.last_significant {
            None => true,
            Some(b) if b.is_ascii_alphanumeric() || b == b'_' => self.after_keyword(),
            Some(b) => b"(,=~{[:;!|>?}<".contains(&b),
        }
    }

    /// Whether the word just read is a keyword after which a value comes (`node /web/`,
    /// `$x in /a/`), like Puppet's lexer decides.
    fn after_keyword(&self) -> bool {
        let text = &self.src[..self.last_plain_end];
        let word_len = text
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        let word = &text[text.len() - word_len..];
        let before = text.len().checked_sub(word_len + 1).map(|i| text[i]);
        let is_name = before.is_some_and(|b| b == b'$' || b == b':');
        !is_name
            && matches!(
                word,
                b"node" | b"in" | b"and" | b"or" | b"if" | b"elsif" | b"unless" | b"case"
            )
    }

    fn skip_line_comment(&mut self) {
        let start = self.pos;
        self.skip_until(b"\n");
        self.comments.push(Span::new(start, self.pos));
    }

    fn skip_block_comment(&mut self) {
        let start = self.pos;
        match self.src[start + 2..].windows(2).position(|w| w == b"*/") {
            Some(i) => {
                self.pos = start + 2 + i + 2;
                self.comments.push(Span::new(start, self.pos));
            }
            None => {
                self.problems.push(ScanProblem {
                    message: "this comment is never closed".into(),
                    span: Span::new(start, start + 2),
                    label: "`/*` without `*/`".into(),
                    help: Some("end the comment with `*/`".into()),
                });
                self.pos = self.src.len();
            }
        }
    }

    fn skip_regex(&mut self) {
        let start = self.pos;
        self.pos += 1;
        while let Some(b) = self.peek(0) {
            match b {
                b'\\' if self.peek(1).is_some_and(|n| n != b'\n') => self.pos += 2,
                b'/' => {
                    self.pos += 1;
                    self.last_significant = Some(b'/');
                    return;
                }
                b'\n' => break,
                _ => self.pos += 1,
            }
        }
        // Not a regex after all (a division at a line end): carry on after the slash.
        self.pos = start + 1;
        self.last_significant = Some(b'/');
    }

    /// Moves to the next byte that is one of `stops`, or to the end.
    fn skip_until(&mut self, stops: &[u8]) {
        self.pos = self.pos.min(self.src.len());
        self.pos = self.src[self.pos..]
            .iter()
            .position(|b| stops.contains(b))
            .map_or(self.src.len(), |i| self.pos + i);
    }

    fn single_quoted(&mut self) {
        let start = self.pos;
        self.pos += 1;
        loop {
            self.skip_until(b"'\\");
            match self.peek(0) {
                Some(b'\\') => self.pos += 2,
                Some(_) => {
                    self.pos += 1;
                    self.last_significant = Some(b'\'');
                    return;
                }
                None => break,
            }
        }
        self.pos = self.src.len();
        self.unterminated_string.get_or_insert((start, '\''));
    }

    fn double_quoted(&mut self) {
        let start = self.pos;
        self.pos += 1;
        loop {
            self.skip_until(b"\"\\$");
            let Some(b) = self.peek(0) else { break };
            match b {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    self.last_significant = Some(b'"');
                    return;
                }
                b'$' if self.peek(1) == Some(b'{') => self.interpolation(),
                _ => self.pos += 1,
            }
        }
        self.pos = self.src.len();
        self.unterminated_string.get_or_insert((start, '"'));
    }

    /// `${ ... }` in a string: code up to the matching `}`, one bracket deeper.
    fn interpolation(&mut self) {
        self.open_bracket(b'{');
        self.pos += 2;
        self.last_significant = Some(b'{');
        let depth = self.open.len();
        self.code(true);
        self.open.truncate(depth - 1);
    }

    fn heredoc_header(&mut self) {
        let start = self.pos;
        // Many `@(` on a line without `)` must not each scan to the end of the line.
        if start < self.no_header_close_before {
            self.pos += 1;
            return;
        }
        let stop = self.src[start..]
            .iter()
            .position(|&b| b == b')' || b == b'\n')
            .map_or(self.src.len(), |i| start + i);
        if self.src.get(stop) != Some(&b')') {
            self.no_header_close_before = stop;
            self.pos += 1;
            return;
        }
        let close = stop;
        self.pos = close + 1;
        self.last_significant = Some(b')');
        let spec = String::from_utf8_lossy(&self.src[start + 2..close]).into_owned();
        let header = Span::new(start, close + 1);
        let spec = match parse_header(&spec) {
            Ok(spec) => spec,
            Err((message, help)) => {
                self.problems.push(ScanProblem {
                    message,
                    span: header,
                    label: "this heredoc".into(),
                    help: Some(help),
                });
                return;
            }
        };
        let (header_line_end, body_start) = match self.next_body_start {
            Some((line_end, next)) if line_end > close => (line_end, next),
            _ => match self.src[close..].iter().position(|&b| b == b'\n') {
                Some(i) => (close + i, close + i + 1),
                None => (self.src.len(), self.src.len()),
            },
        };
        match find_end_marker(self.src, body_start, &spec.tag) {
            Some(end) => {
                if spec.interpolated {
                    self.interpolations(body_start, end.line_start);
                }
                self.blanks.push(Span::new(body_start, end.after));
                self.next_body_start = Some((header_line_end, end.after));
                self.heredocs.insert(
                    start,
                    HeredocInfo {
                        tag: spec.tag,
                        interpolated: spec.interpolated,
                        syntax: spec.syntax,
                        escapes: spec.escapes,
                        body: Span::new(body_start, end.line_start),
                        margin: end.margin.clone(),
                        trim: end.trim,
                    },
                );
            }
            None => {
                // Point where its text starts, as Puppet does (the header is in the message).
                let span = if body_start < self.src.len() {
                    Span::new(body_start, body_start + 1)
                } else {
                    header
                };
                self.problems.push(ScanProblem {
                    message: format!("heredoc `@({})` has no end marker", spec.raw),
                    span,
                    label: "its text starts here and runs to the end of the file".into(),
                    help: Some(format!(
                        "end it with a line holding only the tag, such as `| {}` (the `|` sets the margin, `-` before the tag trims the last line break)",
                        spec.tag
                    )),
                });
                // The rest of the file is the unterminated body: nothing after it is code.
                self.blanks
                    .push(Span::new(body_start.min(self.src.len()), self.src.len()));
                self.pos = self.src.len();
            }
        }
    }
}

/// Unicode's space separators (category Zs), except the ASCII space.
fn is_space_separator(c: char) -> bool {
    matches!(
        c,
        '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// Bytes the scan has nothing to do for (whitespace is not plain: it does not count as the last
/// significant byte).
fn is_plain(b: u8) -> bool {
    (0x21..0x7f).contains(&b)
        && !matches!(
            b,
            b'#' | b'/' | b'\'' | b'"' | b'@' | b'(' | b'[' | b'{' | b')' | b']' | b'}'
        )
}

struct HeaderSpec {
    raw: String,
    tag: String,
    interpolated: bool,
    syntax: Option<String>,
    escapes: String,
}

const ALL_ESCAPES: &str = "trnsuL$";

fn parse_header(spec: &str) -> Result<HeaderSpec, (String, String)> {
    let raw = spec.to_string();
    let (rest, escapes) = match spec.find('/') {
        Some(i) => {
            let flags = spec[i + 1..].trim_end();
            if let Some(bad) = flags.chars().find(|c| !ALL_ESCAPES.contains(*c)) {
                return Err((
                    format!("`{bad}` is not a heredoc escape flag"),
                    "the flags after `/` are t r n s u L and $ (or `/` alone for all of them)"
                        .into(),
                ));
            }
            if let Some(twice) = flags.chars().find(|c| flags.matches(*c).count() > 1) {
                return Err((
                    format!("the heredoc escape flag `{twice}` is given twice"),
                    "give each flag once".into(),
                ));
            }
            let flags = if flags.is_empty() { ALL_ESCAPES } else { flags };
            (&spec[..i], flags.to_string())
        }
        None => (spec, String::new()),
    };
    let (tag_part, syntax) = match rest.split_once(':') {
        Some((tag, syntax)) => {
            let syntax = syntax.trim();
            let valid = syntax.starts_with(|c: char| c.is_ascii_lowercase())
                && syntax
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-._".contains(&b));
            if !valid {
                return Err((
                    "a heredoc takes one lowercase syntax name after `:`, as in `@(END:json)`"
                        .into(),
                    "the header is @(TAG[:syntax][/flags])".into(),
                ));
            }
            (tag, Some(syntax.to_string()))
        }
        None => (rest, None),
    };
    let tag_part = tag_part.trim();
    let (tag, interpolated) = match tag_part.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => (inner.to_string(), true),
        None => (tag_part.to_string(), false),
    };
    if tag.is_empty() || tag.contains('"') {
        return Err((
            "a heredoc needs a tag: `@(END)` or `@(\"END\")`".into(),
            "write the tag between the parentheses; quote it to interpolate variables".into(),
        ));
    }
    Ok(HeaderSpec {
        raw,
        tag,
        interpolated,
        syntax,
        escapes,
    })
}

struct EndMarker {
    line_start: usize,
    /// The offset just past the end-marker line (and its line break).
    after: usize,
    margin: String,
    trim: bool,
}

/// Finds the line `[ws] [|] [ws] [-] [ws] TAG [ws]` at or after `from`.
fn find_end_marker(src: &[u8], from: usize, tag: &str) -> Option<EndMarker> {
    let mut line_start = from;
    while line_start < src.len() {
        let line_end = src[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(src.len(), |i| line_start + i);
        let line = &src[line_start..line_end];
        if let Some((margin, trim)) = match_end_line(line, tag.as_bytes()) {
            let margin = String::from_utf8_lossy(&line[..margin]).into_owned();
            return Some(EndMarker {
                line_start,
                after: (line_end + 1).min(src.len()),
                margin,
                trim,
            });
        }
        line_start = line_end + 1;
    }
    None
}

fn match_end_line(line: &[u8], tag: &[u8]) -> Option<(usize, bool)> {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let mut i = line.iter().take_while(|b| is_ws(b)).count();
    let mut margin = 0;
    if line.get(i) == Some(&b'|') {
        margin = i;
        i += 1;
        i += line[i..].iter().take_while(|b| is_ws(b)).count();
    }
    let trim = line.get(i) == Some(&b'-');
    if trim {
        i += 1;
        i += line[i..].iter().take_while(|b| is_ws(b)).count();
    }
    let rest = line[i..].strip_prefix(tag)?;
    rest.iter()
        .all(|b| is_ws(b) || *b == b'\r')
        .then_some((margin, trim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_heredoc_body_and_keeps_length() {
        let src = "$x = @(END)\n  hello\n  | END\nnotice($x)\n";
        let scan = prescan(src);
        assert_eq!(scan.text.len(), src.len());
        assert_eq!(scan.text, "$x = @(END)\n       \n       \nnotice($x)\n");
        let info = &scan.heredocs[&5];
        assert_eq!(&src[info.body.start..info.body.end], "  hello\n");
        assert_eq!(info.margin, "  ");
        assert!(!info.trim);
    }

    #[test]
    fn two_heredocs_on_one_line_follow_each_other() {
        let src = "foo(@(A), @(B))\na\nA\nb\n-B\n$z = 1\n";
        let scan = prescan(src);
        let a = &scan.heredocs[&4];
        let b = &scan.heredocs[&10];
        assert_eq!(&src[a.body.start..a.body.end], "a\n");
        assert_eq!(&src[b.body.start..b.body.end], "b\n");
        assert!(b.trim);
        assert!(scan.text.ends_with("$z = 1\n"));
    }

    #[test]
    fn missing_end_marker_is_a_problem() {
        let scan = prescan("$x = @(END)\ntext\n");
        assert_eq!(scan.problems.len(), 1);
        assert!(scan.problems[0].message.contains("no end marker"));
    }

    #[test]
    fn heredoc_inside_strings_and_comments_is_ignored() {
        let scan = prescan("# @(X)\n$a = '@(Y)'\n$b = \"@(Z) ${x}\"\n");
        assert!(scan.heredocs.is_empty());
        assert!(scan.problems.is_empty());
    }

    #[test]
    fn notes_unterminated_string_and_open_brackets() {
        let scan = prescan("file { 'x':\n  ensure => \"present,\n}\n");
        assert_eq!(scan.unterminated_string, Some((24, '"')));
        let scan = prescan("class a {\n  if $x {\n}\n");
        assert_eq!(scan.unclosed_bracket, Some((8, '{')));
    }

    #[test]
    fn refuses_deep_nesting() {
        let src = "[".repeat(MAX_NESTING + 5);
        assert_eq!(prescan(&src).problems.len(), 1);
        assert!(prescan(&"[".repeat(MAX_NESTING)).problems.is_empty());
    }

    #[test]
    fn escape_flags_are_checked() {
        assert!(prescan("@(END/x)\nEND\n").problems[0]
            .message
            .contains("`x`"));
        let scan = prescan("@(\"END\":json/)\nEND\n");
        let info = &scan.heredocs[&0];
        assert!(info.interpolated);
        assert_eq!(info.syntax.as_deref(), Some("json"));
        assert_eq!(info.escapes, ALL_ESCAPES);
    }
}
