//! Why a graph could not be had: a problem in the environment's Puppet code (a miette
//! diagnostic pointing at it), or a plain message for files, JSON, TLS and HTTP.

use std::fmt;

use crate::lang::diagnostic::FileDiagnostic;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceErrorKind {
    /// The environment's Puppet code is wrong: syntax, evaluation, or one of Puppet's site
    /// validations (a component without a node, ...). Carries a diagnostic.
    Code,
    /// The environment, graph file or a TLS file is not there or cannot be read.
    Missing,
    /// A graph file or a server's answer is not the environment graph's JSON.
    BadJson,
    /// The TLS files are unusable, or the server's certificate is not trusted.
    Tls,
    /// The server could not be reached.
    Network,
    /// The server answered with an error status (404: no such environment).
    Http,
}

#[derive(Debug)]
pub struct SourceError {
    kind: SourceErrorKind,
    message: String,
    help: Option<String>,
    diagnostic: Option<Box<FileDiagnostic>>,
}

impl SourceError {
    pub fn new(kind: SourceErrorKind, message: impl Into<String>) -> Self {
        SourceError {
            kind,
            message: message.into(),
            help: None,
            diagnostic: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A problem in Puppet code, located.
    pub fn code(diagnostic: FileDiagnostic) -> Self {
        SourceError {
            kind: SourceErrorKind::Code,
            message: diagnostic.to_string(),
            help: None,
            diagnostic: Some(Box::new(diagnostic)),
        }
    }

    pub fn kind(&self) -> SourceErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The diagnostic, when the problem is in Puppet code.
    pub fn diagnostic(&self) -> Option<&FileDiagnostic> {
        self.diagnostic.as_deref()
    }

    /// For people: the miette rendering of a code problem, else `Error: message` and the help.
    pub fn render(&self, color: bool) -> String {
        if let Some(diagnostic) = &self.diagnostic {
            return diagnostic.render(color);
        }
        let mut out = format!("Error: {}\n", self.message);
        if let Some(help) = &self.help {
            out.push_str(&format!("  help: {help}\n"));
        }
        out
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SourceError {}
