//! Conversions between hac's byte spans and diagnostics and the protocol's UTF-16
//! positions and diagnostics.

use std::path::PathBuf;

use hac_lang::{Diagnostic, FileId, Severity, SourceFile, SourceMap, Span};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range,
};

use super::uri;

pub fn position(file: &SourceFile, offset: u32) -> Position {
    let (line, character) = file.lines.line_utf16(&file.text, offset);
    Position { line, character }
}

pub fn range(file: &SourceFile, span: Span) -> Range {
    Range {
        start: position(file, span.start),
        end: position(file, span.end),
    }
}

/// The byte offset of a protocol position (clamped to the text).
pub fn offset(file: &SourceFile, position: Position) -> usize {
    file.lines
        .offset_utf16(&file.text, position.line, position.character) as usize
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
                    range: range(file, label.origin.span),
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
            range: range(source, span),
            severity: Some(severity(diagnostic.severity)),
            code: Some(NumberOrString::String(diagnostic.code.to_owned())),
            source: Some("hac".to_owned()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..lsp_types::Diagnostic::default()
        },
    ))
}
