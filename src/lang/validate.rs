//! The checks Puppet's validator makes after parsing, which `puppet parser validate` reports as
//! errors: values produced and then forgotten, definitions in the wrong place or defined twice,
//! parameters that are duplicated or reserved, attribute operations a resource cannot take, and
//! heredocs whose text is not valid in their declared syntax.

use std::collections::HashSet;
use std::path::Path;

use super::ast::*;
use super::parser::{reserved, RESERVED};
use super::syntax_error::SyntaxError;
use super::visit::{self, BlockOwner, Visitor};

/// Which Puppet a file is written for. Puppet reads the files of a module's `plans/` folder
/// (and `puppet parser validate --tasks`) as plans: there a catalog exists only inside
/// `apply`, so resources, classes and defines are refused elsewhere; `apply` is refused in
/// every other file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    /// A manifest: classes, defines, resources (and orchestrate's playbooks).
    #[default]
    Manifest,
    /// A file of Bolt or Choria plans.
    Tasks,
}

impl Dialect {
    /// How Puppet reads the file at `path`: as plans when it is below a module's `plans/`
    /// folder. The innermost of a module's code folders decides, so the manifests of a
    /// module named `plans` are manifests.
    pub fn of(path: &Path) -> Dialect {
        let folders = path.parent().into_iter().flat_map(Path::components);
        let innermost = folders
            .filter_map(|c| c.as_os_str().to_str())
            .rfind(|name| matches!(*name, "plans" | "manifests" | "functions" | "types"));
        match innermost {
            Some("plans") => Dialect::Tasks,
            _ => Dialect::Manifest,
        }
    }
}

/// Every problem in the program, in source order.
pub fn validate(program: &Program, dialect: Dialect) -> Vec<SyntaxError> {
    let mut v = Validator {
        dialect,
        ..Validator::default()
    };
    v.statements(&program.statements, true);
    visit::walk_program(&mut v, program);
    v.problems.sort_by_key(|p| p.span.start);
    v.problems
}

#[derive(Default)]
struct Validator {
    dialect: Dialect,
    problems: Vec<SyntaxError>,
    /// The blocks the walk is inside, outermost first; empty at top level.
    inside: Vec<BlockOwner>,
    /// Definitions seen so far, by kind and name.
    defined: HashSet<(&'static str, String)>,
}

impl Validator {
    fn problem(&mut self, message: String, span: Span, label: &str, help: Option<&str>) {
        let mut p = SyntaxError::new(message, span, label);
        p.help = help.map(str::to_string);
        self.problems.push(p);
    }

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

    /// Classes, defines and nodes live at top level or directly in a class; functions, type
    /// aliases, plans, applications and sites only at top level.
    fn placement(&mut self, e: &Expr) {
        let (what, in_class_ok) = match &e.kind {
            ExprKind::Class(_) => ("class", true),
            ExprKind::Define(_) => ("define", true),
            ExprKind::Node(_) => ("node", true),
            ExprKind::Function(_) => ("function", false),
            ExprKind::TypeAlias { .. } => ("type alias", false),
            ExprKind::Plan(_) => ("plan", false),
            ExprKind::Application(_) => ("application", false),
            ExprKind::Site(_) => ("site", false),
            _ => return,
        };
        let allowed = match self.inside.last() {
            None => true,
            Some(BlockOwner::Class) => in_class_ok,
            // Bolt matches the targets of an `apply` against its node definitions.
            Some(BlockOwner::Apply) => what == "node",
            Some(_) => false,
        };
        if !allowed {
            let place = if in_class_ok {
                "at top level or directly inside a class"
            } else {
                "at top level"
            };
            self.problem(
                format!("a {what} may only be defined {place}"),
                e.span,
                "not allowed here",
                Some("move the definition out of the block"),
            );
        }
    }

    fn duplicate_definition(&mut self, e: &Expr) {
        let (kind, name) = match &e.kind {
            ExprKind::Class(c) => ("class", &c.name),
            ExprKind::Define(d) => ("define", &d.name),
            ExprKind::Function(f) => ("function", &f.name),
            ExprKind::Plan(d) => ("plan", &d.name),
            ExprKind::Application(d) => ("application", &d.name),
            ExprKind::TypeAlias { name, .. } => ("type", &**name),
            _ => return,
        };
        if kind == "type" && BUILTIN_TYPES.contains(&name.name.as_str()) {
            self.problem(
                format!("`{}` is a built-in type and cannot be redefined", name.name),
                name.span,
                "built-in type",
                Some("choose another name, usually prefixed with the module's name"),
            );
        }
        let key = name.name.trim_start_matches("::").to_ascii_lowercase();
        if !self.defined.insert((kind, key)) {
            self.problem(
                format!("the {kind} `{}` is defined more than once", name.name),
                name.span,
                "defined again here",
                Some("remove or rename one of the definitions"),
            );
        }
    }

