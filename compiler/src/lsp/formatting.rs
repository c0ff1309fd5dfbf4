//! Formatting requests: the whole document in `hac fmt`'s layout, as one edit. A file
//! with syntax errors is left alone (its diagnostics already say why).

use hac_lang::FileId;
use lsp_types::{Range, TextEdit};

use super::convert;
use super::features::Context;

/// Whether the server advertises document formatting.
pub const FORMATTING: bool = true;

pub fn formatting(context: &Context<'_>) -> Option<Vec<TextEdit>> {
    let text = &context.file.text;
    let formatted = hac_lang::format::format(FileId(0), text).ok()?;
    if formatted.as_str() == &**text {
        return Some(Vec::new());
    }
    let end = convert::position(context.file, text.len() as u32, context.encoding);
    Some(vec![TextEdit {
        range: Range::new(lsp_types::Position::new(0, 0), end),
        new_text: formatted,
    }])
}
