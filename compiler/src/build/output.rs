//! The files `hac build` writes: `<host>.yaml` per host (and `<host>.yaml.gz`), and
//! `manifest.json`. Everything is computed in memory first, then written into a
//! fresh directory beside the output directory, which replaces it only when every
//! file is on disk: a failed build leaves the output directory as it was.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
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

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The manifest and every artefact of a build, in a fixed order.
pub fn artefacts(
    plan: &crate::plan::BootPlan,
    hosts: &[HostOutput],
    with_gzip: bool,
) -> (Manifest, Vec<Artefact>) {
    let mut files = Vec::new();
    let mut entries = Vec::new();
    for host in hosts {
        let bytes = host.user_data.as_bytes().to_vec();
        let compressed = gzip(&bytes);
        let file = format!("{}.yaml", host.name);
        let gzip_file = with_gzip.then(|| format!("{file}.gz"));
        entries.push(ManifestHost {
            name: host.name.clone(),
            roles: host.roles.clone(),
            file: file.clone(),
            size: bytes.len(),
            sha256: sha256_hex(&bytes),
            gzip_file: gzip_file.clone(),
            gzip_size: compressed.len(),
            stage: host.stage,
            steps: host.steps.clone(),
        });
        files.push(Artefact { name: file, bytes });
        if let Some(name) = gzip_file {
            files.push(Artefact {
                name,
                bytes: compressed,
            });
        }
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

fn fill(staging: &Path, files: &[Artefact]) -> Result<(), WriteError> {
    let _ = fs::remove_dir_all(staging);
    create_private_dir(staging).map_err(|e| WriteError::io("create", staging, &e))?;
    for file in files {
        let path = staging.join(&file.name);
        write_private(&path, &file.bytes).map_err(|e| WriteError::io("write", &path, &e))?;
    }
    Ok(())
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
    use super::gzip;

    #[test]
    fn gzip_has_no_time_and_no_name() {
        let packed = gzip(b"#cloud-config\n");
        assert_eq!(packed, gzip(b"#cloud-config\n"));
        // Header: magic, method, flags (no FNAME), mtime 0.
        assert_eq!(&packed[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    }
}
