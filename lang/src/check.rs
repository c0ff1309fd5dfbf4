//! Static checks on a parsed file: every undefined name and duplicate attribute,
//! all reported in one pass, before anything is evaluated.
//!
//! Scoping follows Nix 2.8: `let` and `rec { }` bind their attribute names (the first
//! component of each path) for all their values; `inherit x;` inside them looks `x`
//! up in the *enclosing* scope, while `inherit (e) x;` evaluates `e` in their own
//! scope; non-recursive sets bind nothing; function arguments, pattern entries and the
//! `@` name are in scope for the body and for every default.
//!
//! Duplicates follow Nix's attribute-path merging: `a.b = 1; a.c = 2;` builds one
//! set `a`; a path may also extend a set written literally (`a = { x = 1; }; a.y =
//! 2;`), and two literal sets for the same name merge one level deep, exactly as
//! Nix does. hac refuses the merges whose meaning in Nix is surprising: into or from
//! a `rec` set (Nix evaluates every merged attribute in the first definition's
//! scope), reported as `rec_set_merge`, and of a set with dynamic attribute names,
//! which Nix silently drops, reported as a duplicate.

use std::collections::{HashMap, HashSet};

use crate::ast::{AttrName, Binding, Expr, ExprKind, Ident, Param, StrPart};
use crate::codes;
use crate::diagnostic::{Diagnostic, did_you_mean, normalize};
use crate::names::GLOBALS;
use crate::span::{FileId, Origin, Span};

pub fn check(file: FileId, expr: &Expr) -> Vec<Diagnostic> {
    // The walk recurses once per tree level; run it on the parser's stack so trees
    // as deep as the parser allows are always safe.
    crate::syntax::with_parser_stack(|| {
        let mut checker = Checker {
            file,
            scopes: Vec::new(),
            diagnostics: Vec::new(),
            suggestions_left: MAX_SUGGESTIONS,
        };
        checker.expr(expr);
        let mut diagnostics = checker.diagnostics;
        normalize(&mut diagnostics);
        diagnostics
    })
}

struct Checker<'e> {
    file: FileId,
    /// Innermost last.
    scopes: Vec<HashSet<&'e str>>,
    diagnostics: Vec<Diagnostic>,
    /// Undefined names that may still get a did-you-mean search.
    suggestions_left: usize,
}

/// Each did-you-mean search compares the name with every name in scope: past this
/// many undefined names in one file (a file that is mostly mistakes), the help
/// stops suggesting so checking stays fast.
const MAX_SUGGESTIONS: usize = 100;

impl<'e> Checker<'e> {
    fn expr(&mut self, e: &'e Expr) {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Path(_) | ExprKind::Error => {}
            ExprKind::Str { parts, .. } => self.string_parts(parts),
            ExprKind::Var(ident) => self.resolve(ident, 0),
            ExprKind::Paren(inner) => self.expr(inner),
            ExprKind::List(items) => items.iter().for_each(|item| self.expr(item)),
            ExprKind::AttrSet {
                recursive,
                bindings,
            } => {
                self.duplicates(bindings);
                if *recursive {
                    self.scopes.push(bound_names(bindings));
                    self.binding_values(bindings, 1);
                    self.scopes.pop();
                } else {
                    self.binding_values(bindings, 0);
                }
            }
            ExprKind::Let { bindings, body } => {
                self.duplicates(bindings);
                self.scopes.push(bound_names(bindings));
                self.binding_values(bindings, 1);
                self.expr(body);
                self.scopes.pop();
            }
            ExprKind::Select {
                expr,
                path,
                default,
            } => {
                self.expr(expr);
                self.attr_path(path);
                if let Some(default) = default {
                    self.expr(default);
                }
            }
            ExprKind::HasAttr { expr, path } => {
                self.expr(expr);
                self.attr_path(path);
            }
            ExprKind::Apply { func, arg } => {
                self.expr(func);
                self.expr(arg);
            }
            ExprKind::Lambda { param, body } => self.lambda(param, body),
            ExprKind::If { cond, then, else_ } => {
                self.expr(cond);
                self.expr(then);
                self.expr(else_);
            }
            ExprKind::Assert { cond, body } => {
                self.expr(cond);
                self.expr(body);
            }
            ExprKind::Unary { expr, .. } => self.expr(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
        }
    }

