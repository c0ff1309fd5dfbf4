//! Diagnostics are data: a severity, a stable code, a message, labelled spans and
//! help. The CLI renders them with miette, the language server converts them to LSP
//! diagnostics, and `hac check --format json` serialises them; none of that lives here.

use crate::span::{FileId, Origin, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Advice,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "advice",
        }
    }
}

/// A labelled place in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub origin: Origin,
    pub message: String,
    /// The place the diagnostic is about; others are context ("first defined here").
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier such as `hac::parse::unexpected_token`; see [`crate::codes`].
    pub code: &'static str,
    /// One line, no trailing period.
    pub message: String,
    /// The first label is the primary one.
    pub labels: Vec<Label>,
    /// How to fix it, when known.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, code, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, code, message)
    }

    pub fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    /// Adds the primary label. Call it before any [`Diagnostic::with_label`].
    pub fn with_primary(mut self, file: FileId, span: Span, message: impl Into<String>) -> Self {
        self.labels.insert(
            0,
            Label {
                origin: Origin::new(file, span),
                message: message.into(),
                primary: true,
            },
        );
        self
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, origin: Origin, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            origin,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The primary place, if the diagnostic has one.
    pub fn primary(&self) -> Option<&Label> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
    }

    /// Sort key giving a deterministic order: by file, position, then code.
    pub fn sort_key(&self) -> (FileId, u32, u32, &'static str, &str) {
        let (file, span) = self.primary().map_or((FileId(0), Span::default()), |l| {
            (l.origin.file, l.origin.span)
        });
        (file, span.start, span.end, self.code, &self.message)
    }
}

/// Sorts diagnostics by position and removes exact duplicates.
pub fn normalize(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diagnostics.dedup();
}

/// The closest candidate to `name` by edit distance, for "did you mean" help.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|&(distance, c)| distance <= limit || (c.eq_ignore_ascii_case(name)))
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["controlplanes", "workers", "network"];
        assert_eq!(did_you_mean("controlplane", names), Some("controlplanes"));
        assert_eq!(did_you_mean("wokers", names), Some("workers"));
        assert_eq!(did_you_mean("zzz", names), None);
        assert_eq!(did_you_mean("workers", names), None);
    }
}
