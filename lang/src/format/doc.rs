//! A small Wadler-style document: text, places where a line may break, groups that
//! are printed flat when they fit and broken otherwise, and indentation.
//!
//! A group that contains a forced break (a hard line, a blank line, text with a
//! line break in it) is always broken; that is decided once, when the group is
//! built, so rendering stays linear.

/// The width the formatter aims to stay within.
pub const WIDTH: usize = 100;
/// Spaces per indentation level.
pub const INDENT: usize = 2;

#[derive(Debug, Clone)]
pub enum Doc {
    Nil,
    /// Text without line breaks.
    Text(String),
    /// Source text reproduced byte for byte; it may contain line breaks, after
    /// which no indentation is added (strings and block comments).
    Verbatim(String),
    /// One space; dropped at the start of a line and when doubled.
    Space,
    /// A comment that followed code on its line, printed as written (it may span
    /// lines) after one space, on the line of the text before it even when a line
    /// break is pending there: the break moves after the comment.
    TrailingComment(String),
    /// A space when the enclosing group is flat, a line break when it is broken.
    Line,
    /// A line break, always; several in a row make one.
    HardLine,
    /// An empty line, always; several in a row make one.
    BlankLine,
    Concat(Vec<Doc>),
    /// Its content is indented one level more after each line break.
    Nest(Box<Doc>),
    /// Like [`Doc::Nest`] when the enclosing group is broken; not indented when it
    /// is flat (a function's body after parameters that may break).
    NestIfBroken(Box<Doc>),
    /// Flat if it fits on the line, broken otherwise; `broken` is set when it holds a
    /// forced break.
    Group {
        doc: Box<Doc>,
        broken: bool,
    },
}

pub fn text(text: impl Into<String>) -> Doc {
    Doc::Text(text.into())
}

pub fn concat(docs: Vec<Doc>) -> Doc {
    Doc::Concat(docs)
}

pub fn nest(doc: Doc) -> Doc {
    Doc::Nest(Box::new(doc))
}

pub fn group(doc: Doc) -> Doc {
    let broken = forces_break(&doc);
    Doc::Group {
        doc: Box::new(doc),
        broken,
    }
}

/// A group whose forced break is the caller's to say: `broken` when it must break
/// whatever its width. For a group that holds, after its own possible line breaks,
/// a part with forced breaks of its own that must not break it (a function's body,
/// after parameters that break only when they do not fit); that part's bare
/// [`Doc::Line`]s must be inside groups of their own.
pub fn group_broken_if(broken: bool, doc: Doc) -> Doc {
    Doc::Group {
        doc: Box::new(doc),
        broken,
    }
}

/// A group that is broken whatever its width (the user wrote it on several lines).
pub fn broken_group(doc: Doc) -> Doc {
    Doc::Group {
        doc: Box::new(doc),
        broken: true,
    }
}

