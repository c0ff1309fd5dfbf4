//! Conversions between hac's byte spans and diagnostics and the protocol's positions
//! (in the negotiated encoding) and diagnostics.

use std::path::PathBuf;

use hac_lang::{Diagnostic, FileId, Severity, SourceFile, SourceMap, Span};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range,
};

use super::uri;

/// How the client counts a position's `character`: negotiated at initialisation
/// (`positionEncoding`). UTF-32 counts characters, as `hac check` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    /// The server's pick among the encodings a client offers: UTF-32 (the unit of
    /// `hac check`'s columns), then UTF-8, else UTF-16, which every client supports.
    pub fn negotiate(offered: &[lsp_types::PositionEncodingKind]) -> Encoding {
        use lsp_types::PositionEncodingKind as Kind;
        if offered.contains(&Kind::UTF32) {
            Encoding::Utf32
        } else if offered.contains(&Kind::UTF8) {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        }
    }

    pub fn kind(self) -> lsp_types::PositionEncodingKind {
        match self {
            Encoding::Utf8 => lsp_types::PositionEncodingKind::UTF8,
            Encoding::Utf16 => lsp_types::PositionEncodingKind::UTF16,
            Encoding::Utf32 => lsp_types::PositionEncodingKind::UTF32,
        }
    }

    fn units(self, ch: char) -> u32 {
        match self {
            Encoding::Utf8 => ch.len_utf8() as u32,
            Encoding::Utf16 => ch.len_utf16() as u32,
            Encoding::Utf32 => 1,
        }
    }
}

pub fn position(file: &SourceFile, offset: u32, encoding: Encoding) -> Position {
    let (line, _) = file.lines.line_utf16(&file.text, offset);
    let start = file.lines.offset_utf16(&file.text, line, 0) as usize;
    let mut end = (offset as usize).min(file.text.len());
    while !file.text.is_char_boundary(end) {
        end -= 1;
    }
    let character = file.text[start..end.max(start)]
        .chars()
        .map(|ch| encoding.units(ch))
        .sum();
    Position { line, character }
}

pub fn range(file: &SourceFile, span: Span, encoding: Encoding) -> Range {
    Range {
        start: position(file, span.start, encoding),
        end: position(file, span.end, encoding),
    }
}

/// The byte offset of a protocol position (clamped to its line, and to the text).
pub fn offset(file: &SourceFile, position: Position, encoding: Encoding) -> usize {
    let start = file.lines.offset_utf16(&file.text, position.line, 0) as usize;
    let mut units = 0;
    let mut offset = start;
    for ch in file.text[start..].chars() {
        if units >= position.character || ch == '\n' {
            break;
        }
        units += encoding.units(ch);
        offset += ch.len_utf8();
    }
    offset
}

fn severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Advice => DiagnosticSeverity::INFORMATION,
    }
}

/// One hac diagnostic as the protocol shows it, with the file it belongs to: the
/// primary label's file, or `fallback` (the analysed file) when it has no place.
/// Secondary labels become related information; the primary label's text (when it
/// adds to the message) and the help are appended to the message.
pub fn diagnostic(
    diagnostic: &Diagnostic,
    sources: &SourceMap,
    fallback: FileId,
    encoding: Encoding,
) -> Option<(PathBuf, lsp_types::Diagnostic)> {
    let primary = diagnostic
        .primary()
        .filter(|label| sources.try_get(label.origin.file).is_some());
    let (file, span) = match primary {
        Some(label) => (label.origin.file, label.origin.span),
        None => (fallback, Span::default()),
    };
    let source = sources.try_get(file)?;
    let mut message = diagnostic.message.clone();
    // `hac check` draws the primary label under the excerpt; editors show only the
    // message, so the label's text joins it when it says something the message does
    // not.
    if let Some(label) = primary.map(|label| label.message.trim())
        && !label.is_empty()
        && !message.to_lowercase().contains(&label.to_lowercase())
    {
        message.push('\n');
        message.push_str(label);
    }
    if let Some(help) = &diagnostic.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<_> = diagnostic
        .labels
        .iter()
        .filter(|label| !label.primary)
        .filter_map(|label| {
            let file = sources.try_get(label.origin.file)?;
            Some(DiagnosticRelatedInformation {
                location: Location {
                    uri: uri::from_path(&file.path)?,
                    range: range(file, label.origin.span, encoding),
                },
                message: if label.message.is_empty() {
                    "related".to_owned()
                } else {
                    label.message.clone()
                },
            })
        })
        .collect();
    Some((
        source.path.clone(),
        lsp_types::Diagnostic {
            range: range(source, span, encoding),
            severity: Some(severity(diagnostic.severity)),
            code: Some(NumberOrString::String(diagnostic.code.to_owned())),
            source: Some("hac".to_owned()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..lsp_types::Diagnostic::default()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_in_the_negotiated_unit_and_read_back() {
        // `🚀` is 4 bytes, 2 UTF-16 units, 1 character; `e\u{301}` is two characters.
        let text = "x = 1;\n🚀 cafe\u{301} y\n";
        let file = SourceFile::new("/t.hac".into(), text);
        let y = text.find('y').unwrap() as u32;
        for (encoding, column) in [
            (Encoding::Utf8, 12),
            (Encoding::Utf16, 9),
            (Encoding::Utf32, 8),
        ] {
            let position = position(&file, y, encoding);
            assert_eq!(position, Position::new(1, column), "{encoding:?}");
            assert_eq!(offset(&file, position, encoding), y as usize);
            // Past the end of the line: clamped to it.
            let end = offset(&file, Position::new(1, 99), encoding);
            assert_eq!(&text[end..], "\n");
        }
        assert_eq!(
            Encoding::negotiate(&[
                lsp_types::PositionEncodingKind::UTF8,
                lsp_types::PositionEncodingKind::UTF32
            ]),
            Encoding::Utf32
        );
        assert_eq!(Encoding::negotiate(&[]), Encoding::Utf16);
    }
}
