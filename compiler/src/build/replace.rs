//! Replacing an output directory without ever losing a file hac did not write.
//!
//! A directory is replaced only when hac can prove it wrote it: its `manifest.json`
//! names hac as the generator and the cluster being built (and, when both know it, the
//! same cluster id), every entry of the directory is a regular file the manifest lists,
//! and neither the cluster description nor its secrets bundle lies inside it. Anything
//! else is refused, naming what would be lost.
//!
//! The new files go into a staging directory `.<name>.hac-new-<pid>` beside the output;
//! it then takes the output's place in one step, `renameat2(RENAME_EXCHANGE)`, so a
//! reader sees the old directory or the new one and never a missing one; the old files,
//! now under the staging name, are removed by unlinking exactly the files their manifest
//! lists, then the empty directory. Builds into the same parent directory hold an
//! advisory lock on it, so the staging directories left there by killed builds (found
//! by their names, removed by their manifests) are never those of a running build.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::output::{Artefact, GENERATOR, MANIFEST};

/// Why the output directory could not be written.
#[derive(Debug)]
pub struct WriteError {
    pub message: String,
    pub help: Option<String>,
}

impl WriteError {
    fn io(what: &str, path: &Path, error: &io::Error) -> Self {
        WriteError {
            message: format!("cannot {what} {}: {error}", path.display()),
            help: None,
        }
    }
}

/// Who the output belongs to: a directory is replaced only when its manifest names the
/// same cluster (and the same cluster id, when both sides have one).
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub cluster: &'a str,
    pub cluster_id: Option<&'a str>,
}

/// Files that must never be inside the output directory, with what they are
/// (`"the cluster description"`, `"the secrets bundle"`).
pub type Protected<'a> = [(&'a str, &'a Path)];

/// How many unlisted entries an error names before it says "and N more".
const NAMED_IN_ERRORS: usize = 5;

/// The output directory of a build.
pub struct Target {
    dir: PathBuf,
    parent: PathBuf,
    base: String,
}

