//! The formatter behind `hac fmt` and the language server's formatting: one
//! canonical layout, no options.
//!
//! The layout (also in `docs/fmt.md`):
//! - two spaces of indentation; lines aim to stay within 100 columns (only a long
//!   string, path, selection path or comment may go past);
//! - a set, list or argument pattern is written on one line when the user wrote it
//!   on one line, it holds no comment or blank line, and it fits; otherwise it has one
//!   item per line, indented, with the brackets on lines of their own;
//! - `let` always has one binding per line, `in` on its own line and the body after;
//! - a binding's value starts on the line of its `=` when it is a set, list, string,
//!   function, or a call or operation ending in one of those; any other value that
//!   does not fit moves to the next line, indented;
//! - a call that does not fit puts its arguments on lines of their own (a last
//!   argument that is a set, list, string or function stays on the line of the call);
//!   an operator chain that does not fit breaks before each operator;
//! - curried parameters `a: b: c:` that do not fit break one per line, indented;
//! - `if c then a else b` stays on one line when it fits, otherwise `then` ends the
//!   first line and `else` starts a line of its own;
//! - single spaces around binary operators, `=`, `?` and `or`, after `:` and `,`;
//!   none inside `.` paths or after `-` and `!`; `{ }` and `[ ]` when empty;
//! - every comment is kept, in order: one that started a line still starts a line,
//!   one that followed code still follows it; blank lines between items are kept,
//!   several collapsed to one, none after an opening or before a closing bracket;
//! - strings, indented strings and paths are reproduced byte for byte.
//!
//! A file with syntax errors is not formatted: [`format`] returns the errors.

mod doc;
mod print;
mod spans;
mod trivia;

pub use doc::WIDTH;
pub use spans::without_spans;

use crate::diagnostic::Diagnostic;
use crate::span::FileId;
use crate::syntax;

/// `text` in the canonical layout, ending with one newline; or, if `text` does not
/// parse, its syntax errors (with `file` in their labels).
pub fn format(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let parse = syntax::parse(file, text);
    let errors: Vec<Diagnostic> = parse
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let (expr, comments) = (parse.expr, parse.comments);
    // The printer recurses as deeply as the tree, which may be as deep as the parser
    // allows: give it the parser's stack.
    let mut formatted = syntax::with_parser_stack(|| {
        let doc = print::Printer::new(text, comments).file(&expr);
        let rendered = doc::render(&doc);
        drop(doc);
        rendered
    });
    formatted.push('\n');
    Ok(formatted)
}

#[cfg(test)]
mod tests;
