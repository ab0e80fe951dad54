//! The Puppet language front end: text → spanned AST, and diagnostics for what does not parse.

pub mod ast;
pub mod diagnostic;
pub mod parser;
pub mod prescan;
pub mod sexpr;
pub mod strings;
pub mod syntax_error;
pub mod validate;
pub mod visit;

pub use parser::parse;
#[doc(hidden)]
pub use parser::parse_here as parse_without_growing;
pub use syntax_error::SyntaxError;

pub use validate::Dialect;

/// Parses and validates a manifest, as `puppet parser validate` does: the tree, or every
/// problem found (a syntax error stops at the first; validation reports them all).
pub fn check(source: &str, dialect: Dialect) -> Result<ast::Program, Vec<SyntaxError>> {
    let (program, depth) = parser::parse_with_depth(source);
    let program = program.map_err(|e| vec![e])?;
    let problems = parser::with_stack_for(depth, || validate::validate(&program, dialect));
    if problems.is_empty() {
        Ok(program)
    } else {
        Err(problems)
    }
}
