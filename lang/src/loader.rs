//! The only way the language reaches files: `import` and `builtins.readFile`,
//! `builtins.pathExists` go through a [`Loader`], so an editor can serve unsaved
//! buffers and tests can serve files from memory. [`FsLoader`] reads only regular
//! files; [`Confined`] also keeps reads inside a project root and away from the files
//! a [`ReadPolicy`] names (the compiler's secrets).

use std::collections::HashMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Reads source files for the evaluator.
pub trait Loader {
    /// The text of the file at `path`.
    fn read(&self, path: &Path) -> io::Result<String>;
    /// Whether something exists at `path`.
    fn exists(&self, path: &Path) -> bool;
    /// The file a read of `path` reaches: `path` itself, or where the symbolic link
    /// at `path` leads. Relative paths in an imported file are resolved from this
    /// file's directory, as Nix resolves them. Only a path: whether the file may be
    /// read is still decided by [`Loader::read`].
    fn link_target(&self, path: &Path) -> PathBuf {
        path.to_path_buf()
    }
    /// [`Loader::read`] of a path a [`Sandbox`] has just admitted: a loader may skip
    /// the checks `admitted` shows were made.
    fn read_admitted(&self, path: &Path, admitted: &Admitted) -> io::Result<String> {
        let _ = admitted;
        self.read(path)
    }
}

/// What [`Sandbox`] found out about a path it admitted: neither the path as
/// written nor where its links lead is a kernel interface. Only this module
/// makes one.
#[derive(Debug)]
pub struct Admitted {
    _private: (),
}

/// More links in a row than this are left unfollowed (the read then fails as the
/// system's own limit makes it fail).
const MAX_LINKS: usize = 40;

/// Follows the symbolic links at `path` one after another, as Nix does before it
/// parses a file: each link's text is taken relative to the link's own directory.
pub fn follow_links(path: &Path) -> PathBuf {
    let mut current = normalize(path);
    for _ in 0..MAX_LINKS {
        let is_link = std::fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink());
        let Some(text) = is_link.then(|| std::fs::read_link(&current).ok()).flatten() else {
            break;
        };
        let dir = current.parent().map(Path::to_path_buf).unwrap_or_default();
        current = normalize(&dir.join(text));
    }
    current
}

/// Reads from the file system: only regular files (checked on the opened descriptor,
/// so a FIFO, a device or a socket is refused without being read), never anything
/// under `/proc`, `/dev` or `/sys`, and at most [`MAX_FILE_SIZE`] bytes, counted as
/// they are read rather than trusted from the size the file system reports. It does not
/// confine reads to a directory: [`Confined`] adds that.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsLoader;

/// Larger sources are refused: spans are 32-bit and no cluster needs more.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// Kernel interfaces: their "files" are generated on reading (the environment, memory,
/// devices), so the language never reads them.
const SYSTEM_DIRECTORIES: [&str; 3] = ["/proc", "/dev", "/sys"];

impl Loader for FsLoader {
    fn read(&self, path: &Path) -> io::Result<String> {
        read_regular_file(path)
    }

    fn read_admitted(&self, path: &Path, _admitted: &Admitted) -> io::Result<String> {
        read_opened(path)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn link_target(&self, path: &Path) -> PathBuf {
        follow_links(path)
    }
}

/// Why a read was refused by policy (rather than failed): the evaluator reports it as a
/// refusal, with the reason, at the path expression.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// An error that refuses a read for `reason`.
pub fn refused(reason: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, Refused(reason.into()))
}

/// The reason, when `err` is a refusal by policy rather than a failed read.
pub fn refusal(err: &io::Error) -> Option<&str> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<Refused>())
        .map(|refused| refused.0.as_str())
}

/// Reads `path` as [`FsLoader`] does.
pub fn read_regular_file(path: &Path) -> io::Result<String> {
    if let Some(reason) = system_path(path, None) {
        return Err(refused(reason));
    }
    read_opened(path)
}

/// [`read_regular_file`] of a path already found not to be a kernel interface.
fn read_opened(path: &Path) -> io::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;

    // Non-blocking, so that opening a FIFO with no writer returns at once instead of
    // waiting for one; without a controlling terminal, in case it is a terminal.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        ));
    }
    if !metadata.file_type().is_file() {
        return Err(refused(
            "it is not a regular file (a device, FIFO or socket); only regular files are read",
        ));
    }
    // The path may have been a symbolic link into a kernel interface: ask the kernel
    // what the descriptor really is (a path with every link resolved already).
    if let Ok(actual) = std::fs::read_link(format!("/proc/self/fd/{}", file_descriptor(&file)))
        && let Some(reason) = system_path(&actual, Some(&actual))
    {
        return Err(refused(reason));
    }
    read_at_most(file, MAX_FILE_SIZE)
}