    fn resource(&mut self, r: &Resource) {
        if r.type_name.name == "class" && r.virtuality != Virtuality::Real {
            self.problem(
                "classes cannot be virtual or exported".into(),
                r.type_name.span,
                "class",
                Some("declare the class without `@`"),
            );
        }
        for body in &r.bodies {
            self.attribute_operations(&body.attributes, "a resource declaration");
        }
    }

    /// `+>` adds to a value set elsewhere, so only overrides and collectors may use it; `* =>`
    /// may appear once per body.
    fn attribute_operations(&mut self, attributes: &[Attribute], place: &str) {
        for a in attributes.iter().filter(|a| a.append) {
            self.problem(
                format!(
                    "`+>` cannot be used in {place} (attribute `{}`)",
                    a.name.name
                ),
                a.span,
                "`+>` not allowed here",
                Some("use `=>`; `+>` is for overrides and collectors, which add to a value"),
            );
        }
        if let Some(second) = attributes.iter().filter(|a| a.name.name == "*").nth(1) {
            self.problem(
                "`* =>` can be used only once per resource body".into(),
                second.span,
                "second `* =>`",
                Some("merge the hashes: `* => $a + $b`"),
            );
        }
    }

    /// Reserved words cannot stand as bare words (where Puppet would read a keyword).
    fn reserved_word(&mut self, name: &str, span: Span) {
        if RESERVED.contains(&name) || name == "type" {
            let word = Ident {
                name: name.to_string(),
                span,
            };
            self.problems.push(reserved(&word));
        }
    }

    /// In a file of plans `apply` is a keyword, as Puppet's lexer reads it there: never a
    /// bare word.
    fn bare_apply(&mut self, name: &str, span: Span) {
        if self.dialect == Dialect::Tasks && name == "apply" {
            self.problem(
                "`apply` is a keyword in plans: it takes targets and a block".into(),
                span,
                "not a value",
                Some("apply($targets) { ... }, or quote it: 'apply'"),
            );
        }
    }

    /// In a file of plans, catalog code is valid only inside `apply`; classes and defines not
    /// at all (they belong in `manifests/`). Elsewhere `apply` is not valid.
    fn catalog_code(&mut self, e: &Expr) {
        let in_apply = self.inside.contains(&BlockOwner::Apply);
        let problem = match (self.dialect, &e.kind) {
            (Dialect::Manifest, ExprKind::Apply(_)) => Some((
                "`apply` is only available in plans (the files of a `plans/` folder)",
                "wrap it in a plan: `plan mod::name(TargetSpec $targets) { apply($targets) { ... } }`",
            )),
            (Dialect::Manifest, _) => None,
            (Dialect::Tasks, ExprKind::Class(_) | ExprKind::Define(_)) => Some((
                "classes and defines cannot be defined in a file of plans",
                "move the definition to the module's `manifests/` folder",
            )),
            (Dialect::Tasks, ExprKind::Apply(_)) if in_apply => Some((
                "`apply` cannot be used inside an `apply` block",
                "apply the code to the targets in the one block",
            )),
            (Dialect::Tasks, _) if in_apply => None,
            (Dialect::Tasks, kind) => catalog_only(kind).map(|what| (what, CATALOG_HELP)),
        };
        if let Some((message, help)) = problem {
            self.problem(message.into(), e.span, "not allowed here", Some(help));
        }
    }

