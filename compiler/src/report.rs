//! Renders diagnostics for people (miette's graphical reports) and for tools (JSON).
//!
//! Diagnostics stay plain data until this edge; the language server converts the
//! same data to LSP diagnostics elsewhere.

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use hac_lang::source::LineCol;
use hac_lang::{Diagnostic, Label, Origin, Severity, SourceMap};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode as _};
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

/// `text` safe to print on a terminal: control characters (C0 but tab and newline,
/// DEL, C1) and the bidirectional overrides that reorder what a reader sees are shown
/// as `\u{..}` escapes, so a source or a string in it cannot clear the screen, write
/// the clipboard or disguise itself.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    printable_except(text, &['\n', '\t'])
}

fn printable_except<'a>(text: &'a str, kept: &[char]) -> std::borrow::Cow<'a, str> {
    let unsafe_char = |c: char| needs_escape(c) && !kept.contains(&c);
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Renders every diagnostic as a graphical report, separated by blank lines. Every
/// piece of text from the user (sources, file names, messages quoting strings) is
/// [`printable`].
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
    let mut lines = Lines::default();
    for diagnostic in diagnostics {
        if has_long_lines(diagnostic, sources) {
            render_plain(&mut out, diagnostic, sources);
            out.push('\n');
            continue;
        }
        let report = MietteReport::new(diagnostic, sources, &mut lines);
        if handler.render_report(&mut out, &report).is_err() {
            // Rendering into a String cannot fail; keep the message if it somehow does.
            out.push_str(&diagnostic.message);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// Lines longer than this (in bytes) are not drawn by miette: it cannot place a
/// label past column 65535 (it panics), and a megabyte-wide snippet helps nobody.
const MAX_DRAWN_LINE: usize = 1_000;

/// How many characters of a long line are shown on each side of a label's start.
const WINDOW: usize = 40;

/// Whether a line that miette would draw for `diagnostic` (a labelled line or
/// the context line either side of it) is too long to draw.
fn has_long_lines(diagnostic: &Diagnostic, sources: &SourceMap) -> bool {
    diagnostic.labels.iter().any(|label| {
        let Some(file) = sources.try_get(label.origin.file) else {
            return false;
        };
        // From the line before the label to the line after it, found in the line
        // index: scanning the text for them costs a long line's length per label.
        let first = file
            .lines
            .line_at(label.origin.span.start)
            .saturating_sub(1);
        let last = file.lines.line_at(label.origin.span.end) + 1;
        (first..=last)
            .map_while(|line| file.lines.line_bounds(line))
            .any(|(start, end)| (end - start) as usize > MAX_DRAWN_LINE)
    })
}

/// A plain rendering for diagnostics on very long lines: `file:line:column` of
/// every label and a window of the primary label's line around its start.
fn render_plain(out: &mut String, diagnostic: &Diagnostic, sources: &SourceMap) {
    let _ = write!(out, "{}", diagnostic.severity.as_str());
    if !diagnostic.code.is_empty() {
        let _ = write!(out, "[{}]", diagnostic.code);
    }
    let _ = writeln!(out, ": {}", printable(&diagnostic.message));
    let mut labels: Vec<&Label> = diagnostic.labels.iter().collect();
    labels.sort_by_key(|label| !label.primary);
    for label in labels {
        let Some(at) = position(label.origin, sources) else {
            continue;
        };
        let arrow = if label.primary { "-->" } else { "..." };
        let _ = write!(
            out,
            "  {arrow} {}:{}:{}",
            printable(&at.file),
            at.line,
            at.column
        );
        if !label.message.is_empty() {
            let _ = write!(out, ": {}", printable(&label.message));
        }
        out.push('\n');
        if label.primary
            && let Some(file) = sources.try_get(label.origin.file)
        {
            window(out, file, label.origin.span, at.column as usize);
        }
    }
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(out, "  help: {}", printable(help));
    }
}

/// Up to [`WINDOW`] characters either side of `span`'s start on its line, with
/// the start of the span underlined. `column` is the span's 1-based character column.
/// Only the window is read, never the whole line, so that many diagnostics on one
/// long line cost time in proportion to their number.
fn window(out: &mut String, file: &hac_lang::SourceFile, span: hac_lang::Span, column: usize) {
    let text: &str = &file.text;
    let start = floor_boundary(text, (span.start as usize).min(text.len()));
    let line = file.lines.line_at(start as u32);
    let (line_start, line_end) = file
        .lines
        .line_bounds(line)
        .map_or((0, text.len()), |(s, e)| (s as usize, e as usize));
    let line = &text[line_start..line_end.max(start)];
    let line = line.strip_suffix('\r').unwrap_or(line);
    let at = column.saturating_sub(1);
    let first = at.saturating_sub(WINDOW);
    // The window starts `at - first` characters before the span.
    let offset_in_line = start - line_start;
    let before_span = &line[..offset_in_line.min(line.len())];
    let from = match (at - first).checked_sub(1) {
        Some(back) => before_span
            .char_indices()
            .rev()
            .nth(back)
            .map_or(0, |(i, _)| i),
        None => before_span.len(),
    };
    let mut rest = line[from..].chars();
    let shown: String = rest
        .by_ref()
        .take(2 * WINDOW)
        .map(|c| if needs_escape(c) { ' ' } else { c })
        .collect();
    let before = if first > 0 { "…" } else { "" };
    let after = if rest.next().is_some() { "…" } else { "" };
    let limit = (first + 2 * WINDOW).saturating_sub(at).max(1);
    let span_chars = text
        .get(start..(span.end as usize).min(text.len()))
        .map_or(1, |s| s.chars().take(limit).count())
        .clamp(1, limit);
    let _ = writeln!(out, "     | {before}{shown}{after}");
    let _ = writeln!(
        out,
        "     | {}{}",
        " ".repeat(before.chars().count() + at - first),
        "^".repeat(span_chars)
    );
}

fn floor_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
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
    fn new(diagnostic: &Diagnostic, sources: &SourceMap, lines: &mut Lines) -> MietteReport {
        let home = diagnostic.primary().map(|l| l.origin.file);
        let (here, elsewhere): (Vec<&Label>, Vec<&Label>) = diagnostic
            .labels
            .iter()
            .partition(|label| Some(label.origin.file) == home);
        let related = elsewhere
            .into_iter()
            .filter_map(|label| {
                let (source, shown) = named_source(sources, label.origin, lines)?;
                Some(MietteReport {
                    severity: Severity::Advice,
                    code: "",
                    message: printable(&label.message).into_owned(),
                    help: None,
                    source: Some(source),
                    labels: vec![LabeledSpan::new_with_span(
                        None,
                        span_of(label.origin, &shown),
                    )],
                    related: Vec::new(),
                })
            })
            .collect();
        let home_source = home
            .and_then(|file| named_source(sources, Origin::new(file, Default::default()), lines));
        let labels = match &home_source {
            Some((_, shown)) => here
                .into_iter()
                .map(|label| labeled_span(label, shown))
                .collect(),
            None => Vec::new(),
        };
        MietteReport {
            severity: diagnostic.severity,
            code: diagnostic.code,
            message: printable(&diagnostic.message).into_owned(),
            help: diagnostic
                .help
                .as_deref()
                .map(|h| printable(h).into_owned()),
            source: home_source.map(|(source, _)| source),
            labels,
            related,
        }
    }
}

