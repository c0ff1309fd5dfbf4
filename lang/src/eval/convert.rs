//! Deep forcing: runtime values to the owned [`crate::value::Value`], `deepSeq`,
//! and the Nix-style rendering `builtins.trace` prints.

use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;

use crate::span::Origin;
use crate::value::{Attr, Attrs, Value, ValueKind};

use super::machine::{Evaluator, R};
use super::runtime::{AttrSet, Kind, Thunk, ThunkState, Val};
use super::word_map::AddressMap;

const ATTRIBUTE_CONTEXT: &str = "while evaluating the attribute";

/// Where [`Evaluator::deep_value`] is inside the value it converts.
#[derive(Debug, Default)]
pub(crate) struct ValuePath {
    steps: Vec<Step>,
    /// The lists and sets being converted, outermost first: meeting one again means
    /// the value contains itself and would never end.
    open: Vec<usize>,
}

#[derive(Debug)]
enum Step {
    Attr(Rc<str>),
    Index(usize),
}

impl ValuePath {
    /// `controlplanes[0].address`; long paths keep their ends: `a.b.c.….x.y.z`.
    fn shown(&self) -> String {
        const ENDS: usize = 3;
        let show = |out: &mut String, step: &Step| match step {
            Step::Attr(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        };
        let mut out = String::new();
        if self.steps.len() > 3 * ENDS {
            self.steps[..ENDS]
                .iter()
                .for_each(|step| show(&mut out, step));
            out.push_str(".…");
            self.steps[self.steps.len() - ENDS..]
                .iter()
                .for_each(|step| show(&mut out, step));
        } else {
            self.steps.iter().for_each(|step| show(&mut out, step));
        }
        out
    }
}

impl Evaluator<'_> {
    /// Forces `val` completely and copies it out. `path` is where `val` sits in the
    /// value being converted, for the "while evaluating the attribute" label.
    ///
    /// A value that shares structure can have an exponentially larger plain copy
    /// (`let t = …; in { a = t; b = t; }`, nested): the copy's size is worked out
    /// first, once per shared list or set, and a copy that does not fit in the
    /// memory budget is refused before any of it is built.
    ///
    /// The plain form is the one Nix's JSON gives (`toJSON`, `--eval --strict
    /// --json`): a set with `__toString` is the string that function makes, and a
    /// set with `outPath` is the plain form of that attribute, its other attributes
    /// never evaluated.
    pub(crate) fn deep_value(&mut self, val: &Val, path: &mut ValuePath) -> R<Value> {
        let sizes = self.force_plain(val, path)?;
        self.copy_value(val, path, &sizes)
    }

    /// The JSON text of `val`: the text [`crate::json::to_json`] gives for
    /// [`Evaluator::deep_value`]'s copy, with the same errors, written straight from
    /// the evaluated value without the copy in between.
    ///
    /// Everything is forced first (so an evaluation error anywhere wins over a
    /// function met earlier, as with the copy), and the value is refused as the copy
    /// is when its plain form would not fit in the memory budget; the text then
    /// counts against what is left of it.
    ///
    /// The outer error is the evaluation's; the inner one the text's (a function,
    /// or a text too long), which `hac eval` reports after every other diagnostic,
    /// as it did when it printed the copy.
    pub(crate) fn json_text(&mut self, val: &Val) -> R<R<String>> {
        let sizes = self.force_plain(val, &mut ValuePath::default())?;
        let mut writer = JsonWriter {
            out: String::new(),
            max_len: self.measured_remaining_bytes(),
            sizes: &sizes,
        };
        Ok(writer.write(val).map(|()| writer.out))
    }

    /// Forces everything `val`'s plain form holds, and refuses it when that form
    /// would not fit in the memory budget.
    fn force_plain(&mut self, val: &Val, path: &mut ValuePath) -> R<Sizes> {
        let mut sizes = Sizes::default();
        let size = self.plain_size(val, path, &mut sizes)?;
        if !self.room_for(size) {
            let mut err = self.out_of_memory(val.origin);
            err.message = format!(
                "evaluation would allocate more than {}: the plain form of this value needs about {}",
                super::shown_bytes(self.limits.max_bytes),
                about_bytes(size)
            );
            return Err(err);
        }
        Ok(sizes)
    }