/// Whether `doc` must be printed on several lines. Stops at groups, which already
/// know, so building a tree costs time linear in its size.
pub fn forces_break(doc: &Doc) -> bool {
    match doc {
        Doc::HardLine | Doc::BlankLine => true,
        Doc::Verbatim(text) | Doc::TrailingComment(text) => text.contains('\n'),
        Doc::Concat(docs) => docs.iter().any(forces_break),
        Doc::Nest(doc) | Doc::NestIfBroken(doc) => forces_break(doc),
        Doc::Group { broken, .. } => *broken,
        Doc::Nil | Doc::Text(_) | Doc::Space | Doc::Line => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

type Command<'d> = (usize, Mode, &'d Doc);

/// Lays `doc` out; the result has no trailing spaces and ends without a newline.
pub fn render(doc: &Doc) -> String {
    let mut out = Output::default();
    let mut stack: Vec<Command> = vec![(0, Mode::Break, doc)];
    while let Some((indent, mode, doc)) = stack.pop() {
        match doc {
            Doc::Nil => {}
            Doc::Text(s) | Doc::Verbatim(s) => out.write(s),
            Doc::Space => out.space(),
            Doc::TrailingComment(s) => out.trailing(s),
            Doc::Line => match mode {
                Mode::Flat => out.space(),
                Mode::Break => out.newline(indent, 1),
            },
            Doc::HardLine => out.newline(indent, 1),
            Doc::BlankLine => out.newline(indent, 2),
            Doc::Concat(docs) => stack.extend(docs.iter().rev().map(|d| (indent, mode, d))),
            Doc::Nest(inner) => stack.push((indent + INDENT, mode, inner)),
            Doc::NestIfBroken(inner) => {
                let indent = match mode {
                    Mode::Break => indent + INDENT,
                    Mode::Flat => indent,
                };
                stack.push((indent, mode, inner));
            }
            Doc::Group { doc: inner, broken } => {
                let flat = !broken
                    && fits(
                        (indent, Mode::Flat, inner),
                        &stack,
                        WIDTH as isize - out.column() as isize,
                    );
                stack.push((indent, if flat { Mode::Flat } else { Mode::Break }, inner));
            }
        }
    }
    out.text
}

/// Whether `next`, flat, and what follows it up to the next possible line break fit
/// in `width` columns.
fn fits(next: Command, rest: &[Command], mut width: isize) -> bool {
    let mut rest_index = rest.len();
    let mut commands = vec![next];
    loop {
        if width < 0 {
            return false;
        }
        let (indent, mode, doc) = match commands.pop() {
            Some(command) => command,
            None if rest_index == 0 => return true,
            None => {
                rest_index -= 1;
                rest[rest_index]
            }
        };
        match doc {
            Doc::Nil => {}
            Doc::Text(s) => width -= columns(s) as isize,
            Doc::Verbatim(s) => match s.find('\n') {
                Some(newline) => return width >= columns(&s[..newline]) as isize,
                None => width -= columns(s) as isize,
            },
            Doc::Space => width -= 1,
            Doc::TrailingComment(s) => match s.find('\n') {
                Some(newline) => return width > columns(&s[..newline]) as isize,
                None => width -= 1 + columns(s) as isize,
            },
            Doc::Line => match mode {
                Mode::Flat => width -= 1,
                Mode::Break => return true,
            },
            Doc::HardLine | Doc::BlankLine => return true,
            Doc::Concat(docs) => commands.extend(docs.iter().rev().map(|d| (indent, mode, d))),
            Doc::Nest(inner) | Doc::NestIfBroken(inner) => {
                commands.push((indent + INDENT, mode, inner));
            }
            Doc::Group { doc: inner, broken } => {
                commands.push((indent, if *broken { Mode::Break } else { mode }, inner));
            }
        }
    }
}

fn columns(text: &str) -> usize {
    text.chars().count()
}

/// The text being laid out, with spaces and line breaks held back until the next
/// text, so that none ends up at the end of a line and line breaks collapse.
#[derive(Default)]
struct Output {
    text: String,
    /// Line breaks wanted before the next text (0, 1 or 2), and its indentation.
    newlines: usize,
    indent: usize,
    space: bool,
    /// Columns taken on the current line.
    column: usize,
}

impl Output {
    fn write(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if self.newlines > 0 {
            for _ in 0..self.newlines {
                self.text.push('\n');
            }
            self.text.extend(std::iter::repeat_n(' ', self.indent));
            self.column = self.indent;
            self.newlines = 0;
        } else if self.space {
            self.text.push(' ');
            self.column += 1;
        }
        self.space = false;
        self.text.push_str(s);
        match s.rfind('\n') {
            Some(newline) => self.column = columns(&s[newline + 1..]),
            None => self.column += columns(s),
        }
    }

    /// A comment after the text before it: when a line break is pending, the
    /// comment goes before the break, at the end of the line it followed.
    fn trailing(&mut self, comment: &str) {
        if self.newlines > 0 && !self.text.is_empty() {
            self.text.push(' ');
            self.text.push_str(comment);
        } else {
            self.space();
            self.write(comment);
        }
    }

    fn space(&mut self) {
        if self.newlines == 0 && !self.text.is_empty() {
            self.space = true;
        }
    }

    fn newline(&mut self, indent: usize, count: usize) {
        if self.text.is_empty() {
            return;
        }
        self.newlines = self.newlines.max(count);
        self.indent = indent;
        self.space = false;
    }

    fn column(&self) -> usize {
        if self.newlines > 0 {
            self.indent
        } else {
            self.column + usize::from(self.space)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Doc {
        let mut inner = Vec::new();
        for item in items {
            inner.push(Doc::Line);
            inner.push(text(*item));
        }
        group(concat(vec![
            text("["),
            nest(concat(inner)),
            Doc::Line,
            text("]"),
        ]))
    }

    #[test]
    fn a_group_that_fits_stays_flat() {
        assert_eq!(render(&list(&["a", "b"])), "[ a b ]");
    }

    #[test]
    fn a_group_that_does_not_fit_breaks() {
        let long = "x".repeat(60);
        assert_eq!(
            render(&list(&[&long, &long])),
            format!("[\n  {long}\n  {long}\n]")
        );
    }

    #[test]
    fn text_after_a_group_counts_towards_its_width() {
        let item = "x".repeat(WIDTH - 4);
        let doc = concat(vec![list(&[&item]), text(";")]);
        assert!(render(&doc).starts_with("[\n"));
    }

    #[test]
    fn hard_lines_collapse_and_spaces_do_not_trail() {
        let doc = concat(vec![
            text("a"),
            Doc::Space,
            Doc::HardLine,
            Doc::HardLine,
            Doc::Space,
            text("b"),
            Doc::BlankLine,
            Doc::HardLine,
            text("c"),
        ]);
        assert_eq!(render(&doc), "a\nb\n\nc");
    }
}