impl Target {
    /// The output directory `dir`; nothing is created or changed yet.
    pub fn new(dir: &Path) -> Result<Self, WriteError> {
        let (parent, base) = split(dir)?;
        Ok(Target {
            dir: parent.join(&base),
            parent,
            base,
        })
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Refuses the output directory unless it is absent, empty or provably an earlier
    /// output of `owner`'s cluster, and unless none of `protected` is inside it.
    pub fn check(&self, owner: Owner<'_>, protected: &Protected<'_>) -> Result<(), WriteError> {
        check_replaceable(&self.dir, owner, protected)
    }

    /// Creates the parent directory and, holding its lock: puts back an output that a
    /// build killed halfway through a two-step swap left aside, removes what killed
    /// builds left beside it, checks the output again, writes `files` (the manifest
    /// first) into a fresh private directory and puts that in the output's place.
    /// Returns how many files were kept from the previous output (hard-linked, as they
    /// held exactly the new bytes) instead of written again.
    pub fn write(
        &self,
        owner: Owner<'_>,
        protected: &Protected<'_>,
        files: &[Artefact],
    ) -> Result<usize, WriteError> {
        fs::create_dir_all(&self.parent).map_err(|e| WriteError::io("create", &self.parent, &e))?;
        let _lock = lock_directory(&self.parent)?;
        self.recover();
        self.check(owner, protected)?;
        let staging = self.leftover_name(NEW, std::process::id());
        create_private_dir(&staging).map_err(|e| WriteError::io("create", &staging, &e))?;
        // Checked above, under the lock: a directory hac wrote, or none.
        let previous = fs::symlink_metadata(&self.dir)
            .is_ok_and(|m| m.is_dir())
            .then_some(self.dir.as_path());
        let result =
            fill(&staging, files, previous).and_then(|kept| self.swap_in(&staging).map(|()| kept));
        if result.is_err() {
            // The directory is the one just created, so what it holds is ours: the
            // names of `files`, even a manifest that could not be written whole.
            for file in files.iter().filter(|f| is_plain_file_name(&f.name)) {
                let _ = fs::remove_file(staging.join(&file.name));
            }
            let _ = fs::remove_dir(&staging);
        }
        result
    }

    fn leftover_name(&self, kind: &str, pid: u32) -> PathBuf {
        self.parent.join(format!(".{}.hac-{kind}-{pid}", self.base))
    }

    fn swap_in(&self, staging: &Path) -> Result<(), WriteError> {
        if fs::symlink_metadata(&self.dir).is_err() {
            return fs::rename(staging, &self.dir)
                .map_err(|e| WriteError::io("create", &self.dir, &e));
        }
        match exchange(staging, &self.dir) {
            Ok(()) => {
                // `staging` now holds the previous output.
                remove_listed(staging);
                sync(&self.parent);
                Ok(())
            }
            Err(e) if exchange_unsupported(&e) => self.swap_in_two_steps(staging),
            Err(e) => Err(WriteError::io("replace", &self.dir, &e)),
        }
    }

    /// For file systems without `RENAME_EXCHANGE`: moves the old output aside, the new
    /// one in, and removes the old one. A build killed between the two renames leaves
    /// the old output under `.<name>.hac-old-<pid>`, which the next build puts back.
    fn swap_in_two_steps(&self, staging: &Path) -> Result<(), WriteError> {
        let old = self.leftover_name(OLD, std::process::id());
        fs::rename(&self.dir, &old).map_err(|e| WriteError::io("replace", &self.dir, &e))?;
        if let Err(e) = fs::rename(staging, &self.dir) {
            let _ = fs::rename(&old, &self.dir);
            return Err(WriteError::io("replace", &self.dir, &e));
        }
        remove_listed(&old);
        sync(&self.parent);
        Ok(())
    }

    /// Best effort, under the lock: an output moved aside by a killed two-step swap is
    /// put back when nothing took its place (and it holds only what its manifest lists);
    /// every other leftover is removed as far as its manifest lists it.
    fn recover(&self) {
        let leftovers = self.leftovers();
        if fs::symlink_metadata(&self.dir).is_err()
            && let Some(old) = leftovers
                .iter()
                .find(|(kind, path)| *kind == OLD && holds_only_listed_files(path))
        {
            let _ = fs::rename(&old.1, &self.dir);
        }
        for (_, path) in &leftovers {
            if fs::symlink_metadata(path).is_ok() {
                remove_listed(path);
            }
        }
    }

    /// This output's staging and set-aside directories in the parent (not symlinks).
    fn leftovers(&self) -> Vec<(&'static str, PathBuf)> {
        let Ok(entries) = fs::read_dir(&self.parent) else {
            return Vec::new();
        };
        let prefix = format!(".{}.hac-", self.base);
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
                continue;
            };
            let kind = [NEW, OLD].into_iter().find(|kind| {
                rest.strip_prefix(kind)
                    .and_then(|r| r.strip_prefix('-'))
                    .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
            });
            if let Some(kind) = kind
                && entry.file_type().is_ok_and(|t| t.is_dir())
            {
                found.push((kind, entry.path()));
            }
        }
        found.sort();
        found
    }
}

const NEW: &str = "new";
const OLD: &str = "old";

/// The parent directory and the output's name in it. `-o .` and the like name the
/// directory they resolve to; `/` has no parent and cannot be an output.
fn split(dir: &Path) -> Result<(PathBuf, String), WriteError> {
    let unusable = || WriteError {
        message: format!("{} cannot be an output directory", dir.display()),
        help: Some("give `-o` a directory of its own, such as `out/<cluster>`".to_owned()),
    };
    let named = dir
        .file_name()
        .filter(|_| !dir.ends_with(".") && !dir.ends_with(".."));
    let resolved;
    let (parent, name) = match named {
        Some(name) => (
            match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            },
            name,
        ),
        None => {
            resolved = fs::canonicalize(dir).map_err(|e| WriteError::io("resolve", dir, &e))?;
            let name = resolved.file_name().ok_or_else(unusable)?;
            (resolved.parent().ok_or_else(unusable)?.to_path_buf(), name)
        }
    };
    let name = name.to_str().ok_or_else(unusable)?.to_owned();
    Ok((parent, name))
}

