//! Reading and writing the bundle file: private permissions, atomic replacement.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::error::SecretsError;
use super::random;

/// A bundle is a few kilobytes; anything this large is not one.
const MAX_SIZE: u64 = 4 * 1024 * 1024;

/// Reads the file, refusing it (as ssh refuses private keys) when group or others have
/// any access to it.
pub(crate) fn read_private(path: &Path) -> Result<String, SecretsError> {
    // Non-blocking: a FIFO in the bundle's place is refused below instead of waiting
    // for a writer forever.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
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
    let too_large = || SecretsError::Malformed {
        path: path.to_path_buf(),
        line: None,
        message: format!("the file is larger than {MAX_SIZE} bytes; it is not a secrets bundle"),
        help: None,
    };
    if metadata.len() > MAX_SIZE {
        return Err(too_large());
    }
    // Capped by the bytes read, not by the size reported before reading.
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| SecretsError::io(path, "read", e))?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(too_large());
    }
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

/// Where a write to `path` must land: the file a symlink points to (through any chain
/// of links, even to a target that does not exist yet), so that writing through
/// `link.secrets` updates the bundle the link names instead of replacing the link with
/// a regular file and leaving the target stale.
pub(crate) fn resolve(path: &Path) -> Result<PathBuf, SecretsError> {
    // The limit Linux itself puts on a chain of links (ELOOP).
    const MAX_LINKS: usize = 40;
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target =
                    fs::read_link(&current).map_err(|e| SecretsError::io(path, "resolve", e))?;
                // A relative target is relative to the link's directory.
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(SecretsError::io(path, "inspect", e)),
        }
    }
    Err(SecretsError::io(
        path,
        "resolve",
        io::Error::other("too many levels of symbolic links"),
    ))
}

/// The directory and file name a write to the resolved `path` works in.
fn split(path: &Path) -> Result<(PathBuf, String), SecretsError> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| {
        SecretsError::io(path, "write", io::Error::other("the path names no file"))
    })?;
    Ok((directory, file_name.to_string_lossy().into_owned()))
}

/// An exclusive advisory lock on a bundle, held until dropped.
///
/// Builds and rotations read, change and write the bundle; without the lock two of them
/// could each create a different CA, or one could overwrite the other's update. The lock
/// is `flock` on `<bundle>.lock` beside the (resolved) bundle rather than on the bundle
/// itself, because every write replaces the bundle's inode by renaming, and a lock on
/// the old inode would not exclude a process that opened the new one. The lock file
/// holds nothing and is left in place: deleting it would let two processes lock two
/// different inodes of the same name.
pub(crate) struct BundleLock {
    _file: Option<File>,
}

pub(crate) fn lock(path: &Path) -> Result<BundleLock, SecretsError> {
    let path = resolve(path)?;
    let (directory, file_name) = split(&path)?;
    let lock_path = directory.join(format!("{file_name}.lock"));
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = match options.open(&lock_path) {
        Ok(file) => file,
        // A directory we cannot write to (a read-only checkout): we cannot write the
        // bundle there either, and readers need no lock because every write is a
        // rename, so building from an existing bundle still works without one.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            // An existing lock file we may only read still locks: `flock` does not
            // care how the file was opened.
            match File::open(&lock_path) {
                Ok(file) => file,
                Err(_) => return Ok(BundleLock { _file: None }),
            }
        }
        Err(e) => return Err(SecretsError::io(&lock_path, "open the lock file", e)),
    };
    file.lock()
        .map_err(|e| SecretsError::io(&lock_path, "lock", e))?;
    Ok(BundleLock { _file: Some(file) })
}

/// How [`write_atomically`] treats a file that is already at the destination.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    Replace,
    /// Fail with `AlreadyExists` and leave the file alone: a new bundle must never
    /// replace one that another process created in the meantime.
    Keep,
}

/// The length of the random part of a temporary file's name (6 bytes in hex).
const TEMPORARY_SUFFIX_LEN: usize = 12;