    /// What stands for the set `val` in its plain form, if anything does: the
    /// string its `__toString` makes (converted as string interpolation converts
    /// it, as Nix's JSON does), or its `outPath`.
    fn stand_in(&mut self, val: &Val, set: &AttrSet) -> R<Option<StandIn>> {
        if set.get("__toString").is_some() {
            let mut text = String::new();
            self.coerce_into(&mut text, val, val.origin, false)?;
            return Ok(Some(StandIn::Text(text.into())));
        }
        match set.get("outPath") {
            Some(slot) => Ok(Some(StandIn::Value(self.force(&slot.thunk.clone())?))),
            None => Ok(None),
        }
    }

    /// Forces everything reachable from `val` and returns the memory its plain copy
    /// needs, visiting each list and set once. Errors are reported as the copy
    /// would report them: in the same order, with the same context.
    fn plain_size(&mut self, val: &Val, path: &mut ValuePath, sizes: &mut Sizes) -> R<u64> {
        let own = plain_cost(val) as u64;
        let Some(container) = container_of(val) else {
            return Ok(own);
        };
        if let Some(&size) = sizes.known.get(&container) {
            return Ok(size);
        }
        if path.open.contains(&container) {
            return Err(contains_itself(val, path));
        }
        self.enter(val.origin)?;
        path.open.push(container);
        let result = match &val.kind {
            Kind::Attrs(set) => self.stand_in(val, set),
            _ => Ok(None),
        }
        .and_then(|stand_in| match stand_in {
            Some(StandIn::Text(text)) => {
                let size = heap(text.len()) as u64;
                sizes.texts.insert(container, text);
                Ok(size)
            }
            Some(StandIn::Value(inner)) => {
                let size = self.plain_size(&inner, path, sizes);
                sizes.values.insert(container, inner);
                size
            }
            None => self.children_size(val, path, sizes),
        });
        path.open.pop();
        self.leave();
        let size = own.saturating_add(result?);
        sizes.known.insert(container, size);
        sizes.keep.push(val.clone());
        Ok(size)
    }

