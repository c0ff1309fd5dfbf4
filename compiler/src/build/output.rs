//! The files `hac build` writes: `<host>.yaml` per host (and `<host>.yaml.gz`), and
//! `manifest.json`. Everything is computed in memory first; the directory itself is
//! written by [`super::replace`], which replaces an output directory only when it can
//! prove hac wrote it.

use std::io::Write;

use flate2::{Compression, GzBuilder};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::HostOutput;
use crate::plan::PlanRole;

/// The manifest's file name in the output directory.
pub const MANIFEST: &str = "manifest.json";

/// The manifest's `generator`: what marks a directory as hac's output.
pub const GENERATOR: &str = "hac";

/// One file to write: its name in the output directory and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artefact {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Always [`GENERATOR`].
    pub generator: String,
    pub cluster: String,
    /// The secrets bundle's cluster id (absent with a bundle that records none).
    pub cluster_id: Option<String>,
    pub kubernetes: String,
    pub endpoint: String,
    pub hosts: Vec<ManifestHost>,
    /// Every file of the directory but the manifest itself: a later build removes
    /// exactly these, and refuses a directory that holds anything else.
    pub files: Vec<String>,
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

/// The manifest and every artefact of a build; the manifest comes first, so that a
/// directory being filled always names what it holds.
pub fn artefacts(
    plan: &crate::plan::BootPlan,
    hosts: &[HostOutput],
    with_gzip: bool,
    cluster_id: Option<&str>,
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
        generator: GENERATOR.to_owned(),
        cluster: plan.cluster.clone(),
        cluster_id: cluster_id.map(str::to_owned),
        kubernetes: plan.kubernetes.clone(),
        endpoint: plan.endpoint.clone(),
        hosts: entries,
        files: files.iter().map(|f: &Artefact| f.name.clone()).collect(),
    };
    // Plain strings and numbers: serialising cannot fail.
    let mut json = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    json.push('\n');
    files.insert(
        0,
        Artefact {
            name: MANIFEST.to_owned(),
            bytes: json.into_bytes(),
        },
    );
    (manifest, files)
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
