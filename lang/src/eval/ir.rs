//! The evaluator's own tree: the syntax tree with variables resolved to
//! `(depth, index)` environment slots, attribute paths merged into nested sets
//! (`a.b = 1; a.c = 2;` is one set `a`), and path literals made absolute.
//!
//! Children are reference counted so thunks can hold on to the expression they
//! will evaluate without borrowing from a parse that may be dropped.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use crate::ast::{self, AttrName, BinaryOp, Binding, ExprKind, Param, StrPart, UnaryOp};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::loader::normalize;
use crate::names::GLOBALS;
use crate::span::{FileId, Origin, Span};

use super::builtins::Prim;

pub(crate) type NodeRef = Rc<Node>;

pub(crate) struct Node {
    pub kind: NodeKind,
    pub origin: Origin,
    /// For a number, string or path literal: the evaluated thunk every use shares,
    /// made on first use, so passing a literal allocates nothing.
    pub constant: std::cell::OnceCell<super::runtime::Thunk>,
}

pub(crate) enum NodeKind {
    Int(i64),
    Str(Rc<str>),
    /// An absolute, lexically normalised path.
    Path(Rc<str>),
    Interpolated(Vec<StrPiece>),
    Var {
        depth: u32,
        index: u32,
    },
    /// `true`, `false`, `null`, `builtins` and the global builtin functions.
    Global(Global),
    List(Vec<NodeRef>),
    Attrs(Rc<AttrsIr>),
    Let {
        slots: Vec<NodeRef>,
        body: NodeRef,
    },
    Select {
        expr: NodeRef,
        path: Vec<Key>,
        default: Option<NodeRef>,
    },
    HasAttr {
        expr: NodeRef,
        path: Vec<Key>,
    },
    Apply {
        func: NodeRef,
        arg: NodeRef,
    },
    Lambda(Rc<LambdaIr>),
    If {
        cond: NodeRef,
        then: NodeRef,
        else_: NodeRef,
    },
    Assert {
        cond: NodeRef,
        body: NodeRef,
    },
    Neg(NodeRef),
    Not(NodeRef),
    Binary {
        op: BinaryOp,
        lhs: NodeRef,
        rhs: NodeRef,
    },
    /// A name no scope defines; only reachable when static checks were skipped.
    Undefined(Rc<str>),
    /// A part the parser could not read (already reported).
    Error,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Global {
    True,
    False,
    Null,
    Builtins,
    Prim(Prim),
}

pub(crate) enum StrPiece {
    Literal(Rc<str>),
    Expr(NodeRef),
}

/// One component of an attribute path in a selection or `?`.
pub(crate) enum Key {
    Static(Rc<str>, Origin),
    Dynamic(NodeRef),
}

pub(crate) struct AttrsIr {
    /// `rec { }`: the values are evaluated in a new frame holding the static attributes.
    pub recursive: bool,
    /// Sorted by name, each name once.
    pub statics: Vec<StaticAttr>,
    pub dynamics: Vec<DynamicAttr>,
}

pub(crate) struct StaticAttr {
    pub name: Rc<str>,
    pub name_origin: Origin,
    pub value: NodeRef,
}

pub(crate) struct DynamicAttr {
    pub name: NodeRef,
    pub value: NodeRef,
}

pub(crate) struct LambdaIr {
    pub param: ParamIr,
    pub body: NodeRef,
    /// `x: …` whose body is [plain](is_plain): a call evaluates it without a frame,
    /// reading `x` from the argument itself.
    pub plain_body: bool,
}

/// Whether evaluating `node` only reads variables and computes with their values:
/// constants, variables and operators, conditions, `!` and `-`, strings with
/// interpolations, and
/// [calls](is_plain_call) passing variables and constants. Such a body cannot keep
/// its frame (no function, set, list or thunk capturing it is made in it), so a
/// call can evaluate it with its arguments at hand instead of in a frame of their
/// own.
fn is_plain(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Int(_) | NodeKind::Str(_) | NodeKind::Path(_) => true,
        NodeKind::Var { .. } | NodeKind::Global(_) => true,
        NodeKind::Binary { lhs, rhs, .. } => is_plain(lhs) && is_plain(rhs),
        NodeKind::If { cond, then, else_ } => is_plain(cond) && is_plain(then) && is_plain(else_),
        NodeKind::Not(inner) | NodeKind::Neg(inner) => is_plain(inner),
        NodeKind::Interpolated(pieces) => pieces.iter().all(|piece| match piece {
            StrPiece::Literal(_) => true,
            StrPiece::Expr(node) => is_plain(node),
        }),
        NodeKind::Apply { .. } => is_plain_call(node),
        _ => false,
    }
}

