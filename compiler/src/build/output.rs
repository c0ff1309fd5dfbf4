//! The files `hac build` writes: `<host>.yaml` per host (and `<host>.yaml.gz`), and
//! `manifest.json`. Everything is computed in memory first, then written into a
//! fresh directory beside the output directory, which replaces it only when every
//! file is on disk: a failed build leaves the output directory as it was.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::{Compress, Compression, Crc, FlushCompress, GzBuilder, Status};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::HostOutput;
use crate::plan::PlanRole;

/// The manifest's file name in the output directory.
pub const MANIFEST: &str = "manifest.json";

/// One file to write: its name in the output directory and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artefact {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub cluster: String,
    pub kubernetes: String,
    pub endpoint: String,
    pub hosts: Vec<ManifestHost>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestHost {
    pub name: String,
    pub roles: Vec<PlanRole>,
    pub file: String,
    pub size: usize,
    pub sha256: String,
    /// Written only with `--gzip`; the size is always given, to compare with limits.
    pub gzip_file: Option<String>,
    pub gzip_size: usize,
    pub stage: u32,
    pub steps: Vec<String>,
}

/// The gzip form of `bytes`, the same for the same input: no file name, no time.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The gzip header [`gzip`] writes: no flags, mtime 0, "best compression", unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];

thread_local! {
    /// One compressor per thread, reset between hosts: setting one up (its hash
    /// tables) costs about as much as compressing a small host's user-data.
    static DEFLATE: std::cell::RefCell<Compress> =
        std::cell::RefCell::new(Compress::new(Compression::best(), false));
}

/// Exactly [`gzip`]'s bytes, with this thread's reused compressor.
pub fn gzip_reusing(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() / 2 + 64);
    out.extend_from_slice(&GZIP_HEADER);
    DEFLATE.with(|deflate| {
        let mut deflate = deflate.borrow_mut();
        deflate.reset();
        let mut input = bytes;
        loop {
            if out.capacity() - out.len() < 1024 {
                out.reserve(out.capacity());
            }
            let before = deflate.total_in();
            // Compressing into a Vec with room to spare cannot fail.
            let status = deflate
                .compress_vec(input, &mut out, FlushCompress::Finish)
                .unwrap_or(Status::StreamEnd);
            let consumed = (deflate.total_in() - before) as usize;
            input = &input[consumed..];
            if status == Status::StreamEnd {
                break;
            }
        }
    });
    let mut crc = Crc::new();
    crc.update(bytes);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One host's part of the output: its manifest entry and its files.
pub struct HostArtefacts {
    pub entry: ManifestHost,
    pub files: Vec<Artefact>,
}

/// The manifest entry and files of one host, taking its user-data without a copy.
/// Runs on any thread: builds call it as each host is rendered, so only the bytes
/// to write are kept.
pub fn host_artefacts(host: HostOutput, with_gzip: bool) -> HostArtefacts {
    let bytes = host.user_data.into_bytes();
    let unwritten = ManifestHost {
        name: host.name,
        roles: host.roles,
        file: String::new(),
        size: 0,
        sha256: String::new(),
        gzip_file: None,
        gzip_size: 0,
        stage: host.stage,
        steps: host.steps,
    };
    with_files(unwritten, bytes, with_gzip)
}

/// `entry` completed with the sizes and digest of `bytes`, and the files to write.
fn with_files(mut entry: ManifestHost, bytes: Vec<u8>, with_gzip: bool) -> HostArtefacts {
    let compressed = gzip_reusing(&bytes);
    let file = format!("{}.yaml", entry.name);
    let gzip_file = with_gzip.then(|| format!("{file}.gz"));
    entry.file = file.clone();
    entry.size = bytes.len();
    entry.sha256 = sha256_hex(&bytes);
    entry.gzip_file = gzip_file.clone();
    entry.gzip_size = compressed.len();
    let mut files = vec![Artefact { name: file, bytes }];
    if let Some(name) = gzip_file {
        files.push(Artefact {
            name,
            bytes: compressed,
        });
    }
    HostArtefacts { entry, files }
}

/// The manifest and every artefact of a build, in a fixed order.
pub fn artefacts(
    plan: &crate::plan::BootPlan,
    hosts: &[HostOutput],
    with_gzip: bool,
) -> (Manifest, Vec<Artefact>) {
    let per_host = hosts
        .par_iter()
        .map(|host| {
            let entry = ManifestHost {
                name: host.name.clone(),
                roles: host.roles.clone(),
                file: String::new(),
                size: 0,
                sha256: String::new(),
                gzip_file: None,
                gzip_size: 0,
                stage: host.stage,
                steps: host.steps.clone(),
            };
            with_files(entry, host.user_data.as_bytes().to_vec(), with_gzip)
        })
        .collect();
    collect(plan, per_host)
}

