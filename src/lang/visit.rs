//! Walks every span of a tree (to move spans, or to check that each one points into the source).

use super::ast::*;

/// Calls `f` on the span of every node below and including `expr`.
pub fn for_each_span(expr: &mut Expr, f: &mut dyn FnMut(&mut Span)) {
    f(&mut expr.span);
    match &mut expr.kind {
        ExprKind::Undef
        | ExprKind::Default
        | ExprKind::Boolean(_)
        | ExprKind::Integer(_)
        | ExprKind::Float(_)
        | ExprKind::Regex(_)
        | ExprKind::Variable(_)
        | ExprKind::Name(_)
        | ExprKind::TypeRef(_) => {}
        ExprKind::String(parts) => parts_spans(parts, f),
        ExprKind::Heredoc(h) => parts_spans(&mut h.parts, f),
        ExprKind::Array(items) => items.iter_mut().for_each(|e| for_each_span(e, f)),
        ExprKind::Hash(entries) => entry_spans(entries, f),
        ExprKind::Selector { subject, cases } => {
            for_each_span(subject, f);
            entry_spans(cases, f);
        }
        ExprKind::Paren(e) => for_each_span(e, f),
        ExprKind::Access { target, keys } => {
            for_each_span(target, f);
            keys.iter_mut().for_each(|e| for_each_span(e, f));
        }
        ExprKind::Unary { operand, .. } => for_each_span(operand, f),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Relationship { lhs, rhs, .. } => {
            for_each_span(lhs, f);
            for_each_span(rhs, f);
        }
        ExprKind::Assign { target, value, .. } => {
            for_each_span(target, f);
            for_each_span(value, f);
        }
        ExprKind::Call(call) => call_spans(call, f),
        ExprKind::MethodCall { receiver, call } => {
            for_each_span(receiver, f);
            call_spans(call, f);
        }
        ExprKind::If {
            condition,
            then,
            elsifs,
            otherwise,
        } => {
            for_each_span(condition, f);
            block_spans(then, f);
            for (c, b) in elsifs {
                for_each_span(c, f);
                block_spans(b, f);
            }
            if let Some(b) = otherwise {
                block_spans(b, f);
            }
        }
        ExprKind::Unless {
            condition,
            then,
            otherwise,
        } => {
            for_each_span(condition, f);
            block_spans(then, f);
            if let Some(b) = otherwise {
                block_spans(b, f);
            }
        }
        ExprKind::Case { subject, options } => {
            for_each_span(subject, f);
            for o in options {
                f(&mut o.span);
                o.values.iter_mut().for_each(|e| for_each_span(e, f));
                block_spans(&mut o.body, f);
            }
        }
        ExprKind::Resource(r) => {
            f(&mut r.type_name.span);
            for body in &mut r.bodies {
                f(&mut body.span);
                for_each_span(&mut body.title, f);
                attribute_spans(&mut body.attributes, f);
            }
        }
        ExprKind::ResourceDefaults {
            type_name,
            attributes,
        } => {
            f(&mut type_name.span);
            attribute_spans(attributes, f);
        }
        ExprKind::ResourceOverride { target, attributes } => {
            for_each_span(target, f);
            attribute_spans(attributes, f);
        }
        ExprKind::Collector(c) => {
            f(&mut c.type_name.span);
            if let Some(q) = &mut c.query {
                query_spans(q, f);
            }
            if let Some(a) = &mut c.attributes {
                attribute_spans(a, f);
            }
        }
        ExprKind::Class(c) => {
            f(&mut c.name.span);
            param_spans(&mut c.params, f);
            if let Some(p) = &mut c.parent {
                f(&mut p.span);
            }
            block_spans(&mut c.body, f);
        }
        ExprKind::Define(d) | ExprKind::Application(d) | ExprKind::Plan(d) => {
            f(&mut d.name.span);
            param_spans(&mut d.params, f);
            block_spans(&mut d.body, f);
        }
        ExprKind::Function(d) => {
            f(&mut d.name.span);
            param_spans(&mut d.params, f);
            if let Some(t) = &mut d.return_type {
                for_each_span(t, f);
            }
            block_spans(&mut d.body, f);
        }
        ExprKind::Node(n) => {
            n.matchers.iter_mut().for_each(|e| for_each_span(e, f));
            block_spans(&mut n.body, f);
        }
        ExprKind::TypeAlias { name, value } => {
            f(&mut name.span);
            for_each_span(value, f);
        }
        ExprKind::Site(b) => block_spans(b, f),
        ExprKind::CapabilityMapping(m) => {
            f(&mut m.component.span);
            f(&mut m.capability.span);
            attribute_spans(&mut m.attributes, f);
        }
    }
}

fn parts_spans(parts: &mut [StringPart], f: &mut dyn FnMut(&mut Span)) {
    for part in parts {
        if let StringPart::Interpolation(e) = part {
            for_each_span(e, f);
        }
    }
}

fn entry_spans(entries: &mut [HashEntry], f: &mut dyn FnMut(&mut Span)) {
    for e in entries {
        for_each_span(&mut e.key, f);
        for_each_span(&mut e.value, f);
    }
}

fn block_spans(block: &mut Block, f: &mut dyn FnMut(&mut Span)) {
    f(&mut block.span);
    block.statements.iter_mut().for_each(|e| for_each_span(e, f));
}

fn call_spans(call: &mut Call, f: &mut dyn FnMut(&mut Span)) {
    f(&mut call.name.span);
    call.args.iter_mut().for_each(|e| for_each_span(e, f));
    if let Some(l) = &mut call.lambda {
        f(&mut l.span);
        param_spans(&mut l.params, f);
        block_spans(&mut l.body, f);
    }
}

fn param_spans(params: &mut [Param], f: &mut dyn FnMut(&mut Span)) {
    for p in params {
        f(&mut p.span);
        f(&mut p.name.span);
        if let Some(t) = &mut p.type_expr {
            for_each_span(t, f);
        }
        if let Some(d) = &mut p.default {
            for_each_span(d, f);
        }
    }
}

fn attribute_spans(attributes: &mut [Attribute], f: &mut dyn FnMut(&mut Span)) {
    for a in attributes {
        f(&mut a.span);
        f(&mut a.name.span);
        for_each_span(&mut a.value, f);
    }
}

fn query_spans(query: &mut Query, f: &mut dyn FnMut(&mut Span)) {
    match query {
        Query::Or(a, b) | Query::And(a, b) => {
            query_spans(a, f);
            query_spans(b, f);
        }
        Query::Compare {
            attribute, value, ..
        } => {
            f(&mut attribute.span);
            for_each_span(value, f);
        }
    }
}

/// Moves every span of `expr` by `by` bytes.
pub fn shift_spans(expr: &mut Expr, by: usize) {
    for_each_span(expr, &mut |span| {
        span.start += by;
        span.end += by;
    });
}
