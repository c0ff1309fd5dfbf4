//! The editor features, each a pure function of one open document.

use hac_lang::SourceFile;
use hac_lang::syntax::Parse;

use crate::analysis::Analysis;

use super::documents::Documents;

pub use super::completion::completion;
pub use super::definition::definition;
pub use super::formatting::{FORMATTING, formatting};
pub use super::hover::hover;
pub use super::symbols::symbols;

/// One open document as a feature sees it.
pub struct Context<'a> {
    /// The document's URI as the client names it.
    pub uri: &'a lsp_types::Uri,
    pub file: &'a SourceFile,
    pub parse: &'a Parse,
    /// The last check, when it was of exactly this text.
    pub analysis: Option<&'a Analysis>,
    pub open: &'a Documents,
    /// How positions count characters.
    pub encoding: super::convert::Encoding,
}
