//! pest's parse tree → the spanned AST of `ast.rs`.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::LazyLock;

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;

use super::ast::*;
use super::prescan::{prescan, HeredocInfo, Prescan, MAX_NESTING};
use super::strings;
use super::syntax_error::{self, SyntaxError};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/puppet.pest"]
pub struct PuppetParser;

/// Parses a whole manifest.
pub fn parse(source: &str) -> Result<Program> {
    parse_with_depth(source).0
}

/// Parses, and tells how deeply the text nests brackets (which bounds every recursion over the
/// tree). The parse runs on a stack of its own when the caller's has too little room left for
/// that depth, so it is safe on any thread.
pub(crate) fn parse_with_depth(source: &str) -> (Result<Program>, usize) {
    let scan = prescan(source);
    let brackets = scan.max_depth;
    match with_stack_for(brackets, || parse_scanned(source, scan)) {
        // A level of operator chaining costs the walks over the tree far less stack than a
        // level of brackets costs the parser.
        Ok((program, tree)) => (Ok(program), brackets + tree / 64 + 1),
        Err(e) => (Err(e), brackets),
    }
}

/// Runs `f`, which recurses over text nested `depth` deep, where there is stack enough.
pub(crate) fn with_stack_for<T>(depth: usize, f: impl FnOnce() -> T) -> T {
    // Measured with examples/stack_probe.rs: nested `if` blocks, the costliest construct, take
    // about 35 KiB of stack per level in a debug build and 8 KiB in a release build.
    const PER_LEVEL: usize = 48 << 10;
    const BASE: usize = 256 << 10;
    let needed = BASE + depth.min(MAX_NESTING + 1) * PER_LEVEL;
    stacker::maybe_grow(needed, needed + (1 << 20), f)
}

#[doc(hidden)]
pub fn parse_here(source: &str) -> Result<Program> {
    parse_scanned(source, prescan(source)).map(|(program, _)| program)
}

/// The tree, and how many operators deep it nests.
fn parse_scanned(source: &str, scan: Prescan) -> Result<(Program, usize)> {
    if let Some(problem) = scan.problems.first() {
        return Err(SyntaxError::from_scan(problem.clone()));
    }
    let mut pairs = PuppetParser::parse(Rule::program, &scan.text)
        .map_err(|e| syntax_error::from_pest(e, source, &scan))?;
    let program = pairs
        .next()
        .expect("the program rule always yields one pair");
    let builder = Builder {
        source,
        heredocs: &scan.heredocs,
        offset: 0,
        tree_depth: Cell::new(0),
        max_tree_depth: Cell::new(0),
    };
    let program = builder.program(program)?;
    Ok((program, builder.max_tree_depth.get()))
}

type Result<T> = std::result::Result<T, SyntaxError>;

/// The functions Puppet lets a statement call without parentheses (its `STATEMENT_CALLS`).
const STATEMENT_FUNCTIONS: &[&str] = &[
    "require", "realize", "include", "contain", "tag", "debug", "info", "notice", "warning", "err",
    "fail", "import", "break", "next", "return", "alert", "crit", "emerg",
];

/// The entries read so far as one hash without braces, spanning them; none when there are none.
fn unbraced_hash(entries: &mut Vec<HashEntry>) -> Option<Expr> {
    let first = entries.first()?;
    let span = first.key.span.to(entries.last()?.value.span);
    Some(Expr::new(ExprKind::Hash(std::mem::take(entries)), span))
}

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    use Assoc::{Left, Right};
    use Rule::*;
    // Lowest precedence first, as in Puppet's own grammar (egrammar.ra).
    PrattParser::new()
        .op(Op::infix(op_out_edge, Left)
            | Op::infix(op_out_edge_sub, Left)
            | Op::infix(op_in_edge, Left)
            | Op::infix(op_in_edge_sub, Left))
        .op(Op::infix(op_assign, Right) | Op::infix(op_append, Right) | Op::infix(op_delete, Right))
        .op(Op::infix(op_or, Left))
        .op(Op::infix(op_and, Left))
        .op(Op::infix(op_lt, Left)
            | Op::infix(op_le, Left)
            | Op::infix(op_gt, Left)
            | Op::infix(op_ge, Left))
        .op(Op::infix(op_eq, Left) | Op::infix(op_ne, Left))
        .op(Op::infix(op_lshift, Left) | Op::infix(op_rshift, Left))
        .op(Op::infix(op_plus, Left) | Op::infix(op_minus, Left))
        .op(Op::infix(op_times, Left) | Op::infix(op_div, Left) | Op::infix(op_mod, Left))
        .op(Op::infix(op_match, Left) | Op::infix(op_nomatch, Left))
        .op(Op::infix(op_in, Left))
        .op(Op::prefix(op_neg) | Op::prefix(op_splat))
        .op(Op::prefix(op_not))
});

struct Builder<'a> {
    /// The original text (heredoc bodies are read from here, not from pest's blanked copy).
    source: &'a str,
    heredocs: &'a HashMap<usize, HeredocInfo>,
    /// Where the parsed text starts in the file: 0, or a heredoc body's offset.
    offset: usize,
    /// Operators on the path from the root to the expression being built, and the most seen.
    tree_depth: Cell<usize>,
    max_tree_depth: Cell<usize>,
}

