//! The syntax tree. Every node carries the byte span of its source text (trivia
//! excluded). The parser always produces a tree; parts it could not parse become
//! [`ExprKind::Error`] so later phases can still look at the rest.

use crate::span::Span;

/// A name with the span where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An integer literal (already range-checked by the parser).
    Int(i64),
    /// `"…"` or `''…''`. For indented strings the parser has already stripped the
    /// indentation and decoded the escapes, so the parts are final text.
    Str {
        parts: Vec<StrPart>,
        indented: bool,
    },
    /// `./x`, `../x`, `/abs/x`: the text as written; resolved against the
    /// containing file's directory when evaluated.
    Path(String),
    /// A variable reference. `true`, `false`, `null` are variables too, as in Nix
    /// (they live in the global scope).
    Var(Ident),
    /// `( e )`, kept so the formatter can reproduce the source.
    Paren(Box<Expr>),
    List(Vec<Expr>),
    /// `{ … }` or `rec { … }`.
    AttrSet {
        recursive: bool,
        bindings: Vec<Binding>,
    },
    /// `let … in body`.
    Let {
        bindings: Vec<Binding>,
        body: Box<Expr>,
    },
    /// `e.a.b` or `e.a.b or default`.
    Select {
        expr: Box<Expr>,
        path: Vec<AttrName>,
        default: Option<Box<Expr>>,
    },
    /// `e ? a.b`.
    HasAttr {
        expr: Box<Expr>,
        path: Vec<AttrName>,
    },
    /// `f x`.
    Apply {
        func: Box<Expr>,
        arg: Box<Expr>,
    },
    /// `x: body` or `{ a, b ? d, ... }: body`.
    Lambda {
        param: Param,
        body: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        else_: Box<Expr>,
    },
    Assert {
        cond: Box<Expr>,
        body: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        op_span: Span,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// Something the parser could not make sense of (already reported).
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StrPart {
    Literal(String),
    /// `${ e }`; the span of the `Expr` is the inner expression.
    Interpolation(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Binding {
    /// `a.b."c" = value;`
    Attr {
        path: Vec<AttrName>,
        value: Expr,
        span: Span,
    },
    /// `inherit a b;` or `inherit (from) a b;`
    Inherit {
        from: Option<Box<Expr>>,
        names: Vec<Ident>,
        span: Span,
    },
}

impl Binding {
    pub fn span(&self) -> Span {
        match self {
            Binding::Attr { span, .. } | Binding::Inherit { span, .. } => *span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttrName {
    /// `a`
    Ident(Ident),
    /// `"a b"` or `"a${x}"`: an expression of kind [`ExprKind::Str`].
    Str(Expr),
    /// `${ e }`: an arbitrary expression that must evaluate to a string.
    Dynamic(Expr),
}

impl AttrName {
    pub fn span(&self) -> Span {
        match self {
            AttrName::Ident(ident) => ident.span,
            AttrName::Str(expr) | AttrName::Dynamic(expr) => expr.span,
        }
    }

    /// The name if it is known without evaluation (an identifier or a string
    /// without interpolation).
    pub fn static_name(&self) -> Option<&str> {
        match self {
            AttrName::Ident(ident) => Some(&ident.name),
            AttrName::Str(Expr {
                kind: ExprKind::Str { parts, .. },
                ..
            }) => match parts.as_slice() {
                [] => Some(""),
                [StrPart::Literal(text)] => Some(text),
                _ => None,
            },
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// `x: …`
    Ident(Ident),
    /// `{ a, b ? d, ... }: …`, optionally with `args@` before or `@args` after.
    Pattern {
        entries: Vec<PatternEntry>,
        ellipsis: bool,
        bind: Option<Ident>,
        /// `true` for `args@{ … }`, `false` for `{ … }@args` (formatting only).
        bind_before: bool,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatternEntry {
    pub name: Ident,
    pub default: Option<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-e`
    Neg,
    /// `!e`
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `++`
    Concat,
    Mul,
    Div,
    Add,
    Sub,
    /// `//`
    Update,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    /// `->`
    Implies,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Concat => "++",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Update => "//",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
            BinaryOp::Implies => "->",
        }
    }
}

/// A comment, kept out of the tree but recorded for the formatter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub span: Span,
    /// `true` for `/* … */`, `false` for `# …`.
    pub block: bool,
}
