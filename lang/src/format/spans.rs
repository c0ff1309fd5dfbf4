//! Syntax trees compared by meaning: the same tree whatever the layout of its text.

use crate::ast::{AttrName, Binding, Expr, ExprKind, Ident, Param, StrPart};
use crate::span::Span;

/// `expr` with every span set to `0..0`, so that two parses of differently laid out
/// text compare equal exactly when they have the same structure.
pub fn without_spans(expr: &Expr) -> Expr {
    let mut copy = expr.clone();
    clear_expr(&mut copy);
    copy
}

fn clear_expr(e: &mut Expr) {
    e.span = Span::default();
    match &mut e.kind {
        ExprKind::Int(_) | ExprKind::Path(_) | ExprKind::Error => {}
        ExprKind::Str { parts, .. } => {
            for part in parts {
                if let StrPart::Interpolation(inner) = part {
                    clear_expr(inner);
                }
            }
        }
        ExprKind::Var(ident) => clear_ident(ident),
        ExprKind::Paren(inner) => clear_expr(inner),
        ExprKind::List(items) => items.iter_mut().for_each(clear_expr),
        ExprKind::AttrSet { bindings, .. } => bindings.iter_mut().for_each(clear_binding),
        ExprKind::Let { bindings, body } => {
            bindings.iter_mut().for_each(clear_binding);
            clear_expr(body);
        }
        ExprKind::Select {
            expr,
            path,
            default,
        } => {
            clear_expr(expr);
            path.iter_mut().for_each(clear_name);
            if let Some(default) = default {
                clear_expr(default);
            }
        }
        ExprKind::HasAttr { expr, path } => {
            clear_expr(expr);
            path.iter_mut().for_each(clear_name);
        }
        ExprKind::Apply { func, arg } => {
            clear_expr(func);
            clear_expr(arg);
        }
        ExprKind::Lambda { param, body } => {
            match param {
                Param::Ident(ident) => clear_ident(ident),
                Param::Pattern {
                    entries,
                    bind,
                    span,
                    ..
                } => {
                    *span = Span::default();
                    for entry in entries {
                        clear_ident(&mut entry.name);
                        if let Some(default) = &mut entry.default {
                            clear_expr(default);
                        }
                    }
                    if let Some(bind) = bind {
                        clear_ident(bind);
                    }
                }
            }
            clear_expr(body);
        }
        ExprKind::If { cond, then, else_ } => {
            clear_expr(cond);
            clear_expr(then);
            clear_expr(else_);
        }
        ExprKind::Assert { cond, body } => {
            clear_expr(cond);
            clear_expr(body);
        }
        ExprKind::Unary { op_span, expr, .. } => {
            *op_span = Span::default();
            clear_expr(expr);
        }
        ExprKind::Binary {
            op_span, lhs, rhs, ..
        } => {
            *op_span = Span::default();
            clear_expr(lhs);
            clear_expr(rhs);
        }
    }
}

fn clear_ident(ident: &mut Ident) {
    ident.span = Span::default();
}

fn clear_name(name: &mut AttrName) {
    match name {
        AttrName::Ident(ident) => clear_ident(ident),
        AttrName::Str(e) | AttrName::Dynamic(e) => clear_expr(e),
    }
}

fn clear_binding(binding: &mut Binding) {
    match binding {
        Binding::Attr { path, value, span } => {
            *span = Span::default();
            path.iter_mut().for_each(clear_name);
            clear_expr(value);
        }
        Binding::Inherit { from, names, span } => {
            *span = Span::default();
            if let Some(from) = from {
                clear_expr(from);
            }
            names.iter_mut().for_each(clear_ident);
        }
    }
}