    fn heredoc_syntax(&mut self, heredoc: &Heredoc) {
        let (Some(syntax), [StringPart::Text(text)]) = (&heredoc.syntax, heredoc.parts.as_slice())
        else {
            return;
        };
        if let Some(error) = syntax_error_in(syntax, text) {
            // Point where the text starts, as Puppet does.
            let start = heredoc.body.start;
            self.problem(
                format!("the heredoc's text is not valid {syntax}: {error}"),
                Span::new(start, (start + 1).min(heredoc.body.end)),
                "this text",
                Some("fix the text, or remove the `:syntax` from the heredoc's tag"),
            );
        }
    }
}

impl Visitor for Validator {
    fn expr(&mut self, e: &Expr) {
        self.placement(e);
        self.duplicate_definition(e);
        self.catalog_code(e);
        match &e.kind {
            ExprKind::Resource(r) => self.resource(r),
            ExprKind::ResourceDefaults(d) => {
                self.attribute_operations(&d.attributes, "resource defaults")
            }
            ExprKind::Heredoc(h) => self.heredoc_syntax(h),
            ExprKind::Name(name) => {
                self.reserved_word(name, e.span);
                self.bare_apply(name, e.span);
            }
            ExprKind::Hash(entries) => {
                // `function` and `type` are plain words as hash keys (as in Puppet).
                for entry in entries {
                    let plain_key = matches!(&entry.key.kind, ExprKind::Name(n) if n == "function" || n == "type");
                    if !plain_key {
                        self.expr(&entry.key);
                    }
                    self.expr(&entry.value);
                }
                return;
            }
            _ => {}
        }
        visit::walk_expr(self, e);
    }

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
        self.inside.push(owner);
        visit::walk_block(self, block);
        self.inside.pop();
    }

    fn params(&mut self, params: &[Param], owner: BlockOwner) {
        let resource_like = matches!(
            owner,
            BlockOwner::Class | BlockOwner::Define | BlockOwner::Application
        );
        let mut seen = HashSet::new();
        for (i, p) in params.iter().enumerate() {
            let name = p.name.name.as_str();
            // Puppet allows a lambda to repeat a parameter name (the last one wins).
            if owner != BlockOwner::Lambda && !seen.insert(name) {
                self.problem(
                    format!("the parameter `${name}` is declared more than once"),
                    p.name.span,
                    "declared again here",
                    Some("rename or remove one of them"),
                );
            }
            if resource_like && matches!(name, "name" | "title") {
                self.problem(
                    format!("the parameter `${name}` redefines a built-in parameter"),
                    p.name.span,
                    "built-in parameter",
                    Some("every class and define already has `$name` and `$title`: choose another name"),
                );
            }
            if p.captures_rest && resource_like {
                self.problem(
                    format!("the parameter `${name}` captures the rest, which a class or define cannot do"),
                    p.span,
                    "`*` not allowed here",
                    None,
                );
            } else if p.captures_rest && i + 1 != params.len() {
                self.problem(
                    format!("the parameter `${name}` captures the rest, so it must be the last"),
                    p.span,
                    "not last",
                    Some("move it to the end of the parameter list"),
                );
            }
        }
        visit::walk_params(self, params);
    }
}

const CATALOG_HELP: &str =
    "a plan runs tasks and functions; catalog code goes in `apply($targets) { ... }`";

/// What a plan may only write inside `apply`, described for the message; None for the rest.
fn catalog_only(kind: &ExprKind) -> Option<&'static str> {
    Some(match kind {
        ExprKind::Resource(_) => {
            "a resource declaration is only available inside `apply` in a plan"
        }
        ExprKind::ResourceDefaults(_) => {
            "resource defaults are only available inside `apply` in a plan"
        }
        ExprKind::ResourceOverride { .. } => {
            "a resource override is only available inside `apply` in a plan"
        }
        ExprKind::Collector(_) => "a collector is only available inside `apply` in a plan",
        ExprKind::Relationship { .. } => {
            "a relationship (`->`, `~>`) is only available inside `apply` in a plan"
        }
        ExprKind::Node(_) => "a node definition is only available inside `apply` in a plan",
        _ => return None,
    })
}

/// Puppet's own data types, which a type alias may not redefine.
const BUILTIN_TYPES: &[&str] = &[
    "Any",
    "Array",
    "Binary",
    "Boolean",
    "Callable",
    "CatalogEntry",
    "Class",
    "Collection",
    "Data",
    "Default",
    "Deferred",
    "Enum",
    "Error",
    "Float",
    "Hash",
    "Init",
    "Integer",
    "Iterable",
    "Iterator",
    "NotUndef",
    "Numeric",
    "Object",
    "Optional",
    "Pattern",
    "Regexp",
    "Resource",
    "RichData",
    "Runtime",
    "Scalar",
    "ScalarData",
    "SemVer",
    "SemVerRange",
    "Sensitive",
    "String",
    "Struct",
    "Timespan",
    "Timestamp",
    "Tuple",
    "Type",
    "TypeSet",
    "Undef",
    "URI",
    "Variant",
];