/// Reads `input` as UTF-8 text, failing as soon as more than `limit` bytes came: the
/// size a file claims (0 for generated files, anything for a hostile one) is never
/// trusted.
fn read_at_most(input: impl io::Read, limit: u64) -> io::Result<String> {
    use std::io::Read;

    let mut bytes = Vec::new();
    input.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::other(if limit >= 1024 * 1024 {
            format!("larger than {} MiB", limit / 1024 / 1024)
        } else {
            format!("larger than {limit} bytes")
        }));
    }
    String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

fn file_descriptor(file: &std::fs::File) -> i32 {
    use std::os::fd::AsRawFd;
    file.as_raw_fd()
}

/// Why `path` is a kernel interface the language must not read, if it is one. Both the
/// path as written and the path with every symbolic link resolved are checked; the
/// latter is `canonical` when the caller knows it already.
fn system_path(path: &Path, canonical: Option<&Path>) -> Option<String> {
    let normalized = normalize(path);
    let resolved = match canonical {
        Some(canonical) => Some(canonical.to_path_buf()),
        None => std::fs::canonicalize(path).ok(),
    };
    for candidate in std::iter::once(&normalized).chain(resolved.as_ref()) {
        if let Some(directory) = SYSTEM_DIRECTORIES
            .iter()
            .find(|directory| candidate.starts_with(directory))
        {
            return Some(format!(
                "it is under `{directory}`, which holds kernel interfaces (the environment, devices, memory), not files"
            ));
        }
    }
    None
}

/// Which files a [`Confined`] loader may read, beyond the rules of [`FsLoader`]: the
/// caller (the compiler) knows which files hold secrets.
pub trait ReadPolicy: Send + Sync {
    /// Why the file at `path` (absolute, symbolic links resolved) must not be read, if
    /// it must not: a sentence starting with "it", as in "it is the secrets bundle".
    fn refuse(&self, path: &Path) -> Option<String>;
}

/// The directory a program's files must stay in, and the policy for files inside it.
#[derive(Clone)]
pub struct Sandbox {
    /// Absolute, symbolic links resolved.
    root: PathBuf,
    policy: Option<std::sync::Arc<dyn ReadPolicy>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Confines reads to `root`, refusing what `policy` refuses.
    pub fn new(root: &Path, policy: Option<std::sync::Arc<dyn ReadPolicy>>) -> Sandbox {
        Sandbox {
            root: resolve(root).0,
            policy,
        }
    }

    /// The project root: absolute, symbolic links resolved.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `path` may be read: `Ok` with the path resolved, or a [`refused`] error.
    /// A path that does not exist yet (an editor's unsaved buffer) is judged by where
    /// it would be.
    pub fn admit(&self, path: &Path) -> io::Result<PathBuf> {
        self.admit_checked(path).map(|(resolved, _)| resolved)
    }

    /// [`Sandbox::admit`], with what the checks found for a reader.
    fn admit_checked(&self, path: &Path) -> io::Result<(PathBuf, Admitted)> {
        let (resolved, exists) = resolve(path);
        // The path with its links resolved is the one `resolve` found when the whole
        // path exists and, written absolute and without `.` or `..`, is as given
        // (`..` after a link leads elsewhere than its lexical folding).
        let canonical =
            (exists && path.is_absolute() && normalize(path) == path).then_some(resolved.as_path());
        if let Some(reason) = system_path(path, canonical) {
            return Err(refused(reason));
        }
        if !resolved.starts_with(&self.root) {
            let how = if normalize(path).starts_with(&self.root) {
                format!(
                    "it leads through a symbolic link to `{}`, outside the project root `{}`",
                    resolved.display(),
                    self.root.display()
                )
            } else {
                format!("it is outside the project root `{}`", self.root.display())
            };
            return Err(refused(how));
        }
        if let Some(policy) = &self.policy
            && let Some(reason) = policy.refuse(&resolved).or_else(|| {
                // Without links on the way the path as written is the same file.
                let written = normalize(path);
                (written != resolved)
                    .then(|| policy.refuse(&written))
                    .flatten()
            })
        {
            return Err(refused(reason));
        }
        Ok((resolved, Admitted { _private: () }))
    }
}

