//! A `SyntaxError` with its file: rendered by miette for people, or as JSON for tools.

use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};
use serde::Serialize;

use super::syntax_error::SyntaxError;

/// A problem located in a named file, ready for miette.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
pub struct FileDiagnostic {
    message: String,
    #[source_code]
    source_code: NamedSource<Arc<String>>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
    #[help]
    help: Option<String>,
    line: usize,
    column: usize,
}

/// One problem as `check --format json` prints it.
#[derive(Debug, Serialize)]
pub struct JsonProblem<'a> {
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub message: &'a str,
}

impl FileDiagnostic {
    pub fn new(file: &str, source: Arc<String>, error: &SyntaxError) -> Self {
        let start = error.span.start.min(source.len());
        let (line, column) = line_column(&source, start);
        let len = error.span.len().min(source.len() - start);
        FileDiagnostic {
            message: error.message.clone(),
            source_code: NamedSource::new(file, source),
            span: (start, len).into(),
            label: error.label.clone(),
            help: error.help.clone(),
            line,
            column,
        }
    }

    pub fn json(&self) -> JsonProblem<'_> {
        JsonProblem {
            file: self.source_code.name(),
            line: self.line,
            column: self.column,
            message: &self.message,
        }
    }

    pub fn line(&self) -> usize {
        self.line
    }

    fn line_too_long(&self) -> bool {
        const LONGEST_SHOWN: usize = 1000;
        let text = self.source_code.inner().as_str();
        let start = self.span.offset().min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        line_end - line_start > LONGEST_SHOWN
    }

    /// The miette rendering: message, file:line:column, the source with the span labelled, help.
    /// A line too long to show (minified or generated code) is named but not printed.
    pub fn render(&self, color: bool) -> String {
        if self.line_too_long() {
            let mut out = format!(
                "  × {}\n  at {}:{}:{} (the line is too long to show)\n",
                self.message,
                self.source_code.name(),
                self.line,
                self.column
            );
            if let Some(help) = &self.help {
                out.push_str(&format!("  help: {help}\n"));
            }
            return out;
        }
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let mut out = String::new();
        GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .render_report(&mut out, self)
            .expect("rendering to a String cannot fail");
        out
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every problem of `source`, rendered as `check` prints it (without colour).
    fn rendered(source: &str) -> String {
        let problems = crate::lang::check(source, crate::lang::Dialect::Manifest)
            .expect_err("the manifest has a problem");
        let source = Arc::new(source.to_string());
        problems
            .iter()
            .map(|p| FileDiagnostic::new("site.pp", Arc::clone(&source), p).render(false))
            .collect()
    }

    macro_rules! diagnostics {
        ($($name:ident: $source:expr;)*) => {
            $(
                #[test]
                fn $name() {
                    let source: &str = $source;
                    insta::assert_snapshot!(stringify!($name), rendered(source), source);
                }
            )*
        };
    }

    diagnostics! {
        missing_comma_between_attributes: "file { '/tmp/x':\n  ensure => file\n  mode   => '0644',\n}\n";
        equals_instead_of_arrow: "file { '/tmp/x':\n  ensure = file,\n}\n";
        equals_instead_of_arrow_in_hash: "$h = { 'a' = 1 }\n";
        unterminated_string: "notify { 'x':\n  message => \"hello,\n}\n";
        unterminated_single_quoted_string: "$a = 'it is\n$b = 2\n";
        unterminated_heredoc: "$text = @(END)\n  line one\n  line two\n";
        unclosed_brace: "class apache {\n  if $x {\n    notice(1)\n}\n";
        missing_colon_after_title: "service { 'nginx'\n  ensure => running,\n}\n";
        extra_closing_brace: "if $x {\n  notice(1)\n}\n}\n";
        reserved_word_as_name: "$x = [if]\n";
        bad_octal_number: "$mode = 0789\n";
        assignment_to_non_variable: "$a[1] = 2\n";
        value_with_no_effect: "$x = 1\n$x\nnotice($x)\n";
        duplicate_parameter: "define web($port, $port) { }\n";
        operator_at_end_of_file: "$total = 1 +\n";
        unknown_heredoc_flag: "$a = @(END/q)\nx\nEND\n";
        uppercase_class_name: "class Apache { }\n";
        removed_append_operator: "$list = [1]\n$list += [2]\n";
        invalid_variable_name: "$Port = 80\n";
        trailing_semicolon: "notice(1);\n";
        invalid_unicode_escape: "notice(\"\\u{110000}\")\n";
        assignment_in_condition: "if $x = 1 {\n  notice(1)\n}\n";
        semicolon_between_attributes: "file { '/tmp/x': ensure => file; mode => '0644' }\n";
    }

    #[test]
    fn a_line_too_long_to_show_is_named_not_printed() {
        // miette cannot lay out columns past 65,535; minified code gets there.
        let source = format!("$x = '{}' }}\n", "a".repeat(70_000));
        let problems = crate::lang::check(&source, crate::lang::Dialect::Manifest).unwrap_err();
        let d = FileDiagnostic::new("min.pp", Arc::new(source), &problems[0]);
        assert_eq!(
            d.render(false),
            "  × expected `,`, `;`, end of file, an expression or an operator, found `}`\n  at min.pp:1:70009 (the line is too long to show)\n  help: this closing bracket has no opening one: remove it, or look for a missing opening bracket above\n"
        );
    }

    #[test]
    fn lines_and_columns_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 3), (2, 1));
    }
}
