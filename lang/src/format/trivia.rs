//! The trivia between tokens: comments (kept in order, each printed exactly once)
//! and the blank lines between items.

use std::collections::VecDeque;

use super::doc::{Doc, text};
use crate::ast::Comment;

pub struct Trivia<'a> {
    src: &'a str,
    comments: VecDeque<Comment>,
}

/// Where a comment sits relative to the code before it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// First on its line.
    OwnLine,
    /// After code on the same line.
    Trailing,
}

impl<'a> Trivia<'a> {
    pub fn new(src: &'a str, comments: Vec<Comment>) -> Trivia<'a> {
        Trivia {
            src,
            comments: comments.into(),
        }
    }

    /// The start of the next token at or after `from` (skipping whitespace and
    /// comments). Used to find punctuation the tree does not record.
    pub fn next_token(&self, from: usize) -> usize {
        let bytes = self.src.as_bytes();
        let mut at = from;
        loop {
            while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\r' | b'\n') {
                at += 1;
            }
            if bytes[at..].starts_with(b"#") {
                at += self.src[at..]
                    .find(['\n', '\r'])
                    .unwrap_or(bytes.len() - at);
            } else if bytes[at..].starts_with(b"/*") {
                at += self.src[at + 2..]
                    .find("*/")
                    .map_or(bytes.len() - at, |end| end + 4);
            } else {
                return at;
            }
        }
    }

    /// The offset of `token`, the next token at or after `from`.
    pub fn find(&self, from: usize, token: &str) -> usize {
        let at = self.next_token(from);
        debug_assert!(
            self.src[at..].starts_with(token),
            "expected `{token}` at {at}, found {:?}",
            &self.src[at..(at + 10).min(self.src.len())]
        );
        at
    }

    /// Whether a comment starts before `offset`.
    pub fn has_comment_before(&self, offset: usize) -> bool {
        self.comments
            .front()
            .is_some_and(|c| (c.span.start as usize) < offset)
    }

    /// Forgets the comments inside `offset..end`: they are part of text reproduced
    /// as written (a string's interpolation).
    pub fn skip_within(&mut self, end: usize) {
        while self.has_comment_before(end) {
            self.comments.pop_front();
        }
    }

    /// The comments before `offset`, printed where they are: a comment first on its
    /// line stays first on its line, one after code stays after it.
    pub fn before(&mut self, offset: usize) -> Doc {
        let mut docs = Vec::new();
        while self.has_comment_before(offset) {
            let comment = self.comments.pop_front().expect("a comment");
            match self.placement(&comment) {
                Placement::OwnLine => {
                    docs.push(Doc::HardLine);
                    docs.push(self.comment_text(&comment));
                }
                Placement::Trailing => docs.push(self.trailing_comment(&comment)),
            }
            docs.push(self.after_comment(&comment));
        }
        Doc::Concat(docs)
    }

    /// The comments before `offset` that follow the code ending at `end` on the same
    /// line (`a = 1; # why`).
    pub fn trailing(&mut self, end: usize, offset: usize) -> Doc {
        let mut docs = Vec::new();
        let mut from = end;
        while let Some(comment) = self.comments.front()
            && (comment.span.start as usize) < offset
            && !self.src[from..comment.span.start as usize].contains('\n')
        {
            let comment = self.comments.pop_front().expect("a comment");
            docs.push(self.trailing_comment(&comment));
            from = comment.span.end as usize;
            if !comment.block {
                docs.push(Doc::HardLine);
                break;
            }
        }
        Doc::Concat(docs)
    }

    /// The comments before `offset` on lines of their own between items, each on its
    /// own line, with the user's blank lines kept (at most one). `previous_end` is
    /// where the previous item ended, `None` for the first (no blank line is kept
    /// right after an opening bracket). `before_item` says an item follows, so a
    /// blank line before it is kept too (none is kept before a closing bracket).
    pub fn leading(
        &mut self,
        previous_end: Option<usize>,
        offset: usize,
        before_item: bool,
    ) -> Doc {
        let mut docs = Vec::new();
        let mut from = previous_end;
        while self.has_comment_before(offset) {
            let comment = self.comments.pop_front().expect("a comment");
            let start = comment.span.start as usize;
            docs.push(self.separator(from, start));
            docs.push(match self.placement(&comment) {
                Placement::OwnLine => self.comment_text(&comment),
                Placement::Trailing => self.trailing_comment(&comment),
            });
            if !comment.block || self.src[comment.span.end as usize..offset].contains('\n') {
                docs.push(Doc::HardLine);
            } else {
                docs.push(Doc::Space);
            }
            from = Some(comment.span.end as usize);
        }
        if before_item {
            docs.push(self.separator(from, offset));
        }
        Doc::Concat(docs)
    }

    /// A blank line if the user left one between `from` and `to`, else nothing (the
    /// caller provides the line break).
    fn separator(&self, from: Option<usize>, to: usize) -> Doc {
        match from {
            Some(from) if has_blank_line(&self.src[from..to]) => Doc::BlankLine,
            _ => Doc::Nil,
        }
    }

    fn placement(&self, comment: &Comment) -> Placement {
        let before = &self.src[..comment.span.start as usize];
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        if before[line_start..].trim().is_empty() {
            Placement::OwnLine
        } else {
            Placement::Trailing
        }
    }

    fn comment_text(&self, comment: &Comment) -> Doc {
        let text_of = &self.src[comment.span.range()];
        if comment.block {
            Doc::Verbatim(text_of.to_string())
        } else {
            text(text_of.trim_end())
        }
    }

    /// A comment that followed code on its line, kept on the line of that code.
    fn trailing_comment(&self, comment: &Comment) -> Doc {
        let text_of = &self.src[comment.span.range()];
        Doc::TrailingComment(if comment.block {
            text_of.to_string()
        } else {
            text_of.trim_end().to_string()
        })
    }

    /// A line comment ends its line; a block comment keeps the line break after it,
    /// if it had one.
    fn after_comment(&self, comment: &Comment) -> Doc {
        let rest = &self.src[comment.span.end as usize..];
        let next_line = rest.find('\n').unwrap_or(rest.len());
        if !comment.block || rest[..next_line].trim().is_empty() {
            Doc::HardLine
        } else {
            Doc::Space
        }
    }
}

/// Whether `text` (whitespace between two items) contains an empty line.
pub fn has_blank_line(text: &str) -> bool {
    let mut newlines = 0;
    for c in text.chars() {
        match c {
            '\n' => {
                newlines += 1;
                if newlines >= 2 {
                    return true;
                }
            }
            ' ' | '\t' | '\r' => {}
            _ => newlines = 0,
        }
    }
    false
}
