//! Reading and writing the bundle file: private permissions, atomic replacement.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::error::SecretsError;
use super::random;

/// A bundle is a few kilobytes; anything this large is not one.
const MAX_SIZE: u64 = 4 * 1024 * 1024;

/// Reads the file, refusing it (as ssh refuses private keys) when group or others have
/// any access to it.
pub(crate) fn read_private(path: &Path) -> Result<String, SecretsError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(SecretsError::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(SecretsError::io(path, "open", e)),
    };
    // Checked on the open handle, so the file that is read is the file that was checked.
    let metadata = file
        .metadata()
        .map_err(|e| SecretsError::io(path, "inspect", e))?;
    if !metadata.is_file() {
        return Err(SecretsError::Malformed {
            path: path.to_path_buf(),
            line: None,
            message: "not a regular file".to_owned(),
            help: None,
        });
    }
    check_private_mode(path, &metadata)?;
    if metadata.len() > MAX_SIZE {
        return Err(SecretsError::Malformed {
            path: path.to_path_buf(),
            line: None,
            message: format!(
                "the file is larger than {MAX_SIZE} bytes; it is not a secrets bundle"
            ),
            help: None,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .map_err(|e| SecretsError::io(path, "read", e))?;
    String::from_utf8(bytes).map_err(|e| SecretsError::Malformed {
        path: path.to_path_buf(),
        line: Some(
            e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1,
        ),
        message: "the file is not UTF-8 text".to_owned(),
        help: None,
    })
}

#[cfg(unix)]
fn check_private_mode(path: &Path, metadata: &fs::Metadata) -> Result<(), SecretsError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(SecretsError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_mode(_path: &Path, _metadata: &fs::Metadata) -> Result<(), SecretsError> {
    Ok(())
}

/// Replaces `path` with `contents` so that a reader (or a crash) sees either the old
/// file or the new one, never a mix: the bytes go to a fresh mode-0600 file in the same
/// directory, are synced, and the file is renamed over `path`.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), SecretsError> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| {
        SecretsError::io(path, "write", io::Error::other("the path names no file"))
    })?;
    let mut suffix = [0u8; 6];
    random::fill(&mut suffix)?;
    let temporary = directory.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        random::lower_hex(&suffix)
    ));

    let result = write_new_private(&temporary, contents)
        .and_then(|()| fs::rename(&temporary, path))
        .map_err(|e| SecretsError::io(path, "write", e));
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
        return result;
    }
    sync_directory(&directory).map_err(|e| SecretsError::io(&directory, "sync", e))
}

fn write_new_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes the rename itself durable.
#[cfg(unix)]
fn sync_directory(directory: &Path) -> io::Result<()> {
    File::open(directory)?.sync_all()
}

#[cfg(not(unix))]
fn sync_directory(_directory: &Path) -> io::Result<()> {
    Ok(())
}