    fn string_parts(&mut self, parts: &'e [StrPart]) {
        for part in parts {
            if let StrPart::Interpolation(inner) = part {
                self.expr(inner);
            }
        }
    }

    fn attr_path(&mut self, path: &'e [AttrName]) {
        for name in path {
            match name {
                AttrName::Ident(_) => {}
                AttrName::Str(e) | AttrName::Dynamic(e) => self.expr(e),
            }
        }
    }

    /// The values of bindings (and the dynamic parts of their names). `inherit x;`
    /// looks `x` up skipping the `skip` innermost scopes: the set's own scope for
    /// `let` and `rec`, as in Nix.
    fn binding_values(&mut self, bindings: &'e [Binding], skip: usize) {
        for binding in bindings {
            match binding {
                Binding::Attr { path, value, .. } => {
                    self.attr_path(path);
                    self.expr(value);
                }
                Binding::Inherit {
                    from: Some(from), ..
                } => self.expr(from),
                Binding::Inherit {
                    from: None, names, ..
                } => {
                    for name in names {
                        self.resolve(name, skip);
                    }
                }
            }
        }
    }

    fn lambda(&mut self, param: &'e Param, body: &'e Expr) {
        match param {
            Param::Ident(ident) => {
                self.scopes.push(HashSet::from([ident.name.as_str()]));
                self.expr(body);
            }
            Param::Pattern { entries, bind, .. } => {
                self.duplicate_parameters(entries.iter().map(|e| &e.name), bind.as_ref());
                let mut scope: HashSet<&str> =
                    entries.iter().map(|e| e.name.name.as_str()).collect();
                if let Some(bind) = bind {
                    scope.insert(&bind.name);
                }
                self.scopes.push(scope);
                for entry in entries {
                    if let Some(default) = &entry.default {
                        self.expr(default);
                    }
                }
                self.expr(body);
            }
        }
        self.scopes.pop();
    }

    // ----- names ------------------------------------------------------------------

    fn resolve(&mut self, ident: &Ident, skip: usize) {
        let visible = &self.scopes[..self.scopes.len().saturating_sub(skip)];
        let name = ident.name.as_str();
        if visible.iter().rev().any(|scope| scope.contains(name)) || GLOBALS.contains(&name) {
            return;
        }
        let candidates = visible
            .iter()
            .flat_map(|scope| scope.iter().copied())
            .chain(GLOBALS.iter().copied());
        let suggestion = if self.suggestions_left > 0 {
            self.suggestions_left -= 1;
            did_you_mean(name, candidates)
        } else {
            None
        };
        let help = match suggestion {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => format!(
                "define `{name}` with `let {name} = …; in …`, or take it as a function argument"
            ),
        };
        self.diagnostics.push(
            Diagnostic::error(
                codes::UNDEFINED_VARIABLE,
                format!("undefined variable `{name}`"),
            )
            .with_primary(self.file, ident.span, "not defined")
            .with_help(help),
        );
    }

