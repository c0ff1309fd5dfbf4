//! What is under the cursor: the names in scope, the variable or attribute name at
//! an offset, and where in the cluster schema the enclosing attribute set sits.
//!
//! Everything is read from the syntax tree alone, so it works while the file does not
//! evaluate (and, thanks to the parser's recovery, mostly while it does not parse).

use hac_lang::Span;
use hac_lang::ast::{AttrName, Binding, Expr, ExprKind, Ident, Param, StrPart};

/// How a name came into scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionKind {
    Let,
    Rec,
    Argument,
}

impl DefinitionKind {
    pub fn describe(self) -> &'static str {
        match self {
            DefinitionKind::Let => "let binding",
            DefinitionKind::Rec => "rec attribute",
            DefinitionKind::Argument => "function argument",
        }
    }
}

/// A name bound by `let`, `rec` or a function argument.
#[derive(Debug, Clone, Copy)]
pub struct Definition<'e> {
    pub name: &'e str,
    /// Where the name is written.
    pub span: Span,
    pub kind: DefinitionKind,
    /// The bound expression (`let x = value;`), or an argument's default.
    pub value: Option<&'e Expr>,
    /// The whole binding, `x = value;`.
    pub binding: Span,
}

/// One step from the file's value down to an attribute set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Attr(String),
    /// An element of a list.
    Item,
}

/// The attribute name under the cursor, with the schema path of the set it names an
/// attribute of (when known).
#[derive(Debug, Clone)]
pub struct NameAt {
    pub name: String,
    pub span: Span,
    pub set_path: Option<Vec<Segment>>,
}

/// Everything the editor features need to know about one cursor position.
#[derive(Debug, Default)]
pub struct Cursor<'e> {
    /// Names visible at the cursor, innermost last.
    pub scope: Vec<Definition<'e>>,
    /// The variable reference under the cursor.
    pub var: Option<&'e Ident>,
    /// An attribute name under the cursor (in a binding or a selection).
    pub name: Option<NameAt>,
    /// The path literal under the cursor and whether it is `import`'s argument.
    pub path: Option<(&'e str, Span)>,
    /// The schema path of the innermost attribute set enclosing the cursor, when the
    /// cursor is between its bindings or on a binding's name.
    pub set_path: Option<Vec<Segment>>,
    /// The schema path of the value the cursor is in, when that is a string literal or
    /// a value still missing.
    pub value_path: Option<Vec<Segment>>,
    /// Whether the cursor is inside a string literal's text.
    pub in_string: bool,
    /// The names the set at `set_path` already binds, except the one being written.
    pub bound: Vec<String>,
    /// Whether the cursor is where an attribute set's next attribute name goes, even
    /// when `set_path` cannot say which schema set it is (a host made by a function).
    pub in_set_bindings: bool,
}

/// Analyses the cursor at byte `offset` of `root`.
pub fn cursor(root: &Expr, offset: usize) -> Cursor<'_> {
    let mut walker = Walker {
        offset,
        cursor: Cursor::default(),
    };
    hac_lang::syntax::with_parser_stack(|| walker.expr(root, Some(Vec::new())));
    walker.cursor
}

struct Walker<'e> {
    offset: usize,
    cursor: Cursor<'e>,
}

fn extend(path: &Option<Vec<Segment>>, names: &[AttrName]) -> Option<Vec<Segment>> {
    let mut path = path.clone()?;
    for name in names {
        path.push(Segment::Attr(name.static_name()?.to_owned()));
    }
    Some(path)
}

impl<'e> Walker<'e> {
    fn contains(&self, span: Span) -> bool {
        span.contains(self.offset)
    }