impl Builder<'_> {
    /// The pair's span in the file (pairs of a heredoc body are offset by where the body
    /// starts), without the whitespace pest skipped after it while looking for more.
    fn span(&self, pair: &Pair<Rule>) -> Span {
        self.span_of(pair.as_span())
    }

    fn span_of(&self, s: pest::Span) -> Span {
        let text = s.as_str().trim_end_matches([' ', '\t', '\r', '\n']);
        let start = self.offset + s.start();
        Span::new(start, start + text.len())
    }

    fn ident(&self, pair: &Pair<Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    /// Class, define, function and plan names: lowercase segments, like Puppet's.
    fn definition_name(&self, pair: &Pair<Rule>) -> Result<Ident> {
        let name = self.ident(pair);
        let bad = name
            .name
            .trim_start_matches("::")
            .split("::")
            .any(|segment| segment.starts_with(|c: char| c.is_ascii_uppercase()));
        if RESERVED.contains(&name.name.as_str()) || name.name == "type" {
            return Err(reserved(&name));
        }
        if name.name.starts_with("::") {
            return Err(SyntaxError::new(
                format!(
                    "`{}` is not a valid name here: a definition's name has no leading `::`",
                    name.name
                ),
                name.span,
                "leading `::`",
            )
            .with_help(format!("write `{}`", name.name.trim_start_matches("::"))));
        }
        if bad {
            return Err(SyntaxError::new(
                format!(
                    "`{}` is not a valid name: names start with a lowercase letter",
                    name.name
                ),
                name.span,
                "capitalised",
            )
            .with_help(format!("write `{}`", name.name.to_lowercase())));
        }
        Ok(name)
    }

    /// An attribute name; `true` and `false` are values, not names.
    fn attribute_name(&self, pair: &Pair<Rule>) -> Result<Ident> {
        let name = self.ident(pair);
        if matches!(name.name.as_str(), "true" | "false") {
            return Err(SyntaxError::new(
                format!("`{}` cannot be an attribute name", name.name),
                name.span,
                "a value, not a name",
            ));
        }
        Ok(name)
    }

    fn not_reserved(&self, pair: &Pair<Rule>) -> Result<Ident> {
        let word = self.ident(pair);
        match RESERVED.contains(&word.name.as_str()) {
            true => Err(reserved(&word)),
            false => Ok(word),
        }
    }

    /// A word used as a resource type or function name: no hyphens, not reserved.
    fn valid_name(&self, pair: &Pair<Rule>, what: &str) -> Result<Ident> {
        let word = self.not_reserved(pair)?;
        if word.name.contains('-') {
            return Err(SyntaxError::new(
                format!("`{}` is not a valid {what}", word.name),
                word.span,
                "contains `-`",
            )
            .with_help("names may hold letters, digits and `_`, separated by `::`"));
        }
        Ok(word)
    }

    fn program(&self, pair: Pair<Rule>) -> Result<Program> {
        let span = self.span(&pair);
        let list = pair
            .into_inner()
            .find(|p| p.as_rule() == Rule::stmt_list)
            .expect("program holds a statement list");
        Ok(Program {
            statements: self.statements(list.into_inner())?,
            span,
        })
    }

    fn statements(&self, pairs: Pairs<Rule>) -> Result<Vec<Expr>> {
        pairs.map(|p| self.statement(p)).collect()
    }

    fn block(&self, pair: Pair<Rule>) -> Result<Block> {
        let span = self.span(&pair);
        let list = pair
            .into_inner()
            .next()
            .expect("a block holds a statement list");
        Ok(Block {
            statements: self.statements(list.into_inner())?,
            span,
        })
    }

    fn statement(&self, pair: Pair<Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::class_def => self.class_def(pair)?,
            Rule::define_def => ExprKind::Define(Box::new(self.definition(pair)?)),
            Rule::application_def => ExprKind::Application(Box::new(self.definition(pair)?)),
            Rule::plan_def => ExprKind::Plan(Box::new(self.definition(pair)?)),
            Rule::function_def => self.function_def(pair)?,
            Rule::type_alias => {
                let mut inner = pair.into_inner().skip(1);
                let name = self.ident(&inner.next().expect("alias name"));
                let value = self.expression(inner.next().expect("alias value"))?;
                ExprKind::TypeAlias {
                    name: Box::new(name),
                    value: Box::new(value),
                }
            }
            Rule::site_def => {
                let block = pair.into_inner().nth(1).expect("site block");
                ExprKind::Site(Box::new(self.block(block)?))
            }
            Rule::node_def => self.node_def(pair)?,
            Rule::capability_mapping => self.capability_mapping(pair)?,
            Rule::statement_call => {
                let mut inner = pair.into_inner();
                let name = self.ident(&inner.next().expect("function name"));
                let args = inner.map(|p| self.expression(p)).collect::<Result<_>>()?;
                ExprKind::Call(Box::new(Call {
                    name,
                    args,
                    lambda: None,
                    style: CallStyle::Bare,
                }))
            }
            Rule::expression => return self.expression(pair),
            rule => unreachable!("statement rule {rule:?}"),
        };
        Ok(Expr::new(kind, span))
    }

    fn class_def(&self, pair: Pair<Rule>) -> Result<ExprKind> {
        let mut name = None;
        let mut params = Vec::new();
        let mut parent = None;
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::definition_name => name = Some(self.definition_name(&p)?),
                Rule::param_list => params = self.params(p)?,
                Rule::inherits => parent = p.into_inner().nth(1).map(|n| self.ident(&n)),
                Rule::block => body = Some(self.block(p)?),
                _ => {}
            }
        }
        Ok(ExprKind::Class(Box::new(ClassDef {
            name: name.expect("class name"),
            params,
            parent,
            body: body.expect("class body"),
        })))
    }

    fn definition(&self, pair: Pair<Rule>) -> Result<Definition> {
        let (name, params, _, body) = self.signature(pair)?;
        Ok(Definition { name, params, body })
    }

    fn function_def(&self, pair: Pair<Rule>) -> Result<ExprKind> {
        let (name, params, return_type, body) = self.signature(pair)?;
        Ok(ExprKind::Function(Box::new(FunctionDef {
            name,
            params,
            return_type: return_type.map(Box::new),
            body,
        })))
    }

    /// Name, parameters, return type and body of a define, function, plan or application.
    fn signature(&self, pair: Pair<Rule>) -> Result<(Ident, Vec<Param>, Option<Expr>, Block)> {
        let mut name = None;
        let mut params = Vec::new();
        let mut return_type = None;
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::definition_name => name = Some(self.definition_name(&p)?),
                Rule::param_list => params = self.params(p)?,
                Rule::return_type => {
                    return_type = Some(self.type_expr(p.into_inner().next().expect("type"))?)
                }
                Rule::block => body = Some(self.block(p)?),
                _ => {}
            }
        }
        Ok((
            name.expect("definition name"),
            params,
            return_type,
            body.expect("definition body"),
        ))
    }

    fn params(&self, pair: Pair<Rule>) -> Result<Vec<Param>> {
        pair.into_inner().map(|p| self.param(p)).collect()
    }

    fn param(&self, pair: Pair<Rule>) -> Result<Param> {
        let span = self.span(&pair);
        let mut type_expr = None;
        let mut captures_rest = false;
        let mut name = None;
        let mut default = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::type_expr => type_expr = Some(self.type_expr(p)?),
                Rule::captures_rest => captures_rest = true,
                Rule::variable => {
                    let span = self.span(&p);
                    name = Some(Ident {
                        name: variable_name(&p.as_str()[1..], span)?,
                        span,
                    })
                }
                Rule::param_default => {
                    default = Some(self.expression(p.into_inner().next().expect("default"))?)
                }
                _ => {}
            }
        }
        Ok(Param {
            type_expr,
            captures_rest,
            name: name.expect("parameter name"),
            default,
            span,
        })
    }

    /// `Optional[Array[String[1]]]` in a parameter list or a return type.
    fn type_expr(&self, pair: Pair<Rule>) -> Result<Expr> {
        let mut inner = pair.into_inner();
        let name = inner.next().expect("type name");
        let mut expr = Expr::new(
            ExprKind::TypeRef(name.as_str().to_string()),
            self.span(&name),
        );
        for access in inner {
            expr = self.access(expr, access)?;
        }
        Ok(expr)
    }

    fn node_def(&self, pair: Pair<Rule>) -> Result<ExprKind> {
        let mut matchers = Vec::new();
        let mut body = None;
        for p in pair.into_inner().skip(1) {
            match p.as_rule() {
                Rule::block => body = Some(self.block(p)?),
                Rule::hostname => {
                    matchers.push(Expr::new(ExprKind::Name(p.as_str().into()), self.span(&p)))
                }
                _ => matchers.push(self.primary(p)?),
            }
        }
        Ok(ExprKind::Node(Box::new(NodeDef {
            matchers,
            body: body.expect("node body"),
        })))
    }

    fn capability_mapping(&self, pair: Pair<Rule>) -> Result<ExprKind> {
        let mut inner = pair.into_inner();
        let component = self.ident(&inner.next().expect("component"));
        let kind = match inner.next().expect("produces or consumes").as_rule() {
            Rule::kw_produces => CapabilityKind::Produces,
            _ => CapabilityKind::Consumes,
        };
        let capability = self.ident(&inner.next().expect("capability"));
        let attributes = self.attributes(inner.next().expect("attributes").into_inner())?;
        Ok(ExprKind::CapabilityMapping(Box::new(CapabilityMapping {
            component,
            kind,
            capability,
            attributes,
        })))
    }

    // ------------------------------------------------------------ expressions

    fn expression(&self, pair: Pair<Rule>) -> Result<Expr> {
        let raw_span = pair.as_span();
        let mut inner = pair.into_inner();
        if inner.len() == 1 {
            // Most expressions are a single operand: skip the Pratt machinery.
            return self.operand(inner.next().expect("one operand"));
        }
        let span = self.span_of(raw_span);
        check_operator_counts(inner.clone(), span)?;
        // A chain of n operators nests n deep in the tree: count it for the stack that the
        // walks over the tree (validation, evaluation) will need.
        let chain = inner.len();
        let outer = self.tree_depth.get();
        if outer + chain > MAX_TREE_DEPTH {
            // Each limit alone (brackets, operators per expression) can be respected while
            // together they nest the tree deeper than any walk over it should go.
            return Err(SyntaxError::new(
                format!("expressions are nested more than {MAX_TREE_DEPTH} operators deep here"),
                span,
                "too deep",
            )
            .with_help("split the expression into variables"));
        }
        self.tree_depth.set(outer + chain);
        self.max_tree_depth
            .set(self.max_tree_depth.get().max(outer + chain));
        let built = self.fold_operators(inner);
        self.tree_depth.set(outer);
        built
    }

    fn fold_operators(&self, inner: Pairs<Rule>) -> Result<Expr> {
        PRATT
            .map_primary(|operand| self.operand(operand))
            .map_prefix(|op, operand| {
                let operand = operand?;
                let op_span = self.span(&op);
                let op = match op.as_rule() {
                    Rule::op_not => UnaryOp::Not,
                    Rule::op_neg => UnaryOp::Negate,
                    _ => UnaryOp::Splat,
                };
                let span = op_span.to(operand.span);
                Ok(Expr::new(
                    ExprKind::Unary {
                        op,
                        operand: Box::new(operand),
                    },
                    span,
                ))
            })
            .map_infix(|lhs, op, rhs| self.infix(lhs?, op, rhs?))
            .parse(inner)
    }

    fn infix(&self, lhs: Expr, op: Pair<Rule>, rhs: Expr) -> Result<Expr> {
        use Rule::*;
        let span = lhs.span.to(rhs.span);
        let (lhs, rhs) = (Box::new(lhs), Box::new(rhs));
        let binary = match op.as_rule() {
            op_out_edge => return Ok(Expr::new(relationship(Arrow::Before, lhs, rhs), span)),
            op_out_edge_sub => return Ok(Expr::new(relationship(Arrow::Notify, lhs, rhs), span)),
            op_in_edge => return Ok(Expr::new(relationship(Arrow::Require, lhs, rhs), span)),
            op_in_edge_sub => return Ok(Expr::new(relationship(Arrow::Subscribe, lhs, rhs), span)),
            op_assign => return Ok(Expr::new(assignment(lhs, rhs)?, span)),
            op_append | op_delete => {
                return Err(SyntaxError::new(
                    format!("the operator `{}` is no longer supported", op.as_str()),
                    self.span(&op),
                    "removed in Puppet 4",
                )
                .with_help("assign a new variable instead: `$all = $list + [$item]`"))
            }
            op_or => BinaryOp::Or,
            op_and => BinaryOp::And,
            op_lt => BinaryOp::Lt,
            op_le => BinaryOp::Le,
            op_gt => BinaryOp::Gt,
            op_ge => BinaryOp::Ge,
            op_eq => BinaryOp::Eq,
            op_ne => BinaryOp::Ne,
            op_lshift => BinaryOp::LShift,
            op_rshift => BinaryOp::RShift,
            op_plus => BinaryOp::Add,
            op_minus => BinaryOp::Sub,
            op_times => BinaryOp::Mul,
            op_div => BinaryOp::Div,
            op_mod => BinaryOp::Mod,
            op_match => BinaryOp::Match,
            op_nomatch => BinaryOp::NotMatch,
            op_in => BinaryOp::In,
            rule => unreachable!("infix operator {rule:?}"),
        };
        Ok(Expr::new(
            ExprKind::Binary {
                op: binary,
                lhs,
                rhs,
            },
            span,
        ))
    }

    /// A primary followed by its accesses, method calls and selectors.
    fn operand(&self, pair: Pair<Rule>) -> Result<Expr> {
        let mut inner = pair.into_inner();
        let mut expr = self.primary(inner.next().expect("operand has a primary"))?;
        for postfix in inner {
            expr = match postfix.as_rule() {
                Rule::access => self.access(expr, postfix)?,
                Rule::method_call => self.method_call(expr, postfix)?,
                Rule::selector => self.selector(expr, postfix)?,
                rule => unreachable!("postfix {rule:?}"),
            };
        }
        Ok(expr)
    }

    fn access(&self, target: Expr, pair: Pair<Rule>) -> Result<Expr> {
        let span = target.span.to(self.span(&pair));
        let keys = self.arguments(pair.into_inner())?;
        Ok(Expr::new(
            ExprKind::Access {
                target: Box::new(target),
                keys,
            },
            span,
        ))
    }

    fn method_call(&self, receiver: Expr, pair: Pair<Rule>) -> Result<Expr> {
        let span = receiver.span.to(self.span(&pair));
        let mut inner = pair.into_inner();
        let name = self.ident(&inner.next().expect("method name"));
        let mut call = Call {
            name,
            args: Vec::new(),
            lambda: None,
            style: CallStyle::Bare,
        };
        for p in inner {
            match p.as_rule() {
                Rule::call_args => {
                    call.args = self.arguments(p.into_inner())?;
                    call.style = CallStyle::Parens;
                }
                _ => call.lambda = Some(self.lambda(p)?),
            }
        }
        Ok(Expr::new(
            ExprKind::MethodCall {
                receiver: Box::new(receiver),
                call: Box::new(call),
            },
            span,
        ))
    }

    fn selector(&self, subject: Expr, pair: Pair<Rule>) -> Result<Expr> {
        let span = subject.span.to(self.span(&pair));
        let cases = pair
            .into_inner()
            .map(|case| self.entry(case))
            .collect::<Result<_>>()?;
        Ok(Expr::new(
            ExprKind::Selector {
                subject: Box::new(subject),
                cases,
            },
            span,
        ))
    }

    fn entry(&self, pair: Pair<Rule>) -> Result<HashEntry> {
        let mut inner = pair.into_inner();
        let key = self.key_or_expression(inner.next().expect("key"))?;
        Ok(HashEntry {
            key,
            value: self.expression(inner.next().expect("value"))?,
        })
    }

    /// A hash key may be a keyword read as a word (`{ function => 1 }`).
    fn key_or_expression(&self, pair: Pair<Rule>) -> Result<Expr> {
        match pair.as_rule() {
            Rule::keyword_key => Ok(Expr::new(
                ExprKind::Name(pair.as_str().into()),
                self.span(&pair),
            )),
            _ => self.expression(pair),
        }
    }

    /// The arguments of a call, the elements of an array or the keys of an access. Each run of
    /// `key => value` entries written without braces is one hash, as Puppet reads it:
    /// `f(1, a => 2, b => 3)` has two arguments, `[a => 1, 2, b => 3]` three elements.
    fn arguments(&self, pairs: Pairs<Rule>) -> Result<Vec<Expr>> {
        let mut arguments = Vec::new();
        let mut entries: Vec<HashEntry> = Vec::new();
        let mut pairs = pairs.peekable();
        while let Some(pair) = pairs.next() {
            let expr = self.key_or_expression(pair)?;
            if pairs.next_if(|p| p.as_rule() == Rule::hash_arrow).is_some() {
                let value = self.expression(pairs.next().expect("an entry has a value"))?;
                entries.push(HashEntry { key: expr, value });
                continue;
            }
            arguments.extend(unbraced_hash(&mut entries));
            arguments.push(expr);
        }
        arguments.extend(unbraced_hash(&mut entries));
        Ok(arguments)
    }

    fn lambda(&self, pair: Pair<Rule>) -> Result<Lambda> {
        let span = self.span(&pair);
        let mut params = Vec::new();
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::param => params.push(self.param(p)?),
                _ => body = Some(self.block(p)?),
            }
        }
        Ok(Lambda {
            params,
            body: body.expect("lambda body"),
            span,
        })
    }

    fn primary(&self, pair: Pair<Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let text = pair.as_str();
        let kind = match pair.as_rule() {
            Rule::variable => ExprKind::Variable(variable_name(&text[1..], span)?),
            Rule::sq_string => ExprKind::String(vec![StringPart::Text(strings::unescape_single(
                &text[1..text.len() - 1],
            ))]),
            Rule::dq_string => ExprKind::String(self.dq_parts(pair.into_inner())?),
            Rule::number => number(text, span)?,
            Rule::heredoc => self.heredoc(span)?,
            Rule::resource_expr => self.resource(pair)?,
            Rule::if_expr => self.if_expr(pair)?,
            Rule::unless_expr => self.unless_expr(pair)?,
            Rule::case_expr => self.case_expr(pair)?,
            Rule::kw_true => ExprKind::Boolean(true),
            Rule::kw_false => ExprKind::Boolean(false),
            Rule::kw_undef => ExprKind::Undef,
            Rule::kw_default => ExprKind::Default,
            Rule::type_primary | Rule::cond_type_primary => return self.type_primary(pair),
            Rule::word_expr | Rule::cond_word_expr => return self.word_expr(pair),
            Rule::array => ExprKind::Array(self.arguments(pair.into_inner())?),
            Rule::hash => ExprKind::Hash(
                pair.into_inner()
                    .map(|e| self.entry(e))
                    .collect::<Result<_>>()?,
            ),
            Rule::paren => ExprKind::Paren(Box::new(
                self.expression(pair.into_inner().next().expect("inner"))?,
            )),
            Rule::regex => ExprKind::Regex(text[1..text.len() - 1].to_string()),
            rule => unreachable!("primary {rule:?}"),
        };
        Ok(Expr::new(kind, span))
    }

    fn dq_parts(&self, pairs: Pairs<Rule>) -> Result<Vec<StringPart>> {
        let mut parts = Vec::new();
        for p in pairs {
            match p.as_rule() {
                Rule::dq_text | Rule::heredoc_text | Rule::dollar => {
                    strings::push_text(&mut parts, p.as_str())
                }
                Rule::escape => {
                    let text = strings::dq_escape(p.as_str()).ok_or_else(|| {
                        SyntaxError::new(
                            format!("`{}` is not a valid unicode escape", p.as_str()),
                            self.span(&p),
                            "no such character",
                        )
                        .with_help(
                            "a \\u escape takes 4 hex digits, or 1 to 6 in braces, up to 10FFFF",
                        )
                    })?;
                    strings::push_text(&mut parts, &text)
                }
                _ => parts.push(self.interpolation(p)?),
            }
        }
        Ok(parts)
    }

    /// `$x` or `${expr}` in a string. A bare word (or a number) that starts a `${}` names a
    /// variable: `${x[1]}` is `$x[1]`, `${1}` is `$1`.
    fn interpolation(&self, pair: Pair<Rule>) -> Result<StringPart> {
        let span = self.span(&pair);
        if pair.as_rule() == Rule::dq_var {
            let name = variable_name(&pair.as_str()[1..], span)?;
            return Ok(StringPart::Interpolation(Expr::new(
                ExprKind::Variable(name),
                span,
            )));
        }
        let expr = self.expression(pair.into_inner().next().expect("interpolated expression"))?;
        Ok(StringPart::Interpolation(strings::name_to_variable(expr)))
    }

    fn heredoc(&self, span: Span) -> Result<ExprKind> {
        // The prescan finds every heredoc of the file, but not one written inside an
        // interpolation of another heredoc's body (which it blanks as text).
        let Some(info) = self.heredocs.get(&span.start) else {
            return Err(SyntaxError::new(
                "a heredoc inside an interpolation of another heredoc is not supported",
                span,
                "nested heredoc",
            )
            .with_help(
                "assign the inner heredoc to a variable first, and interpolate the variable",
            ));
        };
        let body = &self.source[info.body.start..info.body.end];
        let parts = if info.interpolated {
            let rule = match info.escapes.contains('$') {
                true => Rule::heredoc_body,
                false => Rule::heredoc_body_plain_dollar,
            };
            let pairs = PuppetParser::parse(rule, body).map_err(|e| {
                let offset = match e.location {
                    pest::error::InputLocation::Pos(p) => p,
                    pest::error::InputLocation::Span((s, _)) => s,
                };
                SyntaxError::new(
                    "this interpolation in the heredoc is not valid Puppet",
                    Span::new(info.body.start + offset, info.body.start + offset + 1),
                    "here",
                )
            })?;
            let inner = pairs.into_iter().next().expect("heredoc body").into_inner();
            let body_builder = Builder {
                offset: info.body.start,
                tree_depth: Cell::new(self.tree_depth.get()),
                max_tree_depth: Cell::new(0),
                ..*self
            };
            let parts = body_builder.heredoc_parts(inner, info)?;
            let deepest = body_builder.max_tree_depth.get();
            self.max_tree_depth
                .set(self.max_tree_depth.get().max(deepest));
            parts
        } else {
            vec![StringPart::Text(strings::heredoc_text(body, info, true))]
        };
        Ok(ExprKind::Heredoc(Box::new(Heredoc {
            syntax: info.syntax.clone(),
            interpolated: info.interpolated,
            parts: strings::trim_heredoc(parts, info.trim),
            body: info.body,
        })))
    }

    /// The parts of an interpolating heredoc body; `self.offset` is where the body starts.
    fn heredoc_parts(&self, pairs: Pairs<Rule>, info: &HeredocInfo) -> Result<Vec<StringPart>> {
        let body = &self.source[info.body.start..info.body.end];
        let mut parts = Vec::new();
        for p in pairs {
            let at = p.as_span().start();
            let at_line_start = at == 0 || body.as_bytes()[at - 1] == b'\n';
            match p.as_rule() {
                Rule::heredoc_text | Rule::dollar | Rule::backslash => {
                    let text = strings::strip_margin(p.as_str(), &info.margin, at_line_start);
                    strings::push_text(&mut parts, &text)
                }
                Rule::escape => {
                    strings::push_text(&mut parts, &strings::heredoc_escape(p.as_str(), info))
                }
                Rule::EOI => {}
                _ => parts.push(self.interpolation(p)?),
            }
        }
        Ok(parts)
    }

    fn type_primary(&self, pair: Pair<Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name_pair = inner.next().expect("type name");
        let name = self.ident(&name_pair);
        let mut expr = Expr::new(ExprKind::TypeRef(name.name.clone()), name.span);
        for tail in inner {
            expr = match tail.as_rule() {
                Rule::collector => Expr::new(self.collector(name.clone(), tail)?, span),
                Rule::virtual_query | Rule::exported_query => {
                    let exported = tail.as_rule() == Rule::exported_query;
                    let query = self.query_of(tail)?;
                    Expr::new(
                        ExprKind::Collector(Box::new(Collector {
                            type_name: name.clone(),
                            exported,
                            query,
                            attributes: None,
                        })),
                        span,
                    )
                }
                Rule::resource_block => Expr::new(
                    ExprKind::Resource(Box::new(Resource {
                        virtuality: Virtuality::Real,
                        type_name: name.clone(),
                        bodies: self.resource_bodies(tail)?,
                    })),
                    span,
                ),
                Rule::attr_block if matches!(expr.kind, ExprKind::TypeRef(_)) => Expr::new(
                    ExprKind::ResourceDefaults(Box::new(ResourceDefaults {
                        type_name: name.clone(),
                        attributes: self.attributes(tail.into_inner())?,
                    })),
                    span,
                ),
                Rule::attr_block => Expr::new(
                    ExprKind::ResourceOverride {
                        target: Box::new(expr),
                        attributes: self.attributes(tail.into_inner())?,
                    },
                    span,
                ),
                // `Integer[0, 5]('3')` is `Integer[0, 5].new('3')`, as Puppet reads it.
                Rule::type_call_args if !matches!(expr.kind, ExprKind::TypeRef(_)) => {
                    let args = tail.into_inner().next().expect("call args");
                    let call_span = expr.span.to(self.span(&args));
                    let new = Ident {
                        name: "new".into(),
                        span: Span::new(args.as_span().start(), args.as_span().start()),
                    };
                    Expr::new(
                        ExprKind::MethodCall {
                            receiver: Box::new(expr),
                            call: Box::new(Call {
                                name: new,
                                args: self.arguments(args.into_inner())?,
                                lambda: None,
                                style: CallStyle::Parens,
                            }),
                        },
                        call_span,
                    )
                }
                Rule::type_call_args => {
                    let args = tail.into_inner().next().expect("call args");
                    let call_span = name.span.to(self.span(&args));
                    Expr::new(
                        ExprKind::Call(Box::new(Call {
                            name: name.clone(),
                            args: self.arguments(args.into_inner())?,
                            lambda: None,
                            style: CallStyle::Parens,
                        })),
                        call_span,
                    )
                }
                Rule::type_access => {
                    let mut e = expr;
                    for access in tail.into_inner() {
                        e = self.access(e, access)?;
                    }
                    e
                }
                rule => unreachable!("type tail {rule:?}"),
            };
        }
        Ok(expr)
    }

    fn collector(&self, type_name: Ident, pair: Pair<Rule>) -> Result<ExprKind> {
        let mut inner = pair.into_inner();
        let query_pair = inner.next().expect("collector query");
        let exported = query_pair.as_rule() == Rule::exported_query;
        let query = self.query_of(query_pair)?;
        let attributes = match inner.next() {
            Some(block) => Some(self.attributes(block.into_inner())?),
            None => None,
        };
        Ok(ExprKind::Collector(Box::new(Collector {
            type_name,
            exported,
            query,
            attributes,
        })))
    }

    fn query_of(&self, pair: Pair<Rule>) -> Result<Option<Query>> {
        pair.into_inner().next().map(|q| self.query(q)).transpose()
    }

    fn query(&self, pair: Pair<Rule>) -> Result<Query> {
        match pair.as_rule() {
            Rule::query | Rule::query_and => {
                let is_or = pair.as_rule() == Rule::query;
                let mut terms = pair
                    .into_inner()
                    .filter(|p| !matches!(p.as_rule(), Rule::op_and | Rule::op_or));
                let mut q = self.query(terms.next().expect("query term"))?;
                for term in terms {
                    let rhs = Box::new(self.query(term)?);
                    q = if is_or {
                        Query::Or(Box::new(q), rhs)
                    } else {
                        Query::And(Box::new(q), rhs)
                    };
                }
                Ok(q)
            }
            Rule::query_compare => {
                let mut inner = pair.into_inner();
                let attribute = self.ident(&inner.next().expect("attribute"));
                let equal = inner.next().expect("operator").as_rule() == Rule::op_eq;
                let value = self.operand(inner.next().expect("value"))?;
                Ok(Query::Compare {
                    attribute,
                    equal,
                    value: Box::new(value),
                })
            }
            rule => unreachable!("query {rule:?}"),
        }
    }

    /// A bare word, a function call, a resource declaration, or an override of a resource
    /// referenced by a lowercase name (`file['/a'] { mode => '0600' }`).
    fn word_expr(&self, pair: Pair<Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let word = inner.next().expect("word");
        let Some(tail) = inner.next() else {
            // A reserved word is refused by the validator, not here: in `"${type}"` the word
            // names a variable, and `{ if => 1 }` has a keyword for a key.
            return Ok(Expr::new(ExprKind::Name(word.as_str().to_string()), span));
        };
        let kind = match tail.as_rule() {
            Rule::resource_block => ExprKind::Resource(Box::new(Resource {
                virtuality: Virtuality::Real,
                type_name: self.resource_type(&word)?,
                bodies: self.resource_bodies(tail)?,
            })),
            Rule::untitled_block => self.untitled(&word, tail)?,
            Rule::type_access => {
                let name = self.not_reserved(&word)?;
                let mut target = Expr::new(ExprKind::Name(name.name), name.span);
                for access in tail.into_inner() {
                    target = self.access(target, access)?;
                }
                match inner.next() {
                    Some(block) => ExprKind::ResourceOverride {
                        target: Box::new(target),
                        attributes: self.attributes(block.into_inner())?,
                    },
                    None => return Ok(target),
                }
            }
            _ => {
                let name = self.valid_name(&word, "function name")?;
                let args = self.arguments(tail.into_inner())?;
                match inner.next() {
                    Some(block) if block.as_rule() == Rule::apply_block => {
                        self.apply(name, args, block)?
                    }
                    lambda => ExprKind::Call(Box::new(Call {
                        name,
                        args,
                        lambda: lambda.map(|l| self.lambda(l)).transpose()?,
                        style: CallStyle::Parens,
                    })),
                }
            }
        };
        Ok(Expr::new(kind, span))
    }

    /// `name { key => value, ... }`: for a function callable without parentheses, a call with
    /// that hash (`return { status => $s }`), as Puppet reads it; for any other word, a
    /// resource without a title, which Puppet refuses.
    fn untitled(&self, word: &Pair<Rule>, block: Pair<Rule>) -> Result<ExprKind> {
        let name = self.ident(word);
        let block = block
            .into_inner()
            .next()
            .expect("an untitled block is an attribute block");
        let span = self.span(&block);
        if !STATEMENT_FUNCTIONS.contains(&name.name.as_str()) {
            return Err(SyntaxError::new(
                format!(
                    "`{} {{ ... }}` declares a resource without a title",
                    name.name
                ),
                name.span,
                "no title",
            )
            .with_help(format!(
                "give it a title: `{} {{ 'title': ... }}`",
                name.name
            )));
        }
        let mut entries = Vec::new();
        for attribute in self.attributes(block.into_inner())? {
            if attribute.append {
                return Err(SyntaxError::new(
                    "`+>` cannot be used in a hash",
                    attribute.span,
                    "`+>`",
                )
                .with_help("use `=>`"));
            }
            let key = Expr::new(ExprKind::Name(attribute.name.name), attribute.name.span);
            entries.push(HashEntry {
                key,
                value: attribute.value,
            });
        }
        Ok(ExprKind::Call(Box::new(Call {
            name,
            args: vec![Expr::new(ExprKind::Hash(entries), span)],
            lambda: None,
            style: CallStyle::Bare,
        })))
    }

    /// `apply(...) { ... }`. Only `apply` takes a block: after any other call, `{` cannot
    /// follow.
    fn apply(&self, name: Ident, args: Vec<Expr>, block: Pair<Rule>) -> Result<ExprKind> {
        let block = block
            .into_inner()
            .next()
            .expect("an apply block holds a block");
        if name.name != "apply" {
            let at = self.span(&block);
            return Err(SyntaxError::new(
                format!("a call of `{}` cannot be followed by a block", name.name),
                Span::new(at.start, at.start + 1),
                "only `apply(...)` takes a block",
            )
            .with_help("a lambda starts with its parameters: `|$x| { ... }`"));
        }
        Ok(ExprKind::Apply(Box::new(Apply {
            args,
            body: self.block(block)?,
        })))
    }

    /// The type of a resource declaration: `class`, a name, or (as Puppet allows) a
    /// capitalised type name.
    fn resource_type(&self, word: &Pair<Rule>) -> Result<Ident> {
        let text = word.as_str();
        if text == "class" || text.starts_with(|c: char| c.is_ascii_uppercase()) {
            return Ok(self.ident(word));
        }
        let name = self.valid_name(word, "resource type")?;
        if name.name == "type" {
            return Err(reserved(&name));
        }
        Ok(name)
    }

    /// `@type { ... }` and `@@type { ... }`.
    fn resource(&self, pair: Pair<Rule>) -> Result<ExprKind> {
        let mut inner = pair.into_inner();
        let virtuality = match inner.next().expect("virtuality").as_str() {
            "@@" => Virtuality::Exported,
            _ => Virtuality::Virtual,
        };
        let type_name = self.resource_type(&inner.next().expect("resource type"))?;
        let bodies = self.resource_bodies(inner.next().expect("resource block"))?;
        Ok(ExprKind::Resource(Box::new(Resource {
            virtuality,
            type_name,
            bodies,
        })))
    }

    fn resource_bodies(&self, block: Pair<Rule>) -> Result<Vec<ResourceBody>> {
        block.into_inner().map(|b| self.resource_body(b)).collect()
    }

    fn resource_body(&self, pair: Pair<Rule>) -> Result<ResourceBody> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let title_pair = inner.next().expect("title");
        let title = match title_pair.as_rule() {
            Rule::kw_default => Expr::new(ExprKind::Default, self.span(&title_pair)),
            _ => self.expression(title_pair)?,
        };
        Ok(ResourceBody {
            title,
            attributes: self.attributes(inner)?,
            span,
        })
    }

    fn attributes(&self, pairs: Pairs<Rule>) -> Result<Vec<Attribute>> {
        pairs
            .map(|p| {
                let span = self.span(&p);
                let mut inner = p.into_inner();
                let name = self.attribute_name(&inner.next().expect("attribute name"))?;
                let append = inner.next().expect("arrow").as_rule() == Rule::attr_add;
                let value = self.expression(inner.next().expect("attribute value"))?;
                Ok(Attribute {
                    name,
                    append,
                    value,
                    span,
                })
            })
            .collect()
    }

    fn if_expr(&self, pair: Pair<Rule>) -> Result<ExprKind> {
        let mut inner = pair.into_inner().skip(1);
        let condition = self.expression(inner.next().expect("condition"))?;
        let then = self.block(inner.next().expect("then"))?;
        let mut elsifs = Vec::new();
        let mut otherwise = None;
        for p in inner {
            let is_elsif = p.as_rule() == Rule::elsif_part;
            let mut parts = p.into_inner().skip(1);
            if is_elsif {
                let cond = self.expression(parts.next().expect("elsif condition"))?;
                elsifs.push((cond, self.block(parts.next().expect("elsif block"))?));
            } else {
                otherwise = Some(self.block(parts.next().expect("else block"))?);
            }
        }
        Ok(ExprKind::If(Box::new(IfExpr {
            condition,
            then,
            elsifs,
            otherwise,
        })))
    }

    fn unless_expr(&self, pair: Pair<Rule>) -> Result<ExprKind> {
        let mut inner = pair.into_inner().skip(1);
        let condition = self.expression(inner.next().expect("condition"))?;
        let then = self.block(inner.next().expect("then"))?;
        let otherwise = match inner.next() {
            Some(p) => Some(self.block(p.into_inner().nth(1).expect("else block"))?),
            None => None,
        };
        Ok(ExprKind::Unless(Box::new(UnlessExpr {
            condition,
            then,
            otherwise,
        })))
    }

    fn case_expr(&self, pair: Pair<Rule>) -> Result<ExprKind> {
        let mut inner = pair.into_inner().skip(1);
        let subject = self.expression(inner.next().expect("case subject"))?;
        let options = inner
            .map(|option| {
                let span = self.span(&option);
                let mut values = Vec::new();
                let mut body = None;
                for p in option.into_inner() {
                    match p.as_rule() {
                        Rule::block => body = Some(self.block(p)?),
                        _ => values.push(self.expression(p)?),
                    }
                }
                Ok(CaseOption {
                    values,
                    body: body.expect("case body"),
                    span,
                })
            })
            .collect::<Result<_>>()?;
        Ok(ExprKind::Case {
            subject: Box::new(subject),
            options,
        })
    }
}

