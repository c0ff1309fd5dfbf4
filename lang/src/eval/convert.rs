//! Deep forcing: runtime values to the owned [`crate::value::Value`], `deepSeq`,
//! and the Nix-style rendering `builtins.trace` prints.

use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;

use crate::span::Origin;
use crate::value::{Attr, Attrs, Value, ValueKind};

use super::machine::{Evaluator, R};
use super::runtime::{Kind, Thunk, ThunkState, Val};

const ATTRIBUTE_CONTEXT: &str = "while evaluating the attribute";

impl Evaluator<'_> {
    /// Forces `val` completely and copies it out. `path` is the attribute path from
    /// the root, for the "while evaluating the attribute" label.
    pub(crate) fn deep_value(&mut self, val: &Val, path: &mut Vec<Rc<str>>) -> R<Value> {
        self.charge(std::mem::size_of::<Value>(), val.origin)?;
        let kind = match &val.kind {
            Kind::Null => ValueKind::Null,
            Kind::Bool(b) => ValueKind::Bool(*b),
            Kind::Int(i) => ValueKind::Int(*i),
            Kind::Str(s) => {
                self.charge(s.len(), val.origin)?;
                ValueKind::String(s.to_string())
            }
            Kind::Path(p) => ValueKind::Path(PathBuf::from(&**p)),
            Kind::Lambda(_) | Kind::Prim(_) => ValueKind::Function,
            Kind::List(items) => {
                self.enter(val.origin)?;
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    let result = self
                        .force(item)
                        .and_then(|item| self.deep_value(&item, path));
                    match result {
                        Ok(item) => out.push(item),
                        Err(err) => {
                            self.leave();
                            return Err(err);
                        }
                    }
                }
                self.leave();
                ValueKind::List(out)
            }
            Kind::Attrs(set) => {
                self.enter(val.origin)?;
                let mut out = Attrs::new();
                for (name, slot) in &set.entries {
                    path.push(name.clone());
                    let result = self
                        .force(&slot.thunk)
                        .and_then(|item| self.deep_value(&item, path));
                    match result {
                        Ok(value) => {
                            out.insert(
                                name.to_string(),
                                Attr {
                                    name_origin: slot.name_origin,
                                    value,
                                },
                            );
                            path.pop();
                        }
                        Err(mut err) => {
                            if !err
                                .labels
                                .iter()
                                .any(|l| l.message.starts_with(ATTRIBUTE_CONTEXT))
                            {
                                let dotted: Vec<&str> = path.iter().map(|n| &**n).collect();
                                super::machine::add_context(
                                    &mut err,
                                    slot.name_origin,
                                    &format!("{ATTRIBUTE_CONTEXT} `{}`", dotted.join(".")),
                                );
                            }
                            self.leave();
                            return Err(err);
                        }
                    }
                }
                self.leave();
                ValueKind::Attrs(out)
            }
        };
        Ok(Value {
            kind,
            origin: val.origin,
        })
    }

    /// Forces every thunk reachable from `val` (each once, so cyclic values end).
    pub(crate) fn deep_force(&mut self, val: &Val, at: Origin) -> R<()> {
        let mut seen = HashSet::new();
        self.deep_force_inner(val, at, &mut seen)
    }

    fn deep_force_inner(&mut self, val: &Val, at: Origin, seen: &mut HashSet<usize>) -> R<()> {
        let children: Vec<Thunk> = match &val.kind {
            Kind::List(items) => items.iter().cloned().collect(),
            Kind::Attrs(set) => set.entries.iter().map(|(_, s)| s.thunk.clone()).collect(),
            _ => return Ok(()),
        };
        self.enter(at)?;
        for child in children {
            if !seen.insert(Rc::as_ptr(&child) as usize) {
                continue;
            }
            let result = self
                .force(&child)
                .and_then(|v| self.deep_force_inner(&v, at, seen));
            if let Err(err) = result {
                self.leave();
                return Err(err);
            }
        }
        self.leave();
        Ok(())
    }

    /// A value as Nix prints it in a trace; unevaluated parts show as `<CODE>`.
    pub(crate) fn show(&self, val: &Val) -> String {
        let mut out = String::new();
        show_into(&mut out, val, 0);
        out
    }
}

fn show_thunk(out: &mut String, thunk: &Thunk, depth: usize) {
    match &*thunk.state.borrow() {
        ThunkState::Done(val) => show_into(out, val, depth),
        _ => out.push_str("<CODE>"),
    }
}

fn show_into(out: &mut String, val: &Val, depth: usize) {
    if depth > 64 || out.len() > 4096 {
        out.push_str("...");
        return;
    }
    match &val.kind {
        Kind::Null => out.push_str("null"),
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Int(i) => out.push_str(&i.to_string()),
        Kind::Str(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '$' => out.push_str("\\$"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Kind::Path(p) => out.push_str(p),
        Kind::Lambda(_) => out.push_str("<LAMBDA>"),
        Kind::Prim(app) if app.args.is_empty() => out.push_str("<PRIMOP>"),
        Kind::Prim(_) => out.push_str("<PRIMOP-APP>"),
        Kind::List(items) => {
            out.push_str("[ ");
            for item in items.iter() {
                show_thunk(out, item, depth + 1);
                out.push(' ');
            }
            out.push(']');
        }
        Kind::Attrs(set) => {
            out.push_str("{ ");
            for (name, slot) in &set.entries {
                out.push_str(name);
                out.push_str(" = ");
                show_thunk(out, &slot.thunk, depth + 1);
                out.push_str("; ");
            }
            out.push('}');
        }
    }
}
