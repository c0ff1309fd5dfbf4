//! Indentation stripping for `''…''` strings, replicating Nix 2.8's
//! `stripIndentation` step by step, because every program hac shares with Nix must
//! produce the same text.
//!
//! The lexer splits an indented string into pieces: plain runs of text (which take
//! part in computing the indentation), escapes such as `''$` or `''\n` and lone `$`
//! or `'` (which end a line's leading whitespace but are not indentation
//! themselves), and interpolations.

use crate::ast::{Expr, StrPart};

#[derive(Debug)]
pub enum IndPiece {
    Text { text: String, has_indentation: bool },
    Interpolation(Expr),
}

pub fn strip_indentation(pieces: Vec<IndPiece>) -> Vec<StrPart> {
    let min_indent = minimum_indentation(&pieces);

    let mut parts: Vec<StrPart> = Vec::new();
    let mut at_start_of_line = true;
    let mut dropped = 0usize;
    let count = pieces.len();
    for (index, piece) in pieces.into_iter().enumerate() {
        match piece {
            IndPiece::Interpolation(expr) => {
                at_start_of_line = false;
                dropped = 0;
                parts.push(StrPart::Interpolation(expr));
            }
            IndPiece::Text { text, .. } => {
                let mut out = String::with_capacity(text.len());
                for c in text.chars() {
                    if at_start_of_line {
                        if c == ' ' {
                            if dropped >= min_indent {
                                out.push(c);
                            }
                            dropped += 1;
                        } else if c == '\n' {
                            dropped = 0;
                            out.push(c);
                        } else {
                            at_start_of_line = false;
                            dropped = 0;
                            out.push(c);
                        }
                    } else {
                        out.push(c);
                        if c == '\n' {
                            at_start_of_line = true;
                        }
                    }
                }
                // Nix drops a final line made only of spaces, but only when it is in
                // the last piece.
                if index + 1 == count
                    && let Some(newline) = out.rfind('\n')
                    && out[newline + 1..].bytes().all(|b| b == b' ')
                {
                    out.truncate(newline + 1);
                }
                push_literal(&mut parts, out);
            }
        }
    }
    parts
}

fn minimum_indentation(pieces: &[IndPiece]) -> usize {
    let mut at_start_of_line = true;
    let mut min_indent = usize::MAX;
    let mut indent = 0usize;
    for piece in pieces {
        let text = match piece {
            IndPiece::Text {
                text,
                has_indentation: true,
            } => text,
            _ => {
                // Interpolations and escapes end the leading whitespace of a line.
                if at_start_of_line {
                    at_start_of_line = false;
                    min_indent = min_indent.min(indent);
                }
                continue;
            }
        };
        for c in text.chars() {
            if at_start_of_line {
                if c == ' ' {
                    indent += 1;
                } else if c == '\n' {
                    // Empty lines do not count.
                    indent = 0;
                } else {
                    at_start_of_line = false;
                    min_indent = min_indent.min(indent);
                }
            } else if c == '\n' {
                at_start_of_line = true;
                indent = 0;
            }
        }
    }
    min_indent
}

/// Appends literal text, merging it with a preceding literal and dropping empty
/// pieces (which change nothing about the resulting string).
pub fn push_literal(parts: &mut Vec<StrPart>, text: String) {
    if text.is_empty() {
        return;
    }
    if let Some(StrPart::Literal(previous)) = parts.last_mut() {
        previous.push_str(&text);
    } else {
        parts.push(StrPart::Literal(text));
    }
}
