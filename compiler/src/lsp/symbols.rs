//! The outline: the file's top-level attributes, nested sets, and hosts by name.

use hac_lang::ast::{AttrName, Binding, Expr, ExprKind, Ident};
use hac_lang::{FileId, SourceFile, Span, Value};
use lsp_types::{DocumentSymbol, DocumentSymbolResponse, SymbolKind};

use super::convert;
use super::features::Context;
use super::syntax::{Segment, described_set};

pub fn symbols(context: &Context<'_>) -> Option<DocumentSymbolResponse> {
    let bindings = described_set(&context.parse.expr)?;
    let evaluated = context.analysis.and_then(|analysis| {
        let file = analysis.sources.find(&context.file.path)?;
        Some((analysis.value.as_ref()?, file))
    });
    let outline = Outline {
        file: context.file,
        encoding: context.encoding,
        evaluated,
    };
    Some(DocumentSymbolResponse::Nested(outline.bindings(
        bindings,
        &[],
        evaluated.map(|(v, _)| v),
        0,
    )))
}

struct Outline<'a> {
    file: &'a SourceFile,
    encoding: convert::Encoding,
    evaluated: Option<(&'a Value, FileId)>,
}

const MAX_DEPTH: usize = 4;

impl Outline<'_> {
    fn bindings(
        &self,
        bindings: &[Binding],
        path: &[Segment],
        value: Option<&Value>,
        depth: usize,
    ) -> Vec<DocumentSymbol> {
        let mut out = Vec::new();
        for binding in bindings {
            let (names, expr, span) = match binding {
                Binding::Attr { path, value, span } => (path, value, span),
                Binding::Inherit { names, .. } => {
                    out.extend(self.inherited(names, path, value, depth));
                    continue;
                }
            };
            let Some(static_names) = names
                .iter()
                .map(AttrName::static_name)
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            let mut child_path = path.to_vec();
            child_path.extend(static_names.iter().map(|n| Segment::Attr((*n).to_owned())));
            let child_value = static_names.iter().try_fold(value, |v, name| {
                Some(v?.as_attrs()?.get(name).map(|attr| &attr.value))
            });
            let child_value = child_value.flatten();
            let selection = names[0].span().to(names[names.len() - 1].span());
            let children = if depth >= MAX_DEPTH {
                Vec::new()
            } else {
                self.children(expr, &child_path, child_value, depth + 1)
            };
            out.push(self.symbol(
                static_names.join("."),
                kind(expr),
                *span,
                selection,
                children,
            ));
        }
        out
    }

    /// `inherit a b;` or `inherit (set) a b;`: one symbol per name, its kind and
    /// hosts from the evaluated value (the expression is elsewhere).
    fn inherited(
        &self,
        names: &[Ident],
        path: &[Segment],
        value: Option<&Value>,
        depth: usize,
    ) -> Vec<DocumentSymbol> {
        names
            .iter()
            .map(|name| {
                let child_value = value
                    .and_then(Value::as_attrs)
                    .and_then(|attrs| attrs.get(&name.name))
                    .map(|attr| &attr.value);
                let mut child_path = path.to_vec();
                child_path.push(Segment::Attr(name.name.clone()));
                let children = if depth < MAX_DEPTH && is_host_list(&child_path) {
                    self.hosts(&[], name.span, child_value)
                } else {
                    Vec::new()
                };
                let kind = match child_value {
                    Some(v) if v.as_attrs().is_some() => SymbolKind::NAMESPACE,
                    Some(v) if v.as_list().is_some() => SymbolKind::ARRAY,
                    Some(v) if v.as_str().is_some() => SymbolKind::STRING,
                    _ => SymbolKind::PROPERTY,
                };
                self.symbol(name.name.clone(), kind, name.span, name.span, children)
            })
            .collect()
    }

    fn children(
        &self,
        expr: &Expr,
        path: &[Segment],
        value: Option<&Value>,
        depth: usize,
    ) -> Vec<DocumentSymbol> {
        match &expr.kind {
            ExprKind::Paren(inner) => self.children(inner, path, value, depth),
            ExprKind::AttrSet { bindings, .. } => self.bindings(bindings, path, value, depth),
            _ if is_host_list(path) => {
                let items: &[Expr] = match &expr.kind {
                    ExprKind::List(items) => items,
                    _ => &[],
                };
                self.hosts(items, expr.span, value)
            }
            _ => Vec::new(),
        }
    }

    /// One symbol per host, named by its `name`: from the evaluated list when the
    /// file evaluated, else from the hosts written literally.
    /// `items` are the hosts written literally (if the list is), `span` where the list
    /// is.
    fn hosts(&self, items: &[Expr], span: Span, value: Option<&Value>) -> Vec<DocumentSymbol> {
        let mut out = Vec::new();
        if let (Some(list), Some((_, file))) = (value.and_then(Value::as_list), self.evaluated) {
            for (index, host) in list.iter().enumerate() {
                let Some(name) = host.as_attrs().and_then(|a| a.get("name")) else {
                    continue;
                };
                let Some(text) = name.value.as_str() else {
                    continue;
                };
                let range = items.get(index).map_or(span, |item| item.span);
                let origin = name.value.origin;
                let selection = if origin.file == file
                    && range.start <= origin.span.start
                    && origin.span.end <= range.end
                {
                    origin.span
                } else {
                    range
                };
                out.push(self.symbol(
                    text.to_owned(),
                    SymbolKind::OBJECT,
                    range,
                    selection,
                    Vec::new(),
                ));
            }
            return out;
        }
        for item in items {
            let ExprKind::AttrSet { bindings, .. } = &item.kind else {
                continue;
            };
            let name = bindings.iter().find_map(|binding| match binding {
                Binding::Attr { path, value: v, .. }
                    if path.len() == 1 && path[0].static_name() == Some("name") =>
                {
                    match &v.kind {
                        ExprKind::Str { .. } => Some(v),
                        _ => None,
                    }
                }
                _ => None,
            });
            if let Some(name) = name {
                let text = self.file.slice(name.span).trim_matches('"').to_owned();
                out.push(self.symbol(text, SymbolKind::OBJECT, item.span, name.span, Vec::new()));
            }
        }
        out
    }

    #[allow(deprecated)] // `deprecated` is a required field of the protocol struct.
    fn symbol(
        &self,
        name: String,
        kind: SymbolKind,
        range: Span,
        selection: Span,
        children: Vec<DocumentSymbol>,
    ) -> DocumentSymbol {
        DocumentSymbol {
            name,
            detail: None,
            kind,
            tags: None,
            deprecated: None,
            range: convert::range(self.file, range, self.encoding),
            selection_range: convert::range(self.file, selection, self.encoding),
            children: (!children.is_empty()).then_some(children),
        }
    }
}

fn is_host_list(path: &[Segment]) -> bool {
    let names: Vec<&str> = path
        .iter()
        .map(|s| match s {
            Segment::Attr(name) => name.as_str(),
            Segment::Item => "[]",
        })
        .collect();
    matches!(
        names.as_slice(),
        ["controlplanes"] | ["workers"] | ["etcd", "external"] | ["loadbalancer", "hosts"]
    )
}

fn kind(expr: &Expr) -> SymbolKind {
    match &expr.kind {
        ExprKind::Paren(inner) => kind(inner),
        ExprKind::AttrSet { .. } => SymbolKind::NAMESPACE,
        ExprKind::List(_) => SymbolKind::ARRAY,
        ExprKind::Str { .. } => SymbolKind::STRING,
        ExprKind::Int(_) => SymbolKind::NUMBER,
        ExprKind::Lambda { .. } => SymbolKind::FUNCTION,
        _ => SymbolKind::PROPERTY,
    }
}