/// What a directory's `manifest.json` says about it, when it is hac's.
struct Listing {
    cluster: String,
    cluster_id: Option<String>,
    /// The manifest and every file it lists; all plain file names.
    files: BTreeSet<String>,
}

/// Reads `dir/manifest.json` as hac's manifest; `None` when it is missing, not a
/// regular file, or not a manifest hac wrote.
fn listing(dir: &Path) -> Option<Listing> {
    let path = dir.join(MANIFEST);
    if !fs::symlink_metadata(&path).ok()?.is_file() {
        return None;
    }
    // A manifest is a few kilobytes per host; a huge file is not one.
    let bytes = fs::read(&path).ok().filter(|b| b.len() <= 64 << 20)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    if value.get("generator")?.as_str()? != GENERATOR {
        return None;
    }
    let cluster = value.get("cluster")?.as_str()?.to_owned();
    let cluster_id = match value.get("cluster_id") {
        None | Some(serde_json::Value::Null) => None,
        Some(id) => Some(id.as_str()?.to_owned()),
    };
    let mut files = BTreeSet::from([MANIFEST.to_owned()]);
    for file in value.get("files")?.as_array()? {
        let name = file.as_str()?;
        if !is_plain_file_name(name) {
            return None;
        }
        files.insert(name.to_owned());
    }
    Some(Listing {
        cluster,
        cluster_id,
        files,
    })
}

/// Whether `dir` holds a hac manifest and nothing but regular files it lists.
fn holds_only_listed_files(dir: &Path) -> bool {
    let (Some(listing), Ok(entries)) = (listing(dir), fs::read_dir(dir)) else {
        return false;
    };
    entries.into_iter().all(|entry| {
        entry.is_ok_and(|entry| {
            entry.file_type().is_ok_and(|t| t.is_file())
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| listing.files.contains(name))
        })
    })
}

/// A name that stays inside its directory: no separator, not `.` or `..`, not empty.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

