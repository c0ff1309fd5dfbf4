//! The one analysis every front end shares: `hac check`, `hac eval`, `hac plan`,
//! `hac build` and the language server all call [`analyze`], so they can never
//! disagree about a file.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use hac_lang::{Diagnostic, Limits, Loader, SourceMap, Value};

use crate::model::{self, Cloud, Cluster};
use crate::suppress;

/// How far to take a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The language only: parse, check and evaluate.
    Language,
    /// The language only, keeping just the value's JSON text (`hac eval`): no
    /// plain copy of the value is made.
    Json,
    /// [`Depth::Json`] in a process that exits once it has printed the text: the
    /// evaluated values are not freed (see [`hac_lang::Output::JsonAtExit`]).
    JsonAtExit,
    /// The language, then the cluster model and its lints.
    Cluster,
}

/// What is known about one `.hac` file after every phase that could run.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub sources: SourceMap,
    /// The evaluated value, when the language phases succeeded.
    pub value: Option<Value>,
    /// The cluster, when the value is a valid cluster description.
    pub cluster: Option<Cluster>,
    /// Diagnostics from every phase, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// Lint warnings a `# hac: allow` comment silenced (see [`crate::suppress`]):
    /// not reported, not failing `--deny-warnings`, listed by `check --diagnostics json`.
    pub suppressed: Vec<Diagnostic>,
    /// Bytes the evaluation charged against the memory budget.
    pub allocated: u64,
    /// The value's JSON text, at [`Depth::Json`] and [`Depth::JsonAtExit`] (then
    /// `value` is `None`).
    pub json: Option<String>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses, checks and evaluates `path`, then (at [`Depth::Cluster`]) reads the value as a
/// cluster description and lints it.
pub fn analyze(loader: &dyn Loader, path: &Path, limits: &Limits, depth: Depth) -> Analysis {
    analyze_on(loader, path, limits, depth, None)
}

/// [`analyze`] for hosts on `provider` (`hac check`/`hac build --provider`): the cloud
/// when the source names none, a conflict when it names another.
pub fn analyze_on(
    loader: &dyn Loader,
    path: &Path,
    limits: &Limits,
    depth: Depth,
    provider: Option<Cloud>,
) -> Analysis {
    analyze_fully(
        loader,
        path,
        limits,
        depth,
        provider,
        &AtomicBool::new(false),
    )
}

/// [`analyze`], giving up soon after `cancel` becomes true (the result is then
/// incomplete and must be discarded): the language server's check of a text that has
/// been edited since.
pub fn analyze_cancellable(
    loader: &dyn Loader,
    path: &Path,
    limits: &Limits,
    depth: Depth,
    cancel: &AtomicBool,
) -> Analysis {
    analyze_fully(loader, path, limits, depth, None, cancel)
}

/// The analysis itself, which every entry point above calls.
fn analyze_fully(
    loader: &dyn Loader,
    path: &Path,
    limits: &Limits,
    depth: Depth,
    provider: Option<Cloud>,
    cancel: &AtomicBool,
) -> Analysis {
    let output = match depth {
        Depth::Json => hac_lang::Output::Json,
        Depth::JsonAtExit => hac_lang::Output::JsonAtExit,
        Depth::Language | Depth::Cluster => hac_lang::Output::Value,
    };
    let lang = hac_lang::analyze_for(loader, path, limits, cancel, output);
    let mut analysis = Analysis {
        sources: lang.sources,
        value: lang.value,
        cluster: None,
        diagnostics: lang.diagnostics,
        suppressed: Vec::new(),
        allocated: lang.allocated,
        json: lang.json,
    };
    if cancel.load(Ordering::Relaxed) {
        return analysis;
    }
    if let (Depth::Cluster, Some(value)) = (depth, &analysis.value) {
        let (cluster, diagnostics) = model::check_cluster_on(value, provider);
        analysis.cluster = cluster;
        analysis.diagnostics.extend(diagnostics);
        hac_lang::diagnostic::normalize(&mut analysis.diagnostics);
        let all = std::mem::take(&mut analysis.diagnostics);
        (analysis.diagnostics, analysis.suppressed) = suppress::apply(all, &analysis.sources);
    }
    analysis
}
