//! Compound filters: Choria's `-S` language, parsed by `grammar/compound.pest` into [`Expr`],
//! shared by the client (which checks and sends them) and the node (which evaluates them, in
//! `crate::agent::filter`).
//!
//! The language: `and` (`&&`), `or` (`||`), `not` (`!`), parentheses, fact comparisons
//! (`fact=value`, `==`, `!=`, `=~`, `<`, `>`, `<=`, `>=`, `fact=/re/`), and names: a bare word
//! or `/regex/` is a class, or failing that an agent (as Choria's `with()` decides). Choria's
//! expr form `with('statement')` is the same statement in a string. Other calls (`fact('x')`,
//! `include(...)`, `semver(...)`) are refused by name.
//!
//! On the wire (see [`Expr::to_choria`]) a compound filter travels as Choria does today,
//! `[{"expr": "<expr language>"}]`, written with `with()` calls only, so Choria's own nodes
//! evaluate it as ours do.

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser as _;

use super::filter::{regex_pattern, FactFilter};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/compound.pest"]
struct CompoundParser;

/// The longest compound filter, in bytes: a node's longest filter entry. It also bounds how
/// deep the grammar recurses (a level of parentheses takes two bytes) before the nesting is
/// counted.
pub const MAX_COMPOUND_LENGTH: usize = 1024;
/// The deepest nesting of parentheses; real filters use two or three.
pub const MAX_COMPOUND_DEPTH: usize = 32;

/// A parsed compound filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// Every one holds.
    And(Vec<Expr>),
    /// At least one holds.
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// A fact comparison, with the operator normalised (`=` is `==`, `=<` is `<=`...).
    Fact(FactFilter),
    /// A class or an agent, by name or `/regex/`.
    Name(String),
}

/// Why a compound filter cannot be read. Columns count characters from 1.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompoundError {
    #[error("it is {length} bytes long, over the {limit} nodes read")]
    TooLong { length: usize, limit: usize },
    #[error("column {column}: parentheses nest deeper than {limit}")]
    TooDeep { column: usize, limit: usize },
    #[error("column {column}: expected {expected}")]
    Syntax { column: usize, expected: String },
    #[error("column {column}: function statements such as {name}(...) are not supported: write with('fact=value'), fact=value, a class or agent name, or /regex/")]
    Function { column: usize, name: String },
    #[error("column {column}: with() holds one quoted statement, e.g. with('customer=acme'), with('apache') or with('/^web/')")]
    EmptyWith { column: usize },
}

/// Parses one compound filter.
pub fn parse(text: &str) -> Result<Expr, CompoundError> {
    if text.len() > MAX_COMPOUND_LENGTH {
        return Err(CompoundError::TooLong {
            length: text.len(),
            limit: MAX_COMPOUND_LENGTH,
        });
    }
    with_stack_for(text, || {
        let mut pairs = CompoundParser::parse(Rule::compound, text)
            .map_err(|error| syntax_error(text, error))?;
        let compound = pairs.next().expect("the compound rule yields one pair");
        let expression = compound
            .into_inner()
            .next()
            .expect("a compound holds an expression");
        Builder { text }.expression(expression, 0)
    })
}

/// Runs the parse where the stack has room for it. The grammar recurses once per level of
/// parentheses, and cannot nest deeper than the text has `(`; within the length limit that is
/// some 500 levels, 3 to 8 KiB each in a debug build (measured), more than a tokio worker's
/// 2 MiB holds. The depth limit is applied after, while the tree is read.
fn with_stack_for<T>(text: &str, parse: impl FnOnce() -> T) -> T {
    const PER_LEVEL: usize = 8 << 10;
    const BASE: usize = 64 << 10;
    let needed = BASE + text.matches('(').count() * PER_LEVEL;
    stacker::maybe_grow(needed, needed + BASE, parse)
}

struct Builder<'t> {
    text: &'t str,
}

