//! The syntax tree to a [`Doc`], in source order, so that every comment is printed
//! once, before the first token that follows it in the source.

use super::doc::{Doc, broken_group, concat, forces_break, group, group_broken_if, nest, text};
use super::trivia::Trivia;
use crate::ast::{AttrName, Binding, Comment, Expr, ExprKind, Param, PatternEntry, UnaryOp};
use crate::span::Span;

pub struct Printer<'a> {
    src: &'a str,
    trivia: Trivia<'a>,
}

impl<'a> Printer<'a> {
    pub fn new(src: &'a str, comments: Vec<Comment>) -> Printer<'a> {
        Printer {
            src,
            trivia: Trivia::new(src, comments),
        }
    }

    /// The whole file: comments before the expression, the expression, and every
    /// comment after it.
    pub fn file(&mut self, root: &Expr) -> Doc {
        let end = self.src.len();
        let root_end = root.span.end as usize;
        let mut docs = vec![
            self.trivia.leading(None, root.span.start as usize, true),
            self.expr(root),
            self.trivia.trailing(root_end, end),
        ];
        if self.trivia.has_comment_before(end) {
            docs.push(Doc::HardLine);
            docs.push(self.trivia.leading(Some(root_end), end, false));
        }
        concat(docs)
    }

    fn slice(&self, span: Span) -> &'a str {
        &self.src[span.range()]
    }

    /// A token at `offset`, after the comments before it.
    fn token(&mut self, offset: usize, token: &str) -> Doc {
        concat(vec![self.trivia.before(offset), text(token)])
    }

    /// Source text reproduced as written (strings, paths): its bytes are its meaning.
    fn verbatim(&mut self, span: Span) -> Doc {
        let comments = self.trivia.before(span.start as usize);
        self.trivia.skip_within(span.end as usize);
        concat(vec![comments, Doc::Verbatim(self.slice(span).to_string())])
    }

    /// A set, list or pattern keeps the user's choice of several lines; one written
    /// on one line is broken only when it does not fit.
    fn bracketed(&self, span: Span, doc: Doc) -> Doc {
        if self.slice(span).contains('\n') {
            broken_group(doc)
        } else {
            group(doc)
        }
    }

