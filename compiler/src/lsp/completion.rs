//! Completion: schema attributes valid in the attribute set at the cursor, the
//! values of enumerated attributes, builtins after `builtins.`, and names in scope.

use hac_lang::names::{BUILTINS, GLOBALS};
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionResponse, Documentation, MarkupContent,
    MarkupKind, Position,
};

use crate::model::schema;

use super::builtin_docs::builtin_doc;
use super::convert;
use super::features::Context;
use super::hover::attribute_markdown;
use super::schema::{attribute_at, enum_values, set_at};
use super::syntax;

/// A name no one writes, standing in for the attribute name not typed yet.
const PLACEHOLDER: &str = "hac_completion_placeholder";

pub fn completion(context: &Context<'_>, position: Position) -> Option<CompletionResponse> {
    let offset = convert::offset(context.file, position, context.encoding);
    let before = &context.file.text[..offset];
    let word_start = before
        .rfind(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '\'' | '-')))
        .map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
    if before[..word_start].ends_with("builtins.") {
        return Some(CompletionResponse::Array(
            BUILTINS.iter().map(|name| builtin_item(name)).collect(),
        ));
    }
    // `network.` with nothing after the dot is no binding name yet, so the parser
    // cannot say which set it extends: complete as if a name had been typed there.
    let patched;
    let cursor = if word_start == offset && before.ends_with('.') {
        let text = format!("{before}{PLACEHOLDER}{}", &context.file.text[offset..]);
        patched = hac_lang::syntax::parse(hac_lang::FileId(0), &text);
        syntax::cursor(&patched.expr, offset)
    } else {
        syntax::cursor(&context.parse.expr, offset)
    };
    let mut items = Vec::new();
    if let Some(values) = cursor
        .value_path
        .as_deref()
        .and_then(attribute_at)
        .and_then(enum_values)
    {
        for value in values {
            items.push(CompletionItem {
                label: value.to_owned(),
                kind: Some(CompletionItemKind::ENUM_MEMBER),
                insert_text: (!cursor.in_string).then(|| format!("\"{value}\"")),
                ..CompletionItem::default()
            });
        }
        if cursor.in_string {
            return Some(CompletionResponse::Array(items));
        }
    }
    if cursor.in_string {
        return None;
    }
    if let Some(set) = cursor.set_path.as_deref().and_then(set_at) {
        let unbound = schema::attributes(set).filter(|a| !cursor.bound.iter().any(|b| b == a.name));
        for attribute in unbound {
            items.push(CompletionItem {
                label: attribute.name.to_owned(),
                kind: Some(CompletionItemKind::PROPERTY),
                detail: Some(attribute.ty.to_owned()),
                documentation: Some(markdown(attribute_markdown(attribute))),
                ..CompletionItem::default()
            });
        }
        return Some(CompletionResponse::Array(items));
    }
    if cursor.in_set_bindings && cursor.set_path.is_none() {
        // A set whose place in the cluster is unknown (a host made by a function,
        // a set merged in with `//`): every schema attribute, each saying where it
        // belongs, as hover does for such sets.
        let mut offered = std::collections::BTreeMap::<&str, Vec<&str>>::new();
        for attribute in schema::ATTRIBUTES {
            offered
                .entry(attribute.name)
                .or_default()
                .push(attribute.set);
        }
        for (name, sets) in offered {
            if cursor.bound.iter().any(|b| b == name) {
                continue;
            }
            items.push(CompletionItem {
                label: name.to_owned(),
                kind: Some(CompletionItemKind::PROPERTY),
                detail: Some(format!("attribute of {}", sets.join(", "))),
                ..CompletionItem::default()
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    for definition in cursor.scope.iter().rev() {
        if seen.insert(definition.name) {
            items.push(CompletionItem {
                label: definition.name.to_owned(),
                kind: Some(CompletionItemKind::VARIABLE),
                detail: Some(definition.kind.describe().to_owned()),
                ..CompletionItem::default()
            });
        }
    }
    items.extend(
        GLOBALS
            .iter()
            .filter(|name| !seen.contains(*name))
            .map(|name| builtin_item(name)),
    );
    Some(CompletionResponse::Array(items))
}

fn builtin_item(name: &str) -> CompletionItem {
    let constant = matches!(name, "true" | "false" | "null" | "builtins");
    CompletionItem {
        label: name.to_owned(),
        kind: Some(if constant {
            CompletionItemKind::CONSTANT
        } else {
            CompletionItemKind::FUNCTION
        }),
        documentation: builtin_doc(name).map(|doc| markdown(doc.to_owned())),
        ..CompletionItem::default()
    }
}

fn markdown(value: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value,
    })
}
