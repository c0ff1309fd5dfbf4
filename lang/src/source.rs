//! Loaded source files and the conversion from byte offsets to line/column positions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::span::{FileId, Span};

/// One source file as the evaluator saw it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path the file was loaded from, as given (not canonicalised), for messages.
    pub path: PathBuf,
    pub text: Arc<str>,
    pub lines: LineIndex,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: impl Into<Arc<str>>) -> SourceFile {
        let text = text.into();
        let lines = LineIndex::new(&text);
        SourceFile { path, text, lines }
    }

    /// The text under `span`, clamped to the file.
    pub fn slice(&self, span: Span) -> &str {
        let end = (span.end as usize).min(self.text.len());
        let start = (span.start as usize).min(end);
        self.text.get(start..end).unwrap_or("")
    }
}

/// Every file loaded during one analysis, addressed by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, path: PathBuf, text: impl Into<Arc<str>>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).expect("fewer than 2^32 files"));
        self.files.push(SourceFile::new(path, text));
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn try_get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path == path)
            .map(|i| FileId(i as u32))
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Shows the paths of files under `base` relative to it, as people typed them.
    pub fn display_relative_to(&mut self, base: &Path) {
        for file in &mut self.files {
            if let Ok(relative) = file.path.strip_prefix(base) {
                file.path = relative.to_path_buf();
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A position for people: 1-based line, 1-based column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub column: u32,
}

/// Maps byte offsets to lines and columns, counting columns in Unicode scalar values
/// (what the CLI reports) or UTF-16 code units (what the Language Server Protocol wants).
///
/// A column is found in time independent of the line's length: in ASCII text it is a
/// subtraction, and otherwise counting starts at the nearest checkpoint, recorded every
/// [`CHECKPOINT_STRIDE`] bytes, so a file with thousands of diagnostics on one long
/// line costs linear time, not quadratic.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    /// Byte offset of the start of every line.
    line_starts: Vec<u32>,
    len: u32,
    /// In ASCII text byte, character and UTF-16 columns coincide.
    ascii: bool,
    /// Columns every [`CHECKPOINT_STRIDE`] bytes of a line; empty for ASCII text.
    checkpoints: Vec<Checkpoint>,
}

/// How far apart checkpoints are, in bytes: at most this many bytes are counted per
/// position.
const CHECKPOINT_STRIDE: usize = 256;

/// Columns at a character boundary, counted from the start of its line.
#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    offset: u32,
    chars: u32,
    utf16: u32,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| (i + 1) as u32),
        );
        let ascii = text.is_ascii();
        LineIndex {
            line_starts,
            len: text.len() as u32,
            ascii,
            checkpoints: if ascii { Vec::new() } else { checkpoints(text) },
        }
    }

    /// 0-based line of `offset` and the byte offset where that line starts.
    fn line_of(&self, offset: u32) -> (usize, u32) {
        let offset = offset.min(self.len);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        (line, self.line_starts[line])
    }

    /// The checkpoint nearest before `end` on the line starting at `line_start`, or
    /// the line's start itself.
    fn nearest_checkpoint(&self, line_start: u32, end: usize) -> Checkpoint {
        let index = self
            .checkpoints
            .partition_point(|c| c.offset as usize <= end);
        match index.checked_sub(1).map(|i| self.checkpoints[i]) {
            Some(checkpoint) if checkpoint.offset >= line_start => checkpoint,
            _ => Checkpoint {
                offset: line_start,
                chars: 0,
                utf16: 0,
            },
        }
    }

    /// 1-based line and character column of a byte offset (offsets inside a
    /// multi-byte character count as that character).
    pub fn line_col(&self, text: &str, offset: u32) -> LineCol {
        let (line, start) = self.line_of(offset);
        let end = floor_char_boundary(text, offset.min(self.len) as usize);
        let column = if self.ascii {
            end as u32 - start
        } else {
            let from = self.nearest_checkpoint(start, end);
            from.chars + text[from.offset as usize..end].chars().count() as u32
        };
        LineCol {
            line: line as u32 + 1,
            column: column + 1,
        }
    }

    /// 0-based line and UTF-16 column of a byte offset, as LSP counts them.
    pub fn line_utf16(&self, text: &str, offset: u32) -> (u32, u32) {
        let (line, start) = self.line_of(offset);
        let end = floor_char_boundary(text, offset.min(self.len) as usize);
        let column = if self.ascii {
            end as u32 - start
        } else {
            let from = self.nearest_checkpoint(start, end);
            let counted: usize = text[from.offset as usize..end]
                .chars()
                .map(char::len_utf16)
                .sum();
            from.utf16 + counted as u32
        };
        (line as u32, column)
    }

    /// The byte offset of a 0-based line and UTF-16 column (clamped to the line).
    pub fn offset_utf16(&self, text: &str, line: u32, column: u32) -> u32 {
        let Some(&start) = self.line_starts.get(line as usize) else {
            return self.len;
        };
        let line_end = self
            .line_starts
            .get(line as usize + 1)
            .map_or(self.len, |&next| next - 1);
        if self.ascii {
            return start + column.min(line_end - start);
        }
        // The last checkpoint of this line at or before the column.
        let first = self.checkpoints.partition_point(|c| c.offset < start);
        let on_line = &self.checkpoints[first..];
        let within = on_line.partition_point(|c| c.offset < line_end && c.utf16 <= column);
        let (mut offset, mut units) = match within.checked_sub(1).map(|i| on_line[i]) {
            Some(c) => (c.offset as usize, c.utf16),
            None => (start as usize, 0),
        };
        for ch in text[offset..line_end as usize].chars() {
            if units >= column {
                break;
            }
            units += ch.len_utf16() as u32;
            offset += ch.len_utf8();
        }
        offset as u32
    }

    /// The 0-based line holding a byte offset (offsets past the end are on the last line).
    pub fn line_at(&self, offset: u32) -> usize {
        self.line_of(offset).0
    }

    /// Where a 0-based line starts and ends, in bytes; the end is that of its text,
    /// before the `\n`.
    pub fn line_bounds(&self, line: usize) -> Option<(u32, u32)> {
        let start = *self.line_starts.get(line)?;
        let end = self
            .line_starts
            .get(line + 1)
            .map_or(self.len, |&next| next - 1);
        Some((start, end))
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// A checkpoint at the first character boundary after every [`CHECKPOINT_STRIDE`]
/// bytes of a line.
fn checkpoints(text: &str) -> Vec<Checkpoint> {
    let mut checkpoints = Vec::new();
    let (mut chars, mut utf16) = (0u32, 0u32);
    let mut next = CHECKPOINT_STRIDE;
    for (offset, ch) in text.char_indices() {
        if ch == '\n' {
            (chars, utf16) = (0, 0);
            next = offset + 1 + CHECKPOINT_STRIDE;
            continue;
        }
        if offset >= next {
            checkpoints.push(Checkpoint {
                offset: offset as u32,
                chars,
                utf16,
            });
            next = offset + CHECKPOINT_STRIDE;
        }
        chars += 1;
        utf16 += ch.len_utf16() as u32;
    }
    checkpoints
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_and_utf16_units() {
        let text = "a = 1;\nb = \"é𝄞\"; c";
        let index = LineIndex::new(text);
        let c = text.rfind('c').unwrap() as u32;
        // `b = "é𝄞"; c`: `c` is the 11th character, after 11 UTF-16 units (`𝄞` takes two).
        let expected = LineCol {
            line: 2,
            column: 11,
        };
        assert_eq!(index.line_col(text, c), expected);
        assert_eq!(index.line_utf16(text, c), (1, 11));
        assert_eq!(index.offset_utf16(text, 1, 11), c);
        assert_eq!(index.line_col(text, 0), LineCol { line: 1, column: 1 });
        assert_eq!(index.line_col(text, 9999).line, 2);
    }

    /// The straightforward count from the start of the line, which the index must equal.
    fn counted(text: &str, offset: usize) -> (LineCol, u32) {
        let end = floor_char_boundary(text, offset.min(text.len()));
        let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        let line = text[..end].matches('\n').count() as u32 + 1;
        let column = text[start..end].chars().count() as u32 + 1;
        let utf16: usize = text[start..end].chars().map(char::len_utf16).sum();
        (LineCol { line, column }, utf16 as u32)
    }

    proptest::proptest! {
        #[test]
        fn checkpoints_agree_with_counting_from_the_line_start(
            pieces in proptest::collection::vec(
                proptest::prop_oneof!["[a-z ]{0,300}", "[é𝄞a]{0,200}", proptest::strategy::Just("\n".to_owned())],
                0..12,
            ),
            probes in proptest::collection::vec(0usize..4000, 1..40),
        ) {
            let text = pieces.concat();
            let index = LineIndex::new(&text);
            for probe in probes {
                let offset = probe.min(text.len() + 3);
                let (expected, utf16) = counted(&text, offset);
                proptest::prop_assert_eq!(index.line_col(&text, offset as u32), expected);
                let (line, column) = index.line_utf16(&text, offset as u32);
                proptest::prop_assert_eq!((line + 1, column), (expected.line, utf16));
                let back = index.offset_utf16(&text, line, column) as usize;
                proptest::prop_assert_eq!(back, floor_char_boundary(&text, offset.min(text.len())));
            }
        }
    }

    #[test]
    fn many_positions_on_one_long_line_take_linear_time() {
        // 400,000 characters on one line, non-ASCII so no shortcut applies, and a
        // position asked for every 10 bytes: counting from the line start each time
        // would take about 8·10^9 steps.
        let text = "é = 1; ".repeat(50_000);
        let index = LineIndex::new(&text);
        let mut sum = 0u64;
        for offset in (0..text.len()).step_by(10) {
            sum += u64::from(index.line_col(&text, offset as u32).column);
            sum += u64::from(index.line_utf16(&text, offset as u32).1);
        }
        assert!(sum > 0);
    }
}
