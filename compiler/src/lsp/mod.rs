//! `hac lsp`: a language server over stdio.
//!
//! Diagnostics come from [`crate::analysis::analyze`], the function `hac check` calls,
//! run on worker threads over the editor's unsaved texts; hover, completion, go to
//! definition and the outline read the syntax tree (and the last evaluated value).

mod builtin_docs;
mod completion;
mod convert;
mod definition;
mod documents;
mod features;
mod formatting;
mod hover;
mod schema;
mod server;
mod symbols;
mod syntax;
pub mod transport;
mod uri;
pub mod worker;

pub use server::{capabilities, serve};

/// Runs the server on stdin/stdout until the client exits (or breaks the protocol).
pub fn run_stdio() -> Result<(), String> {
    let (connection, io_threads) = transport::stdio().map_err(|e| e.to_string())?;
    let served = serve(&connection);
    drop(connection);
    let transported = io_threads.join();
    served.and(transported)
}
