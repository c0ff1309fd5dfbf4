//! A rebuild into the directory of an earlier build takes the gzip sizes (and, with
//! `--gzip`, the gzip files) of unchanged hosts from it instead of compressing again,
//! and writes exactly what a build into a new directory writes, whatever happened
//! to the directory in between. Run as a user runs it: the real binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "support/files.rs"]
mod files;

use files::contents;

const HAC: &str = env!("CARGO_BIN_EXE_hac");

/// Every build of a test is made as at the same time, so it carries the same token.
const AT: &str = "2026-12-07T06:00:00Z";

/// 3 control planes, 1 load balancer and 4 workers.
const HOSTS: usize = 8;

struct Project {
    _scratch: tempfile::TempDir,
    root: PathBuf,
    source: PathBuf,
    colds: std::cell::Cell<u32>,
}

impl Project {
    /// The scale fixture with 4 workers; with `edge_worker`, the third one is labelled
    /// differently (a change of that worker alone).
    fn new() -> Self {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path().to_path_buf();
        let project = Project {
            source: root.join("big.hac"),
            root,
            _scratch: scratch,
            colds: std::cell::Cell::new(0),
        };
        project.write_source(false);
        project
    }

    fn write_source(&self, edge_worker: bool) {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/scale/workers.hac"),
        )
        .unwrap();
        let label = r#"labels = { "node.kubernetes.io/pool" = "general"; };"#;
        assert!(text.contains("workerCount = 300;") && text.contains(label));
        let mut text = text.replace("workerCount = 300;", "workerCount = 4;");
        if edge_worker {
            text = text.replace(
                label,
                r#"labels = { "node.kubernetes.io/pool" = if i == 2 then "edge" else "general"; };"#,
            );
        }
        std::fs::write(&self.source, text).unwrap();
    }

    fn out(&self) -> PathBuf {
        self.root.join("out")
    }

    fn build(&self, out: &Path, flags: &[&str]) -> Output {
        let mut args = vec![
            "build",
            self.source.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--at",
            AT,
        ];
        args.extend(flags);
        Command::new(HAC).args(&args).output().expect("run hac")
    }

    /// Builds into `out` and returns its standard output; the build must succeed.
    fn rebuild(&self, gzip: bool) -> String {
        self.rebuild_with(gzip_flag(gzip))
    }

    fn rebuild_with(&self, flags: &[&str]) -> String {
        let built = self.build(&self.out(), flags);
        assert!(built.status.success(), "{}", stderr(&built));
        String::from_utf8(built.stdout).unwrap()
    }

    /// What a build into a new directory writes.
    fn cold(&self, gzip: bool) -> BTreeMap<String, Vec<u8>> {
        self.cold_with(gzip_flag(gzip))
    }

    fn cold_with(&self, flags: &[&str]) -> BTreeMap<String, Vec<u8>> {
        self.colds.set(self.colds.get() + 1);
        let dir = self.root.join(format!("cold{}", self.colds.get()));
        let built = self.build(&dir, flags);
        assert!(built.status.success(), "{}", stderr(&built));
        assert!(
            !String::from_utf8_lossy(&built.stdout).contains("not compressed again"),
            "a build into a new directory has nothing to reuse"
        );
        contents(&dir)
    }
}

fn gzip_flag(gzip: bool) -> &'static [&'static str] {
    if gzip { &["--gzip"] } else { &[] }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The line a rebuild prints when it took `reused` hosts from the previous build.
fn reused_line(reused: usize, what: &str) -> String {
    format!(
        "not compressed again: {reused} of {HOSTS} hosts, unchanged since the previous build ({what})\n"
    )
}

fn assert_same(found: &BTreeMap<String, Vec<u8>>, cold: &BTreeMap<String, Vec<u8>>) {
    let names = |files: &BTreeMap<String, Vec<u8>>| files.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(found), names(cold));
    for (name, bytes) in cold {
        assert!(found[name] == *bytes, "{name} differs from a cold build's");
    }
}

#[test]
fn a_rebuild_without_change_reuses_every_gzip_size_and_writes_the_same_files() {
    let project = Project::new();
    let first = project.rebuild(false);
    assert!(!first.contains("not compressed again"), "{first}");
    let again = project.rebuild(false);
    assert!(
        again.ends_with(&reused_line(HOSTS, "gzip sizes from its manifest")),
        "{again}"
    );
    assert_same(&contents(&project.out()), &project.cold(false));
}