/// Puppet checks a heredoc's text against its declared syntax, for the syntaxes it knows.
fn syntax_error_in(syntax: &str, text: &str) -> Option<String> {
    match syntax {
        "json" => serde_json::from_str::<serde_json::Value>(text)
            .err()
            .map(|e| e.to_string()),
        "pp" => super::parse(text).err().map(|e| e.message),
        "base64" => {
            let clean: String = text.split_whitespace().collect();
            let valid = clean.len().is_multiple_of(4)
                && clean
                    .trim_end_matches('=')
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
            (!valid).then(|| "it holds characters outside the base64 alphabet".to_string())
        }
        _ => None,
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
    if e.is_leaf() {
        return true;
    }
    match &e.kind {
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
        validate(&parse(src).unwrap(), Dialect::Manifest)
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
        assert!(problems("with(1, 2) |$a, $a| { $a }").is_empty());
    }

    #[test]
    fn definitions_in_the_wrong_place() {
        assert_eq!(
            problems(
                "if $x {\n  class foo { }\n}\nclass a {\n  define b() { }\n  function f() { }\n}"
            ),
            [
                "a class may only be defined at top level or directly inside a class",
                "a function may only be defined at top level",
            ]
        );
    }

    #[test]
    fn resource_attribute_operations() {
        assert_eq!(problems("file { '/a': require +> File['/b'] }").len(), 1);
        assert_eq!(problems("File { require +> File['/b'] }").len(), 1);
        assert!(problems("File['/a'] { require +> File['/b'] }").is_empty());
        assert_eq!(problems("file { '/a': * => {}, * => {} }").len(), 1);
        assert_eq!(problems("@class { 'x': }").len(), 1);
    }

    #[test]
    fn definitions_are_unique() {
        assert_eq!(problems("class a { }\nclass a { }").len(), 1);
        assert_eq!(problems("type Integer = String").len(), 1);
    }

    fn plan_problems(src: &str) -> Vec<(usize, String)> {
        validate(&parse(src).unwrap(), Dialect::Tasks)
            .into_iter()
            .map(|p| (src[..p.span.start].matches('\n').count() + 1, p.message))
            .collect()
    }

    #[test]
    fn a_file_of_plans_has_catalog_code_only_inside_apply() {
        let plan = "plan a(TargetSpec $t) {
  apply($t) {
    notify { 'x': } -> file { '/y': }
    node default { }
  }
}
";
        assert_eq!(plan_problems(plan), []);
        let lines: Vec<usize> = plan_problems(
            "plan a() {
  notify { 'x': }
  File { mode => '0644' }
  $x -> $y
}
class b { }
node default { }
plan c() { apply($t) { define d() { } apply($t) { } } }
",
        )
        .into_iter()
        .map(|(line, _)| line)
        .collect();
        assert_eq!(lines, [2, 3, 4, 6, 7, 8, 8, 8]);
    }

    #[test]
    fn apply_is_a_keyword_in_plans_and_a_word_elsewhere() {
        assert_eq!(plan_problems("plan a() {\n  notice(apply)\n}\n").len(), 1);
        assert!(problems("notice(apply)").is_empty());
    }

    #[test]
    fn apply_is_only_for_plans() {
        assert_eq!(
            problems(
                "$r = apply('x') { notify { 'y': } }
notice($r)"
            ),
            ["`apply` is only available in plans (the files of a `plans/` folder)"]
        );
    }

    #[test]
    fn the_dialect_follows_the_folder() {
        use std::path::Path;
        assert_eq!(
            Dialect::of(Path::new("modules/m/plans/a/b.pp")),
            Dialect::Tasks
        );
        assert_eq!(Dialect::of(Path::new("plans/init.pp")), Dialect::Tasks);
        assert_eq!(
            Dialect::of(Path::new("modules/plans/manifests/init.pp")),
            Dialect::Manifest
        );
        assert_eq!(Dialect::of(Path::new("plans.pp")), Dialect::Manifest);
    }

    #[test]
    fn heredoc_text_is_checked_against_its_syntax() {
        assert_eq!(
            problems("$x = @(END:json)\n{\"a\": }\nEND\nnotice($x)").len(),
            1
        );
        assert!(problems("$x = @(END:json)\n{\"a\": 1}\nEND\nnotice($x)").is_empty());
        assert_eq!(
            problems("$x = @(END:pp)\n$y = [1,\nEND\nnotice($x)").len(),
            1
        );
    }
}
