//! The one analysis every front end shares: `hac check`, `hac eval`, `hac build`
//! and the language server all call [`analyze`], so they can never disagree.

use std::path::Path;

use hac_lang::{Diagnostic, Limits, Loader, SourceMap, Value};

/// What is known about one `.hac` file after every phase that could run.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub sources: SourceMap,
    /// The evaluated value, when the language phases succeeded.
    pub value: Option<Value>,
    /// Diagnostics from every phase, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses, checks and evaluates `path`.
pub fn analyze(loader: &dyn Loader, path: &Path, limits: &Limits) -> Analysis {
    let lang = hac_lang::analyze(loader, path, limits);
    Analysis {
        sources: lang.sources,
        value: lang.value,
        diagnostics: lang.diagnostics,
    }
}
