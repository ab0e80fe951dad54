//! The Puppet language front end: text → spanned AST, and diagnostics for what does not parse.

pub mod ast;
pub mod diagnostic;
pub mod parser;
pub mod prescan;
pub mod sexpr;
pub mod strings;
pub mod syntax_error;
pub mod visit;

pub use parser::parse;
pub use syntax_error::SyntaxError;
