//! Embedded Puppet templates: `epp('mod/name.epp', {args})` and `inline_epp(text, {args})`.
//!
//! A template is text with tags: `<% code %>`, `<%= expression %>`, `<%# comment %>`,
//! `<%- ... -%>` trimming, `<%%`/`%%>` for literal tags, and a first `<%| params |%>` tag.
//! As in Puppet, the template becomes a lambda: its parameters are the tag's, and its body is
//! the code with each piece of text and each expression turned into a call that renders it.
//! The body is written as Puppet source for our own parser, keeping every line break where it
//! was, so errors in a template point at the template's line.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::lang::ast::{ExprKind, Lambda};
use crate::lang::Dialect;

use super::super::evaluator::{describe_value_type, EvalResult, Evaluator};
use super::super::loader::SourceFile;
use super::super::scope::Frame;
use super::super::value::{HashMap as ValueMap, Value};
use super::super::{EvalError, FileId};
use super::{bad, files, Call, FunctionError};

/// The function the generated body calls to render text and expressions.
const RENDER: &str = "epp_render";

thread_local! {
    /// The text rendered so far by each template being evaluated, innermost last. It lives
    /// beside the evaluator because the template's text may render from inside blocks of
    /// its own code (`<% $xs.each |$x| { %>...<% } %>`), in scopes of their own.
    static RENDERED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// `epp_render(value)`: appends a value, as interpolation writes it, to the template being
/// rendered.
pub(super) fn render(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let text = args
        .first()
        .map(Value::to_interpolated_string)
        .unwrap_or_default();
    RENDERED.with(|rendered| match rendered.borrow_mut().last_mut() {
        Some(out) => {
            out.push_str(&text);
            Ok(Value::Undef)
        }
        None => Err(bad(format!(
            "{name}() renders the text of epp templates; call epp() or inline_epp()"
        ))),
    })
}

/// A template translated: its parameter list when it has a `<%| |%>` tag, and the lambda
/// that renders it, as Puppet source.
#[derive(Debug, PartialEq)]
struct Translated {
    has_parameters: bool,
    source: String,
}

/// What ends a piece of text.
enum Tag {
    End,
    /// `<%` or `<%-`: code.
    Code,
    /// `<%=`: an expression to render.
    Expression,
}

/// The template as Puppet source: `with() |params| { body }`, every line where it was.
fn translate(template: &str) -> Result<Translated, String> {
    let mut body = String::new();
    let mut parameters: Option<String> = None;
    let mut at_start = true;
    let mut pos = 0;
    let mut trim_leading = false;
    loop {
        let (text, tag, next) = scan_text(template, pos, trim_leading)?;
        if !text.is_empty() {
            body.push_str(&format!(" {RENDER}('{}')", single_quoted(&text)));
            at_start = false;
        }
        if let Tag::End = tag {
            break;
        }
        let (code, end, trim) = scan_code(template, next)?;
        (pos, trim_leading) = (end, trim);
        let code = code.to_string();
        match tag {
            Tag::Code if code.trim_start().starts_with('|') => {
                if !at_start {
                    return Err("Syntax error at '|'".into());
                }
                parameters = Some(parameter_list(&code)?);
            }
            Tag::Code => body.push_str(&format!(" {code}")),
            _ => body.push_str(&format!(" {RENDER}(({code}))")),
        }
        at_start = false;
    }
    let has_parameters = parameters.is_some();
    let parameters = parameters.unwrap_or_else(|| " ".into());
    Ok(Translated {
        has_parameters,
        source: format!("with() |{parameters}| {{{body}\n}}"),
    })
}

/// The inside of `| ... |`, line breaks kept.
fn parameter_list(code: &str) -> Result<String, String> {
    let code = code.trim();
    match code.strip_prefix('|').and_then(|c| c.strip_suffix('|')) {
        Some(inner) => Ok(inner.to_string()),
        None => Err("Syntax error: the parameter tag must end with '|%>'".into()),
    }
}

/// Text for a single-quoted Puppet string.
fn single_quoted(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The text from `pos` to the next tag, as Puppet's EppScanner reads it: `<%%` is a literal
/// `<%`, `%%>` a literal `%>`, comments vanish, `<%-` trims the spaces and tabs before it,
/// and after a `-%>` the spaces, tabs and one line break that follow are dropped. Returns
/// the text, the tag, and where the tag's content begins.
fn scan_text(
    template: &str,
    mut pos: usize,
    mut trim_leading: bool,
) -> Result<(String, Tag, usize), String> {
    let mut text = String::new();
    loop {
        let found = template[pos..].find("<%").map(|i| pos + i);
        let end = found.map_or(template.len(), |i| i + 2);
        let mut part = &template[pos..end];
        if trim_leading {
            part = trimmed_line_start(part);
            trim_leading = false;
        }
        text.push_str(&part.replace("%%>", "%>"));
        let Some(open) = found else {
            return Ok((text, Tag::End, template.len()));
        };
        let after = open + 2;
        let cut_tag = |text: &mut String| text.truncate(text.len() - 2);
        match template[after..].chars().next() {
            None => return Err("Unbalanced epp tag, reached <eof> without closing tag.".into()),
            Some('-') => {
                cut_tag(&mut text);
                text.truncate(text.trim_end_matches([' ', '\t']).len());
                return Ok((text, Tag::Code, after + 1));
            }
            Some('%') => pos = after + 1,
            Some('=') => {
                cut_tag(&mut text);
                return Ok((text, Tag::Expression, after + 1));
            }
            Some('#') => {
                cut_tag(&mut text);
                let close = comment_end(template, after)
                    .ok_or("Unbalanced comment, reached <eof> without closing tag.")?;
                let comment = &template[after..close];
                if comment[1..].starts_with('-') {
                    text.truncate(text.trim_end_matches([' ', '\t']).len());
                }
                trim_leading = comment.ends_with("-%>");
                pos = close;
            }
            Some(_) => {
                cut_tag(&mut text);
                return Ok((text, Tag::Code, after));
            }
        }
    }
}

/// Ruby's `sub(/^[ \t]*\r?(?:\n|\z)?/, '')`: spaces and tabs, then one line break.
fn trimmed_line_start(part: &str) -> &str {
    let rest = part.trim_start_matches([' ', '\t']);
    rest.strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))
        .unwrap_or(rest)
}

