//! Renders diagnostics for people (miette's graphical reports) and for tools (JSON).
//!
//! Diagnostics stay plain data until this edge; the language server converts the
//! same data to LSP diagnostics elsewhere.

use std::fmt;
use std::sync::Arc;

use hac_lang::source::LineCol;
use hac_lang::{Diagnostic, Label, Origin, Severity, SourceMap};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;

/// How diagnostics are shown on a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

impl Style {
    /// Plain text at a fixed width: what tests and pipes get.
    pub fn plain() -> Style {
        Style {
            color: false,
            width: 100,
        }
    }
}

/// Renders every diagnostic as a graphical report, separated by blank lines.
pub fn render_human(diagnostics: &[Diagnostic], sources: &SourceMap, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report = MietteReport::new(diagnostic, sources);
        if handler.render_report(&mut out, &report).is_err() {
            // Rendering into a String cannot fail; keep the message if it somehow does.
            out.push_str(&diagnostic.message);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// One-line summary such as `2 errors, 1 warning`.
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    let count = |severity| {
        diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    };
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let errors = count(Severity::Error);
    let warnings = count(Severity::Warning);
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// A diagnostic shaped for miette: labels in the primary label's file are drawn on
/// its source; labels in other files (an import's) become related reports with theirs.
struct MietteReport {
    severity: Severity,
    code: &'static str,
    message: String,
    help: Option<String>,
    source: Option<NamedSource<CharColumns>>,
    labels: Vec<LabeledSpan>,
    related: Vec<MietteReport>,
}

impl MietteReport {
    fn new(diagnostic: &Diagnostic, sources: &SourceMap) -> MietteReport {
        let home = diagnostic.primary().map(|l| l.origin.file);
        let (here, elsewhere): (Vec<&Label>, Vec<&Label>) = diagnostic
            .labels
            .iter()
            .partition(|label| Some(label.origin.file) == home);
        let related = elsewhere
            .into_iter()
            .filter_map(|label| {
                let source = named_source(sources, label.origin)?;
                Some(MietteReport {
                    severity: Severity::Advice,
                    code: "",
                    message: label.message.clone(),
                    help: None,
                    source: Some(source),
                    labels: vec![LabeledSpan::new_with_span(None, span_of(label.origin))],
                    related: Vec::new(),
                })
            })
            .collect();
        MietteReport {
            severity: diagnostic.severity,
            code: diagnostic.code,
            message: diagnostic.message.clone(),
            help: diagnostic.help.clone(),
            source: home
                .and_then(|file| named_source(sources, Origin::new(file, Default::default()))),
            labels: here.into_iter().map(labeled_span).collect(),
            related,
        }
    }
}

fn named_source(sources: &SourceMap, origin: Origin) -> Option<NamedSource<CharColumns>> {
    let file = sources.try_get(origin.file)?;
    let name = file.path.display().to_string();
    Some(NamedSource::new(name, CharColumns(file.text.clone())).with_language("nix"))
}

/// Source text whose reported columns count characters, as `--format json` and the
/// rest of hac do; miette on its own counts bytes, which puts the `file:line:column`
/// header off after any non-ASCII character.
struct CharColumns(Arc<str>);

impl miette::SourceCode for CharColumns {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let contents = self
            .0
            .read_span(span, context_lines_before, context_lines_after)?;
        if contents.column() == 0 {
            return Ok(contents);
        }
        let text: &str = &self.0;
        let offset = span.offset().min(text.len());
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let column = text
            .get(line_start..offset)
            .map_or(contents.column(), |s| s.chars().count());
        Ok(Box::new(miette::MietteSpanContents::new(
            contents.data(),
            *contents.span(),
            contents.line(),
            column,
            contents.line_count(),
        )))
    }
}

fn span_of(origin: Origin) -> miette::SourceSpan {
    (origin.span.start as usize, origin.span.len()).into()
}

fn labeled_span(label: &Label) -> LabeledSpan {
    let text = (!label.message.is_empty()).then(|| label.message.clone());
    if label.primary {
        LabeledSpan::new_primary_with_span(text, span_of(label.origin))
    } else {
        LabeledSpan::new_with_span(text, span_of(label.origin))
    }
}

impl fmt::Debug for MietteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for MietteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MietteReport {}

impl miette::Diagnostic for MietteReport {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Advice => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        (!self.labels.is_empty()).then(|| Box::new(self.labels.iter().cloned()) as _)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        (!self.related.is_empty())
            .then(|| Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)) as _)
    }
}

/// The `--format json` shape of one diagnostic. Lines and columns are 1-based;
/// columns count characters, `*_utf16` columns UTF-16 code units. Documented in docs/diagnostics.md.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct JsonDiagnostic {
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    #[serde(flatten)]
    pub position: Option<JsonPosition>,
    pub labels: Vec<JsonLabel>,
    pub help: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct JsonPosition {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    /// The columns counted in UTF-16 code units, as the Language Server Protocol
    /// counts them by default (and JavaScript strings do).
    pub column_utf16: u32,
    pub end_column_utf16: u32,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct JsonLabel {
    pub message: String,
    pub primary: bool,
    #[serde(flatten)]
    pub position: JsonPosition,
}

pub fn to_json(diagnostic: &Diagnostic, sources: &SourceMap) -> JsonDiagnostic {
    JsonDiagnostic {
        severity: diagnostic.severity.as_str(),
        code: diagnostic.code,
        message: diagnostic.message.clone(),
        position: diagnostic
            .primary()
            .and_then(|l| position(l.origin, sources)),
        labels: diagnostic
            .labels
            .iter()
            .filter_map(|label| {
                Some(JsonLabel {
                    message: label.message.clone(),
                    primary: label.primary,
                    position: position(label.origin, sources)?,
                })
            })
            .collect(),
        help: diagnostic.help.clone(),
    }
}

/// The 1-based start and end of `origin` in characters (and in UTF-16 units).
pub fn position(origin: Origin, sources: &SourceMap) -> Option<JsonPosition> {
    let file = sources.try_get(origin.file)?;
    let LineCol { line, column } = file.lines.line_col(&file.text, origin.span.start);
    let end = file.lines.line_col(&file.text, origin.span.end);
    let (_, column_utf16) = file.lines.line_utf16(&file.text, origin.span.start);
    let (_, end_column_utf16) = file.lines.line_utf16(&file.text, origin.span.end);
    Some(JsonPosition {
        file: file.path.display().to_string(),
        line,
        column,
        end_line: end.line,
        end_column: end.column,
        column_utf16: column_utf16 + 1,
        end_column_utf16: end_column_utf16 + 1,
    })
}