/// Puppet's reserved words, which can never be a bare word, a function or a resource type.
pub(crate) const RESERVED: &[&str] = &[
    "and", "attr", "case", "class", "default", "define", "else", "elsif", "false", "function",
    "if", "in", "inherits", "node", "or", "private", "true", "undef", "unless",
];

/// Checks a variable name (without `$`) against Puppet's rule: lowercase segments, the last may
/// start with `_`; or all digits (a match result).
fn variable_name(name: &str, span: Span) -> Result<String> {
    let bare = name.strip_prefix("::").unwrap_or(name);
    let segments: Vec<&str> = bare.split("::").collect();
    let valid = if bare.starts_with(|c: char| c.is_ascii_digit()) {
        segments.len() == 1 && bare.bytes().all(|b| b.is_ascii_digit())
    } else {
        segments.iter().enumerate().all(|(i, seg)| {
            let last = i + 1 == segments.len();
            seg.starts_with(|c: char| c.is_ascii_lowercase() || (last && c == '_'))
        })
    };
    if valid {
        return Ok(name.to_string());
    }
    Err(SyntaxError::new(
        format!("`${name}` is not a valid variable name"),
        span,
        "invalid name",
    )
    .with_help("variable names are lowercase segments separated by `::` (the last may start with `_`), or a number for a match result"))
}