#[test]
fn a_rebuild_after_changing_one_worker_compresses_that_worker_only() {
    let project = Project::new();
    project.rebuild(true);
    let before = contents(&project.out());
    project.write_source(true);
    let again = project.rebuild(true);
    assert!(
        again.ends_with(&reused_line(HOSTS - 1, "gzip files kept")),
        "{again}"
    );
    let after = contents(&project.out());
    assert_same(&after, &project.cold(true));
    let changed: Vec<&str> = after
        .iter()
        .filter(|(name, bytes)| before.get(*name) != Some(bytes))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        changed,
        ["manifest.json", "worker3.yaml", "worker3.yaml.gz"]
    );
}

#[test]
fn switching_gzip_on_and_off_gives_a_cold_builds_files() {
    let project = Project::new();
    project.rebuild(false);
    // No gzip files to keep: every host is compressed, as in a new directory.
    let on = project.rebuild(true);
    assert!(!on.contains("not compressed again"), "{on}");
    assert_same(&contents(&project.out()), &project.cold(true));
    let kept = project.rebuild(true);
    assert!(
        kept.ends_with(&reused_line(HOSTS, "gzip files kept")),
        "{kept}"
    );
    assert_same(&contents(&project.out()), &project.cold(true));
    let off = project.rebuild(false);
    assert!(
        off.ends_with(&reused_line(HOSTS, "gzip sizes from its manifest")),
        "{off}"
    );
    assert_same(&contents(&project.out()), &project.cold(false));
}

/// The gzip files of the output, edited by `edit`, then rebuilt with `--gzip`: the
/// edited ones are compressed again, and the result is a cold build's.
fn rebuild_after_editing_gzip_files(edit: impl Fn(&Path, &mut Vec<u8>), edited: usize) {
    let project = Project::new();
    project.rebuild(true);
    for name in ["worker1.yaml.gz", "cp2.yaml.gz"].into_iter().take(edited) {
        let path = project.out().join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        edit(&project.out(), &mut bytes);
        std::fs::write(&path, bytes).unwrap();
    }
    let again = project.rebuild(true);
    assert!(
        again.ends_with(&reused_line(HOSTS - edited, "gzip files kept")),
        "{again}"
    );
    assert_same(&contents(&project.out()), &project.cold(true));
}

#[test]
fn a_gzip_file_with_a_byte_changed_in_its_stream_is_compressed_again() {
    rebuild_after_editing_gzip_files(
        |_, bytes| {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x10;
        },
        2,
    );
}

#[test]
fn a_truncated_or_lengthened_gzip_file_is_compressed_again() {
    rebuild_after_editing_gzip_files(|_, bytes| bytes.truncate(bytes.len() - 9), 1);
    rebuild_after_editing_gzip_files(|_, bytes| bytes.truncate(0), 1);
    rebuild_after_editing_gzip_files(|_, bytes| bytes.push(0), 1);
}

#[test]
fn another_hosts_gzip_file_or_a_changed_header_is_compressed_again() {
    rebuild_after_editing_gzip_files(
        |out, bytes| *bytes = std::fs::read(out.join("worker2.yaml.gz")).unwrap(),
        1,
    );
    // A valid gzip file of the same bytes, with another header (the OS byte).
    rebuild_after_editing_gzip_files(|_, bytes| bytes[9] = 3, 1);
}

#[test]
fn edited_records_in_the_manifest_are_not_trusted_beyond_what_they_can_be() {
    let project = Project::new();
    project.rebuild(false);
    let path = project.out().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hosts = manifest["hosts"].as_array_mut().unwrap();
    // A size no gzip of the user-data can have, and a digest of other bytes.
    hosts[0]["gzip_size"] = 7.into();
    hosts[1]["sha256"] = "0".repeat(64).into();
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let again = project.rebuild(false);
    assert!(
        again.ends_with(&reused_line(HOSTS - 2, "gzip sizes from its manifest")),
        "{again}"
    );
    assert_same(&contents(&project.out()), &project.cold(false));
}

#[test]
fn a_foreign_or_garbled_manifest_is_refused_as_before_and_nothing_is_written() {
    let project = Project::new();
    project.rebuild(false);
    let path = project.out().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let foreign = text.replacen("\"cluster\": \"big\"", "\"cluster\": \"other\"", 1);
    assert_ne!(foreign, text);
    let other_id = {
        let mut manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
        manifest["cluster_id"] = "f".repeat(32).into();
        serde_json::to_string_pretty(&manifest).unwrap()
    };
    for manifest in [foreign, other_id, text[..text.len() / 2].to_owned()] {
        std::fs::write(&path, &manifest).unwrap();
        let before = contents(&project.out());
        let refused = project.build(&project.out(), &[]);
        assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
        assert!(refused.stdout.is_empty());
        assert_eq!(contents(&project.out()), before);
    }
}