    fn expr(&mut self, e: &Expr) -> Doc {
        let start = e.span.start as usize;
        let end = e.span.end as usize;
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Var(_) | ExprKind::Error => {
                self.token(start, self.slice(e.span))
            }
            ExprKind::Str { .. } | ExprKind::Path(_) => self.verbatim(e.span),
            ExprKind::Paren(inner) => concat(vec![
                self.token(start, "("),
                self.expr(inner),
                self.token(end - 1, ")"),
            ]),
            ExprKind::List(items) => self.list(e.span, items),
            ExprKind::AttrSet {
                recursive,
                bindings,
            } => self.attr_set(e.span, *recursive, bindings),
            ExprKind::Let { bindings, body } => self.let_in(start, bindings, body),
            ExprKind::Select {
                expr,
                path,
                default,
            } => self.select(expr, path, default.as_deref()),
            ExprKind::HasAttr { expr, path } => {
                let target = self.expr(expr);
                let question = self.trivia.find(expr.span.end as usize, "?");
                concat(vec![
                    target,
                    Doc::Space,
                    self.token(question, "?"),
                    Doc::Space,
                    self.attr_path(question + 1, path),
                ])
            }
            ExprKind::Apply { .. } => self.application(e),
            ExprKind::Lambda { param, body } => self.lambda(param, body),
            ExprKind::If { cond, then, else_ } => self.if_then_else(start, cond, then, else_),
            ExprKind::Assert { cond, body } => {
                let keyword = self.token(start, "assert");
                let cond_doc = self.expr(cond);
                let semicolon = self.trivia.find(cond.span.end as usize, ";");
                concat(vec![
                    keyword,
                    Doc::Space,
                    cond_doc,
                    self.token(semicolon, ";"),
                    self.trivia
                        .trailing(semicolon + 1, body.span.start as usize),
                    Doc::HardLine,
                    self.trivia
                        .leading(Some(semicolon + 1), body.span.start as usize, false),
                    self.expr(body),
                ])
            }
            ExprKind::Unary { op, op_span, expr } => {
                let symbol = match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Not => "!",
                };
                let op_doc = self.token(op_span.start as usize, symbol);
                // `- -a`, not `--a`, which reads as a typo.
                let space = match expr.kind {
                    ExprKind::Unary { op: inner, .. } if inner == *op => Doc::Space,
                    _ => Doc::Nil,
                };
                concat(vec![op_doc, space, self.expr(expr)])
            }
            ExprKind::Binary { .. } => self.binary(e),
        }
    }

    fn list(&mut self, span: Span, items: &[Expr]) -> Doc {
        let open = self.token(span.start as usize, "[");
        let close = span.end as usize - 1;
        if items.is_empty() && !self.trivia.has_comment_before(close) {
            return concat(vec![open, Doc::Space, self.token(close, "]")]);
        }
        let inner = self.items(items, |e| e.span, close, Self::expr);
        let doc = concat(vec![
            open,
            nest(concat(vec![Doc::Line, inner])),
            Doc::Line,
            self.token(close, "]"),
        ]);
        self.bracketed(span, doc)
    }

    fn attr_set(&mut self, span: Span, recursive: bool, bindings: &[Binding]) -> Doc {
        let start = span.start as usize;
        let mut docs = Vec::new();
        let open = if recursive {
            docs.push(self.token(start, "rec"));
            docs.push(Doc::Space);
            self.trivia.find(start + 3, "{")
        } else {
            start
        };
        docs.push(self.token(open, "{"));
        let close = span.end as usize - 1;
        if bindings.is_empty() && !self.trivia.has_comment_before(close) {
            docs.push(Doc::Space);
            docs.push(self.token(close, "}"));
            return concat(docs);
        }
        let inner = self.items(bindings, Binding::span, close, Self::binding);
        docs.push(nest(concat(vec![Doc::Line, inner])));
        docs.push(Doc::Line);
        docs.push(self.token(close, "}"));
        self.bracketed(Span::new(open, span.end as usize), concat(docs))
    }

    /// Items of a list, set or `let`, separated by lines, each with the comments
    /// before it on lines of their own and those after it on its last line.
    fn items<T>(
        &mut self,
        items: &[T],
        span_of: impl Fn(&T) -> Span,
        close: usize,
        mut print: impl FnMut(&mut Self, &T) -> Doc,
    ) -> Doc {
        let mut docs = Vec::new();
        let mut previous_end = None;
        for (index, item) in items.iter().enumerate() {
            let span = span_of(item);
            if index > 0 {
                docs.push(Doc::Line);
            }
            docs.push(self.trivia.leading(previous_end, span.start as usize, true));
            docs.push(print(self, item));
            let next = items
                .get(index + 1)
                .map_or(close, |next| span_of(next).start as usize);
            docs.push(self.trivia.trailing(span.end as usize, next));
            previous_end = Some(span.end as usize);
        }
        if self.trivia.has_comment_before(close) {
            if !items.is_empty() {
                docs.push(Doc::HardLine);
            }
            docs.push(self.trivia.leading(previous_end, close, false));
        }
        concat(docs)
    }

    fn binding(&mut self, binding: &Binding) -> Doc {
        match binding {
            Binding::Attr { path, value, span } => {
                let path_doc = self.attr_path(span.start as usize, path);
                let last = path.last().expect("a binding names an attribute");
                let equals_offset = self.trivia.find(self.name_end(last), "=");
                let equals = concat(vec![
                    self.token(equals_offset, "="),
                    self.trivia
                        .trailing(equals_offset + 1, value.span.start as usize),
                ]);
                let value_doc = self.expr(value);
                let semicolon = self.token(span.end as usize - 1, ";");
                // A comment after `=` ends the line: the value goes on the next.
                let commented = forces_break(&equals);
                if absorbs(value) && !commented {
                    concat(vec![
                        path_doc,
                        Doc::Space,
                        equals,
                        Doc::Space,
                        value_doc,
                        semicolon,
                    ])
                } else {
                    concat(vec![
                        path_doc,
                        Doc::Space,
                        equals,
                        group_or_broken(commented, nest(concat(vec![Doc::Line, value_doc]))),
                        semicolon,
                    ])
                }
            }
            Binding::Inherit { from, names, span } => {
                let start = span.start as usize;
                let mut docs = vec![self.token(start, "inherit")];
                if let Some(from) = from {
                    // In source order, so that comments before `(` stay before it.
                    let open = self.trivia.find(start + "inherit".len(), "(");
                    docs.push(Doc::Space);
                    docs.push(self.token(open, "("));
                    docs.push(self.expr(from));
                    let close = self.trivia.find(from.span.end as usize, ")");
                    docs.push(self.token(close, ")"));
                }
                let mut names_doc = Vec::new();
                for name in names {
                    names_doc.push(Doc::Line);
                    names_doc.push(self.token(name.span.start as usize, self.slice(name.span)));
                }
                docs.push(nest(concat(names_doc)));
                docs.push(self.token(span.end as usize - 1, ";"));
                group(concat(docs))
            }
        }
    }

    fn let_in(&mut self, start: usize, bindings: &[Binding], body: &Expr) -> Doc {
        let keyword = self.token(start, "let");
        let after_bindings = bindings
            .last()
            .map_or(start + "let".len(), |b| b.span().end as usize);
        let in_offset = self.trivia.find(after_bindings, "in");
        let inner = self.items(bindings, Binding::span, in_offset, Self::binding);
        let in_end = in_offset + "in".len();
        let body_start = body.span.start as usize;
        concat(vec![
            keyword,
            nest(concat(vec![Doc::HardLine, inner])),
            Doc::HardLine,
            self.token(in_offset, "in"),
            self.trivia.trailing(in_end, body_start),
            Doc::HardLine,
            self.trivia.leading(Some(in_end), body_start, false),
            self.expr(body),
        ])
    }

    fn select(&mut self, target: &Expr, path: &[AttrName], default: Option<&Expr>) -> Doc {
        let mut docs = vec![self.expr(target)];
        // `1.a` would read as a float and `./a.b` as one path.
        if matches!(target.kind, ExprKind::Int(_) | ExprKind::Path(_)) {
            docs.push(Doc::Space);
        }
        let dot = self.trivia.find(target.span.end as usize, ".");
        docs.push(self.token(dot, "."));
        docs.push(self.attr_path(dot + 1, path));
        if let Some(default) = default {
            let last = path.last().expect("a selection names an attribute");
            let or = self.trivia.find(self.name_end(last), "or");
            docs.push(Doc::Space);
            docs.push(self.token(or, "or"));
            docs.push(Doc::Space);
            docs.push(self.expr(default));
        }
        concat(docs)
    }

    /// `a.b.c`, whose first name starts at the next token at or after `from`.
    fn attr_path(&mut self, from: usize, path: &[AttrName]) -> Doc {
        let mut docs = Vec::new();
        let mut at = from;
        for (index, name) in path.iter().enumerate() {
            if index > 0 {
                let dot = self.trivia.find(self.name_end(&path[index - 1]), ".");
                docs.push(self.token(dot, "."));
                at = dot + 1;
            }
            docs.push(self.attr_name(at, name));
        }
        concat(docs)
    }

    /// An attribute name starting at the next token at or after `from`.
    fn attr_name(&mut self, from: usize, name: &AttrName) -> Doc {
        match name {
            AttrName::Ident(ident) => self.token(ident.span.start as usize, &ident.name),
            AttrName::Str(string) => self.verbatim(string.span),
            AttrName::Dynamic(inner) => {
                // The tree records the expression inside `${ }`, not where `${` is:
                // the comments between them belong after it.
                let open = self.token(self.trivia.find(from, "${"), "${");
                let inner_doc = nest(self.expr(inner));
                let close = self.trivia.find(inner.span.end as usize, "}");
                concat(vec![open, inner_doc, self.token(close, "}")])
            }
        }
    }

    /// Where an attribute name ends in the source, its `${ }` included: the parser
    /// records `${"a"}` as the plain name `"a"` (they mean the same).
    fn name_end(&self, name: &AttrName) -> usize {
        let end = name.span().end as usize;
        let wrapped = match name {
            AttrName::Ident(_) => false,
            AttrName::Dynamic(_) => true,
            AttrName::Str(string) => self.src[..string.span.start as usize]
                .trim_end_matches(|c: char| c.is_whitespace() || c == '(')
                .ends_with("${"),
        };
        if !wrapped {
            return end;
        }
        let mut at = self.trivia.next_token(end);
        while self.src[at..].starts_with(')') {
            at = self.trivia.next_token(at + 1);
        }
        if self.src[at..].starts_with('}') {
            at + 1
        } else {
            end
        }
    }

    /// `f a b`: the arguments go on lines of their own, indented, when the call does
    /// not fit; a last argument that is a set, list, string or function stays on the
    /// line of the call (`mkHost "a" {`).
    fn application(&mut self, e: &Expr) -> Doc {
        let mut args = Vec::new();
        let mut head = e;
        while let ExprKind::Apply { func, arg } = &head.kind {
            args.push(arg.as_ref());
            head = func;
        }
        args.reverse();
        let head_doc = self.expr(head);
        let mut arg_docs: Vec<Doc> = args.iter().map(|arg| self.expr(arg)).collect();
        let absorbed = match args.last() {
            Some(last) if absorbs(last) => arg_docs.pop(),
            _ => None,
        };
        let mut rest = Vec::new();
        for doc in arg_docs {
            rest.push(Doc::Line);
            rest.push(doc);
        }
        let call = group(concat(vec![head_doc, nest(concat(rest))]));
        match absorbed {
            Some(last) => concat(vec![call, Doc::Space, last]),
            None => call,
        }
    }

    /// A chain of one operator (`a + b + c`): broken before each operator when it
    /// does not fit, with a set or list as the last operand kept on the line.
    fn binary(&mut self, e: &Expr) -> Doc {
        let ExprKind::Binary { op, .. } = &e.kind else {
            unreachable!("binary() is called on binary expressions");
        };
        let mut operands = Vec::new();
        let mut operators = Vec::new();
        flatten_chain(e, *op, &mut operands, &mut operators);
        let first = self.expr(operands[0]);
        let mut rest = Vec::new();
        for (operand, op_span) in operands[1..].iter().zip(&operators) {
            let op_doc = self.token(op_span.start as usize, op.symbol());
            let operand_doc = self.expr(operand);
            rest.push((op_doc, operand_doc));
        }
        let absorbed = match operands.last() {
            Some(last) if absorbs(last) => rest.pop(),
            _ => None,
        };
        let mut docs = Vec::new();
        for (op_doc, operand_doc) in rest {
            docs.push(Doc::Line);
            docs.push(op_doc);
            docs.push(Doc::Space);
            docs.push(operand_doc);
        }
        let chain = group(concat(vec![first, nest(concat(docs))]));
        match absorbed {
            Some((op_doc, operand_doc)) => {
                concat(vec![chain, Doc::Space, op_doc, Doc::Space, operand_doc])
            }
            None => chain,
        }
    }

    /// `x: body`, and `a: b: c: body`: curried parameters stay on one line when they
    /// fit; otherwise each after the first goes on a line of its own, indented, and
    /// the body follows the last as it would follow a single parameter.
    fn lambda(&mut self, param: &Param, body: &Expr) -> Doc {
        let mut params = vec![param];
        let mut body = body;
        while let ExprKind::Lambda { param, body: inner } = &body.kind {
            params.push(param);
            body = inner;
        }
        // Each parameter with its `:`, and the comments after the `:` on its line.
        let mut pieces = Vec::new();
        for (index, param) in params.iter().enumerate() {
            let param_doc = self.param(param);
            let colon_offset = self.trivia.find(param_end(param), ":");
            let colon = self.token(colon_offset, ":");
            let next = params
                .get(index + 1)
                .map_or(body.span.start as usize, |next| param_start(next));
            let after = self.trivia.trailing(colon_offset + 1, next);
            pieces.push((concat(vec![param_doc, colon]), after));
        }
        let (last, last_after) = pieces.pop().expect("a function has a parameter");
        // A comment after the last `:` ends the line: the body goes on the next.
        let commented = forces_break(&last_after);
        let body_doc = self.expr(body);
        let absorbed = absorbs(body) && !commented;
        if pieces.is_empty() {
            return if absorbed {
                concat(vec![last, last_after, Doc::Space, body_doc])
            } else {
                concat(vec![
                    last,
                    last_after,
                    group_or_broken(commented, nest(concat(vec![Doc::Line, body_doc]))),
                ])
            };
        }
        let mut pieces = pieces.into_iter();
        let (first, first_after) = pieces.next().expect("two parameters or more");
        let mut rest = Vec::new();
        for (param_doc, after) in pieces {
            rest.push(Doc::Line);
            rest.push(param_doc);
            rest.push(after);
        }
        rest.push(Doc::Line);
        rest.push(last);
        let last_after = if absorbed {
            rest.push(last_after);
            Doc::Nil
        } else {
            last_after
        };
        // What forces the parameters apart: a comment after or before one of them, or
        // a parameter written on several lines, but not the first one's own lines
        // (`{` … `}: x:`).
        let broken = forces_break(&first_after) || rest.iter().any(forces_break);
        let params = concat(vec![first, first_after, nest(concat(rest))]);
        if absorbed {
            // The body starts on the line of the last parameter, indented with the
            // parameters when they are broken.
            group_broken_if(
                broken,
                concat(vec![
                    params,
                    Doc::Space,
                    Doc::NestIfBroken(Box::new(group(body_doc))),
                ]),
            )
        } else {
            concat(vec![
                group_broken_if(broken, params),
                last_after,
                group_or_broken(commented, nest(concat(vec![Doc::Line, body_doc]))),
            ])
        }
    }

    fn param(&mut self, param: &Param) -> Doc {
        match param {
            Param::Ident(ident) => self.token(ident.span.start as usize, &ident.name),
            Param::Pattern {
                entries,
                ellipsis,
                bind,
                bind_before,
                span,
            } => self.pattern(*span, entries, *ellipsis, bind.as_ref(), *bind_before),
        }
    }

    fn pattern(
        &mut self,
        span: Span,
        entries: &[PatternEntry],
        ellipsis: bool,
        bind: Option<&crate::ast::Ident>,
        bind_before: bool,
    ) -> Doc {
        let mut docs = Vec::new();
        let mut at = span.start as usize;
        if let (Some(bind), true) = (bind, bind_before) {
            docs.push(self.token(bind.span.start as usize, &bind.name));
            let sign = self.trivia.find(bind.span.end as usize, "@");
            docs.push(self.token(sign, "@"));
            at = sign + 1;
        }
        let open = self.trivia.find(at, "{");
        docs.push(self.token(open, "{"));
        at = open + 1;
        let mut inner = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            inner.push(Doc::Line);
            inner.push(self.token(entry.name.span.start as usize, &entry.name.name));
            at = entry.name.span.end as usize;
            if let Some(default) = &entry.default {
                let question = self.trivia.find(at, "?");
                inner.push(Doc::Space);
                inner.push(self.token(question, "?"));
                inner.push(Doc::Space);
                inner.push(self.expr(default));
                at = default.span.end as usize;
            }
            let comma = self.trivia.next_token(at);
            if index + 1 < entries.len() || ellipsis {
                inner.push(self.token(comma, ","));
                let next = self.trivia.next_token(comma + 1);
                inner.push(self.trivia.trailing(comma + 1, next));
                at = comma + 1;
            } else if self.src[comma..].starts_with(',') {
                // A trailing comma, which Nix allows, is dropped.
                at = comma + 1;
            }
        }
        if ellipsis {
            let dots = self.trivia.find(at, "...");
            inner.push(Doc::Line);
            inner.push(self.token(dots, "..."));
            at = dots + 3;
        }
        let close = self.trivia.find(at, "}");
        if entries.is_empty() && !ellipsis && !self.trivia.has_comment_before(close) {
            docs.push(Doc::Space);
            docs.push(self.token(close, "}"));
        } else {
            docs.push(nest(concat(inner)));
            docs.push(Doc::Line);
            docs.push(self.token(close, "}"));
        }
        let braces = self.bracketed(Span::new(open, close + 1), concat(docs));
        match (bind, bind_before) {
            (Some(bind), false) => {
                let sign = self.trivia.find(close + 1, "@");
                concat(vec![
                    braces,
                    self.token(sign, "@"),
                    self.token(bind.span.start as usize, &bind.name),
                ])
            }
            _ => braces,
        }
    }

    fn if_then_else(&mut self, start: usize, cond: &Expr, then: &Expr, else_: &Expr) -> Doc {
        let keyword = self.token(start, "if");
        let cond_doc = self.expr(cond);
        let then_offset = self.trivia.find(cond.span.end as usize, "then");
        let then_keyword = concat(vec![
            self.token(then_offset, "then"),
            self.trivia
                .trailing(then_offset + "then".len(), then.span.start as usize),
        ]);
        let then_doc = self.expr(then);
        let else_offset = self.trivia.find(then.span.end as usize, "else");
        let else_keyword = concat(vec![
            self.token(else_offset, "else"),
            self.trivia
                .trailing(else_offset + "else".len(), else_.span.start as usize),
        ]);
        let else_doc = self.expr(else_);
        let else_part = if matches!(else_.kind, ExprKind::If { .. }) {
            concat(vec![Doc::Space, else_doc])
        } else {
            nest(concat(vec![Doc::Line, else_doc]))
        };
        group(concat(vec![
            keyword,
            Doc::Space,
            cond_doc,
            Doc::Space,
            then_keyword,
            nest(concat(vec![Doc::Line, then_doc])),
            Doc::Line,
            else_keyword,
            else_part,
        ]))
    }
}