/// A call whose arguments are variables or constants (no thunk is made for them)
/// or [applications of variables](is_application_of_variable), of a function
/// that is a variable, or written `a: b: …` with a plain inner body and given
/// both arguments (no closure is made for it).
fn is_plain_call(node: &Node) -> bool {
    let mut head = node;
    let mut count = 0;
    while let NodeKind::Apply { func, arg } = &head.kind {
        if !(is_shared(arg) || is_application_of_variable(arg)) {
            return false;
        }
        count += 1;
        head = func;
    }
    match &head.kind {
        NodeKind::Var { .. } | NodeKind::Global(_) => true,
        NodeKind::Lambda(lambda) => count == 2 && is_plain_pair(lambda),
        _ => false,
    }
}

/// A variable or a constant: an argument passed on without a thunk of its own.
fn is_shared(node: &Node) -> bool {
    matches!(
        node.kind,
        NodeKind::Var { .. } | NodeKind::Int(_) | NodeKind::Str(_) | NodeKind::Path(_)
    )
}

/// `g x`, a variable applied to a variable or a constant: when `g` is already a
/// function, its thunk holds `g` and `x`, not the frame.
fn is_application_of_variable(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::Apply { func, arg }
        if matches!(func.kind, NodeKind::Var { .. }) && is_shared(arg))
}

/// `a: b: …` whose inner body is plain: both arguments can be taken without a frame.
pub(crate) fn is_plain_pair(lambda: &LambdaIr) -> bool {
    matches!(lambda.param, ParamIr::Ident)
        && matches!(&lambda.body.kind, NodeKind::Lambda(inner) if inner.plain_body)
}

pub(crate) enum ParamIr {
    Ident,
    Pattern(PatternIr),
}

/// A set pattern `{ a, b ? 1, ... } @ args`.
pub(crate) struct PatternIr {
    pub entries: Vec<PatternEntryIr>,
    pub ellipsis: bool,
    /// Whether the whole argument is bound too (`@ args`): it takes the last slot.
    pub bind: bool,
    pub origin: Origin,
}

pub(crate) struct PatternEntryIr {
    pub name: Rc<str>,
    pub origin: Origin,
    pub default: Option<NodeRef>,
}

/// Lowers one parsed file. `dir` is the directory path literals are relative to.
pub(crate) fn lower(file: FileId, dir: &Path, expr: &ast::Expr) -> (NodeRef, Vec<Diagnostic>) {
    let mut lowerer = Lowerer {
        file,
        dir,
        scopes: Vec::new(),
        diagnostics: Vec::new(),
    };
    let node = lowerer.expr(expr);
    (node, lowerer.diagnostics)
}

struct Lowerer<'p> {
    file: FileId,
    dir: &'p Path,
    /// Innermost last; each maps a name to its slot in that frame.
    scopes: Vec<HashMap<String, u32>>,
    diagnostics: Vec<Diagnostic>,
}

/// Attribute bindings gathered from `a.b.c = …` paths before lowering.
struct Tree<'a> {
    recursive: bool,
    statics: Vec<(String, Entry<'a>)>,
    index: HashMap<String, usize>,
    dynamics: Vec<(&'a ast::Expr, Origin, Entry<'a>)>,
}

enum Entry<'a> {
    Value {
        expr: &'a ast::Expr,
        name_origin: Origin,
    },
    Inherit {
        from: Option<&'a ast::Expr>,
        ident: &'a ast::Ident,
    },
    Nested {
        tree: Tree<'a>,
        name_origin: Origin,
        origin: Origin,
    },
}

enum PathName<'a> {
    Static(String),
    Dynamic(&'a ast::Expr),
}

fn unparen(mut expr: &ast::Expr) -> &ast::Expr {
    while let ExprKind::Paren(inner) = &expr.kind {
        expr = inner;
    }
    expr
}

fn path_name(name: &AttrName) -> PathName<'_> {
    if let Some(text) = name.static_name() {
        return PathName::Static(text.to_owned());
    }
    match name {
        AttrName::Dynamic(expr) => {
            // `${"x"}` is a static name, as in Nix.
            if let ExprKind::Str { parts, .. } = &unparen(expr).kind {
                match parts.as_slice() {
                    [] => return PathName::Static(String::new()),
                    [StrPart::Literal(text)] => return PathName::Static(text.clone()),
                    _ => {}
                }
            }
            PathName::Dynamic(expr)
        }
        AttrName::Str(expr) => PathName::Dynamic(expr),
        AttrName::Ident(ident) => PathName::Static(ident.name.clone()),
    }
}

