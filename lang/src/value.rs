//! Fully evaluated values: what a `.hac` file means once every thunk is forced.
//!
//! Each value remembers the expression that produced it ([`Origin`]), and each
//! attribute remembers where its name was written, so later phases (the cluster
//! schema) can point at the user's source even when the value came through `let`,
//! a function or an `import`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::span::Origin;

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    Null,
    Bool(bool),
    Int(i64),
    String(String),
    Path(PathBuf),
    List(Vec<Value>),
    Attrs(Attrs),
    /// A function (lambda or builtin); it has no JSON form.
    Function,
}

/// An attribute set, ordered by name the way Nix orders it (byte-wise).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attrs {
    entries: BTreeMap<String, Attr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// Where the attribute's name was written (for `inherit`, the inherited name).
    pub name_origin: Origin,
    pub value: Value,
}

impl Attrs {
    pub fn new() -> Attrs {
        Attrs::default()
    }

    pub fn insert(&mut self, name: String, attr: Attr) -> Option<Attr> {
        self.entries.insert(name, attr)
    }

    pub fn get(&self, name: &str) -> Option<&Attr> {
        self.entries.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Attr)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Value {
    /// The type name as `builtins.typeOf` spells it.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            ValueKind::Null => "null",
            ValueKind::Bool(_) => "bool",
            ValueKind::Int(_) => "int",
            ValueKind::String(_) => "string",
            ValueKind::Path(_) => "path",
            ValueKind::List(_) => "list",
            ValueKind::Attrs(_) => "set",
            ValueKind::Function => "lambda",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ValueKind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_attrs(&self) -> Option<&Attrs> {
        match &self.kind {
            ValueKind::Attrs(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match &self.kind {
            ValueKind::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self.kind {
            ValueKind::Int(i) => Some(i),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            ValueKind::Bool(b) => Some(b),
            _ => None,
        }
    }
}
