//! A `hac` process killed while it writes the secrets bundle leaves the old bundle
//! whole. strace kills the real binary at the system calls that matter: once the new
//! bundle is written and synced to its temporary file (`fsync`), and at the rename
//! that would put it in place. Either way the bundle on disk must be byte for byte
//! the one before, and still load; the next write clears the temporary file.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/strace.rs"]
mod strace;

const HAC: &str = env!("CARGO_BIN_EXE_hac");

fn hac(args: &[&str]) -> std::process::Output {
    Command::new(HAC).args(args).output().expect("run hac")
}

/// Copies the stacked example into a scratch directory with a fresh bundle.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let source = dir.path().join("cluster.hac");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/stacked.hac"),
        &source,
    )
    .expect("copy the example");
    let init = hac(&["secrets", "init", source.to_str().unwrap()]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    (dir, source.with_extension("secrets"))
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list the directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_write_killed_half_way_leaves_the_old_bundle_whole() {
    if !strace::strace_usable() {
        return;
    }
    for (syscalls, what) in [
        ("/^f(data)?sync$", "after writing the temporary file"),
        ("/^rename", "at the rename"),
    ] {
        let (dir, bundle) = scratch();
        let before = std::fs::read(&bundle).expect("read the bundle");
        let killed = strace::run_killed_at(
            syscalls,
            HAC,
            &[
                "secrets".as_ref(),
                "rotate".as_ref(),
                "token".as_ref(),
                bundle.as_os_str(),
            ],
        );
        assert!(
            !killed.status.success(),
            "{what}: hac was not killed: {}",
            String::from_utf8_lossy(&killed.stderr)
        );
        let after = std::fs::read(&bundle).expect("read the bundle");
        assert!(before == after, "{what}: the bundle changed");
        let show = hac(&["secrets", "show", bundle.to_str().unwrap()]);
        assert!(
            show.status.success(),
            "{what}: the bundle no longer loads: {}",
            String::from_utf8_lossy(&show.stderr)
        );
        // The kill may leave the temporary file; the next write removes it.
        let rotate = hac(&["secrets", "rotate", "token", bundle.to_str().unwrap()]);
        assert!(
            rotate.status.success(),
            "{}",
            String::from_utf8_lossy(&rotate.stderr)
        );
        assert_ne!(
            std::fs::read(&bundle).unwrap(),
            before,
            "{what}: rotation had no effect"
        );
        assert_eq!(temporaries(dir.path()), Vec::<String>::new(), "{what}");
    }
}
