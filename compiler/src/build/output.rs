//! The files `hac build` writes: `<host>.yaml` per host (and `<host>.yaml.gz`), and
//! `manifest.json`. Everything is computed in memory first; the directory itself is
//! written by [`super::replace`], which replaces an output directory only when it can
//! prove hac wrote it.

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::HostOutput;
use super::gzip::Families;
use super::previous::{Previous, Reuse};
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
/// Rebuilds reuse the sizes and files it made in earlier builds (`build::previous`):
/// changing the encoder must also stop that (see the test that pins its bytes).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    super::gzip::gzip(bytes)
}

pub(super) use super::gzip::GZIP_HEADER;

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
    /// What was taken from the previous build instead of compressed.
    pub reuse: Reuse,
}

/// Whether a host's gzip file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GzipFile {
    /// `--gzip`.
    Write,
    /// Not asked for, but a provider may need it once every host's size is known:
    /// made when it costs nothing more (compressed for the size anyway, or kept from
    /// the previous build), otherwise made by [`with_gzip_files`] if needed.
    IfNeeded,
    No,
}

/// `hosts` with their gzip files, made now (in parallel) where they were not.
/// `families` are the build's, whose templates serve again.
pub fn with_gzip_files(hosts: Vec<HostArtefacts>, families: &Families) -> Vec<HostArtefacts> {
    hosts
        .into_par_iter()
        .map(|host| with_gzip_file(host, families))
        .collect()
}

fn with_gzip_file(mut host: HostArtefacts, families: &Families) -> HostArtefacts {
    if host.entry.gzip_file.is_some() {
        return host;
    }
    let compressed = families.gzip(&host.files[0].bytes);
    let name = format!("{}.gz", host.entry.file);
    host.entry.gzip_size = compressed.len();
    host.entry.gzip_file = Some(name.clone());
    host.files.push(Artefact {
        name,
        bytes: compressed,
    });
    host.reuse = Reuse::Nothing;
    host
}

/// `host` without its gzip file: when the gzip form was made only to see whether it
/// is needed, and it is not.
pub fn without_gzip(mut host: HostArtefacts) -> HostArtefacts {
    if let Some(name) = host.entry.gzip_file.take() {
        host.files.retain(|file| file.name != name);
    }
    if host.reuse == Reuse::GzipFile {
        host.reuse = Reuse::GzipSize;
    }
    host
}

/// The manifest entry and files of one host, taking its user-data without a copy,
/// and its gzip size and file from `previous` when that recorded them for the same
/// user-data. Runs on any thread: builds call it as each host is rendered, so only
/// the bytes to write are kept. `families` holds what the build's hosts share for
/// compressing.
pub fn host_artefacts(
    host: HostOutput,
    gzip: GzipFile,
    previous: &Previous,
    families: &Families,
) -> HostArtefacts {
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
    with_files(unwritten, bytes, gzip, previous, families)
}

/// `entry` completed with the sizes and digest of `bytes`, and the files to write.
fn with_files(
    mut entry: ManifestHost,
    bytes: Vec<u8>,
    gzip: GzipFile,
    previous: &Previous,
    families: &Families,
) -> HostArtefacts {
    let file = format!("{}.yaml", entry.name);
    let sha256 = sha256_hex(&bytes);
    let recorded = match gzip {
        GzipFile::Write => previous.gzip_of(&file, &sha256, &bytes, true),
        GzipFile::IfNeeded => previous
            .gzip_of(&file, &sha256, &bytes, true)
            .or_else(|| previous.gzip_of(&file, &sha256, &bytes, false)),
        GzipFile::No => previous.gzip_of(&file, &sha256, &bytes, false),
    };
    let (gzip_size, compressed, reuse) = match recorded {
        Some((size, None)) => (size, None, Reuse::GzipSize),
        Some((size, Some(kept))) => (size, Some(kept), Reuse::GzipFile),
        // Without gzip files, only the size is made.
        None if gzip == GzipFile::No => (families.gzip_size(&bytes), None, Reuse::Nothing),
        None => {
            let compressed = families.gzip(&bytes);
            (compressed.len(), Some(compressed), Reuse::Nothing)
        }
    };
    let writes_gzip = match gzip {
        GzipFile::Write => true,
        GzipFile::IfNeeded => compressed.is_some(),
        GzipFile::No => false,
    };
    let gzip_file = writes_gzip.then(|| format!("{file}.gz"));
    entry.file = file.clone();
    entry.size = bytes.len();
    entry.sha256 = sha256;
    entry.gzip_file = gzip_file.clone();
    entry.gzip_size = gzip_size;
    let mut files = vec![Artefact { name: file, bytes }];
    if let (Some(name), Some(compressed)) = (gzip_file, compressed) {
        files.push(Artefact {
            name,
            bytes: compressed,
        });
    }
    HostArtefacts {
        entry,
        files,
        reuse,
    }
}

/// The manifest and every artefact of a build; the manifest comes first, so that a
/// directory being filled always names what it holds.
pub fn artefacts(
    plan: &crate::plan::BootPlan,
    hosts: &[HostOutput],
    with_gzip: bool,
    cluster_id: Option<&str>,
) -> (Manifest, Vec<Artefact>) {
    let families = Families::new();
    let per_host = hosts
        .par_iter()
        .map(|host| {
            let gzip = match with_gzip {
                true => GzipFile::Write,
                false => GzipFile::No,
            };
            host_artefacts(host.clone(), gzip, &Previous::none(), &families)
        })
        .collect();
    collect(plan, per_host, cluster_id)
}

/// The manifest of the hosts' artefacts (in the order given), and every file to
/// write: the hosts' files, then `manifest.json`.
pub fn collect(
    plan: &crate::plan::BootPlan,
    per_host: Vec<HostArtefacts>,
    cluster_id: Option<&str>,
) -> (Manifest, Vec<Artefact>) {
    let mut files = Vec::with_capacity(per_host.len() * 2 + 1);
    let mut entries = Vec::with_capacity(per_host.len());
    for host in per_host {
        entries.push(host.entry);
        files.extend(host.files);
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

    /// Rebuilds take the gzip sizes and files of unchanged hosts from the manifest of
    /// the output they replace (`build::previous`), trusting that this hac would
    /// compress the same bytes to the same gzip. A change of the encoder (its crate,
    /// version, backend or level) that changes this digest changes `gzip_size` in
    /// every manifest, and must also stop rebuilds from reusing what the old encoder
    /// recorded (say, by marking the manifests the new one writes and reusing only
    /// those), or rebuilds would keep the old sizes where new builds write new ones.
    #[test]
    fn the_gzip_encoder_writes_the_bytes_it_always_wrote() {
        let input: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("  - step {} waits for {}\n", i % 613, i / 7).into_bytes())
            .collect();
        let packed = gzip(&input);
        assert_eq!(
            (packed.len(), super::sha256_hex(&packed).as_str()),
            (
                43_892,
                "c2a52a85f92e80681b76d114bf1a1a31b10c7e4d1fa32fa23bc13da8be869cca"
            )
        );
    }

    #[test]
    fn gzip_has_no_time_and_no_name() {
        let packed = gzip(b"#cloud-config\n");
        assert_eq!(packed, gzip(b"#cloud-config\n"));
        // Header: magic, method, flags (no FNAME), mtime 0.
        assert_eq!(&packed[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    }
}