impl Builder<'_> {
    fn expression(&self, pair: Pair<'_, Rule>, depth: usize) -> Result<Expr, CompoundError> {
        let terms = pair
            .into_inner()
            .filter(|p| p.as_rule() == Rule::conjunction)
            .map(|p| self.conjunction(p, depth))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(joined(terms, Expr::Or))
    }

    fn conjunction(&self, pair: Pair<'_, Rule>, depth: usize) -> Result<Expr, CompoundError> {
        let terms = pair
            .into_inner()
            .filter(|p| p.as_rule() == Rule::unary)
            .map(|p| self.unary(p, depth))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(joined(terms, Expr::And))
    }

    fn unary(&self, pair: Pair<'_, Rule>, depth: usize) -> Result<Expr, CompoundError> {
        let mut negations = 0;
        let mut operand = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::not_op => negations += 1,
                _ => operand = Some(self.operand(part, depth)?),
            }
        }
        let operand = operand.expect("a unary ends in an operand");
        // `not not x` is `x`: only the parity counts, so a long run of `!` nests nothing.
        Ok(if negations % 2 == 1 {
            Expr::Not(Box::new(operand))
        } else {
            operand
        })
    }

    fn operand(&self, pair: Pair<'_, Rule>, depth: usize) -> Result<Expr, CompoundError> {
        let column = self.column(&pair);
        match pair.as_rule() {
            Rule::group => {
                if depth >= MAX_COMPOUND_DEPTH {
                    return Err(CompoundError::TooDeep {
                        column,
                        limit: MAX_COMPOUND_DEPTH,
                    });
                }
                let inner = pair
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::expression)
                    .expect("a group holds an expression");
                self.expression(inner, depth + 1)
            }
            Rule::with_call => {
                let quoted = pair.into_inner().next().expect("with() holds a string");
                with_statement(&unquote(quoted.as_str())).ok_or(CompoundError::EmptyWith { column })
            }
            Rule::function_call => {
                let name = pair.into_inner().next().expect("a function name").as_str();
                Err(match name {
                    "with" => CompoundError::EmptyWith { column },
                    _ => CompoundError::Function {
                        column,
                        name: name.to_string(),
                    },
                })
            }
            Rule::comparison => Ok(comparison(pair)),
            Rule::regex | Rule::word => Ok(Expr::Name(pair.as_str().to_string())),
            other => unreachable!("not an operand: {other:?}"),
        }
    }

    fn column(&self, pair: &Pair<'_, Rule>) -> usize {
        column_of(self.text, pair.as_span().start())
    }
}

/// One term as itself, several joined by `and` or `or`.
fn joined(mut terms: Vec<Expr>, join: fn(Vec<Expr>) -> Expr) -> Expr {
    if terms.len() == 1 {
        terms.pop().expect("one term")
    } else {
        join(terms)
    }
}

fn comparison(pair: Pair<'_, Rule>) -> Expr {
    let mut parts = pair.into_inner();
    let fact = parts.next().expect("a fact name").as_str().to_string();
    let operator = parts.next().expect("an operator").as_str();
    let value = parts.next().expect("a value");
    let is_regex = value.as_rule() == Rule::regex;
    let value = match value.as_rule() {
        Rule::quoted => unquote(value.as_str()),
        _ => value.as_str().to_string(),
    };
    Expr::Fact(FactFilter {
        fact,
        operator: normal_operator(operator, is_regex).to_string(),
        value,
    })
}

/// MCollective's spellings: `=` is `==` (`=~` before a `/regex/`), `=<` and `=>` are `<=` and
/// `>=`.
fn normal_operator(operator: &str, regex_value: bool) -> &str {
    match operator {
        "=" if regex_value => "=~",
        "=" => "==",
        "=<" => "<=",
        "=>" => ">=",
        other => other,
    }
}

/// The statement inside `with('...')`, read as Choria's `with()` reads it: a fact comparison
/// when it is one, else a class or agent name (or `/regex/`).
fn with_statement(statement: &str) -> Option<Expr> {
    let statement = statement.trim();
    if statement.is_empty() {
        return None;
    }
    Some(match FactFilter::parse(statement) {
        Ok(fact) => Expr::Fact(fact),
        Err(_) => Expr::Name(statement.to_string()),
    })
}

