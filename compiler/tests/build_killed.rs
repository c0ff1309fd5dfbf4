//! A `hac build` killed while it replaces the output directory never leaves the
//! output missing, and the next build removes what the killed one left. strace kills
//! the real binary at the system calls that matter: at the `renameat2` that would swap
//! the new directory in (the old output must still be there, whole), and at the first
//! `unlink` after the swap (the new output must be there, whole). The directory the
//! killed build left beside the output holds complete user-data, CA key included; the
//! next build must remove it.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/files.rs"]
mod files;
#[path = "support/strace.rs"]
mod strace;

use files::contents;

const HAC: &str = env!("CARGO_BIN_EXE_hac");

fn hac(args: &[&str]) -> std::process::Output {
    Command::new(HAC).args(args).output().expect("run hac")
}

/// The stacked example as `cluster.hac` with `workers` workers, its bundle beside it.
fn write_source(dir: &Path, workers: u32) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/stacked.hac"),
    )
    .expect("read the example");
    assert!(text.contains("workerCount = 3;"));
    let source = dir.join("cluster.hac");
    std::fs::write(
        &source,
        text.replace("workerCount = 3;", &format!("workerCount = {workers};")),
    )
    .expect("write the source");
    source
}

fn build(source: &Path, out: &Path) -> std::process::Output {
    hac(&[
        "build",
        source.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
}

/// The names in `dir` that start with `.out.hac-`: what killed builds left.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".out.hac-"))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

#[test]
fn a_build_killed_while_replacing_the_output_never_leaves_it_missing() {
    if !strace::strace_usable() {
        return;
    }
    for (syscalls, kept) in [
        // Killed before the swap: the old output stays.
        ("renameat2", "old"),
        // Killed right after it: the new output is in place, the old one beside it.
        ("/^unlink", "new"),
    ] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = dir.path().join("out");
        let source = write_source(dir.path(), 3);
        let first = build(&source, &out);
        assert!(
            first.status.success(),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        let old = contents(&out);
        // A fourth worker: a new file and a new manifest, the same bundle.
        let source = write_source(dir.path(), 4);
        let killed = strace::run_killed_at(
            syscalls,
            HAC,
            &[
                "build".as_ref(),
                source.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ],
        );
        assert!(
            !killed.status.success(),
            "{syscalls}: hac was not killed: {}",
            String::from_utf8_lossy(&killed.stderr)
        );
        let after_kill = contents(&out);
        let left = leftovers(dir.path());
        assert_eq!(left.len(), 1, "{syscalls}: {left:?}");
        let left_behind = contents(&left[0]);
        if kept == "old" {
            assert!(after_kill == old, "{syscalls}: the old output changed");
            assert!(
                left_behind.contains_key("worker4.yaml"),
                "{syscalls}: the killed build's staging directory is not complete"
            );
        } else {
            assert!(
                after_kill.contains_key("worker4.yaml") && after_kill.len() == old.len() + 1,
                "{syscalls}: the new output is not complete: {:?}",
                after_kill.keys()
            );
            assert!(
                left_behind == old,
                "{syscalls}: the old output was not set aside"
            );
        }
        // What the killed build left holds the CA key: the next build removes it.
        assert!(
            left_behind
                .values()
                .any(|bytes| String::from_utf8_lossy(bytes).contains("PRIVATE KEY")),
            "{syscalls}: expected secret material in the leftover"
        );
        let next = build(&source, &out);
        assert!(
            next.status.success(),
            "{}",
            String::from_utf8_lossy(&next.stderr)
        );
        assert_eq!(leftovers(dir.path()), Vec::<PathBuf>::new(), "{syscalls}");
        assert!(contents(&out).contains_key("worker4.yaml"), "{syscalls}");
    }
}