/// Replaces `path` (through symlinks) with `contents` so that a reader (or a crash)
/// sees either the old file or the new one, never a mix: the bytes go to a fresh
/// mode-0600 file `.<name>.<random>.tmp` in the same directory, are synced, and the
/// file is renamed over `path`. Callers hold the bundle's [`lock`], so any temporary
/// file of ours still beside the bundle was left by a killed process; it holds every
/// secret, so it is removed.
pub(crate) fn write_atomically(
    path: &Path,
    contents: &[u8],
    existing: Existing,
) -> Result<(), SecretsError> {
    let path = resolve(path)?;
    let (directory, file_name) = split(&path)?;
    let mut suffix = [0u8; TEMPORARY_SUFFIX_LEN / 2];
    random::fill(&mut suffix)?;
    let temporary = directory.join(format!(".{file_name}.{}.tmp", random::lower_hex(&suffix)));

    let result = write_new_private(&temporary, contents)
        .and_then(|()| match existing {
            Existing::Replace => fs::rename(&temporary, &path),
            // A hard link, unlike a rename, fails when the name is taken; the
            // temporary name is then removed below, leaving only the bundle.
            Existing::Keep => fs::hard_link(&temporary, &path).or_else(|e| {
                // A file system without hard links: the lock every writer holds
                // makes checking and then renaming safe among hac processes.
                if e.kind() == io::ErrorKind::AlreadyExists || path.symlink_metadata().is_ok() {
                    Err(io::Error::from(io::ErrorKind::AlreadyExists))
                } else {
                    fs::rename(&temporary, &path)
                }
            }),
        })
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => SecretsError::AlreadyExists { path: path.clone() },
            _ => SecretsError::io(&path, "write", e),
        });
    if result.is_err() || existing == Existing::Keep {
        let _ = fs::remove_file(&temporary);
    }
    result?;
    remove_stale_temporaries(&directory, &file_name);
    sync_directory(&directory).map_err(|e| SecretsError::io(&directory, "sync", e))
}

/// Whether `name` is a temporary file [`write_atomically`] makes for the bundle
/// `bundle`: exactly `.<bundle>.<12 lowercase hex>.tmp`, nothing looser, so that no
/// other file is ever removed.
pub(crate) fn is_temporary_of(name: &str, bundle: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|rest| rest.strip_prefix(bundle))
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|hex| {
            hex.len() == TEMPORARY_SUFFIX_LEN
                && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

/// Best effort: the bundle itself was written, and a leftover that cannot be removed
/// now is tried again on the next write.
fn remove_stale_temporaries(directory: &Path, bundle: &str) {
    let Ok(entries) = fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_ours = name.to_str().is_some_and(|n| is_temporary_of(n, bundle));
        // Only regular files: never follow a link planted under such a name.
        if is_ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Keeps the current bytes of the bundle at `path` (through symlinks) in a new mode-0600
/// file beside it, `<name>.<UTC time>.old` (with `-2`, `-3`, … when that name is taken),
/// before a change that drops key material. Returns `None` when there is no file. The
/// caller holds the bundle's [`lock`].
pub(crate) fn keep_copy(
    path: &Path,
    now: time::OffsetDateTime,
) -> Result<Option<PathBuf>, SecretsError> {
    let path = resolve(path)?;
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SecretsError::io(&path, "open", e)),
    };
    let metadata = file
        .metadata()
        .map_err(|e| SecretsError::io(&path, "inspect", e))?;
    if !metadata.is_file() {
        return Err(SecretsError::Malformed {
            path: path.clone(),
            line: None,
            message: "not a regular file".to_owned(),
            help: None,
        });
    }
    let mut bytes = Vec::new();
    (&mut file)
        .take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| SecretsError::io(&path, "read", e))?;
    let (directory, file_name) = split(&path)?;
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    for attempt in 1..=1000u32 {
        let suffix = if attempt == 1 {
            String::new()
        } else {
            format!("-{attempt}")
        };
        let copy = directory.join(format!("{file_name}.{stamp}{suffix}.old"));
        match write_new_private(&copy, &bytes) {
            Ok(()) => {
                sync_directory(&directory).map_err(|e| SecretsError::io(&directory, "sync", e))?;
                return Ok(Some(copy));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(SecretsError::io(&copy, "write a copy of the bundle to", e)),
        }
    }
    Err(SecretsError::io(
        &path,
        "keep a copy of",
        io::Error::other("too many copies with the same time stamp"),
    ))
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