impl<'a> Tree<'a> {
    fn new(recursive: bool) -> Tree<'a> {
        Tree {
            recursive,
            statics: Vec::new(),
            index: HashMap::new(),
            dynamics: Vec::new(),
        }
    }

    fn build(file: FileId, recursive: bool, bindings: &'a [Binding]) -> Tree<'a> {
        let mut tree = Tree::new(recursive);
        for binding in bindings {
            tree.add_binding(file, binding);
        }
        tree
    }

    fn add_binding(&mut self, file: FileId, binding: &'a Binding) {
        match binding {
            Binding::Inherit { from, names, .. } => {
                for ident in names {
                    if self.index.contains_key(&ident.name) {
                        continue; // reported by the static checks
                    }
                    self.push_static(
                        ident.name.clone(),
                        Entry::Inherit {
                            from: from.as_deref(),
                            ident,
                        },
                    );
                }
            }
            Binding::Attr { path, value, span } => {
                self.add_path(file, path, value, *span);
            }
        }
    }

    fn push_static(&mut self, name: String, entry: Entry<'a>) {
        self.index.insert(name.clone(), self.statics.len());
        self.statics.push((name, entry));
    }

    fn add_path(&mut self, file: FileId, path: &'a [AttrName], value: &'a ast::Expr, span: Span) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let name_origin = Origin::new(file, first.span());
        if rest.is_empty() {
            let entry = Entry::Value {
                expr: value,
                name_origin,
            };
            match path_name(first) {
                PathName::Static(name) => match self.index.get(&name) {
                    None => self.push_static(name, entry),
                    Some(&i) => {
                        // `a = { … }; a = { … };` merges, as in Nix; anything else is a
                        // duplicate the static checks report.
                        if let ExprKind::AttrSet { bindings, .. } = &unparen(value).kind
                            && let Some(tree) = self.statics[i].1.as_tree(file)
                        {
                            for binding in bindings {
                                tree.add_binding(file, binding);
                            }
                        }
                    }
                },
                PathName::Dynamic(expr) => self.dynamics.push((expr, name_origin, entry)),
            }
            return;
        }
        let origin = Origin::new(file, span);
        match path_name(first) {
            PathName::Static(name) => {
                let i = match self.index.get(&name) {
                    Some(&i) => i,
                    None => {
                        self.push_static(
                            name,
                            Entry::Nested {
                                tree: Tree::new(false),
                                name_origin,
                                origin,
                            },
                        );
                        self.statics.len() - 1
                    }
                };
                if let Some(tree) = self.statics[i].1.as_tree(file) {
                    tree.add_path(file, rest, value, span);
                }
            }
            PathName::Dynamic(expr) => {
                let mut tree = Tree::new(false);
                tree.add_path(file, rest, value, span);
                self.dynamics.push((
                    expr,
                    name_origin,
                    Entry::Nested {
                        tree,
                        name_origin,
                        origin,
                    },
                ));
            }
        }
    }
}

impl<'a> Entry<'a> {
    /// The entry as a set of bindings that more paths can be added to, turning a
    /// literal `{ … }` into one; `None` if it is not a set literal.
    fn as_tree(&mut self, file: FileId) -> Option<&mut Tree<'a>> {
        if let Entry::Value { expr, name_origin } = self {
            let literal = unparen(expr);
            if let ExprKind::AttrSet {
                recursive,
                bindings,
            } = &literal.kind
            {
                *self = Entry::Nested {
                    tree: Tree::build(file, *recursive, bindings),
                    name_origin: *name_origin,
                    origin: Origin::new(file, literal.span),
                };
            }
        }
        match self {
            Entry::Nested { tree, .. } => Some(tree),
            _ => None,
        }
    }
}