fn check_replaceable(
    dir: &Path,
    owner: Owner<'_>,
    protected: &Protected<'_>,
) -> Result<(), WriteError> {
    let refuse = |why: String| {
        WriteError {
        message: format!("{} {why}", dir.display()),
        help: Some(
            "give `-o` a new directory, or one an earlier `hac build` of this cluster wrote (it is replaced as a whole); hac never deletes files it did not write"
                .to_owned(),
        ),
    }
    };
    let metadata = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WriteError::io("read", dir, &e)),
    };
    if metadata.file_type().is_symlink() {
        return Err(refuse(
            "is a symbolic link; hac replaces only a directory it wrote".to_owned(),
        ));
    }
    if !metadata.is_dir() {
        return Err(refuse("exists and is not a directory".to_owned()));
    }
    let mut entries: Vec<(String, fs::FileType)> = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| WriteError::io("read", dir, &e))? {
        let entry = entry.map_err(|e| WriteError::io("read", dir, &e))?;
        let kind = entry
            .file_type()
            .map_err(|e| WriteError::io("read", &entry.path(), &e))?;
        entries.push((entry.file_name().to_string_lossy().into_owned(), kind));
    }
    let listing = listing(dir);
    let unlisted: Vec<&str> = entries
        .iter()
        .filter(|(name, kind)| {
            !listing
                .as_ref()
                .is_some_and(|l| kind.is_file() && l.files.contains(name))
        })
        .map(|(name, _)| name.as_str())
        .collect();
    let would_delete = || match unlisted.is_empty() {
        true => "replacing the directory would delete it".to_owned(),
        false => format!(
            "replacing the directory would delete {}",
            names(unlisted.iter().copied())
        ),
    };
    let inside: Vec<String> = match fs::canonicalize(dir) {
        Ok(canonical) => protected
            .iter()
            .filter_map(|(what, path)| {
                let path = absolute(path)?;
                let exists = fs::symlink_metadata(&path).is_ok();
                path.starts_with(&canonical).then(|| match exists {
                    true => format!("{what} {}", path.display()),
                    false => format!("{what} {} (which the build would create)", path.display()),
                })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    if !inside.is_empty() {
        return Err(refuse(format!(
            "holds {}; {}",
            inside.join(" and "),
            would_delete()
        )));
    }
    if entries.is_empty() {
        return Ok(());
    }
    let Some(listing) = &listing else {
        return Err(refuse(format!(
            "holds files but no manifest.json written by hac, so it is not the output of `hac build`; {}",
            would_delete()
        )));
    };
    if listing.cluster != owner.cluster {
        return Err(refuse(format!(
            "holds the output of cluster `{}`, not `{}`",
            listing.cluster, owner.cluster
        )));
    }
    if let (Some(theirs), Some(ours)) = (&listing.cluster_id, owner.cluster_id)
        && theirs != ours
    {
        return Err(refuse(format!(
            "holds the output of another cluster named `{}` (cluster id {theirs}; this bundle's is {ours})",
            owner.cluster
        )));
    }
    if !unlisted.is_empty() {
        return Err(refuse(format!(
            "holds files its manifest.json does not list; {}",
            would_delete()
        )));
    }
    Ok(())
}

/// `path` made absolute through its existing parts, so it compares with a canonical
/// directory; `None` when even its parent does not exist (then it is inside nothing).
fn absolute(path: &Path) -> Option<PathBuf> {
    if let Ok(path) = fs::canonicalize(path) {
        return Some(path);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(fs::canonicalize(parent).ok()?.join(path.file_name()?))
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut sorted: Vec<&str> = names.collect();
    sorted.sort_unstable();
    let shown: Vec<String> = sorted
        .iter()
        .take(NAMED_IN_ERRORS)
        .map(|n| format!("`{}`", n.escape_debug()))
        .collect();
    let rest = sorted.len().saturating_sub(NAMED_IN_ERRORS);
    if rest == 0 {
        shown.join(", ")
    } else {
        format!("{} and {rest} more", shown.join(", "))
    }
}

/// Removes, from a directory hac wrote, the regular files its manifest lists (the
/// manifest last), then the directory if that left it empty. Nothing else is ever
/// removed: a file that appeared meanwhile keeps the directory in place.
fn remove_listed(dir: &Path) {
    if let Some(listing) = listing(dir) {
        for name in listing.files.iter().filter(|n| n.as_str() != MANIFEST) {
            let path = dir.join(name);
            if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                let _ = fs::remove_file(&path);
            }
        }
        let _ = fs::remove_file(dir.join(MANIFEST));
    }
    let _ = fs::remove_dir(dir);
}

/// Writers at once when each file is synced on its own (where the whole file system
/// cannot be synced in one call): the file system commits the syncs of concurrent
/// writers together, where one writer waits for every file's own commit (thousands
/// of hosts took seconds of waiting).
const SYNCING_WRITERS: usize = 16;

/// Writes `files` into `staging`: the first one (the manifest, which names all the
/// others) before any other, so a directory being filled always says what it holds.
/// A file of `previous` (the output being replaced) that holds exactly the bytes of
/// one of the others is hard-linked instead (see [`link_unchanged`]): its bytes were
/// not written again, so the sync below has nothing of them left to write. Every file
/// is on disk when this returns: on Linux one `syncfs` of the staging directory's file
/// system after the last file commits them all at once (and reports a failed
/// write-back of any of them, linked or written); elsewhere, or when that call fails,
/// each file is synced on its own. Returns how many files were linked.
fn fill(staging: &Path, files: &[Artefact], previous: Option<&Path>) -> Result<usize, WriteError> {
    if let Some(file) = files.iter().find(|file| !is_plain_file_name(&file.name)) {
        return Err(WriteError {
            message: format!("cannot write {:?}: not a plain file name", file.name),
            help: None,
        });
    }
    let defer_sync = cfg!(target_os = "linux");
    let write = |file: &Artefact| {
        let path = staging.join(&file.name);
        write_private(&path, &file.bytes, !defer_sync)
            .map_err(|e| WriteError::io("write", &path, &e))
    };
    let writers = if defer_sync {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        SYNCING_WRITERS
    };
    let owner = file_owner(staging);
    let kept = AtomicUsize::new(0);
    let keep_or_write = |file: &Artefact| {
        if let (Some(previous), Some(owner)) = (previous, owner)
            && link_unchanged(
                &previous.join(&file.name),
                &staging.join(&file.name),
                &file.bytes,
                owner,
            )
        {
            kept.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        write(file)
    };
    if let Some((first, rest)) = files.split_first() {
        write(first)?;
        in_parallel(rest, writers, keep_or_write)?;
    }
    let kept = kept.into_inner();
    if defer_sync && sync_file_system(staging).is_ok() {
        // The directory's entries are on disk too.
        return Ok(kept);
    }
    if defer_sync {
        in_parallel(files, SYNCING_WRITERS, |file| {
            let path = staging.join(&file.name);
            File::open(&path)
                .and_then(|file| file.sync_all())
                .map_err(|e| WriteError::io("sync", &path, &e))
        })?;
    }
    sync(staging);
    Ok(kept)
}

/// The user owning `path` (this process's, for a directory it created).
#[cfg(unix)]
fn file_owner(path: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).ok().map(|m| m.uid())
}

#[cfg(not(unix))]
fn file_owner(_path: &Path) -> Option<u32> {
    None
}

/// Hard-links the previous output's file `old` as `new` when it is exactly what hac
/// would write there: a regular file (not a symlink), owned by `owner`, with the
/// mode hac gives its files (0600), linked nowhere else (one link, so nobody else's
/// name for it comes along), whose bytes, read now, are `bytes`. The manifest's
/// digest is not trusted for that: the file may have been edited since. Anything
/// else (or any failure) leaves `new` absent and returns false, and the file is
/// written as usual.
#[cfg(unix)]
fn link_unchanged(old: &Path, new: &Path, bytes: &[u8], owner: u32) -> bool {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let Ok(found) = fs::symlink_metadata(old) else {
        return false;
    };
    let as_hac_writes = |m: &fs::Metadata| {
        m.is_file() && m.uid() == owner && m.mode() & 0o7777 == 0o600 && m.nlink() == 1
    };
    if !as_hac_writes(&found) || found.len() != bytes.len() as u64 {
        return false;
    }
    // Not following a symlink, not waiting on a FIFO swapped in meanwhile.
    let Ok(file) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(old)
    else {
        return false;
    };
    let same_inode = |m: &fs::Metadata| (m.dev(), m.ino()) == (found.dev(), found.ino());
    if !file
        .metadata()
        .is_ok_and(|m| same_inode(&m) && as_hac_writes(&m))
    {
        return false;
    }
    let mut content = Vec::with_capacity(bytes.len() + 1);
    if file
        .take(bytes.len() as u64 + 1)
        .read_to_end(&mut content)
        .is_err()
        || content != bytes
    {
        return false;
    }
    if fs::hard_link(old, new).is_err() {
        return false;
    }
    // The name may have been given to another file since it was read, or the file
    // another link: then the link is not the file that was checked.
    if fs::symlink_metadata(new).is_ok_and(|m| same_inode(&m) && m.nlink() == 2) {
        return true;
    }
    let _ = fs::remove_file(new);
    false
}

#[cfg(not(unix))]
fn link_unchanged(_old: &Path, _new: &Path, _bytes: &[u8], _owner: u32) -> bool {
    false
}

/// Runs `each` on every item with up to `threads` threads; the error is the first
/// item's (in order) of those that failed, and no item is started after a failure.
fn in_parallel<T: Sync>(
    items: &[T],
    threads: usize,
    each: impl Fn(&T) -> Result<(), WriteError> + Sync,
) -> Result<(), WriteError> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let work = || {
        while failures.lock().is_ok_and(|f| f.is_empty()) {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(index) else {
                break;
            };
            if let Err(error) = each(item)
                && let Ok(mut failures) = failures.lock()
            {
                failures.push((index, error));
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads.min(items.len()) {
            // Without another thread the items are still all done, by this one.
            let _ = std::thread::Builder::new().spawn_scoped(scope, work);
        }
        work();
    });
    let failures = failures.into_inner().unwrap_or_default();
    match failures.into_iter().min_by_key(|(index, _)| *index) {
        Some((_, error)) => Err(error),
        None => Ok(()),
    }
}

/// Commits everything written to the file system holding `dir` (Linux `syncfs`,
/// which since Linux 5.8 also reports a failed write-back of any file on it).
#[cfg(target_os = "linux")]
fn sync_file_system(dir: &Path) -> io::Result<()> {
    let dir = File::open(dir)?;
    rustix::fs::syncfs(&dir).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn sync_file_system(_dir: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Makes renames and new entries of `dir` durable; best effort.
fn sync(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// An exclusive `flock` on the directory itself, so no lock file is left behind. A
/// directory that cannot be opened for reading is built into without one.
fn lock_directory(dir: &Path) -> Result<Option<File>, WriteError> {
    let Ok(handle) = File::open(dir) else {
        return Ok(None);
    };
    match handle.lock() {
        Ok(()) => Ok(Some(handle)),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => Ok(None),
        Err(e) => Err(WriteError::io("lock", dir, &e)),
    }
}

/// Swaps two paths in one step (Linux `renameat2(RENAME_EXCHANGE)`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// The kernel or the file system does not know `RENAME_EXCHANGE`.
fn exchange_unsupported(error: &io::Error) -> bool {
    const EINVAL: i32 = 22;
    const ENOSYS: i32 = 38;
    const EOPNOTSUPP: i32 = 95;
    error.kind() == io::ErrorKind::Unsupported
        || matches!(error.raw_os_error(), Some(EINVAL | ENOSYS | EOPNOTSUPP))
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> io::Result<()> {
    fs::create_dir(path)
}

/// Writes a new file only its owner can read, synced to disk when `sync`.
#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    if sync { file.sync_all() } else { Ok(()) }
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    use std::io::Write;
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    if sync { file.sync_all() } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner<'static> {
        Owner {
            cluster: "prod",
            cluster_id: Some("0123456789abcdef0123456789abcdef"),
        }
    }

    fn artefacts(files: &[(&str, &str)]) -> Vec<Artefact> {
        let listed: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
        let manifest = serde_json::json!({
            "generator": "hac",
            "cluster": "prod",
            "cluster_id": "0123456789abcdef0123456789abcdef",
            "files": listed,
        });
        let mut all = vec![Artefact {
            name: MANIFEST.to_owned(),
            bytes: manifest.to_string().into_bytes(),
        }];
        all.extend(files.iter().map(|(name, text)| Artefact {
            name: (*name).to_owned(),
            bytes: text.as_bytes().to_vec(),
        }));
        all
    }

    #[test]
    fn a_manifest_listing_paths_outside_its_directory_is_not_hacs() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("out");
        fs::create_dir(&dir).unwrap();
        fs::write(scratch.path().join("victim"), "keep").unwrap();
        fs::write(
            dir.join(MANIFEST),
            r#"{"generator":"hac","cluster":"prod","files":["../victim"]}"#,
        )
        .unwrap();
        remove_listed(&dir);
        assert!(scratch.path().join("victim").exists());
        assert!(dir.join(MANIFEST).exists());
    }

    #[test]
    fn replacing_keeps_a_file_that_appears_after_the_check() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("out");
        let target = Target::new(&dir).unwrap();
        target
            .write(owner(), &[], &artefacts(&[("a.yaml", "1")]))
            .unwrap();
        // The old output moved aside still holds an unlisted file: it stays.
        let aside = scratch.path().join(".out.hac-new-1");
        fs::create_dir(&aside).unwrap();
        fs::copy(dir.join(MANIFEST), aside.join(MANIFEST)).unwrap();
        fs::write(aside.join("a.yaml"), "1").unwrap();
        fs::write(aside.join("notes.txt"), "mine").unwrap();
        remove_listed(&aside);
        assert!(!aside.join("a.yaml").exists());
        assert_eq!(fs::read_to_string(aside.join("notes.txt")).unwrap(), "mine");
    }

    #[test]
    fn an_output_set_aside_by_a_killed_swap_is_put_back() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("out");
        Target::new(&dir)
            .unwrap()
            .write(owner(), &[], &artefacts(&[("a.yaml", "old")]))
            .unwrap();
        // Killed between the two renames of the fallback swap: no `out` at all.
        fs::rename(&dir, scratch.path().join(".out.hac-old-4242")).unwrap();
        fs::create_dir(scratch.path().join(".out.hac-new-4242")).unwrap();
        let target = Target::new(&dir).unwrap();
        target.recover();
        assert_eq!(fs::read_to_string(dir.join("a.yaml")).unwrap(), "old");
        assert!(!scratch.path().join(".out.hac-old-4242").exists());
        assert!(!scratch.path().join(".out.hac-new-4242").exists());
        target
            .write(owner(), &[], &artefacts(&[("b.yaml", "new")]))
            .unwrap();
        assert!(!dir.join("a.yaml").exists());
        assert_eq!(fs::read_to_string(dir.join("b.yaml")).unwrap(), "new");
    }

    #[test]
    fn the_two_step_swap_replaces_the_output_and_leaves_nothing_beside_it() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("out");
        let target = Target::new(&dir).unwrap();
        target
            .write(owner(), &[], &artefacts(&[("a.yaml", "old")]))
            .unwrap();
        let staging = target.leftover_name(NEW, 7);
        create_private_dir(&staging).unwrap();
        fill(&staging, &artefacts(&[("b.yaml", "new")]), None).unwrap();
        target.swap_in_two_steps(&staging).unwrap();
        assert_eq!(fs::read_to_string(dir.join("b.yaml")).unwrap(), "new");
        assert!(!dir.join("a.yaml").exists());
        let names: Vec<_> = fs::read_dir(scratch.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["out"]);
    }

    #[cfg(unix)]
    #[test]
    fn only_a_private_unshared_regular_file_with_the_same_bytes_is_linked() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
        let scratch = tempfile::tempdir().unwrap();
        let (old, new) = (scratch.path().join("old"), scratch.path().join("new"));
        create_private_dir(&old).unwrap();
        create_private_dir(&new).unwrap();
        let owner = file_owner(&new).unwrap();
        let bytes = b"#cloud-config\n".as_slice();
        let private = |name: &str, content: &[u8]| {
            write_private(&old.join(name), content, false).unwrap();
            old.join(name)
        };
        let same = private("same.yaml", bytes);
        private("edited.yaml", b"#cloud-config\r");
        private("longer.yaml", b"#cloud-config\n\n");
        let open = private("open.yaml", bytes);
        fs::set_permissions(&open, fs::Permissions::from_mode(0o644)).unwrap();
        let shared = private("shared.yaml", bytes);
        fs::hard_link(&shared, scratch.path().join("theirs")).unwrap();
        symlink(&same, old.join("link.yaml")).unwrap();
        let link = |name: &str| link_unchanged(&old.join(name), &new.join(name), bytes, owner);
        for refused in [
            "edited.yaml",
            "longer.yaml",
            "open.yaml",
            "shared.yaml",
            "link.yaml",
        ] {
            assert!(!link(refused), "{refused}");
            assert!(
                fs::symlink_metadata(new.join(refused)).is_err(),
                "{refused}"
            );
        }
        assert!(!link_unchanged(
            &same,
            &new.join("x"),
            bytes,
            owner.wrapping_add(1)
        ));
        assert!(link("same.yaml"));
        let linked = fs::metadata(new.join("same.yaml")).unwrap();
        assert_eq!(linked.ino(), fs::metadata(&same).unwrap().ino());
        assert_eq!(linked.nlink(), 2);
    }

    #[test]
    fn dot_names_the_directory_it_resolves_to() {
        let scratch = tempfile::tempdir().unwrap();
        let inner = scratch.path().join("inner");
        fs::create_dir(&inner).unwrap();
        let (parent, base) = split(&inner.join(".")).unwrap();
        assert_eq!(base, "inner");
        assert_eq!(parent, fs::canonicalize(scratch.path()).unwrap());
        assert!(split(Path::new("/")).is_err());
    }
}