    /// Walks `e`, whose schema path is `path` when it is known to be (part of) the
    /// cluster description.
    fn expr(&mut self, e: &'e Expr, path: Option<Vec<Segment>>) {
        if !self.contains(e.span) {
            return;
        }
        match &e.kind {
            ExprKind::Int(_) => {}
            ExprKind::Error => self.cursor.value_path = path,
            ExprKind::Path(text) => self.cursor.path = Some((text, e.span)),
            ExprKind::Str { parts, .. } => {
                let mut inside_interpolation = false;
                for part in parts {
                    if let StrPart::Interpolation(inner) = part
                        && self.contains(inner.span)
                    {
                        inside_interpolation = true;
                        self.expr(inner, None);
                    }
                }
                if !inside_interpolation {
                    self.cursor.value_path = path;
                    self.cursor.in_string =
                        self.offset > e.span.start as usize && self.offset < e.span.end as usize;
                }
            }
            ExprKind::Var(ident) => self.cursor.var = Some(ident),
            ExprKind::Paren(inner) => self.expr(inner, path),
            ExprKind::List(items) => {
                let item_path = path.map(|mut p| {
                    p.push(Segment::Item);
                    p
                });
                for item in items {
                    self.expr(item, item_path.clone());
                }
            }
            ExprKind::AttrSet {
                recursive,
                bindings,
            } => {
                if *recursive {
                    self.bind_all(bindings, DefinitionKind::Rec);
                }
                self.bindings(bindings, &path, true);
            }
            ExprKind::Let { bindings, body } => {
                self.bind_all(bindings, DefinitionKind::Let);
                self.bindings(bindings, &None, false);
                self.expr(body, path);
            }
            ExprKind::Select {
                expr,
                path: names,
                default,
            } => {
                self.expr(expr, None);
                self.names(names, &None);
                if let Some(default) = default {
                    self.expr(default, None);
                }
            }
            ExprKind::HasAttr { expr, path: names } => {
                self.expr(expr, None);
                self.names(names, &None);
            }
            ExprKind::Apply { func, arg } => {
                self.expr(func, None);
                self.expr(arg, None);
            }
            ExprKind::Lambda { param, body } => {
                self.param(param);
                self.expr(body, path);
            }
            ExprKind::If { cond, then, else_ } => {
                self.expr(cond, None);
                self.expr(then, path.clone());
                self.expr(else_, path);
            }
            ExprKind::Assert { cond, body } => {
                self.expr(cond, None);
                self.expr(body, path);
            }
            ExprKind::Unary { expr, .. } => self.expr(expr, None),
            ExprKind::Binary { op, lhs, rhs, .. } => {
                // `a // b` is still the set being described; other operators are not.
                let keep = *op == hac_lang::ast::BinaryOp::Update;
                self.expr(lhs, if keep { path.clone() } else { None });
                self.expr(rhs, if keep { path } else { None });
            }
        }
    }

    /// Walks the bindings of an attribute set (`is_set`) or of a `let`.
    fn bindings(&mut self, bindings: &'e [Binding], path: &Option<Vec<Segment>>, is_set: bool) {
        self.cursor.bound = bindings
            .iter()
            .filter(|binding| !self.contains(binding.span()))
            .flat_map(|binding| match binding {
                Binding::Attr { path, .. } => path
                    .first()
                    .and_then(AttrName::static_name)
                    .map(str::to_owned)
                    .into_iter()
                    .collect::<Vec<_>>(),
                Binding::Inherit { names, .. } => names.iter().map(|n| n.name.clone()).collect(),
            })
            .collect();
        let mut in_binding = false;
        for binding in bindings {
            if !self.contains(binding.span()) {
                continue;
            }
            in_binding = true;
            match binding {
                Binding::Attr {
                    path: names, value, ..
                } => {
                    if is_set && names.first().is_some_and(|n| self.contains(n.span())) {
                        self.cursor.in_set_bindings = true;
                    }
                    self.names(names, path);
                    if self.contains(value.span) && !names.iter().any(|n| self.contains(n.span())) {
                        self.expr(value, extend(path, names));
                    } else if !names.iter().any(|n| self.contains(n.span())) {
                        // Between the name and a value not yet written.
                        self.cursor.value_path = extend(path, names);
                    }
                }
                Binding::Inherit { from, names, .. } => {
                    if let Some(from) = from {
                        self.expr(from, None);
                    }
                    for name in names {
                        if self.contains(name.span) {
                            self.cursor.var = Some(name);
                        }
                    }
                }
            }
        }
        if !in_binding {
            self.cursor.set_path = path.clone();
            self.cursor.in_set_bindings = is_set;
        }
    }

