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
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    /// Byte offset of the start of every line.
    line_starts: Vec<u32>,
    len: u32,
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
        LineIndex {
            line_starts,
            len: text.len() as u32,
        }
    }

    /// 0-based line of `offset` and the byte offset where that line starts.
    fn line_of(&self, offset: u32) -> (usize, u32) {
        let offset = offset.min(self.len);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        (line, self.line_starts[line])
    }

    /// 1-based line and character column of a byte offset (offsets inside a
    /// multi-byte character count as that character).
    pub fn line_col(&self, text: &str, offset: u32) -> LineCol {
        let (line, start) = self.line_of(offset);
        let end = floor_char_boundary(text, offset.min(self.len) as usize);
        let column = text[start as usize..end].chars().count() as u32;
        LineCol {
            line: line as u32 + 1,
            column: column + 1,
        }
    }

    /// 0-based line and UTF-16 column of a byte offset, as LSP counts them.
    pub fn line_utf16(&self, text: &str, offset: u32) -> (u32, u32) {
        let (line, start) = self.line_of(offset);
        let end = floor_char_boundary(text, offset.min(self.len) as usize);
        let column: usize = text[start as usize..end].chars().map(char::len_utf16).sum();
        (line as u32, column as u32)
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
        let mut units = 0u32;
        let mut offset = start as usize;
        for ch in text[start as usize..line_end as usize].chars() {
            if units >= column {
                break;
            }
            units += ch.len_utf16() as u32;
            offset += ch.len_utf8();
        }
        offset as u32
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
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
}
