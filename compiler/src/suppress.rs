//! `# hac: allow CODE` comments: silence one lint warning at one place.
//!
//! A comment `# hac: allow endpoint_is_ip` (several codes may follow, separated by
//! spaces or commas; a reason may follow `--`) allows those warnings whose place is
//! on the comment's own line or, when the comment stands alone on its line, on the
//! next line. Only warnings of the cluster lints can be allowed: an error always
//! stops the build. A code hac does not know is itself a warning, so a typo does not
//! silently allow nothing. Comments come from the parser, so the same words in a
//! string are not a comment.

use std::collections::HashMap;

use hac_lang::{Diagnostic, FileId, Severity, SourceFile, SourceMap, Span};

use crate::model::codes;

/// What starts an allow comment, after `#` (or `/*`) and spaces.
pub const MARKER: &str = "hac: allow";

/// The prefix every lint code has; an allow comment may leave it out.
const LINT_PREFIX: &str = "hac::lint::";

/// One code of one allow comment, and the lines (0-based) it covers.
#[derive(Debug)]
struct Allow {
    code: &'static str,
    lines: std::ops::RangeInclusive<usize>,
}

/// `diagnostics` split into those still reported (with a warning for each unknown
/// code in an allow comment) and those an allow comment silenced.
pub fn apply(
    diagnostics: Vec<Diagnostic>,
    sources: &SourceMap,
) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let mut allows: HashMap<FileId, Vec<Allow>> = HashMap::new();
    let mut kept = Vec::with_capacity(diagnostics.len());
    for (file, source) in sources.iter() {
        // Most files have no allow comment: parsing them again is not needed.
        if !source.text.contains(MARKER) {
            continue;
        }
        let (found, unknown) = allows_in(file, source);
        allows.insert(file, found);
        kept.extend(unknown);
    }
    if allows.is_empty() {
        return (diagnostics, Vec::new());
    }
    let mut suppressed = Vec::new();
    for diagnostic in diagnostics {
        if is_allowed(&diagnostic, &allows, sources) {
            suppressed.push(diagnostic);
        } else {
            kept.push(diagnostic);
        }
    }
    hac_lang::diagnostic::normalize(&mut kept);
    (kept, suppressed)
}

fn is_allowed(
    diagnostic: &Diagnostic,
    allows: &HashMap<FileId, Vec<Allow>>,
    sources: &SourceMap,
) -> bool {
    if diagnostic.severity != Severity::Warning || !diagnostic.code.starts_with(LINT_PREFIX) {
        return false;
    }
    let Some(label) = diagnostic.primary() else {
        return false;
    };
    let (Some(in_file), Some(source)) = (
        allows.get(&label.origin.file),
        sources.try_get(label.origin.file),
    ) else {
        return false;
    };
    let line = source.lines.line_at(label.origin.span.start);
    in_file
        .iter()
        .any(|allow| allow.code == diagnostic.code && allow.lines.contains(&line))
}

/// The allows of one file, and a warning for each code in them that hac does not know.
fn allows_in(file: FileId, source: &SourceFile) -> (Vec<Allow>, Vec<Diagnostic>) {
    let parse = hac_lang::syntax::parse(file, &source.text);
    let mut allows = Vec::new();
    let mut unknown = Vec::new();
    for comment in &parse.comments {
        let text = source.slice(comment.span);
        let Some((codes_at, codes_text)) = allowed_codes(text) else {
            continue;
        };
        let line = source.lines.line_at(comment.span.start);
        let alone = source.lines.line_bounds(line).is_some_and(|(start, _)| {
            source.text[start as usize..comment.span.start as usize]
                .trim()
                .is_empty()
        });
        let lines = if alone { line..=line + 1 } else { line..=line };
        let base = comment.span.start as usize + codes_at;
        for (offset, word) in words(codes_text) {
            match known_code(word) {
                Some(code) => allows.push(Allow {
                    code,
                    lines: lines.clone(),
                }),
                None => {
                    let start = base + offset;
                    unknown.push(
                        Diagnostic::warning(
                            codes::UNKNOWN_ALLOW,
                            format!("`{}` is not a lint hac has", word.escape_debug()),
                        )
                        .with_primary(file, Span::new(start, start + word.len()), "allowed here")
                        .with_help(format!(
                            "name a lint from docs/cluster.md without its `{LINT_PREFIX}` prefix, e.g. `# {MARKER} endpoint_is_ip`"
                        )),
                    );
                }
            }
        }
    }
    (allows, unknown)
}

/// The text after the marker of an allow comment (up to a `--` reason or the end of
/// a block comment), with its byte offset in the comment.
fn allowed_codes(comment: &str) -> Option<(usize, &str)> {
    let body = comment
        .strip_prefix('#')
        .or_else(|| comment.strip_prefix("/*"))?;
    let trimmed = body.trim_start();
    let rest = trimmed.strip_prefix(MARKER)?;
    // `hac: allowance` is not an allow comment.
    if rest.chars().next().is_some_and(|c| !c.is_whitespace()) {
        return None;
    }
    let at = comment.len() - rest.len();
    let rest = rest.strip_suffix("*/").unwrap_or(rest);
    let rest = rest.split_once("--").map_or(rest, |(codes, _reason)| codes);
    Some((at, rest))
}

/// The words of `text` separated by spaces or commas, with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|word| !word.is_empty())
        .map(move |word| (word.as_ptr() as usize - text.as_ptr() as usize, word))
}

/// The lint code `word` names, with or without the `hac::lint::` prefix.
fn known_code(word: &str) -> Option<&'static str> {
    let full = if word.starts_with(LINT_PREFIX) {
        word.to_owned()
    } else {
        format!("{LINT_PREFIX}{word}")
    };
    codes::ALL
        .iter()
        .map(|(code, _)| *code)
        .find(|code| *code == full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_up_to_a_reason() {
        assert_eq!(allowed_codes("# hac: allow a, b"), Some((12, " a, b")));
        assert_eq!(allowed_codes("#hac: allow a -- why"), Some((11, " a ")));
        assert_eq!(allowed_codes("/* hac: allow a */"), Some((13, " a ")));
        assert_eq!(allowed_codes("# hac: allowance"), None);
        assert_eq!(allowed_codes("# see hac: allow a"), None);
        let found: Vec<_> = words(" a, b  c").collect();
        assert_eq!(found, [(1, "a"), (4, "b"), (7, "c")]);
        assert_eq!(known_code("endpoint_is_ip"), Some(codes::ENDPOINT_IS_IP));
        assert_eq!(
            known_code("hac::lint::endpoint_is_ip"),
            Some(codes::ENDPOINT_IS_IP)
        );
        assert_eq!(known_code("endpoint_is_dns"), None);
    }
}
