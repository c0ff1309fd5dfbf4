//! Killing the real `hac` binary at a chosen system call, with strace's fault
//! injection, for the tests that prove a kill never loses a user's files.

use std::process::{Command, Output};

/// Whether strace can trace here. It must be installed (scripts/test installs it),
/// but containers may forbid ptrace, and then there is nothing to measure.
pub fn strace_usable() -> bool {
    assert!(
        Command::new("strace").arg("-V").output().is_ok(),
        "`strace` is missing: install the Debian package `strace` (scripts/test installs it)"
    );
    let works = Command::new("strace")
        .args(["-f", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|status| status.success());
    if !works {
        eprintln!("strace cannot trace processes here (ptrace not permitted); skipping");
    }
    works
}

/// Runs `program args…` under strace, killed by SIGKILL at the first system call
/// matching `syscalls` (strace's `trace=` syntax, e.g. `renameat2` or `/^unlink`).
pub fn run_killed_at(syscalls: &str, program: &str, args: &[&std::ffi::OsStr]) -> Output {
    Command::new("strace")
        .args(["-f", "-o", "/dev/null", "-e"])
        .arg(format!("trace={syscalls}"))
        .arg("-e")
        .arg(format!("inject={syscalls}:signal=KILL"))
        .arg(program)
        .args(args)
        .output()
        .expect("run hac under strace")
}
