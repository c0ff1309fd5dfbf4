//! A `hac` process killed while it writes the secrets bundle leaves the old bundle
//! whole. strace kills the real binary at the system calls that matter: once the new
//! bundle is written and synced to its temporary file (`fsync`), and at the rename
//! that would put it in place. Either way the bundle on disk must be byte for byte
//! the one before, and still load; the next write clears the temporary file.

use std::path::{Path, PathBuf};
use std::process::Command;

const HAC: &str = env!("CARGO_BIN_EXE_hac");

fn hac(args: &[&str]) -> std::process::Output {
    Command::new(HAC).args(args).output().expect("run hac")
}

fn strace_works() -> bool {
    Command::new("strace")
        .args(["-f", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|status| status.success())
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
    assert!(
        Command::new("strace").arg("-V").output().is_ok(),
        "`strace` is missing: install the Debian package `strace` (scripts/test installs it)"
    );
    if !strace_works() {
        // Containers may forbid ptrace; there is nothing to measure then.
        eprintln!("strace cannot trace processes here (ptrace not permitted); skipping");
        return;
    }
    for (syscalls, what) in [
        ("/^f(data)?sync$", "after writing the temporary file"),
        ("/^rename", "at the rename"),
    ] {
        let (dir, bundle) = scratch();
        let before = std::fs::read(&bundle).expect("read the bundle");
        let killed = Command::new("strace")
            .args(["-f", "-o", "/dev/null", "-e"])
            .arg(format!("trace={syscalls}"))
            .arg("-e")
            .arg(format!("inject={syscalls}:signal=KILL"))
            .args([HAC, "secrets", "rotate", "token"])
            .arg(&bundle)
            .output()
            .expect("run hac under strace");
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