    /// An attribute path; the name under the cursor belongs to the set at `path`
    /// extended by the names before it.
    fn names(&mut self, names: &'e [AttrName], path: &Option<Vec<Segment>>) {
        for (index, name) in names.iter().enumerate() {
            if !self.contains(name.span()) {
                continue;
            }
            match name {
                AttrName::Ident(_) | AttrName::Str(_) if name.static_name().is_some() => {
                    let set_path = extend(path, &names[..index]);
                    self.cursor.name = Some(NameAt {
                        name: name.static_name().unwrap_or_default().to_owned(),
                        span: name.span(),
                        set_path: set_path.clone(),
                    });
                    if index > 0 {
                        // `network.c`: the set being completed is `network`, whose
                        // other bindings are not known here.
                        self.cursor.bound.clear();
                    }
                    self.cursor.set_path = set_path;
                }
                AttrName::Ident(_) => {}
                AttrName::Str(e) | AttrName::Dynamic(e) => self.expr(e, None),
            }
        }
    }

    fn param(&mut self, param: &'e Param) {
        match param {
            Param::Ident(ident) => self.cursor.scope.push(Definition {
                name: &ident.name,
                span: ident.span,
                kind: DefinitionKind::Argument,
                value: None,
                binding: ident.span,
            }),
            Param::Pattern { entries, bind, .. } => {
                for entry in entries {
                    self.cursor.scope.push(Definition {
                        name: &entry.name.name,
                        span: entry.name.span,
                        kind: DefinitionKind::Argument,
                        value: entry.default.as_ref(),
                        binding: entry
                            .default
                            .as_ref()
                            .map_or(entry.name.span, |d| entry.name.span.to(d.span)),
                    });
                }
                if let Some(bind) = bind {
                    self.cursor.scope.push(Definition {
                        name: &bind.name,
                        span: bind.span,
                        kind: DefinitionKind::Argument,
                        value: None,
                        binding: bind.span,
                    });
                }
                for entry in entries {
                    if let Some(default) = &entry.default {
                        self.expr(default, None);
                    }
                    if self.contains(entry.name.span) {
                        self.cursor.var = Some(&entry.name);
                    }
                }
            }
        }
    }

    fn bind_all(&mut self, bindings: &'e [Binding], kind: DefinitionKind) {
        self.cursor.scope.extend(definitions(bindings, kind));
    }
}

/// The names a `let` or `rec` set binds.
pub fn definitions(bindings: &[Binding], kind: DefinitionKind) -> Vec<Definition<'_>> {
    let mut out = Vec::new();
    for binding in bindings {
        match binding {
            Binding::Attr { path, value, span } => {
                if let Some(first) = path.first()
                    && let Some(name) = first.static_name()
                {
                    out.push(Definition {
                        name,
                        span: first.span(),
                        kind,
                        value: (path.len() == 1).then_some(value),
                        binding: *span,
                    });
                }
            }
            Binding::Inherit { names, span, .. } => {
                out.extend(names.iter().map(|name| Definition {
                    name: &name.name,
                    span: name.span,
                    kind,
                    value: None,
                    binding: *span,
                }));
            }
        }
    }
    out
}

impl<'e> Cursor<'e> {
    /// The innermost definition of `name` visible here.
    pub fn resolve(&self, name: &str) -> Option<&Definition<'e>> {
        self.scope.iter().rev().find(|d| d.name == name)
    }

    /// The definition under the cursor itself (the cursor is on a bound name).
    pub fn definition_at(&self, offset: usize) -> Option<&Definition<'e>> {
        self.scope.iter().rev().find(|d| d.span.contains(offset))
    }
}