/// Where a comment that starts at `from` (its `#`) ends: after the first `%>` not preceded
/// by `%`.
fn comment_end(template: &str, from: usize) -> Option<usize> {
    let bytes = template.as_bytes();
    (from..bytes.len().saturating_sub(2))
        .find(|&i| bytes[i] != b'%' && &bytes[i + 1..i + 3] == b"%>")
        .map(|i| i + 3)
}

/// The code from `pos` to its closing `%>` or `-%>`, which do not count inside strings and
/// comments: the code, where the text resumes, and whether `-%>` trims what follows.
fn scan_code(template: &str, pos: usize) -> Result<(&str, usize, bool), String> {
    #[derive(PartialEq)]
    enum In {
        Code,
        Single,
        Double,
        LineComment,
        BlockComment,
    }
    let bytes = template.as_bytes();
    let mut state = In::Code;
    let mut i = pos;
    while i < bytes.len() {
        let rest = &bytes[i..];
        match state {
            In::Code if rest.starts_with(b"-%>") => return Ok((&template[pos..i], i + 3, true)),
            In::Code if rest.starts_with(b"%>") => return Ok((&template[pos..i], i + 2, false)),
            In::Code if rest.starts_with(b"/*") => state = In::BlockComment,
            In::Code => match rest[0] {
                b'\'' => state = In::Single,
                b'"' => state = In::Double,
                b'#' => state = In::LineComment,
                _ => {}
            },
            In::Single | In::Double if rest[0] == b'\\' => i += 1,
            In::Single if rest[0] == b'\'' => state = In::Code,
            In::Double if rest[0] == b'"' => state = In::Code,
            In::LineComment if rest[0] == b'\n' => state = In::Code,
            In::BlockComment if rest.starts_with(b"*/") => {
                state = In::Code;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    Err("Unbalanced epp tag, reached <eof> without closing tag.".into())
}

/// `inline_epp(text, args)`: the template sees the calling scope's variables.
pub(super) fn inline_epp(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let (text, given) = arguments(ev, call, args)?;
    let source = TemplateSource {
        path: PathBuf::from("inlined-epp-text"),
        text,
    };
    source.render(ev, call, given, false)
}

/// `epp('mod/name.epp', args)`: the template of a module (or at an absolute path), which sees
/// only top scope.
pub(super) fn epp(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let (mut name, given) = arguments(ev, call, args)?;
    if !Path::new(&name).exists() && !name.ends_with(".epp") {
        name.push_str(".epp");
    }
    let path = files::module_file(&ev.loader, &name, "templates")
        .filter(|path| path.is_file())
        .ok_or_else(|| ev.error(call.expr, format!("Could not find template '{name}'")))?;
    let text = std::fs::read_to_string(&path).map_err(|err| {
        ev.error(
            call.expr,
            format!("cannot read template {}: {err}", path.display()),
        )
    })?;
    TemplateSource { path, text }.render(ev, call, given, true)
}

/// The template (its text or name) and the arguments, whose names are words.
fn arguments(
    ev: &Evaluator<'_>,
    call: &Call<'_>,
    args: Vec<Value>,
) -> EvalResult<(String, Option<ValueMap>)> {
    let wrong = |message: String| Err(ev.error(call.expr, format!("{}(): {message}", call.name)));
    let mut args = args.into_iter();
    let template = match args.next() {
        Some(Value::String(text)) => text,
        other => {
            return wrong(format!(
                "the first argument must be a String, got {}",
                describe_value_type(&other.unwrap_or(Value::Undef))
            ))
        }
    };
    let given = match args.next() {
        None | Some(Value::Undef) => None,
        Some(Value::Hash(map)) => Some(map),
        Some(other) => {
            return wrong(format!(
                "the template arguments must be a Hash, got {}",
                describe_value_type(&other)
            ))
        }
    };
    if let Some(bad_key) = given.iter().flatten().map(|(k, _)| k).find(|k| !is_word(k)) {
        return wrong(format!(
            "the template argument names must be words, got '{bad_key}'"
        ));
    }
    Ok((template, given))
}

fn is_word(key: &Value) -> bool {
    matches!(key, Value::String(s) if !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

struct TemplateSource {
    path: PathBuf,
    text: String,
}

impl TemplateSource {
    fn render(
        &self,
        ev: &mut Evaluator<'_>,
        call: &Call<'_>,
        given: Option<ValueMap>,
        top_scope_only: bool,
    ) -> EvalResult {
        let invalid = |message: &str| format!("{}(): Invalid EPP: {message}", call.name);
        let translated = translate(&self.text).map_err(|m| ev.error(call.expr, invalid(&m)))?;
        let (file, lambda) = self.parse(ev, &translated.source).map_err(|mut e| {
            e.problem.message = invalid(&e.problem.message);
            e
        })?;
        let at = ev.origin(call.expr.span);
        ev.enter_call(call.expr)?;
        let frame = Frame {
            parent: Some(if top_scope_only { 0 } else { ev.scopes.current }),
            container: ev.scopes.frame().container,
            ..Frame::default()
        };
        let previous = ev.scopes.push(frame);
        let saved_file = std::mem::replace(&mut ev.file, file);
        RENDERED.with(|r| r.borrow_mut().push(String::new()));
        let result = bind(ev, &lambda, translated.has_parameters, given, at)
            .and_then(|()| ev.eval_block(&lambda.body));
        let rendered = RENDERED.with(|r| r.borrow_mut().pop()).unwrap_or_default();
        ev.file = saved_file;
        ev.scopes.pop(previous);
        ev.leave_call();
        result.map(|_| Value::String(rendered))
    }

    /// The template's lambda, from a source file of its own (kept once per text, so that a
    /// template rendered in a loop is not stored again and again).
    fn parse(&self, ev: &mut Evaluator<'_>, source: &str) -> EvalResult<(FileId, Lambda)> {
        let sources = &mut ev.loader.sources;
        let file = match sources
            .iter()
            .position(|s| s.path == self.path && s.text.as_str() == source)
        {
            Some(file) => file,
            None => {
                sources.push(SourceFile {
                    path: self.path.clone(),
                    display: self.path.display().to_string(),
                    text: Arc::new(source.to_string()),
                });
                sources.len() - 1
            }
        };
        let program =
            crate::lang::check(source, Dialect::Manifest).map_err(|mut problems| EvalError {
                kind: super::super::EvalErrorKind::Input,
                problem: problems.remove(0),
                file,
            })?;
        let lambda = program
            .statements
            .into_iter()
            .next()
            .and_then(|s| match s.kind {
                ExprKind::Call(call) => call.lambda,
                _ => None,
            });
        match lambda {
            Some(lambda) => Ok((file, lambda)),
            None => Err(EvalError::input(
                "the template is not one block of code",
                super::super::Origin {
                    file,
                    span: program.span,
                },
                "here",
            )),
        }
    }
}

/// The arguments in the template's scope: checked against its parameters when it declares
/// them, else simply its variables.
fn bind(
    ev: &mut Evaluator<'_>,
    lambda: &Lambda,
    has_parameters: bool,
    given: Option<ValueMap>,
    at: super::super::Origin,
) -> EvalResult<()> {
    let given: std::collections::HashMap<String, Value> = given
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_display_string(), v))
        .collect();
    if !has_parameters {
        ev.scopes.frame_mut().vars.extend(given);
        return Ok(());
    }
    if let Some(unknown) = given
        .keys()
        .find(|name| !lambda.params.iter().any(|p| &p.name.name == *name))
    {
        return Err(EvalError::input(
            format!("the template has no parameter named '{unknown}'"),
            at,
            "given here",
        ));
    }
    ev.bind_params(&lambda.params, given, "the template", at, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(template: &str) -> String {
        translate(template).unwrap().source
    }

    #[test]
    fn text_and_tags_become_calls_on_the_same_lines() {
        assert_eq!(
            source("a\n<%= $x %>\n<% $y = 1 -%>\n  b'\\"),
            "with() | | { epp_render('a\n') epp_render(( $x )) epp_render('\n')  $y = 1  epp_render('  b\\'\\\\')\n}"
        );
        assert_eq!(
            source("<%| $x,\n $y = 1 |%>t"),
            "with() | $x,\n $y = 1 | { epp_render('t')\n}"
        );
    }

    #[test]
    fn tags_inside_strings_and_comments_do_not_close_code() {
        let (code, _, trim) = scan_code("= '%>' # %>\n -%>rest", 0).unwrap();
        assert_eq!(code, "= '%>' # %>\n ");
        assert!(trim);
        assert!(scan_code(" $x = 1", 0).is_err());
    }
}
