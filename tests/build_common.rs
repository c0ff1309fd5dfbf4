//! Helpers shared by the `build_*` suites: the examples, built with fixed
//! test-only secrets bundles, and the real tools that check the outputs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use hac::build::HostOutput;
use hac::model::Cluster;
use hac::plan::BootPlan;
use hac::secrets::Bundle;

use hac_tests::repo_root;

/// Every example in `examples/`, by name, sorted.
pub fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples/")
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".hac").map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no examples found");
    names
}

/// The TEST-ONLY secrets bundle of an example (tests/fixtures/secrets/, keys public
/// on purpose, see the README there). Loaded as it is, never reconciled, so the
/// outputs stay the same whatever the date.
pub fn fixture_bundle(example: &str) -> Bundle {
    let fixture = repo_root()
        .join("tests/fixtures/secrets")
        .join(format!("{example}.test-only.secrets.toml"));
    // Git does not keep mode 0600, which hac requires of a bundle.
    let dir = tempfile::tempdir().expect("temp dir");
    let private = dir.path().join("bundle.secrets");
    std::fs::copy(&fixture, &private)
        .unwrap_or_else(|e| panic!("cannot copy {}: {e}", fixture.display()));
    set_mode(&private, 0o600);
    hac::secrets::load(&private).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()))
}

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(unix)]
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}

/// An example, analysed and planned.
pub fn cluster_and_plan(path: &Path) -> (Cluster, BootPlan) {
    let analysis = hac::analysis::analyze(
        &hac_lang::FsLoader,
        path,
        &hac_lang::Limits::default(),
        hac::analysis::Depth::Cluster,
    );
    assert!(
        !analysis.has_errors(),
        "{} has errors: {:#?}",
        path.display(),
        analysis.diagnostics
    );
    let cluster = analysis.cluster.expect("a cluster");
    let plan = hac::plan::plan(&cluster);
    (cluster, plan)
}

/// One example's build with its fixture bundle.
pub struct Built {
    pub example: String,
    pub cluster: Cluster,
    pub plan: BootPlan,
    pub hosts: Vec<HostOutput>,
}

pub fn build(example: &str) -> Built {
    let path = repo_root().join("examples").join(format!("{example}.hac"));
    let (cluster, plan) = cluster_and_plan(&path);
    let bundle = fixture_bundle(example);
    let context = hac::build::Context {
        cluster: &cluster,
        plan: &plan,
        secrets: &bundle,
        built_at: hac_tests::build_time(),
    };
    let hosts = hac::build::build(&context)
        .unwrap_or_else(|err| panic!("examples/{example}.hac does not build: {err}"));
    Built {
        example: example.to_owned(),
        cluster,
        plan,
        hosts,
    }
}

pub fn build_all() -> Vec<Built> {
    examples().iter().map(|e| build(e)).collect()
}

/// `(success, output)` of a program run on `file`.
pub fn run_on(program: &str, args: &[&str], file: &Path) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// A scratch directory holding `text` as `name`.
pub fn scratch_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name.replace('/', "_"));
    std::fs::write(&path, text).expect("write scratch file");
    path
}

/// The shell interpreter a file's `#!` line names, if it is a shell script.
pub fn shell_of(content: &str) -> Option<&'static str> {
    let first = content.lines().next()?;
    match first.trim() {
        "#!/bin/bash" | "#!/usr/bin/env bash" | "#!/usr/bin/bash" => Some("bash"),
        "#!/bin/sh" | "#!/usr/bin/env sh" => Some("sh"),
        _ => None,
    }
}

/// Runs `body` for every item on a few threads (the tools take a while each).
pub fn in_parallel<T: Sync>(items: &[T], body: impl Fn(&T) + Sync) {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for part in items.chunks(chunk) {
            let body = &body;
            scope.spawn(move || part.iter().for_each(body));
        }
    });
}

/// Loads every text with PyYAML's `safe_load_all` (kubeadm reads its configuration
/// as a multi-document stream): one list of documents per text, as JSON.
pub fn pyyaml_load_all(texts: &[String]) -> Vec<Vec<serde_json::Value>> {
    const LOADER: &str = r#"
import json, sys
import yaml
texts = json.load(sys.stdin)
json.dump([list(yaml.safe_load_all(text)) for text in texts], sys.stdout, default=repr)
"#;
    let input = serde_json::to_vec(texts).expect("texts as JSON");
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", LOADER])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run /usr/bin/python3 (Debian package python3-yaml)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&input).expect("write stdin");
    }
    let output = child.wait_with_output().expect("wait");
    assert!(
        output.status.success(),
        "PyYAML could not load the YAML: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the loader prints JSON")
}

/// The step names of a bootstrap script's `main`, in order.
pub fn script_steps(script: &str) -> Vec<String> {
    let main = script
        .split("\nmain() {\n")
        .nth(1)
        .expect("the script has a main function");
    main.lines()
        .take_while(|line| *line != "}")
        .filter_map(|line| line.trim().strip_prefix("step "))
        .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

/// A host's bootstrap script.
pub fn bootstrap_script(host: &HostOutput) -> &str {
    &host
        .files
        .iter()
        .find(|f| f.path == hac::emit::bootstrap::SCRIPT_PATH)
        .expect("every host has the bootstrap script")
        .content
}

/// The cluster and plan of a source, or `None` when the analysis reports an
/// error (which it must then have: a rejection always comes with a diagnostic).
pub fn cluster_and_plan_or_errors(path: &Path) -> Option<(Cluster, BootPlan)> {
    let analysis = hac::analysis::analyze(
        &hac_lang::FsLoader,
        path,
        &hac_lang::Limits::default(),
        hac::analysis::Depth::Cluster,
    );
    if analysis.has_errors() {
        return None;
    }
    let cluster = analysis.cluster.unwrap_or_else(|| {
        panic!(
            "no cluster and no error diagnostic: {:#?}",
            analysis.diagnostics
        )
    });
    let plan = hac::plan::plan(&cluster);
    Some((cluster, plan))
}
