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
///
/// Only candidates within a third of the name's length (at least 1) are considered;
/// a candidate whose length differs by more is skipped without comparing, and the
/// comparison itself gives up past that bound, so the cost is linear in the
/// candidates' total length.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted: Vec<char> = name.chars().collect();
    let limit = (wanted.len() / 3).max(1);
    let mut other = Vec::new();
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .filter_map(|c| {
            if c.eq_ignore_ascii_case(name) {
                // The same letters in another case: always worth suggesting.
                return Some((1, c));
            }
            // A character takes 1 to 4 bytes: skip lengths surely too different.
            let too_long = c.len() > wanted.len().saturating_add(limit).saturating_mul(4);
            if too_long || c.len().saturating_add(limit) < wanted.len() {
                return None;
            }
            other.clear();
            other.extend(c.chars());
            bounded_distance(&wanted, &other, limit).map(|distance| (distance, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// The edit distance between `a` and `b` counting insertions, deletions,
/// substitutions and swaps of adjacent characters (the optimal string alignment
/// form of Damerau–Levenshtein), or `None` when it is more than `limit`. Only the
/// band of cells within `limit` of the diagonal is computed.
fn bounded_distance(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > limit {
        return None;
    }
    let big = limit + 1;
    let mut before: Vec<usize> = vec![big; m + 2];
    let mut previous: Vec<usize> = (0..=m).map(|j| j.min(big)).chain([big]).collect();
    let mut current: Vec<usize> = vec![big; m + 2];
    for i in 1..=n {
        let low = i.saturating_sub(limit).max(1);
        let high = (i + limit).min(m);
        current[low - 1] = if low == 1 { i.min(big) } else { big };
        let mut best = current[low - 1];
        for j in low..=high {
            let substitution = previous[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut cell = substitution.min(previous[j] + 1).min(current[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cell = cell.min(before[j - 2] + 1);
            }
            current[j] = cell.min(big);
            best = best.min(current[j]);
        }
        current[high + 1] = big;
        if best > limit {
            return None;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    (previous[m] <= limit).then_some(previous[m])
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
        assert_eq!(did_you_mean("WORKERS", names), Some("workers"));
    }

    #[test]
    fn bounded_distance_agrees_with_the_full_one() {
        let words = [
            "",
            "a",
            "ab",
            "ba",
            "abc",
            "acb",
            "bca",
            "ca",
            "kitten",
            "sitting",
            "workers",
            "wokrers",
            "controlplanes",
            "controlplane",
            "network",
            "netwrok",
            "éa",
            "aé",
        ];
        for a in words {
            for b in words {
                let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                let full = strsim::osa_distance(a, b);
                for limit in 0..6 {
                    let expected = (full <= limit).then_some(full);
                    assert_eq!(bounded_distance(&x, &y, limit), expected, "{a} {b} {limit}");
                }
            }
        }
    }
}