pub(crate) fn reserved(word: &Ident) -> SyntaxError {
    SyntaxError::new(
        format!("`{}` is a reserved word and cannot be used here", word.name),
        word.span,
        "reserved word",
    )
    .with_help(format!("quote it to use it as a string: '{}'", word.name))
}

/// The most operators one expression may chain, and the most assignments or prefix operators
/// among them: beyond these a tree gets deep enough to threaten the stack, and no real manifest
/// comes near.
const MAX_OPERATORS: usize = 256;
/// The most operators on a path from the root of a file's tree to a leaf.
const MAX_TREE_DEPTH: usize = 4096;
const MAX_NESTED_OPERATORS: usize = 16;

/// Refuses a chain of operators that would nest the tree too deeply. Left-associative chains
/// are built in a loop; assignments and prefix operators nest as they are built.
fn check_operator_counts(inner: Pairs<Rule>, span: Span) -> Result<()> {
    let mut operators = 0;
    let mut nesting = 0;
    for pair in inner {
        match pair.as_rule() {
            Rule::op_assign | Rule::op_not | Rule::op_neg | Rule::op_splat => {
                operators += 1;
                nesting += 1;
            }
            Rule::operand | Rule::cond_operand => {}
            _ => operators += 1,
        }
    }
    let too_many = if operators > MAX_OPERATORS {
        Some(format!(
            "this expression chains {operators} operators, more than {MAX_OPERATORS}"
        ))
    } else if nesting > MAX_NESTED_OPERATORS {
        Some(format!(
            "this expression has {nesting} assignments and prefix operators, more than {MAX_NESTED_OPERATORS}"
        ))
    } else {
        None
    };
    match too_many {
        Some(message) => Err(SyntaxError::new(message, span, "too long")
            .with_help("split it into several expressions with variables")),
        None => Ok(()),
    }
}

