//! Go to definition: where a `let`, `rec` or argument name is bound, and the file an
//! `import` (or any path literal) names.

use std::path::Path;

use lsp_types::{GotoDefinitionResponse, Location, Position, Range};

use super::features::Context;
use super::syntax;
use super::{convert, uri};

pub fn definition(context: &Context<'_>, position: Position) -> Option<GotoDefinitionResponse> {
    let offset = convert::offset(context.file, position, context.encoding);
    let cursor = syntax::cursor(&context.parse.expr, offset);
    if let Some(var) = cursor.var {
        let definition = cursor.resolve(&var.name)?;
        return Some(GotoDefinitionResponse::Scalar(Location {
            uri: context.uri.clone(),
            range: convert::range(context.file, definition.span, context.encoding),
        }));
    }
    if let Some(definition) = cursor.definition_at(offset) {
        return Some(GotoDefinitionResponse::Scalar(Location {
            uri: context.uri.clone(),
            range: convert::range(context.file, definition.span, context.encoding),
        }));
    }
    let (text, _) = cursor.path?;
    let target = resolve_path(&context.file.path, text);
    let exists = context.open.get(&target).is_some() || target.is_file();
    // Only to files the document could read: not to a secret, nor out of the project.
    let readable = crate::sandbox::for_description(&context.file.path, None, None)
        .admit(&target)
        .is_ok();
    if !exists || !readable {
        return None;
    }
    Some(GotoDefinitionResponse::Scalar(Location {
        uri: uri::from_path(&target)?,
        range: Range::default(),
    }))
}

/// A path literal as the evaluator resolves it: relative to the containing file's
/// directory, `~` left alone.
pub fn resolve_path(file: &Path, text: &str) -> std::path::PathBuf {
    let base = file.parent().unwrap_or(Path::new("/"));
    hac_lang::loader::normalize(&base.join(text))
}