    fn children_size(&mut self, val: &Val, path: &mut ValuePath, sizes: &mut Sizes) -> R<u64> {
        let mut total = 0u64;
        match &val.kind {
            Kind::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.steps.push(Step::Index(index));
                    let size = self
                        .force(item)
                        .and_then(|item| self.plain_size(&item, path, sizes))?;
                    path.steps.pop();
                    total = total.saturating_add(size);
                }
            }
            Kind::Attrs(set) => {
                for (name, slot) in &set.entries {
                    path.steps.push(Step::Attr(name.clone()));
                    let size = self
                        .force(&slot.thunk)
                        .and_then(|item| self.plain_size(&item, path, sizes))
                        .map_err(|err| attribute_context(err, slot.name_origin, path))?;
                    path.steps.pop();
                    total = total.saturating_add(size);
                }
            }
            _ => {}
        }
        Ok(total)
    }

    /// Copies `val`, already forced, charging the memory the copy takes.
    fn copy_value(&mut self, val: &Val, path: &mut ValuePath, sizes: &Sizes) -> R<Value> {
        let container = container_of(val);
        if let Some(container) = container {
            if let Some(text) = sizes.texts.get(&container) {
                self.charge(std::mem::size_of::<Value>() + heap(text.len()), val.origin)?;
                return Ok(Value {
                    kind: ValueKind::String(text.to_string()),
                    origin: val.origin,
                });
            }
            if let Some(inner) = sizes.values.get(&container) {
                return self.copy_value(inner, path, sizes);
            }
        }
        self.charge(plain_cost(val), val.origin)?;
        if let Some(container) = container {
            if path.open.contains(&container) {
                return Err(contains_itself(val, path));
            }
            self.enter(val.origin)?;
            path.open.push(container);
        }
        let result = self.deep_kind(val, path, sizes);
        if container.is_some() {
            path.open.pop();
            self.leave();
        }
        Ok(Value {
            kind: result?,
            origin: val.origin,
        })
    }

    fn deep_kind(&mut self, val: &Val, path: &mut ValuePath, sizes: &Sizes) -> R<ValueKind> {
        Ok(match &val.kind {
            Kind::Null => ValueKind::Null,
            Kind::Bool(b) => ValueKind::Bool(*b),
            Kind::Int(i) => ValueKind::Int(*i),
            Kind::Str(s) => ValueKind::String(s.to_string()),
            Kind::Path(p) => ValueKind::Path(PathBuf::from(&**p)),
            Kind::Lambda(_) | Kind::Prim(_) => ValueKind::Function,
            Kind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    path.steps.push(Step::Index(index));
                    let item = self
                        .force(item)
                        .and_then(|item| self.copy_value(&item, path, sizes))?;
                    path.steps.pop();
                    out.push(item);
                }
                ValueKind::List(out)
            }
            Kind::Attrs(set) => {
                let mut out = Attrs::new();
                for (name, slot) in &set.entries {
                    path.steps.push(Step::Attr(name.clone()));
                    let value = self
                        .force(&slot.thunk)
                        .and_then(|item| self.copy_value(&item, path, sizes))
                        .map_err(|err| attribute_context(err, slot.name_origin, path))?;
                    path.steps.pop();
                    out.insert(
                        name.to_string(),
                        Attr {
                            name_origin: slot.name_origin,
                            value,
                        },
                    );
                }
                ValueKind::Attrs(out)
            }
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

/// The plain sizes of the lists and sets met so far, by address, and what stands
/// for the sets that have a stand-in; `keep` holds them so no address is reused
/// while the sizes are in use.
#[derive(Default)]
struct Sizes {
    known: AddressMap<u64>,
    texts: AddressMap<Rc<str>>,
    values: AddressMap<Val>,
    keep: Vec<Val>,
}

/// Writes a value whose plain form [`Evaluator::force_plain`] has forced as JSON.
struct JsonWriter<'s> {
    out: String,
    /// The longest text the memory budget leaves room for.
    max_len: u64,
    sizes: &'s Sizes,
}

impl JsonWriter<'_> {
    fn write(&mut self, val: &Val) -> R<()> {
        if self.out.len() as u64 > self.max_len {
            return Err(Box::new(crate::json::too_long_at(val.origin, self.max_len)));
        }
        if let Some(container) = container_of(val) {
            if let Some(text) = self.sizes.texts.get(&container) {
                crate::json::write_string(&mut self.out, text);
                return self.check_len(val);
            }
            if let Some(inner) = self.sizes.values.get(&container) {
                return self.write(inner);
            }
        }
        let out = &mut self.out;
        match &val.kind {
            Kind::Null => out.push_str("null"),
            Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Kind::Int(i) => crate::json::write_int(out, *i),
            Kind::Str(s) => crate::json::write_string(out, s),
            Kind::Path(p) => crate::json::write_string(out, p),
            Kind::Lambda(_) | Kind::Prim(_) => {
                return Err(Box::new(crate::json::function_at(val.origin)));
            }
            Kind::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.write(&forced(item))?;
                }
                self.out.push(']');
            }
            Kind::Attrs(set) => {
                out.push('{');
                for (i, (name, slot)) in set.entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    crate::json::write_string(&mut self.out, name);
                    self.out.push(':');
                    self.write(&forced(&slot.thunk))?;
                }
                self.out.push('}');
            }
        }
        self.check_len(val)
    }

    fn check_len(&self, val: &Val) -> R<()> {
        if self.out.len() as u64 > self.max_len {
            return Err(Box::new(crate::json::too_long_at(val.origin, self.max_len)));
        }
        Ok(())
    }
}

