//! The syntax tree of a Puppet manifest. Every node carries the byte span of the source it was
//! read from, so the evaluator and the scheduler can point back at the code.

use std::fmt;

/// A byte range in the source text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        (span.start, span.len()).into()
    }
}

/// A name with the span it was written at (a class name, a parameter, an attribute).
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole file.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub statements: Vec<Expr>,
    pub span: Span,
}

/// A `{ ... }` of statements.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub statements: Vec<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr { kind, span }
    }

    /// A literal, a variable, a bare word or a type name: a node without children.
    pub fn is_leaf(&self) -> bool {
        matches!(
            self.kind,
            ExprKind::Undef
                | ExprKind::Default
                | ExprKind::Boolean(_)
                | ExprKind::Integer(_)
                | ExprKind::Float(_)
                | ExprKind::Regex(_)
                | ExprKind::Variable(_)
                | ExprKind::Name(_)
                | ExprKind::TypeRef(_)
        )
    }
}

impl ExprKind {
    /// A definition (a class, define, plan, function, node, type alias, application or
    /// capability mapping): it declares something, and does nothing where it is written.
    pub fn is_definition(&self) -> bool {
        matches!(
            self,
            ExprKind::Class(_)
                | ExprKind::Define(_)
                | ExprKind::Application(_)
                | ExprKind::Plan(_)
                | ExprKind::Function(_)
                | ExprKind::Node(_)
                | ExprKind::TypeAlias { .. }
                | ExprKind::CapabilityMapping(_)
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Undef,
    Default,
    Boolean(bool),
    Integer(i64),
    Float(f64),
    /// A single- or double-quoted string; a plain one has a single `Text` part.
    String(Vec<StringPart>),
    Heredoc(Box<Heredoc>),
    /// The pattern between the slashes, as written.
    Regex(String),
    /// `$name`, without the dollar.
    Variable(String),
    /// A bare word: `present`, `foo::bar`.
    Name(String),
    /// A capitalised type or resource reference name: `File`, `Lamp::Mysql`.
    TypeRef(String),
    Array(Vec<Expr>),
    Hash(Vec<HashEntry>),
    Paren(Box<Expr>),
    Access {
        target: Box<Expr>,
        keys: Vec<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `$x = value` or `[$a, $b] = [1, 2]` (Puppet 4 removed `+=` and `-=`).
    Assign {
        target: Box<Expr>,
        value: Box<Expr>,
    },
    Relationship {
        arrow: Arrow,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Call(Box<Call>),
    /// Bolt's `apply($targets, $options) { ... }` in a plan: catalog code compiled and
    /// applied on each target.
    Apply(Box<Apply>),
    MethodCall {
        receiver: Box<Expr>,
        call: Box<Call>,
    },
    Selector {
        subject: Box<Expr>,
        cases: Vec<HashEntry>,
    },
    If(Box<IfExpr>),
    Unless(Box<UnlessExpr>),
    Case {
        subject: Box<Expr>,
        options: Vec<CaseOption>,
    },
    Resource(Box<Resource>),
    ResourceDefaults(Box<ResourceDefaults>),
    ResourceOverride {
        target: Box<Expr>,
        attributes: Vec<Attribute>,
    },
    Collector(Box<Collector>),
    Class(Box<ClassDef>),
    Define(Box<Definition>),
    Application(Box<Definition>),
    Plan(Box<Definition>),
    Function(Box<FunctionDef>),
    Node(Box<NodeDef>),
    TypeAlias {
        name: Box<Ident>,
        value: Box<Expr>,
    },
    Site(Box<Block>),
    CapabilityMapping(Box<CapabilityMapping>),
}

// Large variants are boxed so that an `Expr` stays small: the parser moves many of them.

#[derive(Clone, Debug, PartialEq)]
pub struct IfExpr {
    pub condition: Expr,
    pub then: Block,
    pub elsifs: Vec<(Expr, Block)>,
    pub otherwise: Option<Block>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UnlessExpr {
    pub condition: Expr,
    pub then: Block,
    pub otherwise: Option<Block>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResourceDefaults {
    pub type_name: Ident,
    pub attributes: Vec<Attribute>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StringPart {
    Text(String),
    /// `${expr}`, or `$var` (then the expression is a `Variable`).
    Interpolation(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Heredoc {
    /// The `:syntax` of `@(END:json)`, when given.
    pub syntax: Option<String>,
    pub interpolated: bool,
    /// The text with margins, trimming and enabled escapes applied.
    pub parts: Vec<StringPart>,
    /// Where the text is in the file (the node's own span is the `@(...)` header).
    pub body: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HashEntry {
    pub key: Expr,
    pub value: Expr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Negate,
    Splat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    LShift,
    RShift,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Match,
    NotMatch,
    In,
}

/// `->` `~>` `<-` `<~`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrow {
    Before,
    Notify,
    Require,
    Subscribe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStyle {
    /// `foo(1)` or `$x.foo(1)`.
    Parens,
    /// `include foo` or `$x.length`.
    Bare,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub name: Ident,
    pub args: Vec<Expr>,
    pub lambda: Option<Lambda>,
    pub style: CallStyle,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Apply {
    /// The targets and, optionally, a hash of options.
    pub args: Vec<Expr>,
    /// The catalog code; `node` definitions may be in it.
    pub body: Block,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lambda {
    pub params: Vec<Param>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub type_expr: Option<Expr>,
    pub captures_rest: bool,
    pub name: Ident,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CaseOption {
    pub values: Vec<Expr>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Virtuality {
    Real,
    /// `@type { }`
    Virtual,
    /// `@@type { }`
    Exported,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub virtuality: Virtuality,
    pub type_name: Ident,
    pub bodies: Vec<ResourceBody>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResourceBody {
    /// `default:` bodies have an `ExprKind::Default` title.
    pub title: Expr,
    pub attributes: Vec<Attribute>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// `*` for `* => $hash`.
    pub name: Ident,
    /// `+>` adds to the value a default or an override already set.
    pub append: bool,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Collector {
    pub type_name: Ident,
    pub exported: bool,
    pub query: Option<Query>,
    pub attributes: Option<Vec<Attribute>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    Or(Box<Query>, Box<Query>),
    And(Box<Query>, Box<Query>),
    Compare {
        attribute: Ident,
        equal: bool,
        value: Box<Expr>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClassDef {
    pub name: Ident,
    pub params: Vec<Param>,
    pub parent: Option<Ident>,
    pub body: Block,
}

/// `define`, `application` and `plan` share this shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub name: Ident,
    pub params: Vec<Param>,
    pub body: Block,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FunctionDef {
    pub name: Ident,
    pub params: Vec<Param>,
    pub return_type: Option<Box<Expr>>,
    pub body: Block,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeDef {
    /// Strings, regexes, `default`, or bare host names (as `Name`).
    pub matchers: Vec<Expr>,
    pub body: Block,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapabilityKind {
    Produces,
    Consumes,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CapabilityMapping {
    pub component: Ident,
    pub kind: CapabilityKind,
    pub capability: Ident,
    pub attributes: Vec<Attribute>,
}
