//! The evaluator: Puppet's semantics over the parsed playbook, producing a catalog of resources
//! and relationships. `discover()` and `get_fact()` ask the fleet while it runs.

pub mod catalog;
mod evaluator;
mod functions;
mod hiera;
mod host_facts;
mod loader;
mod lookup;
mod operators;
pub mod playbooks;
mod resources;
mod scope;
pub mod site;
pub mod steps;
pub mod time;
pub mod types;
pub mod value;

use std::path::PathBuf;
use std::sync::Arc;

use crate::lang::ast::Span;
use crate::lang::diagnostic::FileDiagnostic;
use crate::lang::SyntaxError;
use crate::protocol::Filter;
use crate::registry::DiscoveryMethod;

pub use catalog::Catalog;
pub use evaluator::{evaluate, AccessError, AccessErrorKind, EvalFailure};
pub use functions::{builtin_functions, Function, FunctionError, FunctionErrorKind};
pub use loader::{Loader, SourceFile};
pub use operators::{OperatorError, OperatorErrorKind};
pub use value::Value;

#[cfg(test)]
mod robustness;
#[cfg(test)]
mod semantics_tests;
#[cfg(test)]
pub mod testing;

/// Index of a file in the loader's list of sources.
pub type FileId = usize;

/// Where something was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Origin {
    pub file: FileId,
    pub span: Span,
}

/// How the evaluator reaches the fleet during evaluation. The run implements it over the RPC
/// client; tests and fleet-less playbooks use `NoFleet`.
pub trait NodeQuery {
    /// Identities of the nodes running `agent` that match `filter`, sorted; found by `method`
    /// when the call names one (`discover(..., {'method' => ...})`), else by the client's own.
    fn discover(
        &self,
        agent: &str,
        filter: &Filter,
        method: Option<DiscoveryMethod>,
    ) -> Result<Vec<String>, QueryError>;
    /// One fact of the one node matching `filter`.
    fn get_fact(&self, fact: &str, filter: &Filter) -> Result<Value, QueryError>;
    /// Which of `nodes` do not answer a ping (`discover(..., {'test' => true})`).
    fn silent(&self, nodes: &[String]) -> Result<Vec<String>, QueryError>;
}

/// Why the fleet could not answer `discover()` or `get_fact()`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    kind: QueryErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryErrorKind {
    /// The run has no fleet to ask.
    NoFleet,
    /// The request could not be made (the source says why).
    Request,
    /// `get_fact()`'s filter matches no node, or more than one.
    NotOneNode,
    /// The node answered with an error.
    Refused,
    /// The node did not answer in time.
    NoAnswer,
}

impl QueryError {
    pub fn new(kind: QueryErrorKind, message: impl Into<String>) -> QueryError {
        QueryError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A request that failed, said as its error says it.
    pub fn request(source: impl std::error::Error + Send + Sync + 'static) -> QueryError {
        QueryError {
            kind: QueryErrorKind::Request,
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }

    pub fn kind(&self) -> QueryErrorKind {
        self.kind
    }
}

/// For playbooks run without a fleet: discovery is an error that says so.
pub struct NoFleet;

impl NoFleet {
    fn error() -> QueryError {
        QueryError::new(
            QueryErrorKind::NoFleet,
            "no fleet is configured (give --fleet FILE or --nats URL)",
        )
    }
}

impl NodeQuery for NoFleet {
    fn discover(
        &self,
        _: &str,
        _: &Filter,
        _: Option<DiscoveryMethod>,
    ) -> Result<Vec<String>, QueryError> {
        Err(NoFleet::error())
    }

    fn get_fact(&self, _: &str, _: &Filter) -> Result<Value, QueryError> {
        Err(NoFleet::error())
    }

    fn silent(&self, _: &[String]) -> Result<Vec<String>, QueryError> {
        Err(NoFleet::error())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Notice,
    Warning,
    Err,
}

/// Where `notice`, `warning` and `err` go: the console, or a buffer in tests.
pub trait Log {
    fn log(&mut self, level: Level, text: &str);
}

/// `Notice:` lines on stdout, warnings and errors on stderr.
pub struct ConsoleLog;

impl Log for ConsoleLog {
    fn log(&mut self, level: Level, text: &str) {
        match level {
            Level::Notice => println!("Notice: {text}"),
            Level::Warning => eprintln!("Warning: {text}"),
            Level::Err => eprintln!("Error: {text}"),
        }
    }
}

/// The lines logged, as `Notice: text`, for tests.
#[derive(Default, Debug)]
pub struct BufferLog {
    pub lines: Vec<String>,
}

impl Log for BufferLog {
    fn log(&mut self, level: Level, text: &str) {
        let prefix = match level {
            Level::Notice => "Notice",
            Level::Warning => "Warning",
            Level::Err => "Error",
        };
        self.lines.push(format!("{prefix}: {text}"));
    }
}

/// What the evaluation is asked to do.
pub struct EvalRequest<'a> {
    pub loader: Loader,
    /// The playbook's file.
    pub path: PathBuf,
    /// The playbook's name (its file's stem); a `plan` of that name takes the arguments.
    pub playbook: String,
    /// `name=value` arguments from the command line.
    pub args: Vec<(String, Value)>,
    /// `$id`: who runs the playbook.
    pub caller: String,
    pub nodes: &'a dyn NodeQuery,
    /// The step kinds the playbook may declare (`crate::run::step::Kinds`).
    pub steps: &'a dyn steps::StepTypes,
    pub log: &'a mut dyn Log,
}

/// The result of evaluating a playbook.
#[derive(Debug)]
pub struct Evaluation {
    pub catalog: Catalog,
    /// The value of the plan the playbook ran (None for a class or top-scope code).
    pub returned: Option<Value>,
    pub sources: Vec<SourceFile>,
    /// The playbook repository (relative paths in steps, such as a `site_run`'s environments,
    /// are taken from it).
    pub repo: PathBuf,
}

/// What went wrong, where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalErrorKind {
    /// The playbook called `fail()`: the run failed, as the playbook meant it to.
    Fail,
    /// The playbook is wrong: an unknown type or function, a bad parameter, a type mismatch.
    Input,
    /// Discovery or a fact lookup could not reach the fleet.
    Fleet,
    /// `next()` leaving a block, `break()` an iteration, `return()` a function; the
    /// evaluator catches them where they end. Escaping further, they are a mistake.
    Next,
    Break,
    Return,
}

#[derive(Debug, Clone)]
pub struct EvalError {
    pub kind: EvalErrorKind,
    pub problem: SyntaxError,
    pub file: FileId,
}

impl EvalError {
    pub fn input(message: impl Into<String>, at: Origin, label: impl Into<String>) -> Self {
        EvalError {
            kind: EvalErrorKind::Input,
            problem: SyntaxError::new(message, at.span, label),
            file: at.file,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.problem.help = Some(help.into());
        self
    }

    pub fn kind(&self) -> EvalErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.problem.message
    }

    /// The miette diagnostic, with the file's text.
    pub fn diagnostic(&self, sources: &[SourceFile]) -> FileDiagnostic {
        let (name, text) = match sources.get(self.file) {
            Some(source) => (source.display.clone(), source.text.clone()),
            None => ("<unknown>".to_string(), Arc::new(String::new())),
        };
        FileDiagnostic::new(&name, text, &self.problem)
    }
}

/// A playbook argument from the command line: JSON when it parses as JSON, else the text.
pub fn parse_argument(text: &str) -> Value {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => Value::from(&json),
        Err(_) => Value::String(text.to_string()),
    }
}