/// `path` made absolute with every symbolic link resolved, as far as it exists; the
/// part that does not exist is appended as written (lexically normalised). True
/// when all of it exists.
fn resolve(path: &Path) -> (PathBuf, bool) {
    let normalized = normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    let mut existing = normalized.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(resolved) = std::fs::canonicalize(existing) {
            let mut out = resolved;
            for component in rest.iter().rev() {
                out.push(component);
            }
            return (out, rest.is_empty());
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return (normalized, false),
        }
    }
}

/// A loader that reads through `inner` only what `sandbox` admits: `hac check`,
/// `hac build`, `hac eval` and the language server read files this way.
pub struct Confined<'a> {
    pub sandbox: Sandbox,
    pub inner: &'a dyn Loader,
}

impl Loader for Confined<'_> {
    fn read(&self, path: &Path) -> io::Result<String> {
        let (_, admitted) = self.sandbox.admit_checked(path)?;
        self.inner.read_admitted(path, &admitted)
    }

    /// Paths the sandbox refuses do not exist, as far as the program can tell.
    fn exists(&self, path: &Path) -> bool {
        self.sandbox.admit(path).is_ok() && self.inner.exists(path)
    }

    fn link_target(&self, path: &Path) -> PathBuf {
        self.inner.link_target(path)
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

    fn read_admitted(&self, path: &Path, admitted: &Admitted) -> io::Result<String> {
        match self.overlay.get(&normalize(path)) {
            Some(text) => Ok(text.clone()),
            None => self.fallback.read_admitted(path, admitted),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        self.overlay.contains_key(&normalize(path)) || self.fallback.exists(path)
    }

    fn link_target(&self, path: &Path) -> PathBuf {
        if self.overlay.contains_key(&normalize(path)) {
            return path.to_path_buf();
        }
        self.fallback.link_target(path)
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

    /// A fresh directory under the system's temporary directory, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!(
                "hac-loader-{name}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(std::fs::canonicalize(dir).unwrap())
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn refused_because(result: io::Result<String>) -> String {
        match result {
            Err(err) => refusal(&err)
                .unwrap_or_else(|| panic!("failed but not refused: {err}"))
                .to_owned(),
            Ok(text) => panic!("read {} bytes", text.len()),
        }
    }

    #[test]
    fn kernel_interfaces_and_devices_are_refused() {
        for path in [
            "/proc/self/environ",
            "/dev/zero",
            "/dev/stdin",
            "/sys/kernel/uevent_seqnum",
        ] {
            let reason = refused_because(FsLoader.read(Path::new(path)));
            assert!(reason.contains("kernel interfaces"), "{path}: {reason}");
        }
        let scratch = Scratch::new("links");
        let link = scratch.0.join("environ");
        std::os::unix::fs::symlink("/proc/self/environ", &link).unwrap();
        assert!(refused_because(FsLoader.read(&link)).contains("`/proc`"));
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let scratch = Scratch::new("fifo");
        let fifo = scratch.0.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|status| status.success()) {
            return; // No mkfifo: nothing to test on this system.
        }
        let reason = refused_because(FsLoader.read(&fifo));
        assert!(reason.contains("not a regular file"), "{reason}");
    }

    #[test]
    fn reads_are_capped_by_the_bytes_read() {
        let endless = io::repeat(b'a');
        let err = read_at_most(endless, 1000).unwrap_err();
        assert!(err.to_string().contains("larger than 1000 bytes"), "{err}");
        assert_eq!(read_at_most(&b"abc"[..], 3).unwrap(), "abc");
    }

    struct NoSecrets;

    impl ReadPolicy for NoSecrets {
        fn refuse(&self, path: &Path) -> Option<String> {
            (path.extension()? == "secret").then(|| "it is a secret".to_owned())
        }
    }

    #[test]
    fn confined_reads_stay_in_the_root_and_obey_the_policy() {
        let scratch = Scratch::new("confined");
        let root = scratch.0.join("project");
        std::fs::create_dir_all(root.join("lib")).unwrap();
        std::fs::write(root.join("lib/data.txt"), "data").unwrap();
        std::fs::write(root.join("key.secret"), "key").unwrap();
        std::fs::write(scratch.0.join("outside.txt"), "outside").unwrap();
        std::os::unix::fs::symlink(scratch.0.join("outside.txt"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink(root.join("key.secret"), root.join("innocent.txt")).unwrap();
        std::os::unix::fs::symlink("lib/data.txt", root.join("inside")).unwrap();
        let confined = Confined {
            sandbox: Sandbox::new(&root, Some(std::sync::Arc::new(NoSecrets))),
            inner: &FsLoader,
        };
        assert_eq!(confined.read(&root.join("lib/data.txt")).unwrap(), "data");
        assert_eq!(confined.read(&root.join("inside")).unwrap(), "data");
        assert!(
            refused_because(confined.read(&root.join("../outside.txt")))
                .contains("outside the project root")
        );
        assert!(refused_because(confined.read(&root.join("escape"))).contains("symbolic link"));
        assert_eq!(
            refused_because(confined.read(&root.join("key.secret"))),
            "it is a secret"
        );
        assert_eq!(
            refused_because(confined.read(&root.join("innocent.txt"))),
            "it is a secret"
        );
        assert!(confined.exists(&root.join("lib/data.txt")));
        assert!(!confined.exists(&root.join("key.secret")));
        assert!(!confined.exists(&scratch.0.join("outside.txt")));
        // Not there yet (an unsaved buffer): judged by where it would be.
        assert!(confined.sandbox.admit(&root.join("new/file.hac")).is_ok());
        assert!(confined.sandbox.admit(&root.join("../new.hac")).is_err());
        // What the reader checks on the opened file still holds inside the root.
        std::os::unix::fs::symlink("/proc/self/environ", root.join("environ")).unwrap();
        assert!(refused_because(confined.read(&root.join("environ"))).contains("`/proc`"));
        let fifo = root.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|status| status.success()) {
            let reason = refused_because(confined.read(&fifo));
            assert!(reason.contains("not a regular file"), "{reason}");
        }
    }

    /// A path through a link and then `..` is judged by where the system takes it,
    /// the link's target's parent, not by its lexical folding.
    #[test]
    fn dot_dot_after_a_link_is_judged_where_it_leads() {
        let scratch = Scratch::new("link-dot-dot");
        let root = scratch.0.join("project");
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink("/proc/self", root.join("me")).unwrap();
        let path = PathBuf::from(format!("{}/me/../self/environ", root.display()));
        let confined = Confined {
            sandbox: Sandbox::new(&root, None),
            inner: &FsLoader,
        };
        assert!(refused_because(confined.read(&path)).contains("`/proc`"));
    }

    /// An import through a symbolic link resolves the file's relative paths from the
    /// directory the link leads to, and the sandbox still judges every read by where
    /// it really lands.
    #[test]
    fn imports_through_links_resolve_from_the_target_inside_the_root() {
        let scratch = Scratch::new("import-links");
        let root = scratch.0.join("project");
        std::fs::create_dir_all(root.join("lib")).unwrap();
        std::fs::create_dir_all(root.join("links")).unwrap();
        std::fs::write(root.join("lib/where.hac"), "\"lib\"").unwrap();
        std::fs::write(root.join("where.hac"), "\"root\"").unwrap();
        std::fs::write(root.join("lib/target.hac"), "import ./where.hac").unwrap();
        std::fs::write(scratch.0.join("where.hac"), "\"outside\"").unwrap();
        std::fs::write(scratch.0.join("outside.hac"), "import ./where.hac").unwrap();
        std::os::unix::fs::symlink("lib/target.hac", root.join("linked.hac")).unwrap();
        std::os::unix::fs::symlink("../linked.hac", root.join("links/chained.hac")).unwrap();
        std::os::unix::fs::symlink("../outside.hac", root.join("escape.hac")).unwrap();
        std::fs::write(
            root.join("main.hac"),
            "[ (import ./linked.hac) (import ./links/chained.hac) ]",
        )
        .unwrap();
        std::fs::write(root.join("escape-main.hac"), "import ./escape.hac").unwrap();

        assert_eq!(
            follow_links(&root.join("links/chained.hac")),
            root.join("lib/target.hac")
        );
        let confined = Confined {
            sandbox: Sandbox::new(&root, None),
            inner: &FsLoader,
        };
        let limits = crate::Limits::default();
        let analysis = crate::analyze(&confined, &root.join("main.hac"), &limits);
        let json = analysis.value.map(|v| crate::json::to_json(&v).unwrap());
        assert_eq!(
            json.as_deref(),
            Some(r#"["lib","lib"]"#),
            "{:?}",
            analysis.diagnostics
        );

        let analysis = crate::analyze(&confined, &root.join("escape-main.hac"), &limits);
        assert!(analysis.value.is_none());
        assert_eq!(analysis.diagnostics[0].code, crate::codes::FILE_REFUSED);
    }

    #[test]
    fn normalize_folds_dots() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/../x")), PathBuf::from("/x"));
    }
}
