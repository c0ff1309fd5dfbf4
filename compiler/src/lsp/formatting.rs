//! Formatting requests. No formatter is wired in yet, so the server does not offer it.

use lsp_types::TextEdit;

use super::features::Context;

/// Whether the server advertises document formatting.
pub const FORMATTING: bool = false;

pub fn formatting(_context: &Context<'_>) -> Option<Vec<TextEdit>> {
    None
}