fn relationship(arrow: Arrow, lhs: Box<Expr>, rhs: Box<Expr>) -> ExprKind {
    ExprKind::Relationship { arrow, lhs, rhs }
}

/// Puppet assigns only to variables, or destructures into an array of them.
fn assignment(target: Box<Expr>, value: Box<Expr>) -> Result<ExprKind> {
    check_assignable(&target)?;
    Ok(ExprKind::Assign { target, value })
}

fn check_assignable(target: &Expr) -> Result<()> {
    match &target.kind {
        ExprKind::Variable(name) if name.bytes().all(|b| b.is_ascii_digit()) => {
            Err(SyntaxError::new(
                format!("cannot assign to `${name}`: it holds a regex match result"),
                target.span,
                "not assignable",
            )
            .with_help("choose another variable name"))
        }
        ExprKind::Variable(name) if name.contains("::") => Err(SyntaxError::new(
            format!("cannot assign to `${name}`: a variable of another scope is read-only"),
            target.span,
            "not assignable",
        )
        .with_help("assign to a local name (without `::`)")),
        ExprKind::Variable(_) => Ok(()),
        ExprKind::Array(items) => items.iter().try_for_each(check_assignable),
        _ => Err(SyntaxError::new(
            "only a variable (or an array of variables) can be assigned to",
            target.span,
            "not a variable",
        )
        .with_help("Puppet variables are written `$name = value`")),
    }
}

