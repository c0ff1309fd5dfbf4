//! The only way the language reaches files: `import` and `builtins.readFile`,
//! `builtins.pathExists` go through a [`Loader`], so an editor can serve unsaved
//! buffers and tests can serve files from memory.

use std::collections::HashMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Reads source files for the evaluator.
pub trait Loader {
    /// The text of the file at `path`.
    fn read(&self, path: &Path) -> io::Result<String>;
    /// Whether something exists at `path`.
    fn exists(&self, path: &Path) -> bool;
}

/// Reads from the file system. Files larger than [`MAX_FILE_SIZE`] are refused.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsLoader;

/// Larger sources are refused: spans are 32-bit and no cluster needs more.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

impl Loader for FsLoader {
    fn read(&self, path: &Path) -> io::Result<String> {
        let meta = std::fs::metadata(path)?;
        if meta.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        if meta.len() > MAX_FILE_SIZE {
            return Err(io::Error::other(format!(
                "larger than {} MiB",
                MAX_FILE_SIZE / 1024 / 1024
            )));
        }
        std::fs::read_to_string(path)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

/// Serves some paths from memory (open editor buffers) and the rest from another loader.
pub struct OverlayLoader<'a> {
    pub overlay: HashMap<PathBuf, String>,
    pub fallback: &'a dyn Loader,
}

impl Loader for OverlayLoader<'_> {
    fn read(&self, path: &Path) -> io::Result<String> {
        match self.overlay.get(&normalize(path)) {
            Some(text) => Ok(text.clone()),
            None => self.fallback.read(path),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        self.overlay.contains_key(&normalize(path)) || self.fallback.exists(path)
    }
}

/// Lexically normalises a path: removes `.` and folds `dir/..`, like Nix does for path
/// literals (Nix does not resolve symlinks there either).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() && !path.is_absolute() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_dots() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/../x")), PathBuf::from("/x"));
    }
}