/// Where a function's parameter starts in the source (`args@{ … }` at `args`).
fn param_start(param: &Param) -> usize {
    match param {
        Param::Ident(ident) => ident.span.start as usize,
        Param::Pattern {
            bind: Some(bind),
            bind_before: true,
            ..
        } => bind.span.start as usize,
        Param::Pattern { span, .. } => span.start as usize,
    }
}

/// Where a function's parameter ends in the source, before its `:`.
fn param_end(param: &Param) -> usize {
    match param {
        Param::Ident(ident) => ident.span.end as usize,
        Param::Pattern { span, .. } => span.end as usize,
    }
}

fn group_or_broken(broken: bool, doc: Doc) -> Doc {
    if broken {
        broken_group(doc)
    } else {
        group(doc)
    }
}

/// Whether `e`, as a binding's value, an operator's last operand or a call's last
/// argument, starts on the line before it (it breaks well by itself).
fn absorbs(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::AttrSet { .. }
        | ExprKind::List(_)
        | ExprKind::Str { .. }
        | ExprKind::Lambda { .. } => true,
        ExprKind::Paren(inner) => absorbs(inner),
        ExprKind::Apply { arg, .. } => absorbs(arg),
        ExprKind::Binary { rhs, .. } => absorbs(rhs),
        _ => false,
    }
}

/// The operands and operator spans of a chain of `op` in source order.
fn flatten_chain<'e>(
    e: &'e Expr,
    op: crate::ast::BinaryOp,
    operands: &mut Vec<&'e Expr>,
    operators: &mut Vec<Span>,
) {
    match &e.kind {
        ExprKind::Binary {
            op: this,
            op_span,
            lhs,
            rhs,
        } if *this == op => {
            flatten_chain(lhs, op, operands, operators);
            operators.push(*op_span);
            flatten_chain(rhs, op, operands, operators);
        }
        _ => operands.push(e),
    }
}