/// Each file as it is shown (escaped) and where its lines start, as miette counts
/// lines (after `\n`, `\r\n` or a lone `\r`), worked out once per file however many
/// diagnostics it has.
type Lines = std::collections::HashMap<hac_lang::FileId, Arc<Shown>>;

/// A source file as the terminal is shown it: control characters escaped, with the
/// shift this puts on byte offsets.
struct Shown {
    text: Arc<str>,
    lines: Arc<[usize]>,
    /// `(offset in the original, bytes added by escapes up to and including it)` for
    /// every escaped character, in order.
    shifts: Vec<(usize, usize)>,
}

impl Shown {
    fn new(original: &Arc<str>) -> Shown {
        let kept = ['\n', '\r', '\t'];
        let escaped = printable_except(original, &kept);
        let (text, shifts): (Arc<str>, Vec<(usize, usize)>) = match escaped {
            std::borrow::Cow::Borrowed(_) => (original.clone(), Vec::new()),
            std::borrow::Cow::Owned(text) => {
                let mut added = 0;
                let shifts = original
                    .char_indices()
                    .filter(|(_, c)| needs_escape(*c) && !kept.contains(c))
                    .map(|(at, c)| {
                        added += printable(&c.to_string()).len() - c.len_utf8();
                        (at, added)
                    })
                    .collect();
                (text.into(), shifts)
            }
        };
        Shown {
            lines: line_starts(&text),
            text,
            shifts,
        }
    }

    /// Where byte `offset` of the original is in the shown text.
    fn offset(&self, offset: usize) -> usize {
        let escaped_before = self.shifts.partition_point(|&(at, _)| at < offset);
        match escaped_before {
            0 => offset,
            n => offset + self.shifts[n - 1].1,
        }
    }
}

fn named_source(
    sources: &SourceMap,
    origin: Origin,
    lines: &mut Lines,
) -> Option<(NamedSource<CharColumns>, Arc<Shown>)> {
    let file = sources.try_get(origin.file)?;
    let name = printable(&file.path.display().to_string()).into_owned();
    let shown = lines
        .entry(origin.file)
        .or_insert_with(|| Arc::new(Shown::new(&file.text)))
        .clone();
    let source = CharColumns {
        text: shown.text.clone(),
        lines: shown.lines.clone(),
    };
    Some((NamedSource::new(name, source).with_language("nix"), shown))
}

