//! The grammar: recursive descent over `&str` with nom recognisers for the tokens.
//!
//! Conventions, which every method follows:
//! - a method receives input positioned at the start of a token (trivia skipped) and
//!   returns the input after what it parsed *and* after the trivia that follows;
//! - methods never fail: what cannot be parsed is reported into the diagnostic sink
//!   and becomes an [`ExprKind::Error`] node, so every independent error in a file is
//!   reported and later phases still see the rest of the tree;
//! - every loop consumes input or stops, so no input can make the parser hang;
//! - recursion goes through [`Parser::expr`] or [`Parser::select`], which count depth,
//!   and chains of operators or applications count towards the same limit, so the tree
//!   stays shallow enough for the recursive phases after the parser.

use std::cell::{Cell, RefCell};

use nom::Offset;

use super::lexical::{self, Keyword, Tok, Token};
use crate::ast::{
    AttrName, BinaryOp, Binding, Comment, Expr, ExprKind, Ident, Param, PatternEntry, StrPart,
    UnaryOp,
};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::span::{FileId, Span};

/// How deeply expressions may nest (brackets, bindings, operator and application
/// chains all count). A level of nesting costs at most about 7 KiB of stack in
/// debug builds, so the deepest file fits in a default 8 MiB main-thread stack
/// even without [`super::with_parser_stack`]; trees stay at most about twice this
/// deep, which keeps the recursive phases after the parser safe too.
pub const MAX_DEPTH: usize = 500;

type In<'a> = &'a str;

pub struct Parser<'a> {
    text: &'a str,
    file: FileId,
    diagnostics: RefCell<Vec<Diagnostic>>,
    comments: RefCell<Vec<Comment>>,
    /// Trivia before this offset has been scanned already (comments recorded,
    /// unterminated comments reported): lookahead may scan the same trivia again.
    trivia_scanned_to: Cell<usize>,
    depth: Cell<usize>,
    /// Set once nesting got too deep: the rest of the file is skipped and nothing
    /// else is reported (everything after would be a consequence).
    bailed: Cell<bool>,
    /// End of the last token consumed: where a missing token is reported.
    last_end: Cell<usize>,
    /// A range in which no path or URI token can start (see [`lexical::path_run`]).
    plain_run: Cell<(usize, usize)>,
    /// The last token classified and its offset.
    last_peek: Cell<Option<(usize, Token<'a>)>>,
    /// The last `"…"` string that spans a line break: when a later string never
    /// closes, this one most likely lost its closing quote.
    last_multiline_string: Cell<Option<Span>>,
}

/// An operator waiting for its right operand in [`Parser::operators`].
#[derive(Clone, Copy)]
enum PendingOp {
    Prefix(UnaryOp, Span),
    Binary(BinaryOp, Span),
}

const NOT_PRECEDENCE: u8 = 7;
const HAS_ATTR_PRECEDENCE: u8 = 11;
const NEGATE_PRECEDENCE: u8 = 12;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Assoc {
    Left,
    Right,
    None,
}

/// Nix's precedence table (higher binds tighter) and associativity.
fn binary_precedence(op: BinaryOp) -> (u8, Assoc) {
    use BinaryOp::*;
    match op {
        Implies => (1, Assoc::Right),
        Or => (2, Assoc::Left),
        And => (3, Assoc::Left),
        Eq | Ne => (4, Assoc::None),
        Lt | Le | Gt | Ge => (5, Assoc::None),
        Update => (6, Assoc::Right),
        Add | Sub => (8, Assoc::Left),
        Mul | Div => (9, Assoc::Left),
        Concat => (10, Assoc::Right),
    }
}

fn binary_op(token: Token) -> Option<BinaryOp> {
    use BinaryOp::*;
    let Tok::Punct(p) = token.tok else {
        return None;
    };
    Some(match p {
        "++" => Concat,
        "*" => Mul,
        "/" => Div,
        "+" => Add,
        "-" => Sub,
        "//" => Update,
        "<" => Lt,
        "<=" => Le,
        ">" => Gt,
        ">=" => Ge,
        "==" => Eq,
        "!=" => Ne,
        "&&" => And,
        "||" => Or,
        "->" => Implies,
        _ => return None,
    })
}

impl PendingOp {
    fn precedence(self) -> u8 {
        match self {
            PendingOp::Prefix(UnaryOp::Neg, _) => NEGATE_PRECEDENCE,
            PendingOp::Prefix(UnaryOp::Not, _) => NOT_PRECEDENCE,
            PendingOp::Binary(op, _) => binary_precedence(op).0,
        }
    }
}

/// Tokens that can start an operand of application (Nix's `expr_simple`).
fn starts_operand(token: Token) -> bool {
    match token.tok {
        Tok::Ident
        | Tok::Int
        | Tok::Float
        | Tok::Path
        | Tok::PathTrailingSlash
        | Tok::PathInterpolation
        | Tok::HomePath
        | Tok::SearchPath
        | Tok::Uri
        | Tok::StrOpen
        | Tok::IndStrOpen
        | Tok::Keyword(Keyword::Rec) => true,
        Tok::Punct(p) => matches!(p, "(" | "[" | "{"),
        _ => false,
    }
}

/// Keywords that start an expression which Nix only allows where a full expression
/// is expected (not as an operand or list element).
fn starts_compound(token: Token) -> bool {
    matches!(
        token.tok,
        Tok::Keyword(Keyword::If | Keyword::Let | Keyword::Assert | Keyword::With)
    )
}

fn starts_expr(token: Token) -> bool {
    starts_operand(token) || starts_compound(token) || matches!(token.tok, Tok::Punct("-" | "!"))
}

fn starts_attr(token: Token) -> bool {
    matches!(
        token.tok,
        Tok::Ident | Tok::Keyword(Keyword::Or) | Tok::StrOpen | Tok::Punct("${")
    )
}

/// Tokens that close or separate something: a missing piece is reported before them
/// rather than them being skipped.
fn is_closer(token: Token) -> bool {
    match token.tok {
        Tok::Eof => true,
        Tok::Punct(p) => matches!(p, ";" | "}" | "]" | ")" | ","),
        Tok::Keyword(k) => matches!(k, Keyword::In | Keyword::Then | Keyword::Else),
        _ => false,
    }
}

fn show(token: Token) -> String {
    if token.tok == Tok::Eof {
        "end of file".to_string()
    } else {
        format!("`{}`", token.text)
    }
}

fn expr(kind: ExprKind, span: Span) -> Expr {
    Expr { kind, span }
}

impl<'a> Parser<'a> {
    pub fn new(file: FileId, text: &'a str) -> Parser<'a> {
        Parser {
            text,
            file,
            diagnostics: RefCell::new(Vec::new()),
            comments: RefCell::new(Vec::new()),
            trivia_scanned_to: Cell::new(0),
            depth: Cell::new(0),
            bailed: Cell::new(false),
            last_end: Cell::new(0),
            plain_run: Cell::new((0, 0)),
            last_peek: Cell::new(None),
            last_multiline_string: Cell::new(None),
        }
    }

    pub fn finish(self) -> (Vec<Comment>, Vec<Diagnostic>) {
        (self.comments.into_inner(), self.diagnostics.into_inner())
    }

    /// The whole file: one expression and nothing after it.
    pub fn file(&self) -> Expr {
        let i = self.trivia(self.text);
        let token = self.peek(i);
        if !starts_expr(token) && token.tok != Tok::Eof {
            self.report(self.error(
                codes::UNEXPECTED_TOKEN,
                self.span_of(token),
                format!("expected an expression, found {}", show(token)),
                "unexpected here",
            ));
            return expr(ExprKind::Error, Span::new(self.offset(i), self.text.len()));
        }
        let (i, root) = self.expr_or_missing(i, || "expected an expression".to_string());
        let token = self.peek(i);
        if token.tok != Tok::Eof {
            let mut diagnostic = Diagnostic::error(
                codes::UNEXPECTED_TOKEN,
                format!("expected end of file, found {}", show(token)),
            )
            .with_primary(self.file, self.span_of(token), "unexpected here");
            if starts_expr(token) || token.tok == Tok::Punct("=") {
                diagnostic = diagnostic.with_help(
                    "a file is a single expression; to define several values, put them in an attribute set `{ a = …; b = …; }`",
                );
            }
            self.report(diagnostic);
        }
        root
    }

    // ----- positions, tokens and trivia -------------------------------------------

    fn offset(&self, i: In<'a>) -> usize {
        self.text.offset(i)
    }

    fn at(&self, offset: usize) -> In<'a> {
        &self.text[offset..]
    }

