//! The open documents: the editor's text, which is what the analysis reads instead of
//! the file on disk.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hac_lang::syntax::{Parse, parse};
use hac_lang::{FileId, SourceFile};
use lsp_types::Uri;

pub struct Document {
    /// The URI as the client wrote it, to publish diagnostics under the same name.
    pub uri: Uri,
    pub version: i32,
    pub file: SourceFile,
    parse: OnceCell<Parse>,
}

impl Document {
    pub fn new(uri: Uri, path: PathBuf, version: i32, text: String) -> Document {
        Document {
            uri,
            version,
            file: SourceFile::new(path, text),
            parse: OnceCell::new(),
        }
    }

    /// The syntax tree of the current text, parsed on first use.
    pub fn parse(&self) -> &Parse {
        self.parse.get_or_init(|| parse(FileId(0), &self.file.text))
    }
}

/// Open documents by normalised absolute path.
#[derive(Default)]
pub struct Documents {
    open: HashMap<PathBuf, Document>,
}

impl Documents {
    pub fn open(&mut self, document: Document) {
        self.open.insert(document.file.path.clone(), document);
    }

    pub fn close(&mut self, path: &Path) -> Option<Document> {
        self.open.remove(path)
    }

    pub fn get(&self, path: &Path) -> Option<&Document> {
        self.open.get(path)
    }

    /// The open texts, for an [`hac_lang::loader::OverlayLoader`].
    pub fn overlay(&self) -> HashMap<PathBuf, String> {
        self.open
            .iter()
            .map(|(path, doc)| (path.clone(), doc.file.text.to_string()))
            .collect()
    }
}
