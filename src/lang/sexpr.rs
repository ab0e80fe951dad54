//! The AST as an indented S-expression with every span: what the golden tests compare, and what
//! `orchestrate check --ast` prints for someone debugging the grammar.

use std::fmt::Write;

use super::ast::*;

pub fn dump(program: &Program) -> String {
    let mut p = Printer::default();
    p.open("program", "", program.span);
    for s in &program.statements {
        p.expr(s);
    }
    p.close();
    p.out
}

#[derive(Default)]
struct Printer {
    out: String,
    depth: usize,
}

impl Printer {
    fn line(&mut self, text: &str) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn leaf(&mut self, tag: &str, detail: &str, span: Span) {
        let sep = if detail.is_empty() { "" } else { " " };
        self.line(&format!("({tag}{sep}{detail} {span:?})"));
    }

    fn open(&mut self, tag: &str, detail: &str, span: Span) {
        let sep = if detail.is_empty() { "" } else { " " };
        self.line(&format!("({tag}{sep}{detail} {span:?}"));
        self.depth += 1;
    }

    fn close(&mut self) {
        self.depth -= 1;
        // The closing paren goes on the last line, Lisp style.
        self.out.pop();
        self.out.push_str(")\n");
    }

    fn group(&mut self, tag: &str, f: impl FnOnce(&mut Self)) {
        self.line(&format!("({tag}"));
        self.depth += 1;
        f(self);
        self.close();
    }

    fn exprs(&mut self, items: &[Expr]) {
        for e in items {
            self.expr(e);
        }
    }

    fn block(&mut self, tag: &str, block: &Block) {
        self.open(tag, "", block.span);
        self.exprs(&block.statements);
        self.close();
    }

    fn ident(&mut self, tag: &str, ident: &Ident) {
        self.leaf(tag, &quote(&ident.name), ident.span);
    }

    fn expr(&mut self, e: &Expr) {
        let span = e.span;
        match &e.kind {
            ExprKind::Undef => self.leaf("undef", "", span),
            ExprKind::Default => self.leaf("default", "", span),
            ExprKind::Boolean(b) => self.leaf("bool", &b.to_string(), span),
            ExprKind::Integer(i) => self.leaf("int", &i.to_string(), span),
            ExprKind::Float(f) => self.leaf("float", &format!("{f:?}"), span),
            ExprKind::String(parts) => self.string("string", "", parts, span),
            ExprKind::Heredoc(h) => {
                let mut detail = String::new();
                if let Some(s) = &h.syntax {
                    let _ = write!(detail, "syntax={s}");
                }
                self.string("heredoc", &detail, &h.parts, span)
            }
            ExprKind::Regex(r) => self.leaf("regex", &format!("/{r}/"), span),
            ExprKind::Variable(v) => self.leaf("var", &format!("${v}"), span),
            ExprKind::Name(n) => self.leaf("name", n, span),
            ExprKind::TypeRef(t) => self.leaf("type", t, span),
            ExprKind::Array(items) => {
                self.open("array", "", span);
                self.exprs(items);
                self.close();
            }
            ExprKind::Hash(entries) => {
                self.open("hash", "", span);
                self.entries(entries);
                self.close();
            }
            ExprKind::Paren(inner) => {
                self.open("paren", "", span);
                self.expr(inner);
                self.close();
            }
            ExprKind::Access { target, keys } => {
                self.open("access", "", span);
                self.expr(target);
                self.exprs(keys);
                self.close();
            }
            ExprKind::Unary { op, operand } => {
                self.open("unary", &format!("{op:?}"), span);
                self.expr(operand);
                self.close();
            }
            ExprKind::Binary { op, lhs, rhs } => {
                self.pair("binary", &format!("{op:?}"), lhs, rhs, span)
            }
            ExprKind::Assign { target, value } => self.pair("assign", "", target, value, span),
            ExprKind::Relationship { arrow, lhs, rhs } => {
                self.pair("relationship", &format!("{arrow:?}"), lhs, rhs, span)
            }
            ExprKind::Apply(apply) => {
                self.open("apply", "", span);
                self.exprs(&apply.args);
                self.block("body", &apply.body);
                self.close();
            }
            ExprKind::Call(call) => {
                self.open(
                    "call",
                    &format!("{} {:?}", call.name.name, call.style),
                    span,
                );
                self.call(call);
                self.close();
            }
            ExprKind::MethodCall { receiver, call } => {
                self.open(
                    "method",
                    &format!("{} {:?}", call.name.name, call.style),
                    span,
                );
                self.expr(receiver);
                self.call(call);
                self.close();
            }
            ExprKind::Selector { subject, cases } => {
                self.open("selector", "", span);
                self.expr(subject);
                self.entries(cases);
                self.close();
            }
            ExprKind::If(i) => {
                let IfExpr {
                    condition,
                    then,
                    elsifs,
                    otherwise,
                } = &**i;
                self.open("if", "", span);
                self.expr(condition);
                self.block("then", then);
                for (c, b) in elsifs {
                    self.group("elsif", |p| {
                        p.expr(c);
                        p.block("then", b);
                    });
                }
                if let Some(b) = otherwise {
                    self.block("else", b);
                }
                self.close();
            }
            ExprKind::Unless(u) => {
                let UnlessExpr {
                    condition,
                    then,
                    otherwise,
                } = &**u;
                self.open("unless", "", span);
                self.expr(condition);
                self.block("then", then);
                if let Some(b) = otherwise {
                    self.block("else", b);
                }
                self.close();
            }
            ExprKind::Case { subject, options } => {
                self.open("case", "", span);
                self.expr(subject);
                for o in options {
                    self.open("option", "", o.span);
                    self.exprs(&o.values);
                    self.block("then", &o.body);
                    self.close();
                }
                self.close();
            }
            ExprKind::Resource(r) => {
                let detail = format!("{:?} {}", r.virtuality, r.type_name.name);
                self.open("resource", &detail, span);
                for body in &r.bodies {
                    self.open("body", "", body.span);
                    self.expr(&body.title);
                    self.attributes(&body.attributes);
                    self.close();
                }
                self.close();
            }
            ExprKind::ResourceDefaults(d) => {
                self.open("defaults", &d.type_name.name, span);
                self.attributes(&d.attributes);
                self.close();
            }
            ExprKind::ResourceOverride { target, attributes } => {
                self.open("override", "", span);
                self.expr(target);
                self.attributes(attributes);
                self.close();
            }
            ExprKind::Collector(c) => {
                let kind = if c.exported { "exported" } else { "virtual" };
                self.open("collector", &format!("{kind} {}", c.type_name.name), span);
                if let Some(q) = &c.query {
                    self.query(q);
                }
                if let Some(a) = &c.attributes {
                    self.attributes(a);
                }
                self.close();
            }
            ExprKind::Class(c) => {
                self.open("class", &c.name.name, span);
                self.params(&c.params);
                if let Some(p) = &c.parent {
                    self.ident("inherits", p);
                }
                self.block("body", &c.body);
                self.close();
            }
            ExprKind::Define(d) => self.definition("define", d, span),
            ExprKind::Application(d) => self.definition("application", d, span),
            ExprKind::Plan(d) => self.definition("plan", d, span),
            ExprKind::Function(f) => {
                self.open("function", &f.name.name, span);
                self.params(&f.params);
                if let Some(t) = &f.return_type {
                    self.group("returns", |p| p.expr(t));
                }
                self.block("body", &f.body);
                self.close();
            }
            ExprKind::Node(n) => {
                self.open("node", "", span);
                self.exprs(&n.matchers);
                self.block("body", &n.body);
                self.close();
            }
            ExprKind::TypeAlias { name, value } => {
                self.open("type-alias", &name.name, span);
                self.expr(value);
                self.close();
            }
            ExprKind::Site(b) => {
                self.open("site", "", span);
                self.block("body", b);
                self.close();
            }
            ExprKind::CapabilityMapping(m) => {
                let detail = format!("{} {:?} {}", m.component.name, m.kind, m.capability.name);
                self.open("capability", &detail, span);
                self.attributes(&m.attributes);
                self.close();
            }
        }
    }