    fn duplicate_parameters<'p>(
        &mut self,
        entries: impl Iterator<Item = &'p Ident>,
        bind: Option<&Ident>,
    ) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for entry in entries {
            if let Some(&first) = seen.get(entry.name.as_str()) {
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::DUPLICATE_PARAMETER,
                        format!("parameter `{}` is defined twice", entry.name),
                    )
                    .with_primary(self.file, entry.span, "defined again here")
                    .with_label(Origin::new(self.file, first), "first defined here")
                    .with_help(format!(
                        "a function pattern takes each argument once: remove one `{}`",
                        entry.name
                    )),
                );
            } else {
                seen.insert(&entry.name, entry.span);
            }
        }
        if let Some(bind) = bind
            && let Some(&entry) = seen.get(bind.name.as_str())
        {
            self.diagnostics.push(
                Diagnostic::error(
                    codes::DUPLICATE_PARAMETER,
                    format!(
                        "`{}` names both the whole argument and one of its attributes",
                        bind.name
                    ),
                )
                .with_primary(self.file, bind.span, "the whole argument")
                .with_label(Origin::new(self.file, entry), "an attribute of it")
                .with_help(format!(
                    "rename the `@` binding, for example to `{}`",
                    ["args", "arguments", "all"]
                        .into_iter()
                        .find(|name| !seen.contains_key(name))
                        .unwrap_or("whole")
                )),
            );
        }
    }

    // ----- duplicate attributes -----------------------------------------------------

    fn duplicates(&mut self, bindings: &'e [Binding]) {
        let mut tree = AttrTree::default();
        self.add_bindings(&mut tree, bindings, true);
    }

    /// Adds bindings to `tree` as Nix's parser does, reporting clashes if `report`.
    fn add_bindings(&mut self, tree: &mut AttrTree<'e>, bindings: &'e [Binding], report: bool) {
        for binding in bindings {
            match binding {
                Binding::Inherit { names, .. } => {
                    for name in names {
                        if let Some(first) = tree.entries.get(name.name.as_str()) {
                            if report {
                                self.duplicate(&name.name, name.span, first.span, None);
                            }
                        } else {
                            tree.insert(&name.name, name.span, EntryKind::Value);
                        }
                    }
                }
                // A value the parser could not read is already reported; a clash
                // involving it is most likely a consequence of that error.
                Binding::Attr {
                    value:
                        Expr {
                            kind: ExprKind::Error,
                            ..
                        },
                    ..
                } => {}
                Binding::Attr { path, value, .. } => {
                    self.add_attr(tree, path, value, report);
                }
            }
        }
    }

    fn add_attr(
        &mut self,
        mut tree: &mut AttrTree<'e>,
        path: &'e [AttrName],
        value: &'e Expr,
        report: bool,
    ) {
        let Some((last, prefix)) = path.split_last() else {
            return;
        };
        let start = path[0].span();
        let whole = start.to(last.span());
        let mut whole_shown = String::new();
        for component in path {
            match component.static_name() {
                Some(name) => push_component(&mut whole_shown, name),
                None => push_component(&mut whole_shown, "${…}"),
            }
        }
        let mut shown = String::new();
        for component in prefix {
            // Dynamic names are only known at run time.
            let Some(name) = component.static_name() else {
                return;
            };
            push_component(&mut shown, name);
            let span = start.to(component.span());
            if !tree.entries.contains_key(name) {
                tree.insert(name, span, EntryKind::Set(AttrTree::default()));
            }
            let entry = tree.entries.get_mut(name).expect("inserted above");
            match &mut entry.kind {
                EntryKind::Set(nested) => tree = nested,
                EntryKind::RecSet => {
                    if report {
                        let message = format!(
                            "cannot add `{whole_shown}` to the `rec` set `{shown}` from outside it"
                        );
                        self.rec_set_merge(message, whole, entry.span, &shown);
                    }
                    return;
                }
                EntryKind::Value => {
                    if report {
                        self.duplicate(&whole_shown, whole, entry.span, None);
                    }
                    return;
                }
            }
        }
        let Some(name) = last.static_name() else {
            return;
        };
        push_component(&mut shown, name);
        let span = start.to(last.span());
        let literal = literal_set(value);
        let Some(existing) = tree.entries.get_mut(name) else {
            let kind = match literal {
                Some((false, bindings)) => {
                    let mut nested = AttrTree::default();
                    self.add_bindings(&mut nested, bindings, false);
                    EntryKind::Set(nested)
                }
                Some((true, _)) => EntryKind::RecSet,
                None => EntryKind::Value,
            };
            tree.insert(name, span, kind);
            return;
        };
        let first = existing.span;
        match (&mut existing.kind, literal) {
            (EntryKind::Set(existing), Some((false, bindings)))
                if !bindings.iter().any(has_dynamic_name) =>
            {
                // Nix merges the two sets one level deep.
                let mut incoming = AttrTree::default();
                self.add_bindings(&mut incoming, bindings, false);
                let mut clashes = Vec::new();
                for (key, entry) in incoming.entries {
                    match existing.entries.get(key) {
                        Some(previous) => clashes.push((key, entry.span, previous.span)),
                        None => {
                            existing.entries.insert(key, entry);
                        }
                    }
                }
                if report {
                    clashes.sort_by_key(|&(_, span, _)| span);
                    for (key, span, previous) in clashes {
                        let mut full = shown.clone();
                        push_component(&mut full, key);
                        self.duplicate(&full, span, previous, None);
                    }
                }
            }
            (EntryKind::RecSet, Some(_)) | (EntryKind::Set(_), Some((true, _))) if report => {
                let message =
                    format!("cannot merge a `rec` set with another definition of `{shown}`");
                self.rec_set_merge(message, span, first, &shown);
            }
            (EntryKind::Set(_), Some(_)) if report => {
                let help = format!(
                    "hac merges two definitions of `{shown}` only when both are attribute sets without `${{…}}` names; define `{shown}` in one place"
                );
                self.duplicate(&shown, span, first, Some(help));
            }
            _ if report => self.duplicate(&shown, span, first, None),
            _ => {}
        }
    }

    /// Nix merges attributes into a `rec` set written elsewhere, and evaluates them
    /// all in the scope of whichever definition came first (`{ a = rec { x = 1; };
    /// a.y = x; }` makes `y` 1). hac keeps a `rec` set's scope to its own braces.
    fn rec_set_merge(&mut self, message: String, span: Span, first: Span, shown: &str) {
        self.diagnostics.push(
            Diagnostic::error(codes::REC_SET_MERGE, message)
                .with_primary(self.file, span, "added here")
                .with_label(Origin::new(self.file, first), format!("`{shown}` is first defined here"))
                .with_help(format!(
                    "Nix would merge them into one set and evaluate every attribute in the scope of the first definition; hac keeps a `rec` set's names to its own braces: define all of `{shown}` in one place"
                )),
        );
    }

    fn duplicate(&mut self, name: &str, span: Span, first: Span, help: Option<String>) {
        let help = help.unwrap_or_else(|| {
            format!("remove one of the definitions of `{name}`, or rename one of them")
        });
        self.diagnostics.push(
            Diagnostic::error(
                codes::DUPLICATE_ATTRIBUTE,
                format!("attribute `{name}` is defined twice"),
            )
            .with_primary(self.file, span, "defined again here")
            .with_label(Origin::new(self.file, first), "first defined here")
            .with_help(help),
        );
    }
}

