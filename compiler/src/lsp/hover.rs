//! Hover: the schema documentation of an attribute, the documentation of a builtin,
//! and what a `let`, `rec` or argument name stands for.

use hac_lang::ast::{Expr, ExprKind};
use hac_lang::{Span, Value, ValueKind};
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

use crate::model::schema::{self, Attribute};

use super::builtin_docs::builtin_doc;
use super::convert;
use super::features::Context;
use super::schema::set_at;
use super::syntax::{self, Definition, Segment};

pub fn hover(context: &Context<'_>, position: Position) -> Option<Hover> {
    let offset = convert::offset(context.file, position, context.encoding);
    let cursor = syntax::cursor(&context.parse.expr, offset);
    // A `let` name is the binding, even when the schema has an attribute of that name;
    // a `rec` set's names are attributes first.
    let binding = cursor
        .definition_at(offset)
        .filter(|d| d.kind != syntax::DefinitionKind::Rec);
    let (text, span) = if let Some(definition) = binding {
        (definition_markdown(context, definition), definition.span)
    } else if let Some(name) = &cursor.name {
        let text = if context.file.text[..name.span.start as usize].ends_with("builtins.") {
            builtin_doc(&name.name).map(str::to_owned)
        } else {
            schema_markdown(name.set_path.as_deref(), &name.name)
        };
        (text?, name.span)
    } else if let Some(definition) = cursor.definition_at(offset) {
        (definition_markdown(context, definition), definition.span)
    } else if let Some(var) = cursor.var {
        match cursor.resolve(&var.name) {
            Some(definition) => (definition_markdown(context, definition), var.span),
            None => (builtin_doc(&var.name)?.to_owned(), var.span),
        }
    } else {
        return None;
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(convert::range(context.file, span, context.encoding)),
    })
}

/// The documentation of attribute `name` of the set at `set_path`. Where the set is
/// not known (a host built by a function, say), every schema attribute of that name.
fn schema_markdown(set_path: Option<&[Segment]>, name: &str) -> Option<String> {
    if let Some(set) = set_path.and_then(set_at) {
        return schema::lookup(set, name).map(attribute_markdown);
    }
    let all: Vec<String> = schema::ATTRIBUTES
        .iter()
        .filter(|a| a.name == name)
        .map(attribute_markdown)
        .collect();
    (!all.is_empty()).then(|| all.join("\n\n---\n\n"))
}

pub fn attribute_markdown(attribute: &Attribute) -> String {
    let set = schema::set(attribute.set);
    format!(
        "**`{}`** ({}) — {}, default: {}\n\n{}",
        attribute.name, set.title, attribute.ty, attribute.default, attribute.doc
    )
}

fn definition_markdown(context: &Context<'_>, definition: &Definition<'_>) -> String {
    let mut out = format!("`{}`: {}", definition.name, definition.kind.describe());
    let value = definition.value.and_then(|expr| {
        let analysis = context.analysis?;
        let file = analysis.sources.find(&context.file.path)?;
        find_value(analysis.value.as_ref()?, file, expr.span, &mut 10_000)
    });
    match (value, definition.value) {
        (Some(value), _) if !matches!(value.kind, ValueKind::Function) => {
            let shown = hac_lang::json::to_json(value).unwrap_or_default();
            out.push_str(&format!(
                ", {}\n\n```nix\n{}\n```",
                value.type_name(),
                clip(&shown, 400)
            ));
        }
        (_, Some(expr)) => {
            if let Some(kind) = static_kind(expr) {
                out.push_str(&format!(", {kind}"));
            }
            let source = context.file.slice(definition.binding);
            out.push_str(&format!("\n\n```nix\n{}\n```", clip_lines(source, 12)));
        }
        (_, None) => {}
    }
    out
}

/// The evaluated value written at `span`, if the file's value contains it.
fn find_value<'v>(
    value: &'v Value,
    file: hac_lang::FileId,
    span: Span,
    budget: &mut usize,
) -> Option<&'v Value> {
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    if value.origin.file == file && value.origin.span == span {
        return Some(value);
    }
    match &value.kind {
        ValueKind::List(items) => items.iter().find_map(|v| find_value(v, file, span, budget)),
        ValueKind::Attrs(attrs) => attrs
            .iter()
            .find_map(|(_, attr)| find_value(&attr.value, file, span, budget)),
        _ => None,
    }
}

fn static_kind(expr: &Expr) -> Option<&'static str> {
    Some(match &expr.kind {
        ExprKind::Int(_) => "int",
        ExprKind::Str { .. } => "string",
        ExprKind::Path(_) => "path",
        ExprKind::List(_) => "list",
        ExprKind::AttrSet { .. } => "set",
        ExprKind::Lambda { .. } => "function",
        ExprKind::Paren(inner) => return static_kind(inner),
        _ => return None,
    })
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn clip_lines(text: &str, max: usize) -> String {
    let mut lines: Vec<&str> = text.lines().take(max + 1).collect();
    if lines.len() > max {
        lines.truncate(max);
        lines.push("…");
    }
    lines.join("\n")
}
