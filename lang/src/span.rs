//! Byte-offset spans and the files they belong to.
//!
//! Spans are byte offsets into one file's text. They become line/column pairs
//! (characters for the CLI, UTF-16 units for editors) only at the edges, through
//! [`crate::source::LineIndex`].

use std::fmt;

/// A half-open byte range `start..end` in one source file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        debug_assert!(start <= end, "span {start}..{end} is reversed");
        Span {
            start: clamp_offset(start),
            end: clamp_offset(end),
        }
    }

    /// An empty span at `offset`, used for "missing token" reports.
    pub fn at(offset: usize) -> Span {
        Span::new(offset, offset)
    }

    /// The smallest span that covers both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn contains(self, offset: usize) -> bool {
        (self.start as usize) <= offset && offset <= (self.end as usize)
    }
}

fn clamp_offset(offset: usize) -> u32 {
    // Sources are capped well below 4 GiB by the loader; saturate rather than wrap.
    u32::try_from(offset).unwrap_or(u32::MAX)
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// Identifies one loaded source file within a [`crate::source::SourceMap`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct FileId(pub u32);

/// A span in a particular file: where a value, binding or diagnostic comes from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Origin {
    pub file: FileId,
    pub span: Span,
}

impl Origin {
    pub fn new(file: FileId, span: Span) -> Origin {
        Origin { file, span }
    }
}