fn line_starts(text: &str) -> Arc<[usize]> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => starts.push(i + 1),
            b'\r' => {
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                starts.push(i + 1);
            }
            _ => {}
        }
        i += 1;
    }
    starts.into()
}

/// Source text whose reported columns count characters, as `--format json` and the
/// rest of hac do; miette on its own counts bytes, which puts the `file:line:column`
/// header off after any non-ASCII character.
///
/// miette finds a span's lines by scanning the text from its start; with many
/// diagnostics in a large file that is quadratic, so it is given only the lines
/// around the span.
struct CharColumns {
    text: Arc<str>,
    lines: Arc<[usize]>,
}

impl CharColumns {
    /// miette's reading of the lines around `span`, on those lines alone.
    fn read_window<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let text: &'a str = &self.text;
        let (offset, len) = (span.offset(), span.len());
        if offset.saturating_add(len) > text.len() {
            return text.read_span(span, before, after);
        }
        let line_of = |at: usize| self.lines.partition_point(|&start| start <= at) - 1;
        let first = line_of(offset).saturating_sub(before + 1);
        let last = line_of(offset + len) + after + 2;
        let start = self.lines[first];
        let end = self.lines.get(last).copied().unwrap_or(text.len());
        let window = &text.as_bytes()[start..end];
        let inner = window.read_span(&(offset - start, len).into(), before, after)?;
        Ok(Box::new(miette::MietteSpanContents::new(
            inner.data(),
            (inner.span().offset() + start, inner.span().len()).into(),
            inner.line() + first,
            inner.column(),
            inner.line_count() + first,
        )))
    }
}

impl miette::SourceCode for CharColumns {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let contents = self.read_window(span, context_lines_before, context_lines_after)?;
        if contents.column() == 0 {
            return Ok(contents);
        }
        let text: &str = &self.text;
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

/// Where `origin` is in the shown (escaped) text of its file.
fn span_of(origin: Origin, shown: &Shown) -> miette::SourceSpan {
    let start = shown.offset(origin.span.start as usize);
    let end = shown.offset(origin.span.end as usize);
    (start, end.saturating_sub(start)).into()
}

fn labeled_span(label: &Label, shown: &Shown) -> LabeledSpan {
    let text = (!label.message.is_empty()).then(|| printable(&label.message).into_owned());
    if label.primary {
        LabeledSpan::new_primary_with_span(text, span_of(label.origin, shown))
    } else {
        LabeledSpan::new_with_span(text, span_of(label.origin, shown))
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
    /// The file of a diagnostic that has no place in it (a file that cannot be
    /// read); the others name theirs in `position`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(flatten)]
    pub position: Option<JsonPosition>,
    pub labels: Vec<JsonLabel>,
    pub help: Option<String>,
    /// A warning a `# hac: allow` comment silenced (`hac check` lists them); the
    /// field is absent from the others.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
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
        file: None,
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
        suppressed: false,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_controls_and_bidi_overrides_only() {
        assert_eq!(printable("plain\ttext\né"), "plain\ttext\né");
        assert_eq!(
            printable("\u{1b}[2J\u{7}\u{9b}\u{7f}\u{202e}x\r"),
            "\\u{1b}[2J\\u{7}\\u{9b}\\u{7f}\\u{202e}x\\u{d}"
        );
    }

    #[test]
    fn labels_keep_their_place_in_an_escaped_source() {
        let mut sources = SourceMap::new();
        let text = "\u{1b}[2J x = \u{1b}y;\n";
        let file = sources.add("escape.hac".into(), text);
        let start = text.find("\u{1b}y").unwrap();
        let diagnostic = Diagnostic::error("hac::test", "message \u{1b}]52;c;x\u{7}").with_primary(
            file,
            hac_lang::Span::new(start, start + "\u{1b}y".len()),
            "label \u{1b}",
        );
        let rendered = render_human(&[diagnostic], &sources, Style::plain());
        assert!(
            !rendered.contains('\u{1b}') && !rendered.contains('\u{7}'),
            "{rendered}"
        );
        assert!(
            rendered.contains("message \\u{1b}]52;c;x\\u{7}"),
            "{rendered}"
        );
        assert!(rendered.contains("label \\u{1b}"), "{rendered}");
        // The underline covers exactly the escaped `\u{1b}y` (8 characters).
        let source_line = rendered
            .lines()
            .find(|l| l.contains("x = "))
            .expect("the source line");
        let underline = rendered
            .lines()
            .skip_while(|l| !l.contains("x = "))
            .nth(1)
            .expect("the underline");
        let at = source_line.find("\\u{1b}y").unwrap();
        let column = source_line[..at].chars().count();
        let marked: String = underline.chars().skip(column).take(8).collect();
        assert!(
            marked.chars().all(|c| c != ' ') && underline.chars().nth(column + 8) != Some('─'),
            "{rendered}"
        );
    }
}
