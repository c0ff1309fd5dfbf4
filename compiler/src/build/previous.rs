//! What a rebuild takes from the output it replaces, so that unchanged hosts are not
//! compressed again.
//!
//! Every host's best-level gzip size is in the manifest whatever the flags, and
//! computing it is most of a build's work. A rebuild into the same directory reads
//! that directory's `manifest.json` (only after the directory passed the same check
//! that allows replacing it: hac's manifest, this cluster, this cluster id, nothing
//! but the files it lists) and, for a host whose new user-data has the SHA-256 the
//! manifest records for the same file, takes the recorded gzip size instead of
//! compressing. With `--gzip`, the previous `<host>.yaml.gz` is kept only when it is
//! exactly a gzip file hac writes of the new user-data: hac's fixed header, the
//! recorded length, a trailer with the new bytes' CRC-32 and length, and a deflate
//! stream that inflates to exactly the new bytes. Anything else is compressed again.
//!
//! The sizes are trusted as hac's own records, as the directory is hac's: a size
//! that no gzip of the user-data can have is not taken, but a plausible size edited
//! into the manifest by hand is carried on while the host's user-data stays the
//! same (a build into a new or empty directory computes every size afresh).
//! Recorded sizes are those of the encoder hac uses; see
//! [`super::output::gzip`] on changing it.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::{Crc, Decompress, FlushDecompress, Status};
use serde::Deserialize;

use super::output::{GENERATOR, GZIP_HEADER, MANIFEST};
use super::replace::{Owner, Protected, Target};

/// A manifest larger than this is not read (it is a few kilobytes per host).
const LARGEST_MANIFEST: u64 = 256 << 20;

/// The previous build's records of the output directory, by user-data file name.
#[derive(Debug, Default)]
pub struct Previous {
    dir: PathBuf,
    hosts: HashMap<String, Recorded>,
}

#[derive(Debug)]
struct Recorded {
    sha256: String,
    gzip_size: usize,
    /// The gzip file the previous build wrote, if any.
    gzip_file: Option<String>,
}

/// What a host's artefacts took from the previous build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Compressed afresh.
    Nothing,
    /// The gzip size from the previous manifest (no gzip file written).
    GzipSize,
    /// The previous gzip file, checked, and so its size.
    GzipFile,
}

/// How many hosts of a build took their gzip size (and file) from the previous one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reused {
    pub sizes: usize,
    pub files: usize,
}

impl Reused {
    pub fn count(reuses: impl IntoIterator<Item = Reuse>) -> Self {
        let mut reused = Reused::default();
        for reuse in reuses {
            match reuse {
                Reuse::Nothing => {}
                Reuse::GzipSize => reused.sizes += 1,
                Reuse::GzipFile => {
                    reused.sizes += 1;
                    reused.files += 1;
                }
            }
        }
        reused
    }

    /// The line a build prints after its table, when it reused anything.
    pub fn line(&self, hosts: usize) -> Option<String> {
        let what = match self.files {
            0 => "gzip sizes from its manifest".to_owned(),
            files if files == self.sizes => "gzip files kept".to_owned(),
            files => format!("gzip sizes from its manifest, {files} gzip files kept"),
        };
        (self.sizes > 0).then(|| {
            format!(
                "not compressed again: {} of {hosts} host{}, unchanged since the previous build ({what})",
                self.sizes,
                if hosts == 1 { "" } else { "s" },
            )
        })
    }
}

/// The part of a manifest a rebuild reads.
#[derive(Deserialize)]
struct ManifestRecords {
    generator: String,
    cluster: String,
    cluster_id: Option<String>,
    hosts: Vec<HostRecord>,
    files: Vec<String>,
}

#[derive(Deserialize)]
struct HostRecord {
    file: String,
    sha256: String,
    gzip_file: Option<String>,
    gzip_size: usize,
}

impl Previous {
    /// No previous build: everything is computed.
    pub fn none() -> Self {
        Previous::default()
    }