/// The value of a thunk [`Evaluator::force_plain`] has forced.
fn forced(thunk: &Thunk) -> Val {
    match &*thunk.state.borrow() {
        ThunkState::Done(val) => val.clone(),
        _ => unreachable!("the plain form is forced before it is written"),
    }
}

/// What a set's plain form is instead of the set.
enum StandIn {
    Text(Rc<str>),
    Value(Val),
}

fn container_of(val: &Val) -> Option<usize> {
    match &val.kind {
        Kind::List(items) => Some(Rc::as_ptr(items) as *const () as usize),
        Kind::Attrs(set) => Some(Rc::as_ptr(set) as *const () as usize),
        _ => None,
    }
}

/// Adds "while evaluating the attribute `path`" unless an inner attribute has.
fn attribute_context(
    mut err: Box<crate::diagnostic::Diagnostic>,
    name_origin: Origin,
    path: &ValuePath,
) -> Box<crate::diagnostic::Diagnostic> {
    if !err
        .labels
        .iter()
        .any(|l| l.message.starts_with(ATTRIBUTE_CONTEXT))
    {
        super::machine::add_context(
            &mut err,
            name_origin,
            &format!("{ATTRIBUTE_CONTEXT} `{}`", path.shown()),
        );
    }
    err
}

/// `3 GiB`, `12 MiB`, `40 KiB`, rounded up.
pub(crate) fn about_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS.iter().find(|(size, _)| bytes >= *size).map_or_else(
        || format!("{bytes} bytes"),
        |(size, unit)| format!("{} {unit}", bytes.div_ceil(*size)),
    )
}

/// Bytes of an allocation of `len` bytes, with the allocator's bookkeeping and
/// rounding (glibc: 16-byte granules, 8 bytes of header).
fn heap(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (len + 8).div_ceil(16) * 16
    }
}

/// What the plain copy of `val` made by [`Evaluator::deep_value`] costs in memory,
/// not counting its elements' own: the cell it sits in, its text, and for a set
/// its entries, names and B-tree nodes. Charging this (rather than the cell alone)
/// keeps the memory budget close to the real use when a value shares structure
/// and its copy is exponentially larger than the value itself.
fn plain_cost(val: &Val) -> usize {
    /// Entries per B-tree leaf (Rust's `BTreeMap`); a leaf is allocated whole.
    const LEAF_CAPACITY: usize = 11;
    let cell = std::mem::size_of::<Value>();
    cell + match &val.kind {
        Kind::Str(s) => heap(s.len()),
        Kind::Path(p) => heap(p.len()),
        // Each element charges its own cell.
        Kind::List(items) => heap(items.len() * cell) - items.len() * cell,
        Kind::Attrs(set) if set.entries.is_empty() => 0,
        Kind::Attrs(set) => {
            let entry = std::mem::size_of::<String>() + std::mem::size_of::<Attr>();
            // Sequential inserts leave leaves about half full.
            let leaves = 1 + set.entries.len() / (LEAF_CAPACITY / 2);
            let names: usize = set.entries.iter().map(|(name, _)| heap(name.len())).sum();
            leaves * heap(LEAF_CAPACITY * entry + 16) + names
        }
        _ => 0,
    }
}

/// A list or set met again inside itself, such as `let a = { b = a; }; in a` or two
/// files that import each other lazily: its plain form would never end.
fn contains_itself(val: &Val, path: &ValuePath) -> Box<crate::diagnostic::Diagnostic> {
    let what = if matches!(val.kind, Kind::List(_)) {
        "list"
    } else {
        "set"
    };
    let message = if path.steps.is_empty() {
        format!("the {what} contains itself")
    } else {
        format!("the {what} contains itself at `{}`", path.shown())
    };
    Box::new(
        crate::diagnostic::Diagnostic::error(crate::codes::INFINITE_RECURSION, message)
            .with_primary(val.origin.file, val.origin.span, format!("this {what} contains itself"))
            .with_help(format!(
                "a plain value must be finite: select the attributes you need from the {what} instead of including all of it"
            )),
    )
}
