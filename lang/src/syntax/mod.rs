//! The parser: text to [`ast::Expr`], with every independent syntax error reported.
//!
//! [`lexical`] recognises tokens (nom parsers over `&str`), [`parser`] is the grammar
//! with error recovery, [`indent`] strips the indentation of `''…''` strings exactly
//! as Nix does.
//!
//! [`ast::Expr`]: crate::ast::Expr

mod indent;
mod lexical;
mod parser;
mod stack;
#[cfg(test)]
mod tests;

use crate::ast::{Comment, Expr};
use crate::diagnostic::Diagnostic;
use crate::span::FileId;

pub(crate) use lexical::{is_ident_char, is_ident_start};
pub use parser::MAX_DEPTH;
pub use stack::with_parser_stack;

/// The result of parsing one file. There is always a tree; failed parts are
/// [`crate::ast::ExprKind::Error`] nodes, reported in `diagnostics`.
#[derive(Debug, Clone)]
pub struct Parse {
    pub expr: Expr,
    pub comments: Vec<Comment>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn parse(file: FileId, text: &str) -> Parse {
    with_parser_stack(|| parse_here(file, text))
}

/// [`parse`] on the current thread's stack.
fn parse_here(file: FileId, text: &str) -> Parse {
    let parser = parser::Parser::new(file, text);
    let expr = parser.file();
    let (comments, diagnostics) = parser.finish();
    Parse {
        expr,
        comments,
        diagnostics,
    }
}
