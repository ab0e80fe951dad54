//! A read-only walk over the tree. Override the hooks you need; call the `walk_*` function from
//! an override to keep descending.

use super::ast::*;

/// What a block belongs to: Puppet's rules for a block's last statement depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockOwner {
    Class,
    Define,
    Node,
    Application,
    Site,
    Plan,
    /// The catalog code of a plan's `apply`.
    Apply,
    Function,
    Lambda,
    /// The branch of an `if`, `unless` or `case`: its value is the expression's value.
    Branch,
}

pub trait Visitor {
    fn expr(&mut self, expr: &Expr) {
        walk_expr(self, expr);
    }

    fn block(&mut self, block: &Block, _owner: BlockOwner) {
        walk_block(self, block);
    }

    fn params(&mut self, params: &[Param], _owner: BlockOwner) {
        walk_params(self, params);
    }

    fn attributes(&mut self, attributes: &[Attribute]) {
        attributes.iter().for_each(|a| self.expr(&a.value));
    }
}

pub fn walk_program<V: Visitor + ?Sized>(v: &mut V, program: &Program) {
    program.statements.iter().for_each(|e| v.expr(e));
}

pub fn walk_block<V: Visitor + ?Sized>(v: &mut V, block: &Block) {
    block.statements.iter().for_each(|e| v.expr(e));
}

pub fn walk_params<V: Visitor + ?Sized>(v: &mut V, params: &[Param]) {
    for p in params {
        if let Some(t) = &p.type_expr {
            v.expr(t);
        }
        if let Some(d) = &p.default {
            v.expr(d);
        }
    }
}

pub fn walk_expr<V: Visitor + ?Sized>(v: &mut V, expr: &Expr) {
    match &expr.kind {
        ExprKind::Undef
        | ExprKind::Default
        | ExprKind::Boolean(_)
        | ExprKind::Integer(_)
        | ExprKind::Float(_)
        | ExprKind::Regex(_)
        | ExprKind::Variable(_)
        | ExprKind::Name(_)
        | ExprKind::TypeRef(_) => {}
        ExprKind::String(parts) => walk_parts(v, parts),
        ExprKind::Heredoc(h) => walk_parts(v, &h.parts),
        ExprKind::Array(items) => items.iter().for_each(|e| v.expr(e)),
        ExprKind::Hash(entries) => walk_entries(v, entries),
        ExprKind::Paren(e) | ExprKind::Unary { operand: e, .. } => v.expr(e),
        ExprKind::Access { target, keys } => {
            v.expr(target);
            keys.iter().for_each(|e| v.expr(e));
        }
        ExprKind::Binary { lhs, rhs, .. }
        | ExprKind::Relationship { lhs, rhs, .. }
        | ExprKind::Assign {
            target: lhs,
            value: rhs,
        } => {
            v.expr(lhs);
            v.expr(rhs);
        }
        ExprKind::Call(call) => walk_call(v, call),
        ExprKind::Apply(apply) => {
            apply.args.iter().for_each(|e| v.expr(e));
            v.block(&apply.body, BlockOwner::Apply);
        }
        ExprKind::MethodCall { receiver, call } => {
            v.expr(receiver);
            walk_call(v, call);
        }
        ExprKind::Selector { subject, cases } => {
            v.expr(subject);
            walk_entries(v, cases);
        }
        ExprKind::If(i) => {
            v.expr(&i.condition);
            v.block(&i.then, BlockOwner::Branch);
            for (c, b) in &i.elsifs {
                v.expr(c);
                v.block(b, BlockOwner::Branch);
            }
            if let Some(b) = &i.otherwise {
                v.block(b, BlockOwner::Branch);
            }
        }
        ExprKind::Unless(u) => {
            v.expr(&u.condition);
            v.block(&u.then, BlockOwner::Branch);
            if let Some(b) = &u.otherwise {
                v.block(b, BlockOwner::Branch);
            }
        }
        ExprKind::Case { subject, options } => {
            v.expr(subject);
            for o in options {
                o.values.iter().for_each(|e| v.expr(e));
                v.block(&o.body, BlockOwner::Branch);
            }
        }
        ExprKind::Resource(r) => {
            for body in &r.bodies {
                v.expr(&body.title);
                v.attributes(&body.attributes);
            }
        }
        ExprKind::ResourceDefaults(d) => v.attributes(&d.attributes),
        ExprKind::ResourceOverride { target, attributes } => {
            v.expr(target);
            v.attributes(attributes);
        }
        ExprKind::Collector(c) => {
            if let Some(q) = &c.query {
                walk_query(v, q);
            }
            if let Some(a) = &c.attributes {
                v.attributes(a);
            }
        }
        ExprKind::Class(c) => {
            v.params(&c.params, BlockOwner::Class);
            v.block(&c.body, BlockOwner::Class);
        }
        ExprKind::Define(d) => walk_definition(v, d, BlockOwner::Define),
        ExprKind::Application(d) => walk_definition(v, d, BlockOwner::Application),
        ExprKind::Plan(d) => walk_definition(v, d, BlockOwner::Plan),
        ExprKind::Function(f) => {
            v.params(&f.params, BlockOwner::Function);
            if let Some(t) = &f.return_type {
                v.expr(t);
            }
            v.block(&f.body, BlockOwner::Function);
        }
        ExprKind::Node(n) => {
            n.matchers.iter().for_each(|e| v.expr(e));
            v.block(&n.body, BlockOwner::Node);
        }
        ExprKind::TypeAlias { value, .. } => v.expr(value),
        ExprKind::Site(b) => v.block(b, BlockOwner::Site),
        ExprKind::CapabilityMapping(m) => v.attributes(&m.attributes),
    }
}

fn walk_definition<V: Visitor + ?Sized>(v: &mut V, d: &Definition, owner: BlockOwner) {
    v.params(&d.params, owner);
    v.block(&d.body, owner);
}

fn walk_parts<V: Visitor + ?Sized>(v: &mut V, parts: &[StringPart]) {
    for part in parts {
        if let StringPart::Interpolation(e) = part {
            v.expr(e);
        }
    }
}

fn walk_entries<V: Visitor + ?Sized>(v: &mut V, entries: &[HashEntry]) {
    for e in entries {
        v.expr(&e.key);
        v.expr(&e.value);
    }
}

fn walk_call<V: Visitor + ?Sized>(v: &mut V, call: &Call) {
    call.args.iter().for_each(|e| v.expr(e));
    if let Some(l) = &call.lambda {
        v.params(&l.params, BlockOwner::Lambda);
        v.block(&l.body, BlockOwner::Lambda);
    }
}

fn walk_query<V: Visitor + ?Sized>(v: &mut V, query: &Query) {
    match query {
        Query::Or(a, b) | Query::And(a, b) => {
            walk_query(v, a);
            walk_query(v, b);
        }
        Query::Compare { value, .. } => v.expr(value),
    }
}