/// The manifest of the hosts' artefacts (in the order given), and every file to
/// write: the hosts' files, then `manifest.json`.
pub fn collect(
    plan: &crate::plan::BootPlan,
    per_host: Vec<HostArtefacts>,
) -> (Manifest, Vec<Artefact>) {
    let mut files = Vec::with_capacity(per_host.len() * 2 + 1);
    let mut entries = Vec::with_capacity(per_host.len());
    for host in per_host {
        entries.push(host.entry);
        files.extend(host.files);
    }
    let manifest = Manifest {
        cluster: plan.cluster.clone(),
        kubernetes: plan.kubernetes.clone(),
        endpoint: plan.endpoint.clone(),
        hosts: entries,
    };
    // Plain strings and numbers: serialising cannot fail.
    let mut json = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    json.push('\n');
    files.push(Artefact {
        name: MANIFEST.to_owned(),
        bytes: json.into_bytes(),
    });
    (manifest, files)
}

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

/// Replaces `dir` by a directory holding exactly `files` (mode 0600, the directory
/// 0700). `dir` must be absent, empty, or an earlier build's output (it has a
/// manifest), so a mistyped `-o` never removes somebody's files.
pub fn write_directory(dir: &Path, files: &[Artefact]) -> Result<(), WriteError> {
    check_replaceable(dir)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| WriteError::io("create", &parent, &e))?;
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_owned());
    let staging = parent.join(format!(".{base}.hac-new-{}", std::process::id()));
    let result =
        fill(&staging, files).and_then(|()| swap_into_place(&staging, dir, &parent, &base));
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

fn check_replaceable(dir: &Path) -> Result<(), WriteError> {
    let metadata = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WriteError::io("read", dir, &e)),
    };
    let refuse = |why: &str| {
        WriteError {
        message: format!("{} {why}", dir.display()),
        help: Some(
            "give `-o` a new directory, or one an earlier `hac build` wrote (it is replaced as a whole)"
                .to_owned(),
        ),
    }
    };
    if !metadata.is_dir() {
        return Err(refuse("exists and is not a directory"));
    }
    let mut entries = fs::read_dir(dir).map_err(|e| WriteError::io("read", dir, &e))?;
    let empty = entries.next().is_none();
    if !empty && !dir.join(MANIFEST).is_file() {
        return Err(refuse(
            "holds files but no manifest.json: it is not the output of `hac build`",
        ));
    }
    Ok(())
}

/// Writers at once: each file is synced to disk, and the file system commits the
/// syncs of concurrent writers together, where one writer waits for every file's
/// own commit (thousands of hosts took seconds of waiting).
const WRITERS: usize = 16;

fn fill(staging: &Path, files: &[Artefact]) -> Result<(), WriteError> {
    let _ = fs::remove_dir_all(staging);
    create_private_dir(staging).map_err(|e| WriteError::io("create", staging, &e))?;
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let write_some = || {
        while failures.lock().is_ok_and(|f| f.is_empty()) {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(file) = files.get(index) else {
                break;
            };
            let path = staging.join(&file.name);
            if let Err(e) = write_private(&path, &file.bytes)
                && let Ok(mut failures) = failures.lock()
            {
                failures.push((index, WriteError::io("write", &path, &e)));
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..WRITERS.min(files.len()) {
            // Without another thread the files are still all written, by this one.
            let _ = std::thread::Builder::new().spawn_scoped(scope, write_some);
        }
        write_some();
    });
    let failures = failures.into_inner().unwrap_or_default();
    match failures.into_iter().min_by_key(|(index, _)| *index) {
        Some((_, error)) => Err(error),
        None => Ok(()),
    }
}

/// Moves the old directory aside, the new one in, then removes the old one; puts
/// the old one back if the new one cannot take its place.
fn swap_into_place(
    staging: &Path,
    dir: &Path,
    parent: &Path,
    base: &str,
) -> Result<(), WriteError> {
    if fs::symlink_metadata(dir).is_err() {
        return fs::rename(staging, dir).map_err(|e| WriteError::io("create", dir, &e));
    }
    let old = parent.join(format!(".{base}.hac-old-{}", std::process::id()));
    let _ = fs::remove_dir_all(&old);
    fs::rename(dir, &old).map_err(|e| WriteError::io("replace", dir, &e))?;
    if let Err(e) = fs::rename(staging, dir) {
        let _ = fs::rename(&old, dir);
        return Err(WriteError::io("replace", dir, &e));
    }
    let _ = fs::remove_dir_all(&old);
    Ok(())
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

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::{gzip, gzip_reusing};

    #[test]
    fn the_reused_compressor_writes_exactly_what_a_new_one_does() {
        // Empty, tiny, a host's size, and larger than the compressor's window and
        // output chunks; each twice, so the second run starts from a reset state.
        let mut inputs = vec![Vec::new(), b"#cloud-config\n".to_vec()];
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("line {} of {}\n", i % 977, i / 13).into_bytes())
            .collect();
        inputs.push(text[..20_000].to_vec());
        inputs.push(text);
        let noise: Vec<u8> = (0..100_000u64)
            .map(|i| (i.wrapping_mul(6_364_136_223_846_793_005) >> 56) as u8)
            .collect();
        inputs.push(noise);
        for _ in 0..2 {
            for input in &inputs {
                assert_eq!(gzip_reusing(input), gzip(input), "{} bytes", input.len());
            }
        }
    }

    #[test]
    fn gzip_has_no_time_and_no_name() {
        let packed = gzip(b"#cloud-config\n");
        assert_eq!(packed, gzip(b"#cloud-config\n"));
        // Header: magic, method, flags (no FNAME), mtime 0.
        assert_eq!(&packed[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    }
}