    /// The records of `target`'s current output, when the directory passes the check
    /// that allows `owner`'s build to replace it; otherwise (absent, empty, refused,
    /// unreadable, not a manifest this hac reads) none.
    pub fn of(target: &Target, owner: Owner<'_>, protected: &Protected<'_>) -> Self {
        if target.check(owner, protected).is_err() {
            return Previous::none();
        }
        read(target.dir(), owner).unwrap_or_default()
    }

    /// The gzip size and, when `want_file`, the gzip bytes of `bytes`, the user-data
    /// written as `file`, when the previous build recorded them for the same bytes;
    /// `None` when they have to be computed.
    pub fn gzip_of(
        &self,
        file: &str,
        sha256: &str,
        bytes: &[u8],
        want_file: bool,
    ) -> Option<(usize, Option<Vec<u8>>)> {
        let recorded = self.hosts.get(file)?;
        if recorded.sha256 != sha256 || !plausible_gzip_size(bytes.len(), recorded.gzip_size) {
            return None;
        }
        if !want_file {
            return Some((recorded.gzip_size, None));
        }
        let name = recorded.gzip_file.as_deref()?;
        let packed = read_at_most(&self.dir.join(name), recorded.gzip_size)?;
        is_hacs_gzip_of(&packed, bytes).then_some((packed.len(), Some(packed)))
    }
}

fn read(dir: &Path, owner: Owner<'_>) -> Option<Previous> {
    let text = read_at_most(&dir.join(MANIFEST), LARGEST_MANIFEST as usize)?;
    let records: ManifestRecords = serde_json::from_slice(&text).ok()?;
    let ours = records.generator == GENERATOR
        && records.cluster == owner.cluster
        && match (&records.cluster_id, owner.cluster_id) {
            (Some(theirs), Some(ours)) => theirs == ours,
            _ => true,
        };
    if !ours {
        return None;
    }
    let listed: std::collections::HashSet<&str> =
        records.files.iter().map(String::as_str).collect();
    let mut hosts = HashMap::with_capacity(records.hosts.len());
    for host in records.hosts {
        // A gzip file counts only as the one hac names after the host's file, and
        // only when the manifest lists it as a file of the directory.
        let gzip_file = host
            .gzip_file
            .filter(|gz| *gz == format!("{}.gz", host.file) && listed.contains(gz.as_str()));
        hosts.insert(
            host.file,
            Recorded {
                sha256: host.sha256,
                gzip_size: host.gzip_size,
                gzip_file,
            },
        );
    }
    Some(Previous {
        dir: dir.to_path_buf(),
        hosts,
    })
}

/// The bytes of the regular file at `path` when it holds at most `limit` bytes.
fn read_at_most(path: &Path, limit: usize) -> Option<Vec<u8>> {
    let file = File::open(path).ok()?;
    let metadata = file.metadata().ok()?;
    if !metadata.is_file() || metadata.len() > limit as u64 {
        return None;
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limit as u64 + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() <= limit).then_some(bytes)
}

/// Whether some gzip file of `len` bytes of input could be `size` bytes long with
/// hac's header: deflate at best writes about one bit per 258 bytes repeated (so at
/// most 1,032 to 1), and at worst stores the input with 5 bytes of header per stored
/// block (counted here per 16 KiB, more blocks than any encoder writes).
fn plausible_gzip_size(len: usize, size: usize) -> bool {
    const FRAMING: usize = GZIP_HEADER.len() + 8;
    let smallest = FRAMING + 2 + len / 1032;
    let largest = FRAMING + len + 5 * (len / 16_384 + 1);
    (smallest..=largest).contains(&size)
}

thread_local! {
    static INFLATE: std::cell::RefCell<Decompress> =
        std::cell::RefCell::new(Decompress::new(false));
}