fn number(text: &str, span: Span) -> Result<ExprKind> {
    let bad = |what: &str| {
        SyntaxError::new(
            format!("`{text}` is not a valid {what}"),
            span,
            "this number",
        )
    };
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16)
            .map(ExprKind::Integer)
            .map_err(|_| bad("hexadecimal integer (it is too large)"));
    }
    let octal = text.len() > 1 && text.starts_with('0') && text.as_bytes()[1].is_ascii_digit();
    if octal && text.contains(['.', 'e', 'E']) {
        return Err(bad("octal number").with_help(
            "a number starting with 0 is octal and has no fraction: drop the leading 0",
        ));
    }
    if text.contains(['.', 'e', 'E']) {
        return text
            .parse::<f64>()
            .map(ExprKind::Float)
            .map_err(|_| bad("float"));
    }
    if text.len() > 1 && text.starts_with('0') {
        return i64::from_str_radix(&text[1..], 8)
            .map(ExprKind::Integer)
            .map_err(|_| {
                bad("octal integer").with_help(
                    "a number starting with 0 is octal: use digits 0 to 7, or drop the leading 0",
                )
            });
    }
    text.parse::<i64>()
        .map(ExprKind::Integer)
        .map_err(|_| bad("integer (it is too large)"))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod robustness;