/// The names a `let` or `rec { }` brings into scope.
fn bound_names(bindings: &[Binding]) -> HashSet<&str> {
    let mut names = HashSet::new();
    for binding in bindings {
        match binding {
            Binding::Attr { path, .. } => {
                if let Some(name) = path.first().and_then(AttrName::static_name) {
                    names.insert(name);
                }
            }
            Binding::Inherit { names: list, .. } => {
                names.extend(list.iter().map(|n| n.name.as_str()));
            }
        }
    }
    names
}

/// A set written literally (parentheses do not matter, as in Nix): whether it is
/// `rec`, and its bindings.
fn literal_set(value: &Expr) -> Option<(bool, &[Binding])> {
    match &value.kind {
        ExprKind::Paren(inner) => literal_set(inner),
        ExprKind::AttrSet {
            recursive,
            bindings,
        } => Some((*recursive, bindings)),
        _ => None,
    }
}

fn has_dynamic_name(binding: &Binding) -> bool {
    match binding {
        Binding::Attr { path, .. } => path.first().is_some_and(|n| n.static_name().is_none()),
        Binding::Inherit { .. } => false,
    }
}

fn push_component(shown: &mut String, name: &str) {
    if !shown.is_empty() {
        shown.push('.');
    }
    let plain = name == "${…}"
        || name
            .chars()
            .next()
            .is_some_and(crate::syntax::is_ident_start)
            && name.chars().all(crate::syntax::is_ident_char);
    if plain {
        shown.push_str(name);
    } else {
        shown.push_str(&format!("{name:?}"));
    }
}

/// The statically known attributes of a set under construction.
#[derive(Default)]
struct AttrTree<'e> {
    entries: HashMap<&'e str, Entry<'e>>,
}

impl<'e> AttrTree<'e> {
    fn insert(&mut self, name: &'e str, span: Span, kind: EntryKind<'e>) {
        self.entries.insert(name, Entry { span, kind });
    }
}

struct Entry<'e> {
    /// Where it was first defined: the attribute path up to this name.
    span: Span,
    kind: EntryKind<'e>,
}

