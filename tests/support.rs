//! Shared helpers for hac's test suites.

use std::path::{Path, PathBuf};

use hac::cli::{Io, run};
use hac::report::Style;

/// The repository root.
/// The build time of the tests' builds (fixed, so the join token every host carries is
/// the same on every run): 2026-11-29T00:53:20Z.
pub fn build_time() -> hac::build::BuildTime {
    hac::build::BuildTime::from_unix_timestamp(1_795_913_600).expect("a valid time")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// What one in-process run of the CLI printed.
#[derive(Debug)]
pub struct Output {
    pub status: u8,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `hac ARGS…` in-process with plain (uncoloured) output, from the directory
/// `cwd_relative_paths_base` (paths in `args` are given relative to it by the caller).
pub fn hac(args: &[&str]) -> Output {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut io = Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        style: Style::plain(),
    };
    let argv = std::iter::once("hac").chain(args.iter().copied());
    let status = run(argv, &hac_lang::FsLoader, &mut io);
    Output {
        status,
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}

/// Every file under `dir` (recursively) whose name ends with `suffix`, sorted.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Builds `examples/NAME.hac` in-process with the secrets bundle at `secrets`
/// (created there when missing) and returns every host's output. Panics with the
/// diagnostics or the build error when the example does not build.
pub fn build_example(name: &str, secrets: &Path) -> Vec<hac::build::HostOutput> {
    let path = repo_root().join("examples").join(format!("{name}.hac"));
    let analysis = hac::analysis::analyze(
        &hac_lang::FsLoader,
        &path,
        &hac_lang::Limits::default(),
        hac::analysis::Depth::Cluster,
    );
    let cluster = analysis
        .cluster
        .unwrap_or_else(|| panic!("{name} is not a valid cluster: {:#?}", analysis.diagnostics));
    let plan = hac::plan::plan(&cluster);
    let spec = hac::cli::secrets_spec(&cluster, None);
    let (bundle, _) = hac::secrets::ensure(secrets, &spec).expect("secrets bundle");
    let context = hac::build::Context {
        cluster: &cluster,
        plan: &plan,
        secrets: &bundle,
        built_at: build_time(),
    };
    hac::build::build(&context).unwrap_or_else(|err| panic!("{name} does not build: {err}"))
}
