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

    /// The miette rendering: message, file:line:column, the source with the span labelled, help.
    pub fn render(&self, color: bool) -> String {
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

    #[test]
    fn lines_and_columns_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 3), (2, 1));
    }
}
