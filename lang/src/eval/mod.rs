//! The lazy evaluator and `analyze`, the one entry point every front end shares.
//!
//! Evaluation follows Nix: lazy, memoised thunks, recursive `let` and `rec`, the
//! first error stops everything. It runs on a large stack of its own (on the
//! caller's thread); a stack-usage guard and the [`Limits`] turn runaway programs
//! into diagnostics.

mod builtins;
mod convert;
mod ir;
mod machine;
mod ops;
mod runtime;
mod strings;
#[cfg(test)]
mod tests;
mod word_map;

pub(crate) use convert::about_bytes;
pub(crate) use machine::shown_bytes;
pub(crate) use strings::push_int;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::loader::Loader;
use crate::source::SourceMap;
use crate::span::FileId;
use crate::value::Value;

/// Native stack the evaluation starts with (more is added by segments as it
/// recurses, see `machine::with_stack`).
pub(crate) const STACK_SIZE: usize = 256 * 1024 * 1024;

/// Bounds that keep a runaway program from hanging or exhausting the machine.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest nesting of evaluation (function calls, thunk forcing). The stack
    /// grows as needed, by segments, so this is the only bound on recursion.
    pub max_depth: usize,
    /// Evaluation steps before giving up.
    pub max_steps: u64,
    /// Memory the evaluation may have in use: bytes of strings and list/attribute
    /// cells are counted as they are allocated, and when the count passes this, the
    /// process's resident memory is measured and counting resumes from it (see
    /// `Evaluator::charge`).
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 50_000,
            max_steps: 50_000_000,
            max_bytes: 1 << 30,
        }
    }
}

/// Everything known about one file after parsing, checking and evaluating it.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Every file that was read (the root first).
    pub sources: SourceMap,
    pub root: Option<FileId>,
    /// The fully evaluated value, when evaluation succeeded.
    pub value: Option<Value>,
    /// Diagnostics from every phase, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// Bytes charged against [`Limits::max_bytes`]; printing the value may use the rest.
    pub allocated: u64,
    /// The value's JSON text, when evaluation succeeded and [`Output::Json`] asked
    /// for it (then [`Analysis::value`] is `None`).
    pub json: Option<String>,
}

/// What an analysis hands back of the evaluated value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// The plain [`Value`], each part with where it was made.
    #[default]
    Value,
    /// Only the JSON text `nix-instantiate --eval --strict --json` prints, written
    /// straight from the evaluated value (`hac eval`): no plain copy is made.
    Json,
    /// [`Output::Json`] for a process that exits once it has printed the text (the
    /// `hac eval` command): the evaluated values are left for the system to reclaim
    /// at exit rather than freed one by one, as Nix's collector leaves them. A caller
    /// that lives on (an editor, a test) must ask for [`Output::Json`].
    JsonAtExit,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses, checks and strictly evaluates the file at `path`.
pub fn analyze(loader: &dyn Loader, path: &Path, limits: &Limits) -> Analysis {
    analyze_cancellable(loader, path, limits, &AtomicBool::new(false))
}

/// [`analyze`], giving up soon after `cancel` becomes true; the result is then
/// incomplete and must be discarded. The language server cancels the check of a text
/// that has been edited since.
pub fn analyze_cancellable(
    loader: &dyn Loader,
    path: &Path,
    limits: &Limits,
    cancel: &AtomicBool,
) -> Analysis {
    analyze_for(loader, path, limits, cancel, Output::Value)
}

/// [`analyze_cancellable`], handing back the value as `output` asks.
pub fn analyze_for(
    loader: &dyn Loader,
    path: &Path,
    limits: &Limits,
    cancel: &AtomicBool,
    output: Output,
) -> Analysis {
    let given = path;
    // Paths in the language are absolute, like Nix's.
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // On the caller's thread, with a stack of at least `STACK_SIZE` (the current one
    // when that much is left, else a segment of that size): no thread to start and
    // no round trip to the caller's thread for every file read. A panic of the
    // evaluator becomes a diagnostic, as it did when it ended a thread of its own.
    let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        stacker::maybe_grow(STACK_SIZE, STACK_SIZE, || {
            evaluate(loader, &path, limits, cancel, output)
        })
    }));
    match evaluated {
        Ok(mut analysis) => {
            // Report files the way the caller named them: relative paths stay relative.
            if let (true, Ok(cwd)) = (given.is_relative(), std::env::current_dir()) {
                analysis.sources.display_relative_to(&cwd);
            }
            analysis
        }
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no details".to_owned());
            Analysis {
                diagnostics: vec![internal_error(&format!("the evaluator crashed: {detail}"))],
                ..Analysis::default()
            }
        }
    }
}

/// The diagnostic for a failure of hac itself (a panic in the evaluator), which no
/// change to the file can fix: it asks for a bug report.
pub fn internal_error(detail: &str) -> Diagnostic {
    Diagnostic::error(
        codes::INTERNAL_ERROR,
        format!("internal error in hac: {detail}"),
    )
    .with_help(
        "this is a bug in hac, not a problem in your file; please report it with the file (or a smaller one that shows it) and the output of `hac --version`",
    )
}

fn evaluate(
    loader: &dyn Loader,
    path: &Path,
    limits: &Limits,
    cancel: &AtomicBool,
    output: Output,
) -> Analysis {
    let mut evaluator = machine::Evaluator::new(loader, limits.clone());
    evaluator.cancel = Some(cancel);
    let result = evaluator.load(path, None).and_then(|index| {
        let root = evaluator.file_value(index, None)?;
        let made = match output {
            Output::Value => (
                Some(evaluator.deep_value(&root, &mut Default::default())?),
                None,
            ),
            Output::Json | Output::JsonAtExit => (None, Some(evaluator.json_text(&root)?)),
        };
        if output == Output::JsonAtExit {
            std::mem::forget(root);
        }
        Ok(made)
    });
    let mut diagnostics = std::mem::take(&mut evaluator.diagnostics);
    let (value, json) = match result {
        Ok(result) => result,
        Err(err) => {
            diagnostics.push(*err);
            (None, None)
        }
    };
    crate::diagnostic::normalize(&mut diagnostics);
    let json = match json {
        Some(Err(err)) => {
            diagnostics.push(*err);
            None
        }
        Some(Ok(json)) => Some(json),
        None => None,
    };
    let sources = std::mem::take(&mut evaluator.sources);
    let allocated = limits.max_bytes - evaluator.remaining_bytes();
    if output == Output::JsonAtExit {
        // Freeing the whole graph (every thunk, set and string) would take a tenth
        // of the run for memory the process returns at once by exiting.
        std::mem::forget(evaluator);
    } else {
        drop(evaluator);
    }
    Analysis {
        root: (!sources.is_empty()).then_some(FileId(0)),
        sources,
        value,
        diagnostics,
        allocated,
        json,
    }
}