/// The expression a file's cluster description is, looking through `let … in`,
/// parentheses and a function taking arguments.
pub fn described_set(root: &Expr) -> Option<&[Binding]> {
    match &root.kind {
        ExprKind::AttrSet { bindings, .. } => Some(bindings),
        ExprKind::Let { body, .. }
        | ExprKind::Paren(body)
        | ExprKind::Lambda { body, .. }
        | ExprKind::Assert { body, .. } => described_set(body),
        _ => None,
    }
}

/// The `import ./path` expressions of a file: the path as written and the span of the
/// whole expression.
pub fn imports(root: &Expr) -> Vec<(&str, Span)> {
    let mut out = Vec::new();
    hac_lang::syntax::with_parser_stack(|| collect_imports(root, &mut out));
    out
}

fn is_import(func: &Expr) -> bool {
    match &func.kind {
        ExprKind::Var(ident) => ident.name == "import",
        ExprKind::Select {
            expr,
            path,
            default: None,
        } => {
            matches!(&expr.kind, ExprKind::Var(ident) if ident.name == "builtins")
                && path.len() == 1
                && path[0].static_name() == Some("import")
        }
        ExprKind::Paren(inner) => is_import(inner),
        _ => false,
    }
}

fn collect_imports<'e>(e: &'e Expr, out: &mut Vec<(&'e str, Span)>) {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Error | ExprKind::Path(_) | ExprKind::Var(_) => {}
        ExprKind::Str { parts, .. } => {
            for part in parts {
                if let StrPart::Interpolation(inner) = part {
                    collect_imports(inner, out);
                }
            }
        }
        ExprKind::Paren(inner) => collect_imports(inner, out),
        ExprKind::List(items) => {
            for item in items {
                collect_imports(item, out);
            }
        }
        ExprKind::AttrSet { bindings, .. } => bindings_imports(bindings, out),
        ExprKind::Let { bindings, body } => {
            bindings_imports(bindings, out);
            collect_imports(body, out);
        }
        ExprKind::Select {
            expr,
            path,
            default,
        } => {
            collect_imports(expr, out);
            for name in path {
                if let AttrName::Str(e) | AttrName::Dynamic(e) = name {
                    collect_imports(e, out);
                }
            }
            if let Some(default) = default {
                collect_imports(default, out);
            }
        }
        ExprKind::HasAttr { expr, .. } => collect_imports(expr, out),
        ExprKind::Apply { func, arg } => {
            let mut target = arg.as_ref();
            while let ExprKind::Paren(inner) = &target.kind {
                target = inner;
            }
            if is_import(func)
                && let ExprKind::Path(text) = &target.kind
            {
                out.push((text.as_str(), e.span));
            }
            collect_imports(func, out);
            collect_imports(arg, out);
        }
        ExprKind::Lambda { param, body } => {
            if let Param::Pattern { entries, .. } = param {
                for entry in entries {
                    if let Some(default) = &entry.default {
                        collect_imports(default, out);
                    }
                }
            }
            collect_imports(body, out);
        }
        ExprKind::If { cond, then, else_ } => {
            collect_imports(cond, out);
            collect_imports(then, out);
            collect_imports(else_, out);
        }
        ExprKind::Assert { cond, body } => {
            collect_imports(cond, out);
            collect_imports(body, out);
        }
        ExprKind::Unary { expr, .. } => collect_imports(expr, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            collect_imports(lhs, out);
            collect_imports(rhs, out);
        }
    }
}

fn bindings_imports<'e>(bindings: &'e [Binding], out: &mut Vec<(&'e str, Span)>) {
    for binding in bindings {
        match binding {
            Binding::Attr { path, value, .. } => {
                for name in path {
                    if let AttrName::Str(e) | AttrName::Dynamic(e) = name {
                        collect_imports(e, out);
                    }
                }
                collect_imports(value, out);
            }
            Binding::Inherit { from, .. } => {
                if let Some(from) = from {
                    collect_imports(from, out);
                }
            }
        }
    }
}