#[test]
fn a_provider_build_compresses_again_only_the_gzip_files_it_needs() {
    let project = Project::new();
    // Every host fits GCP's limit as written: no gzip file is written, and a
    // rebuild takes every size from the manifest.
    let gcp: &[&str] = &["--provider", "gcp"];
    project.rebuild_with(gcp);
    let again = project.rebuild_with(gcp);
    assert!(
        again.ends_with(&reused_line(HOSTS, "gzip sizes from its manifest")),
        "{again}"
    );
    assert_same(&contents(&project.out()), &project.cold_with(gcp));
    // AWS's 16 KB take the workers only gzipped: the files are made, as in a new
    // directory, then kept.
    let aws: &[&str] = &["--provider", "aws"];
    let made = project.rebuild_with(aws);
    assert!(!made.contains("not compressed again"), "{made}");
    assert_same(&contents(&project.out()), &project.cold_with(aws));
    let kept = project.rebuild_with(aws);
    assert!(
        kept.ends_with(&reused_line(HOSTS, "gzip files kept")),
        "{kept}"
    );
    assert_same(&contents(&project.out()), &project.cold_with(aws));
    // Back to GCP: the kept files are not written, their sizes are reused.
    let back = project.rebuild_with(gcp);
    assert!(
        back.ends_with(&reused_line(HOSTS, "gzip sizes from its manifest")),
        "{back}"
    );
    assert_same(&contents(&project.out()), &project.cold_with(gcp));
}

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .ino()
}

/// The line a rebuild prints when it linked `kept` of the hosts' files.
fn linked_line(kept: usize, files: usize) -> String {
    format!(
        "not written again: {kept} of {files} files, the same bytes as in the previous build (linked)\n"
    )
}

#[test]
fn a_rebuild_links_the_unchanged_files_and_writes_the_changed_ones() {
    let project = Project::new();
    let first = project.rebuild(true);
    assert!(!first.contains("not written again"), "{first}");
    let out = project.out();
    let names = [
        "worker1.yaml",
        "worker1.yaml.gz",
        "cp1.yaml",
        "worker3.yaml",
    ];
    let before: Vec<u64> = names.iter().map(|n| inode(&out.join(n))).collect();
    project.write_source(true);
    let again = project.rebuild(true);
    assert!(
        again.contains(&linked_line(2 * HOSTS - 2, 2 * HOSTS)),
        "{again}"
    );
    let after: Vec<u64> = names.iter().map(|n| inode(&out.join(n))).collect();
    assert_eq!(
        after[..3],
        before[..3],
        "unchanged files are the same inodes"
    );
    assert_ne!(after[3], before[3], "the changed worker's file is new");
    assert_same(&contents(&out), &project.cold(true));
}

/// A rebuild after `tamper` changed worker1.yaml: its bytes must be written anew (a
/// new inode, mode 0600, a cold build's bytes), every other host's file is linked.
fn rebuild_after_tampering(tamper: impl Fn(&Path)) {
    use std::os::unix::fs::PermissionsExt;
    let project = Project::new();
    project.rebuild(false);
    let file = project.out().join("worker1.yaml");
    let before = inode(&file);
    tamper(&file);
    let again = project.rebuild(false);
    assert!(again.contains(&linked_line(HOSTS - 1, HOSTS)), "{again}");
    assert_ne!(inode(&file), before, "worker1.yaml was linked");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o600);
    assert_same(&contents(&project.out()), &project.cold(false));
}

#[test]
fn a_hand_edited_file_of_the_same_length_is_written_anew() {
    rebuild_after_tampering(|file| {
        let mut bytes = std::fs::read(file).unwrap();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'x' { b'y' } else { b'x' };
        // In place: the same inode, length, owner and mode, only the bytes differ.
        std::fs::write(file, bytes).unwrap();
    });
}

#[test]
fn a_file_whose_mode_was_changed_is_written_anew() {
    use std::os::unix::fs::PermissionsExt;
    rebuild_after_tampering(|file| {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    });
}

#[test]
fn a_file_with_a_link_of_the_users_is_written_anew_and_the_link_keeps_its_bytes() {
    let scratch = tempfile::tempdir().unwrap();
    let mine = scratch.path().join("mine.yaml");
    rebuild_after_tampering(|file| std::fs::hard_link(file, &mine).unwrap());
    // The user's name is still the old inode, shared with nothing hac wrote.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&mine).unwrap().nlink(), 1);
}
