//! The checks Puppet's validator makes after parsing, which `puppet parser validate` reports as
//! errors: values that are produced and then forgotten, and parameters declared twice.

use std::collections::HashSet;

use super::ast::*;
use super::syntax_error::SyntaxError;
use super::visit::{self, BlockOwner, Visitor};

/// Every problem in the program, in source order.
pub fn validate(program: &Program) -> Vec<SyntaxError> {
    let mut v = Validator::default();
    v.statements(&program.statements, true);
    visit::walk_program(&mut v, program);
    v.problems.sort_by_key(|p| p.span.start);
    v.problems
}

#[derive(Default)]
struct Validator {
    problems: Vec<SyntaxError>,
}

impl Validator {
    /// A statement whose only effect is its value is an error unless that value is used: as
    /// the last statement of a function, lambda, plan, branch or of the file.
    fn statements(&mut self, statements: &[Expr], last_value_used: bool) {
        for (i, statement) in statements.iter().enumerate() {
            let last = i + 1 == statements.len();
            if (!last || !last_value_used) && no_effect(statement) {
                self.problems.push(forgotten_value(statement, last));
            }
        }
    }
}

impl Visitor for Validator {
    fn block(&mut self, block: &Block, owner: BlockOwner) {
        let last_value_used = !matches!(
            owner,
            BlockOwner::Class
                | BlockOwner::Define
                | BlockOwner::Node
                | BlockOwner::Application
                | BlockOwner::Site
        );
        self.statements(&block.statements, last_value_used);
        visit::walk_block(self, block);
    }

    fn params(&mut self, params: &[Param]) {
        let mut seen = HashSet::new();
        for p in params {
            if !seen.insert(p.name.name.as_str()) {
                self.problems.push(
                    SyntaxError::new(
                        format!(
                            "the parameter `${}` is declared more than once",
                            p.name.name
                        ),
                        p.name.span,
                        "declared again here",
                    )
                    .with_help("rename or remove one of them"),
                );
            }
        }
        visit::walk_params(self, params);
    }
}

fn forgotten_value(statement: &Expr, last: bool) -> SyntaxError {
    let what = describe(statement);
    let (message, help) = if last {
        (
            format!("this {what} has no effect: a class, define or node cannot end with a value"),
            "remove it, or use it (assign it to a variable, pass it to a function)",
        )
    } else {
        (
            format!("this {what} has no effect: its value is produced and then forgotten"),
            "remove it, or use it; a missing comma, operator or parenthesis before it can also split one expression in two",
        )
    };
    SyntaxError::new(message, statement.span, "value not used").with_help(help)
}

/// Whether evaluating the expression can do nothing but produce a value.
fn no_effect(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Undef
        | ExprKind::Default
        | ExprKind::Boolean(_)
        | ExprKind::Integer(_)
        | ExprKind::Float(_)
        | ExprKind::Regex(_)
        | ExprKind::Variable(_)
        | ExprKind::Name(_)
        | ExprKind::TypeRef(_) => true,
        ExprKind::String(parts) => parts_no_effect(parts),
        ExprKind::Heredoc(h) => parts_no_effect(&h.parts),
        ExprKind::Array(items) => items.iter().all(no_effect),
        ExprKind::Hash(entries) => entries_no_effect(entries),
        ExprKind::Paren(inner) | ExprKind::Unary { operand: inner, .. } => no_effect(inner),
        ExprKind::Access { target, keys } => no_effect(target) && keys.iter().all(no_effect),
        // A match sets $0..$n: that is an effect.
        ExprKind::Binary { op, lhs, rhs } => {
            !matches!(op, BinaryOp::Match | BinaryOp::NotMatch) && no_effect(lhs) && no_effect(rhs)
        }
        ExprKind::Selector { subject, cases } => no_effect(subject) && entries_no_effect(cases),
        ExprKind::If(i) => {
            no_effect(&i.condition)
                && block_no_effect(&i.then)
                && i.elsifs
                    .iter()
                    .all(|(c, b)| no_effect(c) && block_no_effect(b))
                && i.otherwise.as_ref().is_none_or(block_no_effect)
        }
        ExprKind::Unless(u) => {
            no_effect(&u.condition)
                && block_no_effect(&u.then)
                && u.otherwise.as_ref().is_none_or(block_no_effect)
        }
        ExprKind::Case { subject, options } => {
            no_effect(subject)
                && options
                    .iter()
                    .all(|o| o.values.iter().all(no_effect) && block_no_effect(&o.body))
        }
        _ => false,
    }
}

fn parts_no_effect(parts: &[StringPart]) -> bool {
    parts.iter().all(|p| match p {
        StringPart::Text(_) => true,
        StringPart::Interpolation(e) => no_effect(e),
    })
}

fn entries_no_effect(entries: &[HashEntry]) -> bool {
    entries
        .iter()
        .all(|e| no_effect(&e.key) && no_effect(&e.value))
}

fn block_no_effect(block: &Block) -> bool {
    block.statements.iter().all(no_effect)
}

/// A few words for the kind of expression, for messages.
pub fn describe(e: &Expr) -> &'static str {
    match &e.kind {
        ExprKind::Undef => "`undef`",
        ExprKind::Default => "`default`",
        ExprKind::Boolean(_) => "boolean",
        ExprKind::Integer(_) => "integer",
        ExprKind::Float(_) => "float",
        ExprKind::String(_) => "string",
        ExprKind::Heredoc(_) => "heredoc",
        ExprKind::Regex(_) => "regular expression",
        ExprKind::Variable(_) => "variable",
        ExprKind::Name(_) => "bare word",
        ExprKind::TypeRef(_) => "type reference",
        ExprKind::Array(_) => "array",
        ExprKind::Hash(_) => "hash",
        ExprKind::Paren(_) => "parenthesized expression",
        ExprKind::Access { .. } => "access expression",
        ExprKind::Unary { .. } | ExprKind::Binary { .. } => "expression",
        ExprKind::Selector { .. } => "selector",
        ExprKind::If(_) => "`if` statement",
        ExprKind::Unless(_) => "`unless` statement",
        ExprKind::Case { .. } => "`case` statement",
        _ => "expression",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parse;

    fn problems(src: &str) -> Vec<String> {
        validate(&parse(src).unwrap())
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn forgotten_values_are_errors() {
        assert_eq!(
            problems("$x = 1\n$x\nnotice($x)\n"),
            ["this variable has no effect: its value is produced and then forgotten"]
        );
        assert_eq!(
            problems("class a { 'x' }"),
            ["this string has no effect: a class, define or node cannot end with a value"]
        );
        assert_eq!(problems("unless $x { }\nnotice(1)").len(), 1);
    }

    #[test]
    fn used_values_are_fine() {
        assert!(problems("function f() { 1 }\n$y = [1].map |$x| { $x }\n'last'").is_empty());
        assert!(problems("if $x =~ /a/ { }\nnotice(1)").is_empty());
        assert!(problems("$a = 1 + 2\nnotice(\"${a}\")").is_empty());
    }

    #[test]
    fn duplicate_parameters() {
        assert_eq!(
            problems("define h($a, $a) {}"),
            ["the parameter `$a` is declared more than once"]
        );
    }
}