impl Lowerer<'_> {
    fn origin(&self, span: Span) -> Origin {
        Origin::new(self.file, span)
    }

    fn node(&self, kind: NodeKind, span: Span) -> NodeRef {
        Rc::new(Node {
            kind,
            origin: self.origin(span),
            constant: Default::default(),
        })
    }

    fn push_scope<'n>(&mut self, names: impl IntoIterator<Item = &'n str>) {
        let mut scope = HashMap::new();
        for (i, name) in names.into_iter().enumerate() {
            scope.entry(name.to_owned()).or_insert(i as u32);
        }
        self.scopes.push(scope);
    }

    /// Resolves `name`, ignoring the innermost `skip` frames (for `inherit`, which
    /// looks outside the set or `let` it is written in).
    fn resolve(&mut self, name: &str, span: Span, skip: usize) -> NodeRef {
        let visible = self.scopes.len().saturating_sub(skip);
        for (up, scope) in self.scopes[..visible].iter().rev().enumerate() {
            if let Some(&index) = scope.get(name) {
                return self.node(
                    NodeKind::Var {
                        depth: (up + skip) as u32,
                        index,
                    },
                    span,
                );
            }
        }
        let global = match name {
            "true" => Some(Global::True),
            "false" => Some(Global::False),
            "null" => Some(Global::Null),
            "builtins" => Some(Global::Builtins),
            _ if GLOBALS.contains(&name) => Prim::from_name(name).map(Global::Prim),
            _ => None,
        };
        match global {
            Some(global) => self.node(NodeKind::Global(global), span),
            None => {
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::UNDEFINED_VARIABLE,
                        format!("undefined variable `{name}`"),
                    )
                    .with_primary(self.file, span, "not defined"),
                );
                self.node(NodeKind::Undefined(name.into()), span)
            }
        }
    }

    fn expr(&mut self, expr: &ast::Expr) -> NodeRef {
        let span = expr.span;
        let kind = match &expr.kind {
            ExprKind::Int(i) => NodeKind::Int(*i),
            ExprKind::Str { parts, .. } => self.string(parts),
            ExprKind::Path(text) => NodeKind::Path(self.path(text)),
            ExprKind::Var(ident) => return self.resolve(&ident.name, ident.span, 0),
            ExprKind::Paren(inner) => return self.expr(inner),
            ExprKind::List(items) => NodeKind::List(items.iter().map(|e| self.expr(e)).collect()),
            ExprKind::AttrSet {
                recursive,
                bindings,
            } => {
                let tree = Tree::build(self.file, *recursive, bindings);
                NodeKind::Attrs(Rc::new(self.attrs(tree)))
            }
            ExprKind::Let { bindings, body } => self.let_(bindings, body),
            ExprKind::Select {
                expr,
                path,
                default,
            } => NodeKind::Select {
                expr: self.expr(expr),
                path: self.keys(path),
                default: default.as_ref().map(|d| self.expr(d)),
            },
            ExprKind::HasAttr { expr, path } => NodeKind::HasAttr {
                expr: self.expr(expr),
                path: self.keys(path),
            },
            ExprKind::Apply { func, arg } => NodeKind::Apply {
                func: self.expr(func),
                arg: self.expr(arg),
            },
            ExprKind::Lambda { param, body } => NodeKind::Lambda(Rc::new(self.lambda(param, body))),
            ExprKind::If { cond, then, else_ } => NodeKind::If {
                cond: self.expr(cond),
                then: self.expr(then),
                else_: self.expr(else_),
            },
            ExprKind::Assert { cond, body } => NodeKind::Assert {
                cond: self.expr(cond),
                body: self.expr(body),
            },
            ExprKind::Unary { op, expr, .. } => {
                let inner = self.expr(expr);
                match op {
                    UnaryOp::Neg => NodeKind::Neg(inner),
                    UnaryOp::Not => NodeKind::Not(inner),
                }
            }
            ExprKind::Binary { op, lhs, rhs, .. } => NodeKind::Binary {
                op: *op,
                lhs: self.expr(lhs),
                rhs: self.expr(rhs),
            },
            ExprKind::Error => NodeKind::Error,
        };
        self.node(kind, span)
    }

    fn path(&self, text: &str) -> Rc<str> {
        let joined = if text.starts_with('/') {
            normalize(Path::new(text))
        } else {
            normalize(&self.dir.join(text))
        };
        let text = joined.to_string_lossy();
        if text.is_empty() {
            "/".into()
        } else {
            text.into()
        }
    }

    fn string(&mut self, parts: &[StrPart]) -> NodeKind {
        match parts {
            [] => NodeKind::Str("".into()),
            [StrPart::Literal(text)] => NodeKind::Str(text.as_str().into()),
            _ => NodeKind::Interpolated(
                parts
                    .iter()
                    .map(|part| match part {
                        StrPart::Literal(text) => StrPiece::Literal(text.as_str().into()),
                        StrPart::Interpolation(expr) => StrPiece::Expr(self.expr(expr)),
                    })
                    .collect(),
            ),
        }
    }

    fn keys(&mut self, path: &[AttrName]) -> Vec<Key> {
        path.iter()
            .map(|name| match path_name(name) {
                PathName::Static(text) => Key::Static(text.into(), self.origin(name.span())),
                PathName::Dynamic(expr) => Key::Dynamic(self.expr(expr)),
            })
            .collect()
    }

    /// Lowers one attribute value. `in_frame` says whether a frame for this set's
    /// own attributes is in scope (so `inherit` must look one frame further out).
    fn entry(&mut self, entry: Entry<'_>, in_frame: bool) -> NodeRef {
        match entry {
            Entry::Value { expr, .. } => self.expr(expr),
            Entry::Inherit { from: None, ident } => {
                self.resolve(&ident.name, ident.span, usize::from(in_frame))
            }
            Entry::Inherit {
                from: Some(from),
                ident,
            } => {
                let from = self.expr(from);
                self.node(
                    NodeKind::Select {
                        expr: from,
                        path: vec![Key::Static(
                            ident.name.as_str().into(),
                            self.origin(ident.span),
                        )],
                        default: None,
                    },
                    ident.span,
                )
            }
            Entry::Nested { tree, origin, .. } => {
                let attrs = self.attrs(tree);
                Rc::new(Node {
                    kind: NodeKind::Attrs(Rc::new(attrs)),
                    origin,
                    constant: Default::default(),
                })
            }
        }
    }

    fn name_origin(&self, entry: &Entry<'_>) -> Origin {
        match entry {
            Entry::Value { name_origin, .. } | Entry::Nested { name_origin, .. } => *name_origin,
            Entry::Inherit { ident, .. } => self.origin(ident.span),
        }
    }

    fn attrs(&mut self, mut tree: Tree<'_>) -> AttrsIr {
        // In the order of the sets they make (byte-wise, as Nix sorts names), so
        // evaluating the literal needs no sorting.
        tree.statics
            .sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let recursive = tree.recursive;
        if recursive {
            self.push_scope(tree.statics.iter().map(|(name, _)| name.as_str()));
        }
        let mut statics = Vec::with_capacity(tree.statics.len());
        for (name, entry) in tree.statics {
            let name_origin = self.name_origin(&entry);
            statics.push(StaticAttr {
                name: name.into(),
                name_origin,
                value: self.entry(entry, recursive),
            });
        }
        let mut dynamics = Vec::with_capacity(tree.dynamics.len());
        for (name, _, entry) in tree.dynamics {
            dynamics.push(DynamicAttr {
                name: self.expr(name),
                value: self.entry(entry, recursive),
            });
        }
        if recursive {
            self.scopes.pop();
        }
        AttrsIr {
            recursive,
            statics,
            dynamics,
        }
    }

    fn let_(&mut self, bindings: &[Binding], body: &ast::Expr) -> NodeKind {
        let tree = Tree::build(self.file, true, bindings);
        for (_, origin, _) in &tree.dynamics {
            self.diagnostics.push(
                Diagnostic::error(
                    codes::UNSUPPORTED_SYNTAX,
                    "dynamic attributes are not allowed in `let`",
                )
                .with_primary(origin.file, origin.span, "dynamic attribute")
                .with_help("give the binding a fixed name"),
            );
        }
        self.push_scope(tree.statics.iter().map(|(name, _)| name.as_str()));
        let slots = tree
            .statics
            .into_iter()
            .map(|(_, entry)| self.entry(entry, true))
            .collect();
        let body = self.expr(body);
        self.scopes.pop();
        NodeKind::Let { slots, body }
    }

    fn lambda(&mut self, param: &Param, body: &ast::Expr) -> LambdaIr {
        match param {
            Param::Ident(ident) => {
                self.push_scope([ident.name.as_str()]);
                let body = self.expr(body);
                self.scopes.pop();
                LambdaIr {
                    param: ParamIr::Ident,
                    plain_body: is_plain(&body),
                    body,
                }
            }
            Param::Pattern {
                entries,
                ellipsis,
                bind,
                span,
                ..
            } => {
                let names = entries
                    .iter()
                    .map(|e| e.name.name.as_str())
                    .chain(bind.iter().map(|b| b.name.as_str()));
                // Every slot must exist even if a name repeats (reported by the checks).
                let mut scope = HashMap::new();
                for (i, name) in names.enumerate() {
                    scope.entry(name.to_owned()).or_insert(i as u32);
                }
                self.scopes.push(scope);
                let entries = entries
                    .iter()
                    .map(|e| PatternEntryIr {
                        name: e.name.name.as_str().into(),
                        origin: self.origin(e.name.span),
                        default: e.default.as_ref().map(|d| self.expr(d)),
                    })
                    .collect();
                let body = self.expr(body);
                self.scopes.pop();
                LambdaIr {
                    param: ParamIr::Pattern(PatternIr {
                        entries,
                        ellipsis: *ellipsis,
                        bind: bind.is_some(),
                        origin: self.origin(*span),
                    }),
                    body,
                    plain_body: false,
                }
            }
        }
    }
}