    fn pair(&mut self, tag: &str, detail: &str, lhs: &Expr, rhs: &Expr, span: Span) {
        self.open(tag, detail, span);
        self.expr(lhs);
        self.expr(rhs);
        self.close();
    }

    fn string(&mut self, tag: &str, detail: &str, parts: &[StringPart], span: Span) {
        match parts {
            [] => self.leaf(tag, &join(detail, "\"\""), span),
            [StringPart::Text(t)] => self.leaf(tag, &join(detail, &quote(t)), span),
            _ => {
                self.open(tag, detail, span);
                for part in parts {
                    match part {
                        StringPart::Text(t) => self.line(&quote(t)),
                        StringPart::Interpolation(e) => self.expr(e),
                    }
                }
                self.close();
            }
        }
    }

    fn entries(&mut self, entries: &[HashEntry]) {
        for e in entries {
            self.group("=>", |p| {
                p.expr(&e.key);
                p.expr(&e.value);
            });
        }
    }

    fn call(&mut self, call: &Call) {
        self.exprs(&call.args);
        if let Some(l) = &call.lambda {
            self.open("lambda", "", l.span);
            self.params(&l.params);
            self.block("body", &l.body);
            self.close();
        }
    }

    fn params(&mut self, params: &[Param]) {
        for param in params {
            let rest = if param.captures_rest { "*" } else { "" };
            self.open("param", &format!("{rest}${}", param.name.name), param.span);
            if let Some(t) = &param.type_expr {
                self.expr(t);
            }
            if let Some(d) = &param.default {
                self.group("default", |p| p.expr(d));
            }
            self.close();
        }
    }

    fn attributes(&mut self, attributes: &[Attribute]) {
        for a in attributes {
            let arrow = if a.append { "+>" } else { "=>" };
            self.open("attr", &format!("{} {arrow}", a.name.name), a.span);
            self.expr(&a.value);
            self.close();
        }
    }

    fn definition(&mut self, tag: &str, d: &Definition, span: Span) {
        self.open(tag, &d.name.name, span);
        self.params(&d.params);
        self.block("body", &d.body);
        self.close();
    }

    fn query(&mut self, q: &Query) {
        match q {
            Query::Or(a, b) | Query::And(a, b) => {
                let tag = if matches!(q, Query::Or(..)) {
                    "or"
                } else {
                    "and"
                };
                self.group(tag, |p| {
                    p.query(a);
                    p.query(b);
                });
            }
            Query::Compare {
                attribute,
                equal,
                value,
            } => {
                let op = if *equal { "==" } else { "!=" };
                self.open("query", &format!("{} {op}", attribute.name), attribute.span);
                self.expr(value);
                self.close();
            }
        }
    }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a} {b}")
    }
}

fn quote(text: &str) -> String {
    format!("{text:?}")
}
