//! `hac build`'s output directory, run as a user runs it (the real binary, in a
//! project directory): it never deletes what hac did not write, and each cluster has
//! its own default output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HAC: &str = env!("CARGO_BIN_EXE_hac");

fn hac_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(HAC)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run hac")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(format!("{name}.hac"))
}

/// Every path under `dir` with its bytes (`None` for a directory).
fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("list").flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            if entry.file_type().unwrap().is_dir() {
                found.insert(relative, None);
                pending.push(path);
            } else {
                found.insert(relative, Some(std::fs::read(&path).expect("read")));
            }
        }
    }
    found
}

/// The reproduction: a project directory with a file that merely is named
/// `manifest.json`, built with `-o "$PWD"`. Nothing in it may go, and the refusal names
/// what would have been lost.
#[test]
fn a_project_directory_with_a_manifest_json_is_never_replaced() {
    let scratch = tempfile::tempdir().unwrap();
    let project = scratch.path().join("proj");
    std::fs::create_dir(&project).unwrap();
    std::fs::copy(example("stacked"), project.join("cluster.hac")).unwrap();
    std::fs::write(project.join("manifest.json"), "{\"name\":\"docs\"}\n").unwrap();
    std::fs::create_dir(project.join("notes")).unwrap();
    std::fs::write(project.join("notes/todo.txt"), "keep\n").unwrap();
    let before = tree(&project);

    let built = hac_in(
        &project,
        &["build", "cluster.hac", "-o", project.to_str().unwrap()],
    );
    assert_eq!(built.status.code(), Some(2), "{}", stderr(&built));
    // The refusal names what would have been lost, and nothing was written.
    for lost in [
        "cluster description",
        "`cluster.hac`",
        "`manifest.json`",
        "`notes`",
    ] {
        assert!(stderr(&built).contains(lost), "{lost}: {}", stderr(&built));
    }
    assert_eq!(tree(&project), before, "the project directory changed");

    // The same with a manifest that claims to be hac's but lists none of these files.
    std::fs::write(
        project.join("manifest.json"),
        "{\"generator\":\"hac\",\"cluster\":\"prod\",\"files\":[]}\n",
    )
    .unwrap();
    std::fs::remove_file(project.join("cluster.hac")).unwrap();
    let source = scratch.path().join("cluster.hac");
    std::fs::copy(example("stacked"), &source).unwrap();
    let before = tree(&project);
    let built = hac_in(
        scratch.path(),
        &["build", "cluster.hac", "-o", project.to_str().unwrap()],
    );
    assert_eq!(built.status.code(), Some(2), "{}", stderr(&built));
    assert!(stderr(&built).contains("`notes`"), "{}", stderr(&built));
    assert_eq!(tree(&project), before, "the project directory changed");
}

/// A bundle kept inside an earlier output directory is never deleted with it.
#[test]
fn an_output_directory_holding_the_bundle_is_not_replaced() {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::copy(example("stacked"), scratch.path().join("c.hac")).unwrap();
    let first = hac_in(scratch.path(), &["build", "c.hac", "-o", "out"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let again = hac_in(
        scratch.path(),
        &["build", "c.hac", "--secrets", "out/c.secrets", "-o", "out"],
    );
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("the secrets bundle"),
        "{}",
        stderr(&again)
    );
    assert!(!scratch.path().join("out/c.secrets").exists());

    // A bundle that is already inside: still refused, and still there.
    std::fs::rename(
        scratch.path().join("c.secrets"),
        scratch.path().join("out/c.secrets"),
    )
    .unwrap();
    let inside = hac_in(
        scratch.path(),
        &["build", "c.hac", "--secrets", "out/c.secrets", "-o", "out"],
    );
    assert_eq!(inside.status.code(), Some(2), "{}", stderr(&inside));
    assert!(scratch.path().join("out/c.secrets").exists());
}

/// Without `-o`, each cluster builds into `out/<name>/`: a second cluster never
/// replaces the first one's files, and rebuilding a cluster replaces only its own.
#[test]
fn each_cluster_has_its_own_default_output() {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::copy(example("stacked"), scratch.path().join("stacked.hac")).unwrap();
    std::fs::copy(
        example("external-etcd"),
        scratch.path().join("external-etcd.hac"),
    )
    .unwrap();
    for file in ["stacked.hac", "external-etcd.hac", "stacked.hac"] {
        let built = hac_in(scratch.path(), &["build", file]);
        assert!(built.status.success(), "{file}: {}", stderr(&built));
    }
    let out = scratch.path().join("out");
    let mut clusters: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    clusters.sort();
    assert_eq!(clusters, ["analytics", "prod"]);
    assert!(out.join("prod/cp1.yaml").is_file());
    assert!(out.join("analytics/manifest.json").is_file());

    // One cluster's output is never replaced by another's, even when asked to.
    let refused = hac_in(
        scratch.path(),
        &["build", "external-etcd.hac", "-o", "out/prod"],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("holds the output of cluster `prod`"),
        "{}",
        stderr(&refused)
    );
    assert!(out.join("prod/cp1.yaml").is_file());
}

/// Two clusters that share a name but not a bundle are two clusters: the cluster id in
/// the manifest keeps one from replacing the other's output.
#[test]
fn a_cluster_with_the_same_name_and_another_bundle_does_not_replace_the_output() {
    let scratch = tempfile::tempdir().unwrap();
    for project in ["one", "two"] {
        std::fs::create_dir(scratch.path().join(project)).unwrap();
        std::fs::copy(
            example("stacked"),
            scratch.path().join(project).join("c.hac"),
        )
        .unwrap();
    }
    let shared = scratch.path().join("shared");
    let first = hac_in(
        &scratch.path().join("one"),
        &["build", "c.hac", "-o", shared.to_str().unwrap()],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let before = tree(&shared);
    let second = hac_in(
        &scratch.path().join("two"),
        &["build", "c.hac", "-o", shared.to_str().unwrap()],
    );
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("another cluster named `prod`"),
        "{}",
        stderr(&second)
    );
    assert_eq!(tree(&shared), before);
    // The first project rebuilds it as its own.
    let again = hac_in(
        &scratch.path().join("one"),
        &["build", "c.hac", "-o", shared.to_str().unwrap()],
    );
    assert!(again.status.success(), "{}", stderr(&again));
}