enum EntryKind<'e> {
    /// A set built from attribute paths or written literally without `rec`, which
    /// later paths and literal sets may extend.
    Set(AttrTree<'e>),
    /// A literal `rec { }`, which hac does not extend.
    RecSet,
    /// Any other value, or an inherited name.
    Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(code, text under the primary label, text under the secondary label)`.
    fn report(text: &str) -> Vec<(&'static str, String, Option<String>)> {
        let parse = crate::syntax::parse(FileId(0), text);
        assert!(
            parse.diagnostics.is_empty(),
            "syntax errors in {text:?}: {:?}",
            parse.diagnostics
        );
        check(FileId(0), &parse.expr)
            .into_iter()
            .map(|d| {
                let primary = d.primary().expect("primary label").origin.span;
                let secondary = d
                    .labels
                    .iter()
                    .find(|l| !l.primary)
                    .map(|l| text[l.origin.span.range()].to_string());
                (d.code, text[primary.range()].to_string(), secondary)
            })
            .collect()
    }

    fn check_messages(text: &str) -> Vec<String> {
        let parse = crate::syntax::parse(FileId(0), text);
        check(FileId(0), &parse.expr)
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    fn undefined(text: &str) -> Vec<String> {
        report(text)
            .into_iter()
            .map(|(code, name, _)| {
                assert_eq!(code, codes::UNDEFINED_VARIABLE);
                name
            })
            .collect()
    }

    fn dup(text: &str) -> Vec<(String, Option<String>)> {
        report(text)
            .into_iter()
            .map(|(code, name, first)| {
                assert_eq!(code, codes::DUPLICATE_ATTRIBUTE, "{text}");
                (name, first)
            })
            .collect()
    }

    fn pair(second: &str, first: &str) -> (String, Option<String>) {
        (second.to_string(), Some(first.to_string()))
    }

    #[test]
    fn scopes_follow_nix() {
        assert!(undefined("let a = 1; b = a; in b").is_empty());
        assert!(undefined("rec { a = 1; b = a; }").is_empty());
        assert_eq!(undefined("{ a = 1; b = a; }"), ["a"]);
        assert!(undefined("x: x").is_empty());
        assert!(undefined("{ a, b ? a, ... }@args: [ a b args ]").is_empty());
        assert!(undefined("args@{ a ? args }: a").is_empty());
        assert!(undefined("[ true false null builtins.map import ]").is_empty());
        assert_eq!(undefined("[ x y (z: z) z ]"), ["x", "y", "z"]);
        assert!(undefined("let a.b = 1; in a").is_empty());
        assert!(undefined("let inherit (s) x; s = { x = 1; }; in x").is_empty());
        // `inherit x;` in `let` and `rec` looks past the set's own names (Nix 2.8).
        assert_eq!(undefined("let inherit x; in x"), ["x"]);
        assert_eq!(undefined("rec { inherit x; y = x; }"), ["x"]);
        assert!(undefined("x: let inherit x; in x").is_empty());
        assert_eq!(undefined("{ inherit x; }"), ["x"]);
        assert_eq!(undefined("{ ${k} = v; }"), ["k", "v"]);
        assert!(undefined("rec { k = \"a\"; ${k} = k; }").is_empty());
        assert_eq!(
            undefined("\"${a}\" + x.${b} + (y ? ${c})"),
            ["a", "x", "b", "y", "c"]
        );
        assert_eq!(undefined("a.b or c"), ["a", "c"]);
        assert!(undefined("if true then 1 else assert false; -(!1)").is_empty());
    }

    #[test]
    fn undefined_variables_suggest_names_in_scope() {
        let parse = crate::syntax::parse(FileId(0), "let workers = 1; in wokers + tru");
        let diagnostics = check(FileId(0), &parse.expr);
        assert_eq!(diagnostics.len(), 2);
        assert_eq!(diagnostics[0].message, "undefined variable `wokers`");
        assert_eq!(diagnostics[0].labels[0].origin.span, Span::new(20, 26));
        assert_eq!(
            diagnostics[0].help.as_deref(),
            Some("did you mean `workers`?")
        );
        assert_eq!(diagnostics[1].help.as_deref(), Some("did you mean `true`?"));
        let parse = crate::syntax::parse(FileId(0), "zzz");
        let diagnostics = check(FileId(0), &parse.expr);
        assert!(diagnostics[0].help.as_deref().unwrap().contains("let zzz"));
    }

    #[test]
    fn with_bodies_do_not_cascade() {
        let parse = crate::syntax::parse(FileId(0), "with e; a + b");
        assert!(check(FileId(0), &parse.expr).is_empty());
    }

    #[test]
    fn duplicates_follow_nix_merging() {
        // Each case was checked with Nix 2.8.
        assert!(dup("{ a.b = 1; a.c = 2; }").is_empty());
        assert_eq!(dup("{ a.b = 1; a.b = 2; }"), [pair("a.b", "a.b")]);
        assert_eq!(dup("{ a = 1; a = 2; }"), [pair("a", "a")]);
        assert_eq!(dup("{ a = 1; \"a\" = 2; }"), [pair("\"a\"", "a")]);
        assert_eq!(dup("{ a = 1; ${\"a\"} = 2; }"), [pair("\"a\"", "a")]);
        assert_eq!(dup("a: { inherit a; a = 1; }"), [pair("a", "a")]);
        assert_eq!(dup("a: { inherit a a; }"), [pair("a", "a")]);
        assert_eq!(dup("let a = 1; a = 2; in a"), [pair("a", "a")]);
        assert_eq!(dup("{ a = 1; a.b = 2; }"), [pair("a.b", "a")]);
        assert_eq!(dup("{ a.b = 1; a.b.c = 2; }"), [pair("a.b.c", "a.b")]);
        assert!(dup("{ a = { x = 1; }; a.y = 2; }").is_empty());
        assert!(dup("{ a.y = 2; a = { x = 1; }; }").is_empty());
        assert!(dup("{ a = { x = 1; }; a = { y = 2; }; }").is_empty());
        assert!(dup("{ a = ({ x = 1; }); a.y = 2; }").is_empty());
        assert!(dup("{ a = { x.p = 1; }; a.x.q = 2; }").is_empty());
        assert!(dup("let a = { x = 1; }; a.y = 2; in a").is_empty());
        assert_eq!(dup("{ a.b = 1; a = { b = 2; }; }"), [pair("b", "a.b")]);
        assert_eq!(
            dup("{ a = { x.p = 1; }; a = { x.q = 2; }; }"),
            [pair("x", "x")]
        );
        assert!(dup("a: b: { ${a} = 1; ${a} = 2; a.${b} = 1; a.${b} = 2; }").is_empty());
        // Merges whose meaning in Nix is surprising are refused.
        for (text, primary, first) in [
            ("{ a = rec { x = 1; }; a.y = 2; }", "a.y", "a"),
            ("{ a = { x = 1; }; a = rec { y = 2; }; }", "a", "a"),
            ("{ a = rec { x = 1; }; a = { y = 2; }; }", "a", "a"),
            ("{ a.y = 2; a = rec { x = 1; }; }", "a", "a"),
            ("{ a = rec { x = 1; }; a.b.c = 2; }", "a.b.c", "a"),
        ] {
            let found = report(text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            let (code, at, label) = &found[0];
            assert_eq!(*code, codes::REC_SET_MERGE, "{text}");
            assert_eq!(
                (at.as_str(), label.as_deref()),
                (primary, Some(first)),
                "{text}"
            );
        }
        let message = &check_messages("{ a = rec { x = 1; }; a.y = 2; }")[0];
        assert_eq!(
            message,
            "cannot add `a.y` to the `rec` set `a` from outside it"
        );
        let message = &check_messages("{ a = { x = 1; }; a = rec { y = 2; }; }")[0];
        assert_eq!(
            message,
            "cannot merge a `rec` set with another definition of `a`"
        );
        assert_eq!(
            dup("k: { a = { x = 1; }; a = { ${k} = 2; }; }"),
            [pair("a", "a")]
        );
        assert_eq!(
            dup("{ a = { x = 1; }; a = { ${\"y\"} = 2; }; }"),
            Vec::<(String, Option<String>)>::new()
        );
        // The values of a set are checked too.
        assert_eq!(dup("{ a = { b = 1; b = 2; }; }"), [pair("b", "b")]);
    }

    #[test]
    fn duplicate_parameters() {
        assert_eq!(
            report("{ a, b, a }: a"),
            [(
                codes::DUPLICATE_PARAMETER,
                "a".to_string(),
                Some("a".to_string())
            )]
        );
        let both = report("args@{ args, b }: b");
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].0, codes::DUPLICATE_PARAMETER);
        assert_eq!(both[0].1, "args");
        assert!(report("{ a }@b: a").is_empty());
        assert_eq!(report("{ a }@a: a")[0].0, codes::DUPLICATE_PARAMETER);
    }
}
