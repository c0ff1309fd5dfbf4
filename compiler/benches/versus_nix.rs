//! Whole commands as a user runs them, in their own processes: `hac eval` against
//! Nix's own evaluator (`nix-instantiate --eval --strict --json`) on the same
//! programs, and `hac build` of the shipped stacked example. Process start-up is
//! included on both sides; docs/performance.md reports the ratios.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

#[path = "../../lang/benches/support/inputs.rs"]
mod inputs;

const HAC: &str = env!("CARGO_BIN_EXE_hac");

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the compiler crate sits in the workspace")
        .to_path_buf()
}

/// Runs a command to completion and returns its standard output; any failure ends
/// the benchmark, since a timing of a failed run would be meaningless.
fn stdout_of(command: &mut Command) -> Vec<u8> {
    let output = command.output().expect("the program starts");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn hac_eval(file: &Path) -> Command {
    let mut command = Command::new(HAC);
    command.arg("eval").arg(file);
    command
}

/// Nix with its state, logs and caches in `home`, as the compatibility tests run it,
/// so the benchmark neither needs nor touches a system store.
fn nix_eval(file: &Path, home: &Path) -> Command {
    let mut command = Command::new("nix-instantiate");
    command
        .args(["--eval", "--strict", "--json"])
        .arg(file)
        .env("HOME", home)
        .env("NIX_STATE_DIR", home.join("state"))
        .env("NIX_LOG_DIR", home.join("log"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("NIX_REMOTE", "");
    command
}

fn nix_available() -> bool {
    Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Trailing newlines aside, both print the same JSON for the same program.
fn same_json(hac: &[u8], nix: &[u8]) -> bool {
    hac.trim_ascii_end() == nix.trim_ascii_end()
}

fn evaluate(c: &mut Criterion) {
    if !nix_available() {
        eprintln!("nix-instantiate not found (Debian package nix-bin); skipping the comparison");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut group = c.benchmark_group("eval_process");
    group.sample_size(10);
    for (name, text) in inputs::inputs() {
        let file = dir.path().join(format!("{name}.nix"));
        fs::write(&file, text).expect("write the program");
        let ours = stdout_of(&mut hac_eval(&file));
        let theirs = stdout_of(&mut nix_eval(&file, dir.path()));
        assert!(same_json(&ours, &theirs), "{name}: hac and Nix disagree");
        group.bench_with_input(BenchmarkId::new("hac", name), &file, |b, file| {
            b.iter(|| stdout_of(&mut hac_eval(file)))
        });
        group.bench_with_input(BenchmarkId::new("nix", name), &file, |b, file| {
            b.iter(|| stdout_of(&mut nix_eval(file, dir.path())))
        });
    }
    group.finish();
}

fn build(c: &mut Criterion) {
    let repository = repository();
    let dir = tempfile::tempdir().expect("a temporary directory");
    // The checked-in fixture is world-readable, which hac rightly refuses.
    let secrets = dir.path().join("stacked.secrets");
    fs::copy(
        repository.join("tests/fixtures/secrets/stacked.test-only.secrets.toml"),
        &secrets,
    )
    .expect("copy the fixture bundle");
    fs::set_permissions(&secrets, fs::Permissions::from_mode(0o600)).expect("chmod 600");
    let out = dir.path().join("out");
    let hac_build = || {
        let mut command = Command::new(HAC);
        command
            .arg("build")
            .arg(repository.join("examples/stacked.hac"))
            .arg("--secrets")
            .arg(&secrets)
            .arg("-o")
            .arg(&out);
        command
    };
    stdout_of(&mut hac_build());
    let mut group = c.benchmark_group("build_process");
    group.sample_size(20);
    group.bench_function("stacked_example", |b| {
        b.iter(|| stdout_of(&mut hac_build()))
    });
    group.finish();
}

criterion_group!(benches, evaluate, build);
criterion_main!(benches);