/// A quoted string's text: the quotes off, `\x` read as `x`.
fn unquote(quoted: &str) -> String {
    let inner = &quoted[1..quoted.len() - 1];
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.extend(chars.next()),
            c => text.push(c),
        }
    }
    text
}

fn column_of(text: &str, byte: usize) -> usize {
    text[..byte].chars().count() + 1
}

fn syntax_error(text: &str, error: pest::error::Error<Rule>) -> CompoundError {
    let byte = match error.location {
        InputLocation::Pos(at) | InputLocation::Span((at, _)) => at,
    };
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => expected_words(positives),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    CompoundError::Syntax {
        column: column_of(text, byte),
        expected,
    }
}

/// What the parser wanted, in words: each rule named once, in a stable order.
fn expected_words(rules: &[Rule]) -> String {
    let mut words: Vec<&str> = rules.iter().map(|rule| rule_words(*rule)).collect();
    words.sort_unstable();
    words.dedup();
    match words.as_slice() {
        [] => "a statement".to_string(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Every rule of the grammar in words a user of `-S` knows.
fn rule_words(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the filter",
        Rule::WHITESPACE | Rule::spaces => "a space",
        Rule::compound | Rule::expression | Rule::conjunction | Rule::unary => {
            "a statement, `not` or `(`"
        }
        Rule::group | Rule::operand => "`(`",
        Rule::close => "`)`",
        Rule::or_op => "`or`",
        Rule::and_op => "`and`",
        Rule::not_op => "`not`",
        Rule::with_call => "with('...')",
        Rule::function_call | Rule::function_name | Rule::arguments | Rule::call_tail => {
            "a function call"
        }
        Rule::statement | Rule::comparison | Rule::word | Rule::keyword | Rule::name_char => {
            "a class, an agent, a fact comparison or /regex/"
        }
        Rule::fact_name => "a fact name",
        Rule::operator => "an operator (== != =~ < > <= >=)",
        Rule::value | Rule::bare_value => "a value",
        Rule::regex => "/regex/",
        Rule::quoted => "a quoted string",
    }
}

impl Expr {
    /// The `/regex/` patterns it holds (class and agent names, and `=~` facts), to check and
    /// count them as the other filter lists' are.
    pub fn regexes(&self) -> Vec<&str> {
        let mut found = Vec::new();
        self.collect_regexes(&mut found);
        found
    }

    fn collect_regexes<'e>(&'e self, found: &mut Vec<&'e str>) {
        match self {
            Expr::And(terms) | Expr::Or(terms) => {
                terms.iter().for_each(|term| term.collect_regexes(found))
            }
            Expr::Not(term) => term.collect_regexes(found),
            Expr::Fact(fact) if fact.operator == "=~" => {
                found.push(regex_pattern(&fact.value).unwrap_or(&fact.value))
            }
            Expr::Fact(_) => {}
            Expr::Name(name) => found.extend(regex_pattern(name)),
        }
    }

    /// The filter in Choria's expr language, which both Choria's nodes (go-choria compiles it
    /// with expr-lang) and ours read: every statement in a `with('...')` call, every group
    /// in parentheses, so no precedence is left to either side.
    pub fn to_choria(&self) -> String {
        match self {
            Expr::And(terms) => joined_text(terms, " and "),
            Expr::Or(terms) => joined_text(terms, " or "),
            Expr::Not(term) => format!("not {}", grouped(term)),
            Expr::Fact(fact) => with_call(&format!("{}{}{}", fact.fact, fact.operator, fact.value)),
            Expr::Name(name) => with_call(name),
        }
    }
}

fn joined_text(terms: &[Expr], separator: &str) -> String {
    terms
        .iter()
        .map(grouped)
        .collect::<Vec<_>>()
        .join(separator)
}

fn grouped(term: &Expr) -> String {
    match term {
        Expr::And(_) | Expr::Or(_) => format!("({})", term.to_choria()),
        _ => term.to_choria(),
    }
}

/// `with('...')` with `\` and `'` escaped, as expr-lang reads a single-quoted string.
pub(crate) fn with_call(statement: &str) -> String {
    let escaped = statement.replace('\\', "\\\\").replace('\'', "\\'");
    format!("with('{escaped}')")
}

#[cfg(test)]
mod tests;
