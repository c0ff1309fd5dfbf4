//! The hac language: a strict subset of Nix for describing clusters.
//!
//! Source in; syntax tree, values and diagnostics out. Nothing here touches a
//! terminal, parses command lines or writes YAML; files are reached only through a
//! [`Loader`], so editors can evaluate unsaved buffers.
//!
//! The pipeline is [`syntax::parse`] → [`check::check`] → [`eval`]; [`analyze`] runs all
//! three on a file and is what `hac check`, `hac eval`, `hac build` and the language
//! server share.

pub mod ast;
pub mod check;
pub mod codes;
pub mod diagnostic;
pub mod eval;
pub mod format;
pub mod json;
pub mod loader;
pub mod names;
pub mod source;
pub mod span;
pub mod syntax;
pub mod value;

pub use diagnostic::{Diagnostic, Label, Severity};
pub use eval::{Analysis, Limits, Output, analyze, analyze_cancellable, analyze_for};
pub use loader::{FsLoader, Loader};
pub use source::{SourceFile, SourceMap};
pub use span::{FileId, Origin, Span};
pub use value::{Attr, Attrs, Value, ValueKind};