    fn span_of(&self, token: Token<'a>) -> Span {
        let start = self.offset(token.text);
        Span::new(start, start + token.text.len())
    }

    fn peek(&self, i: In<'a>) -> Token<'a> {
        let start = self.offset(i);
        // The grammar often looks at the same token several times before taking it.
        if let Some((offset, token)) = self.last_peek.get()
            && offset == start
        {
            return token;
        }
        let token = self.classify(i, start);
        self.last_peek.set(Some((start, token)));
        token
    }

    fn classify(&self, i: In<'a>, start: usize) -> Token<'a> {
        let (run_start, run_end) = self.plain_run.get();
        let plain = if run_start <= start && start < run_end {
            true
        } else {
            let (len, may_be_path) = lexical::path_run(i);
            if !may_be_path && len > 0 {
                self.plain_run.set((start, start + len));
            }
            !may_be_path
        };
        lexical::token(i, plain)
    }

    /// Consumes `len` bytes of token and the trivia after it.
    fn bump(&self, i: In<'a>, len: usize) -> In<'a> {
        self.trivia(self.bump_raw(i, len))
    }

    /// Consumes `len` bytes of token without the trivia after it (inside strings).
    fn bump_raw(&self, i: In<'a>, len: usize) -> In<'a> {
        self.last_end.set(self.offset(i) + len);
        &i[len..]
    }

    fn trivia(&self, mut i: In<'a>) -> In<'a> {
        use nom::bytes::complete::{tag, take_till, take_until, take_while};
        use nom::{Parser as _, sequence::pair};
        loop {
            let (rest, _) = take_while::<_, _, ()>(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
                .parse(i)
                .unwrap_or((i, ""));
            i = rest;
            let start = self.offset(i);
            let fresh = start >= self.trivia_scanned_to.get();
            if let Ok((rest, _)) =
                pair(tag::<_, _, ()>("#"), take_till(|c| c == '\n' || c == '\r')).parse(i)
            {
                self.record_comment(fresh, start, self.offset(rest), false);
                i = rest;
            } else if let Ok((rest, _)) = tag::<_, _, ()>("/*").parse(i) {
                match pair(take_until::<_, _, ()>("*/"), tag("*/")).parse(rest) {
                    Ok((rest, _)) => {
                        self.record_comment(fresh, start, self.offset(rest), true);
                        i = rest;
                    }
                    Err(_) => {
                        if fresh {
                            self.report(
                                Diagnostic::error(
                                    codes::UNTERMINATED_COMMENT,
                                    "unterminated comment",
                                )
                                .with_primary(
                                    self.file,
                                    Span::new(start, start + 2),
                                    "this comment is never closed",
                                )
                                .with_help("add `*/` where the comment should end"),
                            );
                            self.record_comment(true, start, self.text.len(), true);
                            // The comment swallowed the rest of the file; what is
                            // missing after it is a consequence.
                            self.bailed.set(true);
                        }
                        i = &i[i.len()..];
                    }
                }
            } else {
                break;
            }
        }
        let end = self.offset(i);
        if end > self.trivia_scanned_to.get() {
            self.trivia_scanned_to.set(end);
        }
        i
    }

    fn record_comment(&self, fresh: bool, start: usize, end: usize, block: bool) {
        if fresh {
            self.comments.borrow_mut().push(Comment {
                span: Span::new(start, end),
                block,
            });
        }
    }

    // ----- diagnostics ------------------------------------------------------------

    /// Records a syntax error, unless one was already reported at the same place: the
    /// second is a consequence of the first (`a = = 1;` lacks a value, not also a `;`).
    fn report(&self, diagnostic: Diagnostic) {
        if self.bailed.get() {
            return;
        }
        let start_of = |d: &Diagnostic| d.primary().map(|label| label.origin.span.start);
        let mut diagnostics = self.diagnostics.borrow_mut();
        if diagnostics
            .last()
            .is_some_and(|last| start_of(last) == start_of(&diagnostic))
        {
            return;
        }
        diagnostics.push(diagnostic);
    }

    fn error(&self, code: &'static str, span: Span, message: String, label: &str) -> Diagnostic {
        Diagnostic::error(code, message).with_primary(self.file, span, label)
    }

    /// A `MISSING_TOKEN` just after the previous token.
    fn missing(&self, message: String, label: &str) -> Diagnostic {
        self.error(
            codes::MISSING_TOKEN,
            Span::at(self.last_end.get()),
            message,
            label,
        )
    }

    fn context(&self, span: Span, message: &str) -> crate::diagnostic::Label {
        crate::diagnostic::Label {
            origin: crate::span::Origin::new(self.file, span),
            message: message.to_string(),
            primary: false,
        }
    }

    fn with_context(&self, mut diagnostic: Diagnostic, span: Span, message: &str) -> Diagnostic {
        diagnostic.labels.push(self.context(span, message));
        diagnostic
    }

    fn error_expr_here(&self) -> Expr {
        expr(ExprKind::Error, Span::at(self.last_end.get()))
    }

    /// Expects the punctuation `p`; reports it missing otherwise (without consuming).
    fn expect(&self, i: In<'a>, p: &'static str, message: impl FnOnce() -> Diagnostic) -> In<'a> {
        if self.peek(i).tok == Tok::Punct(p) {
            self.bump(i, p.len())
        } else {
            self.report(message());
            i
        }
    }

    // ----- depth ------------------------------------------------------------------

    fn nested<T>(
        &self,
        i: In<'a>,
        parse: impl FnOnce(In<'a>) -> (In<'a>, T),
        placeholder: impl FnOnce(Expr) -> T,
    ) -> (In<'a>, T) {
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            let (i, error) = self.too_deep(i);
            return (i, placeholder(error));
        }
        self.depth.set(depth + 1);
        let result = parse(i);
        self.depth.set(depth);
        result
    }

    fn too_deep(&self, i: In<'a>) -> (In<'a>, Expr) {
        let start = self.offset(i);
        let token = self.peek(i);
        self.report(
            self.error(
                codes::NESTING_TOO_DEEP,
                self.span_of(token),
                format!("expression nested more than {MAX_DEPTH} levels deep"),
                "too deep from here on",
            )
            .with_help(
                "split the expression into named parts with `let … in`, or shorten long chains of operators and function applications",
            ),
        );
        self.bailed.set(true);
        // The string swallowed the rest of the file: whatever else is missing is a
        // consequence, so nothing more is reported.
        self.bailed.set(true);
        let end = self.text.len();
        self.last_end.set(end);
        (self.at(end), expr(ExprKind::Error, Span::new(start, end)))
    }

    /// Checks that a chain of `length` operators or arguments fits in the depth limit.
    fn chain_fits(&self, base: usize, length: usize) -> bool {
        base + length < MAX_DEPTH
    }

    // ----- expressions ------------------------------------------------------------

    fn expr_or_missing(&self, i: In<'a>, message: impl FnOnce() -> String) -> (In<'a>, Expr) {
        let token = self.peek(i);
        if starts_expr(token) {
            self.expr(i)
        } else {
            let label = if token.tok == Tok::Eof {
                "expected an expression here, found end of file".to_string()
            } else {
                format!("expected an expression before {}", show(token))
            };
            self.report(self.missing(message(), &label));
            (i, self.error_expr_here())
        }
    }

    /// A full expression (Nix's `expr`): functions, `let`, `if`, `assert`, operators.
    pub fn expr(&self, i: In<'a>) -> (In<'a>, Expr) {
        self.nested(i, |i| self.expr_inner(i), |e| e)
    }

    fn expr_inner(&self, i: In<'a>) -> (In<'a>, Expr) {
        let token = self.peek(i);
        match token.tok {
            Tok::Ident => {
                let after = self.trivia(&i[token.text.len()..]);
                match self.peek(after).tok {
                    Tok::Punct(":") => self.lambda(i, token),
                    Tok::Punct("@") => self.pattern_lambda(i),
                    _ => self.operators(i),
                }
            }
            Tok::Punct("{") if self.looks_like_pattern(i) => self.pattern_lambda(i),
            Tok::Keyword(Keyword::Let) => {
                let after = self.trivia(&i[3..]);
                if self.peek(after).tok == Tok::Punct("{") {
                    self.attr_set(i, token)
                } else {
                    self.let_in(i, token)
                }
            }
            Tok::Keyword(Keyword::If) => self.if_then_else(i, token),
            Tok::Keyword(Keyword::Assert) => self.assert(i, token),
            Tok::Keyword(Keyword::With) => self.with(i, token),
            _ => self.operators(i),
        }
    }

    fn lambda(&self, i: In<'a>, name: Token<'a>) -> (In<'a>, Expr) {
        let param = Ident {
            name: name.text.to_string(),
            span: self.span_of(name),
        };
        let i = self.bump(i, name.text.len());
        let i = self.bump(i, 1);
        let (i, body) =
            self.expr_or_missing(i, || "expected the function body after `:`".to_string());
        let span = param.span.to(body.span);
        (
            i,
            expr(
                ExprKind::Lambda {
                    param: Param::Ident(param),
                    body: Box::new(body),
                },
                span,
            ),
        )
    }

    /// At `{`: decides between an attribute set and a function's argument pattern
    /// by looking at the tokens after the brace, as few as needed.
    fn looks_like_pattern(&self, i: In<'a>) -> bool {
        let after_brace = self.trivia(&i[1..]);
        let first = self.peek(after_brace);
        let after_first = self.trivia(&after_brace[first.text.len()..]);
        let closes_pattern =
            |after_close: In<'a>| matches!(self.peek(after_close).tok, Tok::Punct(":" | "@"));
        match first.tok {
            Tok::Punct("}") => closes_pattern(after_first),
            Tok::Punct("...") => true,
            Tok::Ident => match self.peek(after_first).tok {
                Tok::Punct("," | "?") => true,
                Tok::Punct("}") => closes_pattern(self.trivia(&after_first[1..])),
                _ => false,
            },
            _ => false,
        }
    }

    /// `{ a, b ? d, ... }: body`, `args@{ … }: body` or `{ … }@args: body`.
    fn pattern_lambda(&self, i: In<'a>) -> (In<'a>, Expr) {
        let start = self.offset(i);
        let mut i = i;
        let mut bind = None;
        let mut bind_before = false;
        let token = self.peek(i);
        if token.tok == Tok::Ident {
            bind = Some(Ident {
                name: token.text.to_string(),
                span: self.span_of(token),
            });
            bind_before = true;
            i = self.bump(i, token.text.len());
            i = self.bump(i, 1); // `@`
        }
        let mut entries = Vec::new();
        let mut ellipsis = false;
        if self.peek(i).tok == Tok::Punct("{") {
            let open = self.span_of(self.peek(i));
            i = self.bump(i, 1);
            i = self.pattern_entries(i, &mut entries, &mut ellipsis);
            i = self.expect(i, "}", || {
                self.with_context(
                    self.missing(
                        "expected `}` to close the argument pattern".to_string(),
                        "expected `}` here",
                    ),
                    open,
                    "pattern starts here",
                )
            });
        } else {
            self.report(self.missing(
                "expected `{` after `@`".to_string(),
                "expected an argument pattern `{ … }` here",
            ));
        }
        if !bind_before && self.peek(i).tok == Tok::Punct("@") {
            i = self.bump(i, 1);
            let token = self.peek(i);
            if token.tok == Tok::Ident {
                bind = Some(Ident {
                    name: token.text.to_string(),
                    span: self.span_of(token),
                });
                i = self.bump(i, token.text.len());
            } else {
                self.report(self.missing(
                    "expected a name after `@`".to_string(),
                    "expected a name here",
                ));
            }
        }
        let span = Span::new(start, self.last_end.get());
        i = self.expect(i, ":", || {
            self.missing(
                "expected `:` after the argument pattern".to_string(),
                "expected `:` here",
            )
        });
        let (i, body) =
            self.expr_or_missing(i, || "expected the function body after `:`".to_string());
        let full = Span::new(start, start).to(body.span);
        let param = Param::Pattern {
            entries,
            ellipsis,
            bind,
            bind_before,
            span,
        };
        (
            i,
            expr(
                ExprKind::Lambda {
                    param,
                    body: Box::new(body),
                },
                full,
            ),
        )
    }

    fn pattern_entries(
        &self,
        mut i: In<'a>,
        entries: &mut Vec<PatternEntry>,
        ellipsis: &mut bool,
    ) -> In<'a> {
        loop {
            let token = self.peek(i);
            match token.tok {
                Tok::Punct("}") | Tok::Eof => return i,
                Tok::Punct("...") => {
                    *ellipsis = true;
                    i = self.bump(i, 3);
                    let next = self.peek(i);
                    if next.tok != Tok::Punct("}") {
                        self.report(self.error(
                            codes::UNEXPECTED_TOKEN,
                            self.span_of(next),
                            format!("expected `}}` after `...`, found {}", show(next)),
                            "`...` must be the last thing in the pattern",
                        ));
                        if next.tok == Tok::Punct(",") {
                            i = self.bump(i, 1);
                        }
                    }
                }
                Tok::Ident => {
                    let name = Ident {
                        name: token.text.to_string(),
                        span: self.span_of(token),
                    };
                    i = self.bump(i, token.text.len());
                    let mut default = None;
                    if self.peek(i).tok == Tok::Punct("?") {
                        i = self.bump(i, 1);
                        let (rest, value) = self.expr_or_missing(i, || {
                            format!("expected a default value for `{}` after `?`", name.name)
                        });
                        i = rest;
                        default = Some(value);
                    }
                    entries.push(PatternEntry { name, default });
                    let next = self.peek(i);
                    match next.tok {
                        Tok::Punct(",") => i = self.bump(i, 1),
                        Tok::Punct("}") => {}
                        Tok::Ident | Tok::Punct("...") => self.report(self.missing(
                            "expected `,` between the arguments of the pattern".to_string(),
                            "expected `,` here",
                        )),
                        _ => {
                            self.report(self.error(
                                codes::UNEXPECTED_TOKEN,
                                self.span_of(next),
                                format!("expected `,` or `}}`, found {}", show(next)),
                                "unexpected here",
                            ));
                            i = self.skip_until(i, &[",", "}", ":"]);
                            if self.peek(i).tok == Tok::Punct(",") {
                                i = self.bump(i, 1);
                            }
                        }
                    }
                }
                _ => {
                    self.report(self.error(
                        codes::UNEXPECTED_TOKEN,
                        self.span_of(token),
                        format!(
                            "expected an argument name, `...` or `}}`, found {}",
                            show(token)
                        ),
                        "unexpected here",
                    ));
                    i = self.skip_until(i, &[",", "}", ":"]);
                    if self.peek(i).tok == Tok::Punct(",") {
                        i = self.bump(i, 1);
                    }
                }
            }
        }
    }

    /// Skips at least one token, then tokens up to (not including) one of `stops` at
    /// bracket depth zero, or a closing bracket that would leave the current level.
    fn skip_until(&self, mut i: In<'a>, stops: &[&str]) -> In<'a> {
        let mut depth = 0usize;
        let mut first = true;
        loop {
            let token = self.peek(i);
            match token.tok {
                Tok::Eof => return i,
                Tok::Punct(p) if depth == 0 && !first && stops.contains(&p) => return i,
                Tok::Keyword(Keyword::In) if depth == 0 && !first && stops.contains(&"in") => {
                    return i;
                }
                Tok::Punct("(" | "[" | "{" | "${") | Tok::PathInterpolation => depth += 1,
                Tok::Punct(")" | "]" | "}") => {
                    if depth == 0 {
                        if !first {
                            return i;
                        }
                    } else {
                        depth -= 1;
                    }
                }
                Tok::StrOpen => {
                    i = self.string(i).0;
                    first = false;
                    continue;
                }
                Tok::IndStrOpen => {
                    i = self.indented_string(i).0;
                    first = false;
                    continue;
                }
                _ => {}
            }
            first = false;
            i = self.bump(i, token.text.len());
        }
    }

    fn let_in(&self, i: In<'a>, keyword: Token<'a>) -> (In<'a>, Expr) {
        let let_span = self.span_of(keyword);
        let i = self.bump(i, 3);
        let (mut i, bindings) = self.bindings(i, true);
        let token = self.peek(i);
        if token.tok == Tok::Keyword(Keyword::In) {
            i = self.bump(i, 2);
        } else {
            self.report(self.with_context(
                self.missing(
                    format!(
                        "expected `in` after the bindings of `let`, found {}",
                        show(token)
                    ),
                    "expected `in` here",
                ),
                let_span,
                "this `let`",
            ));
        }
        let (i, body) = self.expr_or_missing(i, || "expected an expression after `in`".to_string());
        let span = let_span.to(body.span);
        (
            i,
            expr(
                ExprKind::Let {
                    bindings,
                    body: Box::new(body),
                },
                span,
            ),
        )
    }

    fn if_then_else(&self, i: In<'a>, keyword: Token<'a>) -> (In<'a>, Expr) {
        let if_span = self.span_of(keyword);
        let i = self.bump(i, 2);
        let (i, cond) = self.expr_or_missing(i, || "expected a condition after `if`".to_string());
        let (i, then) = self.keyword_then_expr(i, Keyword::Then, "then", if_span, "`if`");
        let (i, else_) = self.keyword_then_expr(i, Keyword::Else, "else", if_span, "`if`");
        let span = if_span.to(else_.span);
        (
            i,
            expr(
                ExprKind::If {
                    cond: Box::new(cond),
                    then: Box::new(then),
                    else_: Box::new(else_),
                },
                span,
            ),
        )
    }

    /// `then e` or `else e`: reports a missing keyword and still parses the branch
    /// when one follows.
    fn keyword_then_expr(
        &self,
        mut i: In<'a>,
        keyword: Keyword,
        word: &str,
        owner: Span,
        owner_name: &str,
    ) -> (In<'a>, Expr) {
        let token = self.peek(i);
        if token.tok == Tok::Keyword(keyword) {
            i = self.bump(i, word.len());
        } else {
            self.report(self.with_context(
                self.missing(
                    format!("expected `{word}`, found {}", show(token)),
                    &format!("expected `{word}` here"),
                ),
                owner,
                &format!("this {owner_name}"),
            ));
            if !starts_expr(token) {
                return (i, self.error_expr_here());
            }
        }
        self.expr_or_missing(i, || format!("expected an expression after `{word}`"))
    }

    fn assert(&self, i: In<'a>, keyword: Token<'a>) -> (In<'a>, Expr) {
        let assert_span = self.span_of(keyword);
        let i = self.bump(i, keyword.text.len());
        let (i, cond) =
            self.expr_or_missing(i, || "expected a condition after `assert`".to_string());
        let i = self.expect(i, ";", || {
            self.missing(
                "expected `;` after the condition of `assert`".to_string(),
                "expected `;` here",
            )
        });
        let (i, body) =
            self.expr_or_missing(i, || "expected an expression after `assert …;`".to_string());
        let span = assert_span.to(body.span);
        (
            i,
            expr(
                ExprKind::Assert {
                    cond: Box::new(cond),
                    body: Box::new(body),
                },
                span,
            ),
        )
    }

    /// `with e; body` is parsed so that errors inside it are still reported, but the
    /// whole expression becomes an error node: the names its body uses come from
    /// `e`, which the static checks cannot see, so checking the body would report
    /// every one of them as undefined.
    fn with(&self, i: In<'a>, keyword: Token<'a>) -> (In<'a>, Expr) {
        let with_span = self.span_of(keyword);
        self.report(
            self.error(
                codes::WITH_UNSUPPORTED,
                with_span,
                "`with` is not supported".to_string(),
                "not supported",
            )
            .with_help(
                "`with` hides where names come from; name the attributes you need instead: `let inherit (e) a b; in …`",
            ),
        );
        let i = self.bump(i, keyword.text.len());
        let (i, _scope) =
            self.expr_or_missing(i, || "expected an expression after `with`".to_string());
        let i = self.expect(i, ";", || {
            self.missing(
                "expected `;` after the expression of `with`".to_string(),
                "expected `;` here",
            )
        });
        let (i, body) =
            self.expr_or_missing(i, || "expected an expression after `with …;`".to_string());
        (i, expr(ExprKind::Error, with_span.to(body.span)))
    }

    /// Operators by precedence climbing with explicit stacks, so that long chains
    /// (`a + b + c + …`, `- - - x`) need no recursion.
    fn operators(&self, mut i: In<'a>) -> (In<'a>, Expr) {
        let base = self.depth.get();
        let mut operands: Vec<Expr> = Vec::new();
        let mut pending: Vec<PendingOp> = Vec::new();
        let mut chain = 0usize;
        'operand: loop {
            loop {
                let token = self.peek(i);
                let op = match token.tok {
                    Tok::Punct("-") => UnaryOp::Neg,
                    Tok::Punct("!") => UnaryOp::Not,
                    _ => break,
                };
                chain += 1;
                if !self.chain_fits(base, chain) {
                    let (rest, error) = self.too_deep(i);
                    return (rest, error);
                }
                pending.push(PendingOp::Prefix(op, self.span_of(token)));
                i = self.bump(i, 1);
            }
            self.depth.set(base + chain);
            let (rest, operand) = self.operand(i, pending.last().copied());
            self.depth.set(base);
            i = rest;
            operands.push(operand);
            if self.bailed.get() {
                break;
            }
            loop {
                let token = self.peek(i);
                if token.tok == Tok::Punct("?") {
                    chain += 1;
                    if !self.chain_fits(base, chain) {
                        return self.too_deep(i);
                    }
                    while let Some(&top) = pending.last() {
                        if top.precedence() <= HAS_ATTR_PRECEDENCE {
                            break;
                        }
                        pending.pop();
                        reduce(&mut operands, top);
                    }
                    i = self.bump(i, 1);
                    let (rest, path) = self.attr_path_or_missing(i, "?");
                    i = rest;
                    let lhs = operands.pop().expect("an operand before `?`");
                    let span = Span::new(lhs.span.start as usize, self.last_end.get());
                    let has = if path.is_empty() {
                        expr(ExprKind::Error, span)
                    } else {
                        expr(
                            ExprKind::HasAttr {
                                expr: Box::new(lhs),
                                path,
                            },
                            span,
                        )
                    };
                    operands.push(has);
                    continue;
                }
                let Some(op) = binary_op(token) else {
                    break 'operand;
                };
                chain += 1;
                if !self.chain_fits(base, chain) {
                    return self.too_deep(i);
                }
                let (precedence, assoc) = binary_precedence(op);
                while let Some(&top) = pending.last() {
                    let top_precedence = top.precedence();
                    let reduce_top = top_precedence > precedence
                        || (top_precedence == precedence && assoc != Assoc::Right);
                    if !reduce_top {
                        break;
                    }
                    if let PendingOp::Binary(top_op, _) = top
                        && top_precedence == precedence
                        && assoc == Assoc::None
                    {
                        self.report(
                            self.error(
                                codes::UNEXPECTED_TOKEN,
                                self.span_of(token),
                                format!(
                                    "`{}` cannot follow `{}` without parentheses",
                                    op.symbol(),
                                    top_op.symbol()
                                ),
                                "comparisons do not chain",
                            )
                            .with_help("add parentheses to say which comparison comes first"),
                        );
                    }
                    pending.pop();
                    reduce(&mut operands, top);
                }
                pending.push(PendingOp::Binary(op, self.span_of(token)));
                i = self.bump(i, token.text.len());
                continue 'operand;
            }
        }
        while let Some(top) = pending.pop() {
            reduce(&mut operands, top);
        }
        let result = operands.pop().expect("at least one operand");
        (i, result)
    }

    /// The operand of an operator: an application, or a report of what is missing.
    fn operand(&self, i: In<'a>, after: Option<PendingOp>) -> (In<'a>, Expr) {
        let token = self.peek(i);
        if starts_operand(token) {
            return self.application(i);
        }
        if starts_compound(token) {
            self.report_needs_parentheses(token);
            return self.expr(i);
        }
        let symbol = match after {
            Some(PendingOp::Prefix(UnaryOp::Neg, _)) => "-",
            Some(PendingOp::Prefix(UnaryOp::Not, _)) => "!",
            Some(PendingOp::Binary(op, _)) => op.symbol(),
            None => "",
        };
        let label = format!("expected an expression before {}", show(token));
        self.report(self.missing(format!("expected an expression after `{symbol}`"), &label));
        (i, self.error_expr_here())
    }

    fn report_needs_parentheses(&self, token: Token<'a>) {
        self.report(
            self.error(
                codes::UNEXPECTED_TOKEN,
                self.span_of(token),
                format!("{} cannot appear here without parentheses", show(token)),
                "needs parentheses",
            )
            .with_help(format!(
                "put the `{}` expression in parentheses: `({} …)`",
                token.text, token.text
            )),
        );
    }

    /// Function application by juxtaposition: `f a b` (left-associative).
    fn application(&self, i: In<'a>) -> (In<'a>, Expr) {
        let base = self.depth.get();
        let (mut i, mut func) = self.select(i);
        let mut arguments = 0usize;
        loop {
            let token = self.peek(i);
            if starts_operand(token) {
                arguments += 1;
                if !self.chain_fits(base, arguments) {
                    return self.too_deep(i);
                }
                self.depth.set(base + arguments);
                let (rest, arg) = self.select(i);
                self.depth.set(base);
                i = rest;
                let span = func.span.to(arg.span);
                func = expr(
                    ExprKind::Apply {
                        func: Box::new(func),
                        arg: Box::new(arg),
                    },
                    span,
                );
            } else if token.tok == Tok::Keyword(Keyword::Or) {
                self.report(
                    self.error(
                        codes::UNEXPECTED_TOKEN,
                        self.span_of(token),
                        "`or` can only follow an attribute selection".to_string(),
                        "unexpected `or`",
                    )
                    .with_help("write `e.name or default`; `||` is the boolean or"),
                );
                i = self.bump(i, 2);
            } else {
                return (i, func);
            }
        }
    }

    /// `e`, `e.a.b` or `e.a.b or default` (Nix's `expr_select`).
    pub fn select(&self, i: In<'a>) -> (In<'a>, Expr) {
        self.nested(i, |i| self.select_inner(i), |e| e)
    }

    fn select_inner(&self, i: In<'a>) -> (In<'a>, Expr) {
        let (mut i, target) = self.simple(i);
        let token = self.peek(i);
        if token.tok == Tok::Keyword(Keyword::Or) {
            // Nix's grammar keeps this for a function once named `or`: `e or`
            // applies `e` to the variable `or` (`map or [ … ]`).
            let or = Ident {
                name: "or".to_owned(),
                span: self.span_of(token),
            };
            let span = target.span.to(or.span);
            let arg = expr(ExprKind::Var(or), self.span_of(token));
            return (
                self.bump(i, token.text.len()),
                expr(
                    ExprKind::Apply {
                        func: Box::new(target),
                        arg: Box::new(arg),
                    },
                    span,
                ),
            );
        }
        if token.tok != Tok::Punct(".") {
            return (i, target);
        }
        i = self.bump(i, 1);
        let (rest, path) = self.attr_path_or_missing(i, ".");
        i = rest;
        let mut default = None;
        if self.peek(i).tok == Tok::Keyword(Keyword::Or) {
            i = self.bump(i, 2);
            let token = self.peek(i);
            if starts_operand(token) {
                let (rest, value) = self.select(i);
                i = rest;
                default = Some(Box::new(value));
            } else {
                self.report(self.missing(
                    "expected a default value after `or`".to_string(),
                    "expected a value here",
                ));
                default = Some(Box::new(self.error_expr_here()));
            }
        }
        let span = Span::new(target.span.start as usize, self.last_end.get());
        if path.is_empty() {
            return (i, expr(ExprKind::Error, span));
        }
        (
            i,
            expr(
                ExprKind::Select {
                    expr: Box::new(target),
                    path,
                    default,
                },
                span,
            ),
        )
    }

    fn attr_path_or_missing(&self, i: In<'a>, after: &str) -> (In<'a>, Vec<AttrName>) {
        if starts_attr(self.peek(i)) {
            self.attr_path(i)
        } else {
            self.report(self.missing(
                format!("expected an attribute name after `{after}`"),
                "expected an attribute name here",
            ));
            (i, Vec::new())
        }
    }

    /// `a.b."c".${d}`; the input starts with an attribute name.
    fn attr_path(&self, i: In<'a>) -> (In<'a>, Vec<AttrName>) {
        let (mut i, first) = self.attr_name(i);
        let mut path = vec![first];
        while self.peek(i).tok == Tok::Punct(".") {
            i = self.bump(i, 1);
            if !starts_attr(self.peek(i)) {
                self.report(self.missing(
                    "expected an attribute name after `.`".to_string(),
                    "expected an attribute name here",
                ));
                break;
            }
            let (rest, name) = self.attr_name(i);
            i = rest;
            path.push(name);
        }
        (i, path)
    }

    fn attr_name(&self, i: In<'a>) -> (In<'a>, AttrName) {
        let token = self.peek(i);
        match token.tok {
            Tok::StrOpen => {
                let (i, string) = self.string(i);
                (i, AttrName::Str(string))
            }
            Tok::Punct("${") => {
                let open = self.span_of(token);
                let i = self.bump(i, 2);
                let (i, inner) =
                    self.expr_or_missing(i, || "expected an expression after `${`".to_string());
                let i = self.expect(i, "}", || {
                    self.with_context(
                        self.missing(
                            "expected `}` to close `${`".to_string(),
                            "expected `}` here",
                        ),
                        open,
                        "opened here",
                    )
                });
                (i, dynamic_attr_name(inner))
            }
            // An identifier or `or`, which Nix allows as an attribute name.
            _ => (
                self.bump(i, token.text.len()),
                AttrName::Ident(Ident {
                    name: token.text.to_string(),
                    span: self.span_of(token),
                }),
            ),
        }
    }

    /// Nix's `expr_simple`: literals, variables, parentheses, lists, sets.
    ///
    /// Each case is its own method: this one is on every level of recursion, and
    /// keeping its stack frame small is what lets deep nesting fit the stack.
    fn simple(&self, i: In<'a>) -> (In<'a>, Expr) {
        let token = self.peek(i);
        match token.tok {
            Tok::Ident => self.variable(i, token),
            Tok::Int => self.integer(i, token),
            Tok::Path => {
                let span = self.span_of(token);
                let path = ExprKind::Path(token.text.to_string());
                (self.bump(i, token.text.len()), expr(path, span))
            }
            Tok::PathInterpolation => self.path_interpolation(i, token),
            Tok::StrOpen => self.string(i),
            Tok::IndStrOpen => self.indented_string(i),
            Tok::Punct("(") => self.parenthesized(i, self.span_of(token)),
            Tok::Punct("[") => self.list(i, self.span_of(token)),
            Tok::Punct("{") | Tok::Keyword(Keyword::Rec | Keyword::Let) => self.attr_set(i, token),
            _ => self.bad_literal(i, token),
        }
    }

    fn variable(&self, i: In<'a>, token: Token<'a>) -> (In<'a>, Expr) {
        let span = self.span_of(token);
        let kind = if token.text == "__curPos" {
            self.report(
                self.error(
                    codes::UNSUPPORTED_SYNTAX,
                    span,
                    "`__curPos` is not supported".to_string(),
                    "not supported",
                )
                .with_help("hac has no source-position values; remove it"),
            );
            ExprKind::Error
        } else {
            ExprKind::Var(Ident {
                name: token.text.to_string(),
                span,
            })
        };
        (self.bump(i, token.text.len()), expr(kind, span))
    }

    fn integer(&self, i: In<'a>, token: Token<'a>) -> (In<'a>, Expr) {
        let span = self.span_of(token);
        let kind = match token.text.parse::<i64>() {
            Ok(value) => ExprKind::Int(value),
            Err(_) => {
                self.report(
                    self.error(
                        codes::INTEGER_TOO_LARGE,
                        span,
                        format!("integer `{}` does not fit in 64 bits", token.text),
                        "too large",
                    )
                    .with_help(format!(
                        "integers range from {} to {}; write the smallest as `{} - 1`",
                        i64::MIN,
                        i64::MAX,
                        -i64::MAX
                    )),
                );
                ExprKind::Error
            }
        };
        (self.bump(i, token.text.len()), expr(kind, span))
    }

    /// Tokens that look like literals but are outside the language.
    fn bad_literal(&self, i: In<'a>, token: Token<'a>) -> (In<'a>, Expr) {
        let mut span = self.span_of(token);
        let mut text = token.text;
        let diagnostic = match token.tok {
            Tok::Float if dotted_run_len(i) > text.len() => {
                // `10.0.0.21` or `1.36.1` lexes as several floats; one error covers it.
                text = &i[..dotted_run_len(i)];
                span = Span::new(span.start as usize, span.start as usize + text.len());
                self.error(
                    codes::FLOAT_UNSUPPORTED,
                    span,
                    format!("unquoted `{text}` is not a number"),
                    "an address or version must be a string",
                )
                .with_help(format!("write it as a string: `\"{text}\"`"))
            }
            Tok::Float => self
                .error(
                    codes::FLOAT_UNSUPPORTED,
                    span,
                    format!("floating-point number `{text}` is not supported"),
                    "a floating-point number",
                )
                .with_help(format!(
                    "hac has integers only; use an integer, or a string such as `\"{text}\"`"
                )),
            Tok::PathTrailingSlash => self
                .error(
                    codes::UNEXPECTED_TOKEN,
                    span,
                    format!("path `{text}` ends with a slash"),
                    "trailing `/`",
                )
                .with_help(format!(
                    "remove the trailing slash: `{}`",
                    text.trim_end_matches('/')
                )),
            Tok::HomePath => self
                .error(
                    codes::UNSUPPORTED_SYNTAX,
                    span,
                    format!("home-relative path `{text}` is not supported"),
                    "not supported",
                )
                .with_help(
                    "hac reads only files of the project; use a path relative to this file, like `./file.hac`",
                ),
            Tok::SearchPath => self
                .error(
                    codes::UNSUPPORTED_SYNTAX,
                    span,
                    format!("search path `{text}` is not supported"),
                    "not supported",
                )
                .with_help(
                    "hac reads only files of the project; import them by relative path, like `./lib.hac`",
                ),
            Tok::Uri => self
                .error(
                    codes::UNSUPPORTED_SYNTAX,
                    span,
                    format!("unquoted URI `{text}` is not supported"),
                    "not supported",
                )
                .with_help(format!(
                    "write it as a string: `\"{text}\"`; if you meant a function, put a space after the `:`"
                )),
            _ => {
                // Callers check `starts_operand` first; stay total anyway.
                self.report(self.missing(
                    format!("expected an expression, found {}", show(token)),
                    "expected an expression here",
                ));
                return (i, self.error_expr_here());
            }
        };
        self.report(diagnostic);
        (self.bump(i, text.len()), expr(ExprKind::Error, span))
    }

    /// `{ … }`, `rec { … }`, or the obsolete `let { … }`.
    fn attr_set(&self, i: In<'a>, token: Token<'a>) -> (In<'a>, Expr) {
        let start = self.offset(i);
        let (i, recursive) = match token.tok {
            Tok::Keyword(Keyword::Rec) => (self.bump(i, 3), true),
            Tok::Keyword(Keyword::Let) => {
                self.report(
                    self.error(
                        codes::UNSUPPORTED_SYNTAX,
                        self.span_of(token),
                        "the old `let { … }` syntax is not supported".to_string(),
                        "obsolete syntax",
                    )
                    .with_help("write `let a = …; in a` instead of `let { a = …; body = a; }`"),
                );
                (self.bump(i, 3), false)
            }
            _ => (i, false),
        };
        let brace = self.peek(i);
        if brace.tok != Tok::Punct("{") {
            self.report(self.missing(
                format!("expected `{{` after `rec`, found {}", show(brace)),
                "expected `{` here",
            ));
            return (i, expr(ExprKind::Error, self.span_of(token)));
        }
        let (i, bindings) = self.braced_bindings(i, self.span_of(brace));
        let span = Span::new(start, self.last_end.get());
        let kind = if token.tok == Tok::Keyword(Keyword::Let) {
            ExprKind::Error
        } else {
            ExprKind::AttrSet {
                recursive,
                bindings,
            }
        };
        (i, expr(kind, span))
    }

    fn parenthesized(&self, i: In<'a>, open: Span) -> (In<'a>, Expr) {
        let i = self.bump(i, 1);
        let (i, inner) = self.expr_or_missing(i, || "expected an expression after `(`".to_string());
        let i = self.expect(i, ")", || {
            self.with_context(
                self.missing("expected `)`".to_string(), "expected `)` here"),
                open,
                "to close this `(`",
            )
        });
        let span = Span::new(open.start as usize, self.last_end.get());
        (i, expr(ExprKind::Paren(Box::new(inner)), span))
    }

    fn list(&self, i: In<'a>, open: Span) -> (In<'a>, Expr) {
        let mut i = self.bump(i, 1);
        let mut items = Vec::new();
        loop {
            let token = self.peek(i);
            if token.tok == Tok::Punct("]") {
                i = self.bump(i, 1);
                break;
            }
            if starts_operand(token) {
                let (rest, item) = self.select(i);
                i = rest;
                items.push(item);
            } else if starts_compound(token) {
                self.report_needs_parentheses(token);
                let (rest, item) = self.expr(i);
                i = rest;
                items.push(item);
            } else if is_closer(token) && token.tok != Tok::Punct(",") {
                self.report(self.with_context(
                    self.missing(
                        format!("expected `]`, found {}", show(token)),
                        "expected `]` here",
                    ),
                    open,
                    "to close this `[`",
                ));
                break;
            } else {
                let mut diagnostic = self.error(
                    codes::UNEXPECTED_TOKEN,
                    self.span_of(token),
                    format!("unexpected {} in a list", show(token)),
                    "unexpected here",
                );
                if token.tok == Tok::Punct("-") {
                    diagnostic = diagnostic
                        .with_help("a negative number in a list needs parentheses: `[ (-1) ]`");
                } else if binary_op(token).is_some() || token.tok == Tok::Punct("?") {
                    diagnostic = diagnostic.with_help(
                        "list elements are separated by spaces, so an operation in a list needs parentheses: `[ (a + b) ]`",
                    );
                } else if token.tok == Tok::Punct(",") {
                    diagnostic =
                        diagnostic.with_help("list elements are separated by spaces, not commas");
                }
                self.report(diagnostic);
                i = self.bump(i, token.text.len());
            }
        }
        let span = Span::new(open.start as usize, self.last_end.get());
        (i, expr(ExprKind::List(items), span))
    }

    /// `{ bindings }`, the input at `{`.
    fn braced_bindings(&self, i: In<'a>, open: Span) -> (In<'a>, Vec<Binding>) {
        let i = self.bump(i, 1);
        let (i, bindings) = self.bindings(i, false);
        let i = self.expect(i, "}", || {
            self.with_context(
                self.missing(
                    format!("expected `}}`, found {}", show(self.peek(i))),
                    "expected `}` here",
                ),
                open,
                "to close this `{`",
            )
        });
        (i, bindings)
    }

    /// Bindings up to `}` (or `in` for `let`), resynchronising after errors.
    fn bindings(&self, mut i: In<'a>, is_let: bool) -> (In<'a>, Vec<Binding>) {
        let mut bindings = Vec::new();
        loop {
            let token = self.peek(i);
            match token.tok {
                Tok::Eof | Tok::Punct("}") => break,
                Tok::Keyword(Keyword::In) if is_let => break,
                Tok::Keyword(Keyword::Inherit) => {
                    let (rest, binding) = self.inherit(i, token, is_let);
                    i = rest;
                    bindings.push(binding);
                }
                Tok::Ident if is_let && self.is_let_body(i, token) => break,
                _ if starts_attr(token) => {
                    let (rest, binding) = self.attr_binding(i, is_let);
                    i = rest;
                    bindings.push(binding);
                }
                _ => {
                    let expected = if is_let {
                        "an attribute name, `inherit` or `in`"
                    } else {
                        "an attribute name, `inherit` or `}`"
                    };
                    self.report(self.error(
                        codes::UNEXPECTED_TOKEN,
                        self.span_of(token),
                        format!("expected {expected}, found {}", show(token)),
                        "unexpected here",
                    ));
                    i = self.skip_binding(i, is_let);
                }
            }
        }
        (i, bindings)
    }

    /// In `let a = 1; a` the `in` is missing: a name followed by neither `=` nor `.`
    /// is the body, not another binding.
    fn is_let_body(&self, i: In<'a>, name: Token<'a>) -> bool {
        let after = self.trivia(&i[name.text.len()..]);
        !matches!(self.peek(after).tok, Tok::Punct("=" | "."))
    }

    /// Skips to just after the next `;`, or to the end of the bindings.
    fn skip_binding(&self, i: In<'a>, is_let: bool) -> In<'a> {
        let stops: &[&str] = if is_let { &[";", "in"] } else { &[";"] };
        let i = self.skip_until(i, stops);
        if self.peek(i).tok == Tok::Punct(";") {
            self.bump(i, 1)
        } else {
            i
        }
    }

    fn attr_binding(&self, i: In<'a>, is_let: bool) -> (In<'a>, Binding) {
        let start = self.offset(i);
        let (mut i, path) = self.attr_path(i);
        let path_span = path[0].span().to(path[path.len() - 1].span());
        let path_text = &self.text[path_span.range()];
        if is_let {
            for name in &path {
                if let AttrName::Dynamic(inner) = name {
                    self.report(
                        self.error(
                            codes::UNSUPPORTED_SYNTAX,
                            inner.span,
                            "dynamic attribute names are not allowed in `let`".to_string(),
                            "dynamic name",
                        )
                        .with_help("`let` bindings need names known before evaluation"),
                    );
                }
            }
        }
        let token = self.peek(i);
        let value;
        if token.tok == Tok::Punct("=") {
            i = self.bump(i, 1);
            let (rest, parsed) = self.expr_or_missing(i, || {
                format!("expected a value for `{path_text}` after `=`")
            });
            i = rest;
            value = parsed;
        } else {
            self.report(self.missing(
                format!("expected `=` after `{path_text}`, found {}", show(token)),
                "expected `=` here",
            ));
            if starts_expr(token) {
                let (rest, parsed) = self.expr(i);
                i = rest;
                value = parsed;
            } else {
                value = self.error_expr_here();
                i = self.skip_binding(i, is_let);
                let span = Span::new(start, self.last_end.get());
                return (i, Binding::Attr { path, value, span });
            }
        }
        let (i, value) = self.binding_end(i, value, path_text, is_let);
        let span = Span::new(start, self.last_end.get());
        (i, Binding::Attr { path, value, span })
    }

    /// The `;` after a binding's value. When it is missing and the value swallowed
    /// the next binding's name (`b = 2 c = 3;` reads as `b = 2 c`), gives the name
    /// back so the next binding parses normally.
    fn binding_end(&self, i: In<'a>, value: Expr, path_text: &str, is_let: bool) -> (In<'a>, Expr) {
        let token = self.peek(i);
        if token.tok == Tok::Punct(";") {
            return (self.bump(i, 1), value);
        }
        let (i, value) = match (token.tok, value) {
            (
                Tok::Punct("="),
                Expr {
                    kind: ExprKind::Apply { func, arg },
                    ..
                },
            ) if looks_like_attr_path(&arg) => {
                self.last_end.set(func.span.end as usize);
                (self.at(arg.span.start as usize), *func)
            }
            (_, value) => (i, value),
        };
        self.report(self.missing(
            format!("expected `;` after the value of `{path_text}`"),
            "expected `;` here",
        ));
        let next = self.peek(i);
        let resumes = next.tok == Tok::Eof
            || next.tok == Tok::Punct("}")
            || next.tok == Tok::Keyword(Keyword::Inherit)
            || (is_let && next.tok == Tok::Keyword(Keyword::In))
            || starts_attr(next);
        if resumes {
            (i, value)
        } else {
            (self.skip_binding(i, is_let), value)
        }
    }

    fn inherit(&self, i: In<'a>, keyword: Token<'a>, is_let: bool) -> (In<'a>, Binding) {
        let start = self.offset(i);
        let mut i = self.bump(i, keyword.text.len());
        let mut from = None;
        let token = self.peek(i);
        if token.tok == Tok::Punct("(") {
            let open = self.span_of(token);
            i = self.bump(i, 1);
            let (rest, source) =
                self.expr_or_missing(i, || "expected an expression after `inherit (`".to_string());
            i = self.expect(rest, ")", || {
                self.with_context(
                    self.missing("expected `)`".to_string(), "expected `)` here"),
                    open,
                    "to close this `(`",
                )
            });
            from = Some(Box::new(source));
        }
        let mut names = Vec::new();
        loop {
            let token = self.peek(i);
            match token.tok {
                Tok::Punct(";") => {
                    i = self.bump(i, 1);
                    break;
                }
                Tok::Ident | Tok::Keyword(Keyword::Or) => {
                    names.push(Ident {
                        name: token.text.to_string(),
                        span: self.span_of(token),
                    });
                    i = self.bump(i, token.text.len());
                }
                Tok::StrOpen | Tok::Punct("${") => {
                    let (rest, name) = self.attr_name(i);
                    i = rest;
                    match name.static_name() {
                        Some(text) => names.push(Ident {
                            name: text.to_string(),
                            span: name.span(),
                        }),
                        None => self.report(
                            self.error(
                                codes::UNSUPPORTED_SYNTAX,
                                name.span(),
                                "dynamic attribute names are not allowed in `inherit`".to_string(),
                                "dynamic name",
                            )
                            .with_help("write `name = expression;` instead"),
                        ),
                    }
                }
                _ => {
                    if token.tok == Tok::Punct("=")
                        && let Some(last) = names.pop()
                    {
                        // `inherit a b` + newline + `c = 1;`: `c` starts the next binding.
                        i = self.at(last.span.start as usize);
                        self.last_end.set(
                            names
                                .last()
                                .map_or(self.offset(keyword.text) + keyword.text.len(), |n| {
                                    n.span.end as usize
                                }),
                        );
                    }
                    self.report(self.missing(
                        "expected `;` after `inherit`".to_string(),
                        "expected `;` here",
                    ));
                    let next = self.peek(i);
                    if !(is_closer(next)
                        || starts_attr(next)
                        || next.tok == Tok::Keyword(Keyword::In))
                    {
                        i = self.skip_binding(i, is_let);
                    }
                    break;
                }
            }
        }
        let span = Span::new(start, self.last_end.get());
        (i, Binding::Inherit { from, names, span })
    }

    fn path_interpolation(&self, i: In<'a>, token: Token<'a>) -> (In<'a>, Expr) {
        let start = self.offset(i);
        // Parse the interpolations anyway so errors inside them are reported and
        // the parser stays in step with the text.
        let mut rest = self.bump(i, token.text.len());
        loop {
            let (after, _) =
                self.expr_or_missing(rest, || "expected an expression after `${`".to_string());
            if self.peek(after).tok != Tok::Punct("}") {
                self.report(self.missing(
                    "expected `}` to close `${`".to_string(),
                    "expected `}` here",
                ));
                rest = after;
                break;
            }
            let after = self.bump_raw(after, 1);
            let run = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || "._-+/".contains(c)))
                .unwrap_or(after.len());
            let after = self.bump_raw(after, run);
            if after.starts_with("${") {
                rest = self.bump(after, 2);
            } else {
                rest = self.trivia(after);
                break;
            }
        }
        let span = Span::new(start, self.last_end.get());
        self.report(
            self.error(
                codes::UNSUPPORTED_SYNTAX,
                span,
                "interpolation in a path is not supported".to_string(),
                "path with `${…}`",
            )
            .with_help(
                "hac paths are fixed when written; choose between fixed paths with `if`, or use a string",
            ),
        );
        (rest, expr(ExprKind::Error, span))
    }

    // ----- strings ----------------------------------------------------------------

    /// `"…"`, the input at the opening quote.
    pub fn string(&self, i: In<'a>) -> (In<'a>, Expr) {
        use nom::Parser as _;
        use nom::bytes::complete::take_till1;
        let start = self.offset(i);
        let mut rest = &i[1..];
        let mut parts = Vec::new();
        let mut literal = String::new();
        loop {
            if let Ok((after, chunk)) =
                take_till1::<_, _, ()>(|c| matches!(c, '"' | '\\' | '$')).parse(rest)
            {
                // Nix reads a carriage return (alone or before a newline) as a newline.
                literal.push_str(&chunk.replace("\r\n", "\n").replace('\r', "\n"));
                rest = after;
                continue;
            }
            let mut chars = rest.chars();
            match chars.next() {
                None => return self.unterminated(start, 1, "\""),
                Some('"') => {
                    super::indent::push_literal(&mut parts, literal);
                    let i = self.bump(rest, 1);
                    let span = Span::new(start, self.last_end.get());
                    if self.text[span.range()].contains('\n') {
                        self.last_multiline_string.set(Some(span));
                    }
                    return (
                        i,
                        expr(
                            ExprKind::Str {
                                parts,
                                indented: false,
                            },
                            span,
                        ),
                    );
                }
                Some('\\') => {
                    let Some(escaped) = chars.next() else {
                        return self.unterminated(start, 1, "\"");
                    };
                    let len = 1 + escaped.len_utf8();
                    match escaped {
                        'n' => literal.push('\n'),
                        'r' => literal.push('\r'),
                        't' => literal.push('\t'),
                        '\\' | '"' | '$' => literal.push(escaped),
                        _ => {
                            let escape_start = self.offset(rest);
                            self.report(self.invalid_escape(
                                Span::new(escape_start, escape_start + len),
                                escaped,
                            ));
                            literal.push(escaped);
                        }
                    }
                    rest = &rest[len..];
                }
                Some(_dollar) => {
                    if rest.starts_with("${") {
                        super::indent::push_literal(&mut parts, std::mem::take(&mut literal));
                        let (after, inner) = self.interpolation(rest);
                        parts.push(StrPart::Interpolation(inner));
                        rest = after;
                    } else if rest.starts_with("$$") {
                        // As in Nix, `$$` is two dollars and keeps a following `{` literal.
                        literal.push_str("$$");
                        rest = &rest[2..];
                    } else {
                        literal.push('$');
                        rest = &rest[1..];
                    }
                }
            }
        }
    }

    fn invalid_escape(&self, span: Span, escaped: char) -> Diagnostic {
        let shown = escaped.escape_debug();
        self.error(
            codes::INVALID_ESCAPE,
            span,
            format!("invalid escape sequence `\\{shown}`"),
            "not a known escape",
        )
        .with_help(format!(
            "the escapes are `\\n`, `\\r`, `\\t`, `\\\\`, `\\\"` and `\\$`; write `{shown}` without the backslash"
        ))
    }

    /// `${ e }` inside a string, the input at `$`. Returns the input right after `}`
    /// (string text, so no trivia skipped).
    fn interpolation(&self, rest: In<'a>) -> (In<'a>, Expr) {
        let open = Span::new(self.offset(rest), self.offset(rest) + 2);
        let after_open = self.bump(rest, 2);
        let (after, inner) = self.expr_or_missing(after_open, || {
            "expected an expression after `${`".to_string()
        });
        if self.peek(after).tok == Tok::Punct("}") {
            (self.bump_raw(after, 1), inner)
        } else {
            self.report(self.with_context(
                self.missing(
                    "expected `}` to close `${`".to_string(),
                    "expected `}` here",
                ),
                open,
                "opened here",
            ));
            (after, inner)
        }
    }

    fn unterminated(&self, start: usize, quote_len: usize, quote: &str) -> (In<'a>, Expr) {
        let diagnostic = self.error(
            codes::UNTERMINATED_STRING,
            Span::new(start, start + quote_len),
            "unterminated string".to_string(),
            "this string is never closed",
        );
        let diagnostic = match self.last_multiline_string.get() {
            // `a = "x;⏎ b = "y";` pairs the quotes wrongly: the `"` at `y` opens the
            // string that never closes, but the fix is after `x`.
            Some(earlier) if quote == "\"" => {
                let first_line = self.text[earlier.range()].find('\n').unwrap_or(0);
                let first_line =
                    Span::new(earlier.start as usize, earlier.start as usize + first_line);
                self.with_context(
                    diagnostic,
                    first_line,
                    "this string runs on to the next line: is its closing `\"` missing?",
                )
                .with_help(
                    "add the missing `\"`; strings may span lines, so the one that lost its closing quote can be an earlier one",
                )
            }
            _ => diagnostic.with_help(format!(
                "add a closing `{quote}` where the string should end"
            )),
        };
        self.report(diagnostic);
        // The string swallowed the rest of the file: whatever else is missing is a
        // consequence, so nothing more is reported.
        self.bailed.set(true);
        let end = self.text.len();
        self.last_end.set(end);
        (self.at(end), expr(ExprKind::Error, Span::new(start, end)))
    }

    /// `''…''`, the input at the opening quotes. Splits the text the way Nix's lexer
    /// does (see [`super::indent`]) and strips the indentation.
    pub fn indented_string(&self, i: In<'a>) -> (In<'a>, Expr) {
        use super::indent::IndPiece;
        let start = self.offset(i);
        let mut rest = &i[2..];
        // Spaces and a newline right after the opening quotes are not part of the text.
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        if rest[spaces..].starts_with('\n') {
            rest = &rest[spaces + 1..];
        }
        let text = |s: &str, has_indentation| IndPiece::Text {
            text: s.to_string(),
            has_indentation,
        };
        let mut pieces = Vec::new();
        loop {
            let bytes = rest.as_bytes();
            match bytes {
                [] => return self.unterminated(start, 2, "''"),
                [b'\'', b'\'', b'$', ..] => {
                    pieces.push(text("$", false));
                    rest = &rest[3..];
                }
                [b'\'', b'\'', b'\'', ..] => {
                    pieces.push(text("''", false));
                    rest = &rest[3..];
                }
                [b'\'', b'\'', b'\\', ..] if rest.len() > 3 => {
                    let escaped = rest[3..].chars().next().expect("not at the end");
                    let decoded = match escaped {
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        other => other,
                    };
                    pieces.push(IndPiece::Text {
                        text: decoded.to_string(),
                        has_indentation: false,
                    });
                    rest = &rest[3 + escaped.len_utf8()..];
                }
                [b'\'', b'\'', ..] => {
                    let i = self.bump(rest, 2);
                    let span = Span::new(start, self.last_end.get());
                    let parts = super::indent::strip_indentation(pieces);
                    return (
                        i,
                        expr(
                            ExprKind::Str {
                                parts,
                                indented: true,
                            },
                            span,
                        ),
                    );
                }
                [b'$', b'{', ..] => {
                    let (after, inner) = self.interpolation(rest);
                    pieces.push(IndPiece::Interpolation(inner));
                    rest = after;
                }
                [b'$'] | [b'$', b'\'', ..] => {
                    pieces.push(text("$", false));
                    rest = &rest[1..];
                }
                [b'\''] | [b'\'', b'$', ..] => {
                    pieces.push(text("'", false));
                    rest = &rest[1..];
                }
                _ => {
                    let len = indented_run(bytes);
                    pieces.push(text(&rest[..len], true));
                    rest = &rest[len..];
                }
            }
        }
    }
}

/// The longest run matching Nix's `([^$']|\$[^{']|'[^'$])+` at the start of `bytes`
/// (at least one byte: callers have handled every other case).
fn indented_run(bytes: &[u8]) -> usize {
    let mut j = 0;
    while j < bytes.len() {
        match bytes[j] {
            b'$' => match bytes.get(j + 1) {
                Some(b'{' | b'\'') | None => break,
                Some(_) => j += 2,
            },
            b'\'' => match bytes.get(j + 1) {
                Some(b'\'' | b'$') | None => break,
                Some(_) => j += 2,
            },
            _ => j += 1,
        }
    }
    // The pair rules can step into the middle of a multi-byte character; the run
    // always continues to the end of it, since only ASCII stops it.
    j.max(1)
}

/// `${"a"}` and `${ ("a") }` name a static attribute in Nix, exactly like `"a"`.
fn dynamic_attr_name(inner: Expr) -> AttrName {
    let mut unwrapped = &inner;
    while let ExprKind::Paren(e) = &unwrapped.kind {
        unwrapped = e;
    }
    if let ExprKind::Str { parts, .. } = &unwrapped.kind
        && parts.iter().all(|p| matches!(p, StrPart::Literal(_)))
    {
        return AttrName::Str(unwrapped.clone());
    }
    AttrName::Dynamic(inner)
}

/// The length of a run of digits with two or more dots at the start of `i`, such as
/// `10.0.0.21` or `1.36.1`, or 0 when `i` does not start with one.
fn dotted_run_len(i: &str) -> usize {
    let bytes = i.as_bytes();
    let digits_from = |at: usize| {
        bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut end = digits_from(0);
    if end == 0 {
        return 0;
    }
    let mut dots = 0;
    while end < bytes.len() && bytes[end] == b'.' {
        let more = digits_from(end + 1);
        if more == 0 {
            break;
        }
        end += 1 + more;
        dots += 1;
    }
    if dots >= 2 { end } else { 0 }
}

/// An expression that, followed by `=`, was really the next binding's name.
fn looks_like_attr_path(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Var(_) | ExprKind::Str { .. } => true,
        ExprKind::Select {
            expr,
            default: None,
            ..
        } => matches!(expr.kind, ExprKind::Var(_) | ExprKind::Str { .. }),
        _ => false,
    }
}

fn reduce(operands: &mut Vec<Expr>, op: PendingOp) {
    match op {
        PendingOp::Prefix(op, op_span) => {
            let operand = operands.pop().expect("operand for a prefix operator");
            let span = op_span.to(operand.span);
            operands.push(expr(
                ExprKind::Unary {
                    op,
                    op_span,
                    expr: Box::new(operand),
                },
                span,
            ));
        }
        PendingOp::Binary(op, op_span) => {
            let rhs = operands.pop().expect("right operand");
            let lhs = operands.pop().expect("left operand");
            let span = lhs.span.to(rhs.span);
            operands.push(expr(
                ExprKind::Binary {
                    op,
                    op_span,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            ));
        }
    }
}