/// Whether `packed` is a gzip file of `bytes` as hac writes them: the fixed header,
/// a trailer with the CRC-32 and length of `bytes`, and a deflate stream between
/// them that ends exactly there and inflates to exactly `bytes`.
pub fn is_hacs_gzip_of(packed: &[u8], bytes: &[u8]) -> bool {
    let Some(body_end) = packed.len().checked_sub(8) else {
        return false;
    };
    if body_end < GZIP_HEADER.len() || packed[..GZIP_HEADER.len()] != GZIP_HEADER {
        return false;
    }
    let mut crc = Crc::new();
    crc.update(bytes);
    let mut trailer = [0u8; 8];
    trailer[..4].copy_from_slice(&crc.sum().to_le_bytes());
    trailer[4..].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
    if packed[body_end..] != trailer {
        return false;
    }
    inflates_to(&packed[GZIP_HEADER.len()..body_end], bytes)
}

/// Whether the raw deflate stream `body` is complete, ends at its last byte and
/// inflates to `expected`.
fn inflates_to(body: &[u8], expected: &[u8]) -> bool {
    INFLATE.with(|inflate| {
        let mut inflate = inflate.borrow_mut();
        inflate.reset(false);
        // One byte more than expected, so a longer output shows.
        let mut out = Vec::with_capacity(expected.len() + 1);
        let mut input = body;
        loop {
            let before_in = inflate.total_in();
            let before_out = inflate.total_out();
            let status = match inflate.decompress_vec(input, &mut out, FlushDecompress::Finish) {
                Ok(status) => status,
                Err(_) => return false,
            };
            input = &input[(inflate.total_in() - before_in) as usize..];
            match status {
                Status::StreamEnd => break,
                _ if out.len() > expected.len() => return false,
                _ if inflate.total_in() == before_in && inflate.total_out() == before_out => {
                    if out.len() < out.capacity() {
                        // No progress with room to spare: the stream is cut short.
                        return false;
                    }
                    out.reserve(out.capacity().max(64));
                }
                _ => {}
            }
        }
        input.is_empty() && out == expected
    })
}

#[cfg(test)]
mod tests {
    use super::{is_hacs_gzip_of, plausible_gzip_size};
    use crate::build::output::gzip;

    fn sample() -> Vec<u8> {
        (0..3_000u32)
            .flat_map(|i| format!("line {} of {}\n", i % 97, i / 7).into_bytes())
            .collect()
    }

    #[test]
    fn hacs_own_gzip_of_the_same_bytes_is_accepted() {
        for bytes in [Vec::new(), b"#cloud-config\n".to_vec(), sample()] {
            assert!(
                is_hacs_gzip_of(&gzip(&bytes), &bytes),
                "{} bytes",
                bytes.len()
            );
            assert!(plausible_gzip_size(bytes.len(), gzip(&bytes).len()));
        }
    }

    #[test]
    fn any_changed_byte_cut_or_addition_is_refused() {
        let bytes = sample();
        let packed = gzip(&bytes);
        for at in 0..packed.len() {
            let mut edited = packed.clone();
            edited[at] ^= 0x01;
            // Flipping the header's "best compression" flag or OS byte would still
            // inflate; hac's header is fixed, so it is refused too.
            assert!(!is_hacs_gzip_of(&edited, &bytes), "byte {at} flipped");
        }
        for len in 0..packed.len() {
            assert!(!is_hacs_gzip_of(&packed[..len], &bytes), "cut to {len}");
        }
        let mut longer = packed.clone();
        longer.push(0);
        assert!(!is_hacs_gzip_of(&longer, &bytes));
        // The right file for other bytes.
        let mut other = bytes.clone();
        other[100] = b'#';
        assert!(!is_hacs_gzip_of(&packed, &other));
    }

    #[test]
    fn impossible_sizes_are_not_plausible() {
        assert!(!plausible_gzip_size(1_000, 0));
        assert!(!plausible_gzip_size(1_000, 19));
        assert!(!plausible_gzip_size(1_000, 2_000));
        assert!(!plausible_gzip_size(10_000_000, 100));
    }
}
