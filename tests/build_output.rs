//! `hac build -o DIR` never removes a path that no hac manifest lists, whatever it
//! finds in `DIR` and beside it: stray files and directories, symbolic links,
//! manifests that are not hac's or belong to another cluster or list paths outside
//! their directory, the source inside the output, and directories named like those a
//! killed build leaves. A property test over generated layouts.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hac_tests::{hac, repo_root};
use proptest::prelude::*;

/// What a path held: a file's bytes, a link's target, or a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File(Vec<u8>),
    Link(PathBuf),
    Dir,
}

/// Every path under `root`, not following links.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            let node = if kind.is_symlink() {
                Node::Link(std::fs::read_link(&path).expect("read link"))
            } else if kind.is_dir() {
                pending.push(path.clone());
                Node::Dir
            } else {
                Node::File(std::fs::read(&path).expect("read"))
            };
            found.insert(path, node);
        }
    }
    found
}

/// The paths some hac manifest in `before` lists: the manifest itself and every plain
/// file name in its `files`, in its directory.
fn listed(before: &BTreeMap<PathBuf, Node>) -> BTreeSet<PathBuf> {
    let mut listed = BTreeSet::new();
    for (path, node) in before {
        let Node::File(bytes) = node else { continue };
        if path.file_name().is_none_or(|n| n != "manifest.json") {
            continue;
        }
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            continue;
        };
        if value["generator"] != "hac" {
            continue;
        }
        let dir = path.parent().expect("a parent");
        listed.insert(path.clone());
        for name in value["files"].as_array().into_iter().flatten() {
            if let Some(name) = name.as_str().filter(|n| !n.contains('/')) {
                listed.insert(dir.join(name));
            }
        }
    }
    listed
}

/// One thing to put in a directory.
#[derive(Debug, Clone)]
enum Entry {
    File(&'static str),
    Dir(&'static str),
    Link(&'static str),
}

const NAMES: [&str; 9] = [
    "cp1.yaml",
    "lb1.yaml.gz",
    "notes.txt",
    "cluster.hac",
    "cluster.secrets",
    ".hidden",
    "manifest.json.bak",
    "sub",
    "worker1.yaml",
];

/// What a generated `manifest.json` says.
#[derive(Debug, Clone)]
enum Manifest {
    None,
    Garbage,
    NotHacs,
    Hacs {
        cluster: &'static str,
        files: Vec<&'static str>,
    },
}

#[derive(Debug, Clone)]
struct Layout {
    entries: Vec<Entry>,
    manifest: Manifest,
}

fn entry() -> impl Strategy<Value = Entry> {
    (0..NAMES.len(), 0..3u8).prop_map(|(i, kind)| match kind {
        0 => Entry::File(NAMES[i]),
        1 => Entry::Dir(NAMES[i]),
        _ => Entry::Link(NAMES[i]),
    })
}

fn manifest() -> impl Strategy<Value = Manifest> {
    let listed = prop::collection::vec(
        prop::sample::select(vec![
            "cp1.yaml",
            "lb1.yaml.gz",
            "notes.txt",
            "sub",
            "../victim.txt",
            "/etc/passwd",
            "worker1.yaml",
            "missing.yaml",
        ]),
        0..5,
    );
    prop_oneof![
        Just(Manifest::None),
        Just(Manifest::Garbage),
        Just(Manifest::NotHacs),
        (prop::sample::select(vec!["prod", "other"]), listed)
            .prop_map(|(cluster, files)| Manifest::Hacs { cluster, files }),
    ]
}

fn layout() -> impl Strategy<Value = Layout> {
    (prop::collection::vec(entry(), 0..5), manifest())
        .prop_map(|(entries, manifest)| Layout { entries, manifest })
}

fn realise(dir: &Path, layout: &Layout, victim: &Path) {
    std::fs::create_dir_all(dir).expect("create");
    for entry in &layout.entries {
        let _ = match entry {
            Entry::File(name) => std::fs::write(dir.join(name), format!("user data {name}")),
            Entry::Dir(name) => std::fs::create_dir(dir.join(name))
                .and_then(|()| std::fs::write(dir.join(name).join("inner.txt"), "inner")),
            Entry::Link(name) => std::os::unix::fs::symlink(victim, dir.join(name)),
        };
    }
    let text = match &layout.manifest {
        Manifest::None => return,
        Manifest::Garbage => "{ not json".to_owned(),
        Manifest::NotHacs => r#"{"name":"docs"}"#.to_owned(),
        Manifest::Hacs { cluster, files } => serde_json::json!({
            "generator": "hac",
            "cluster": cluster,
            "files": files,
        })
        .to_string(),
    };
    let _ = std::fs::write(dir.join("manifest.json"), text);
}

/// The stacked example and a private bundle for it, made once.
fn template() -> &'static Path {
    static TEMPLATE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let source = dir.path().join("cluster.hac");
            std::fs::copy(repo_root().join("examples/stacked.hac"), &source).expect("copy");
            let init = hac(&["secrets", "init", source.to_str().unwrap()]);
            assert_eq!(init.status, 0, "{}", init.stderr);
            dir
        })
        .path()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn a_build_never_removes_a_path_no_hac_manifest_lists(
        output in prop::option::of(layout()),
        leftovers in prop::collection::vec(
            (prop::sample::select(vec![
                ".out.hac-new-1",
                ".out.hac-old-2",
                ".out.hac-new-x",
                ".out.hac-new-",
                ".other.hac-new-3",
            ]), layout()),
            0..3,
        ),
        source_inside in any::<bool>(),
    ) {
        let scratch = tempfile::tempdir().expect("temp dir");
        let work = scratch.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let victim = scratch.path().join("victim.txt");
        std::fs::write(&victim, "victim").unwrap();
        let out = work.join("out");
        if let Some(layout) = &output {
            realise(&out, layout, &victim);
        }
        for (name, layout) in &leftovers {
            realise(&work.join(name), layout, &victim);
        }
        let source_dir = if source_inside && out.is_dir() { out.clone() } else { scratch.path().join("src") };
        std::fs::create_dir_all(&source_dir).unwrap();
        let source = source_dir.join("prod.hac");
        std::fs::copy(template().join("cluster.hac"), &source).unwrap();
        let bundle = scratch.path().join("prod.secrets");
        std::fs::copy(template().join("cluster.secrets"), &bundle).unwrap();
        std::fs::set_permissions(&bundle, std::fs::Permissions::from_mode(0o600)).unwrap();

        let before = snapshot(scratch.path());
        let listed = listed(&before);
        let built = hac(&[
            "build",
            source.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--secrets",
            bundle.to_str().unwrap(),
        ]);
        prop_assert!(built.status == 0 || built.status == 2, "{}", built.stderr);
        let after = snapshot(scratch.path());
        for (path, node) in &before {
            if listed.contains(path) || *node == Node::Dir {
                continue;
            }
            prop_assert_eq!(
                after.get(path),
                Some(node),
                "{} was removed or changed (status {}: {})",
                path.display(),
                built.status,
                built.stderr
            );
        }
        // A directory goes only when everything in it went with it.
        for (path, node) in &before {
            if *node == Node::Dir && !after.contains_key(path) {
                let kept_inside = before
                    .keys()
                    .filter(|p| p.starts_with(path) && *p != path && !listed.contains(*p))
                    .any(|p| before[p] != Node::Dir);
                prop_assert!(!kept_inside, "{} went with unlisted files", path.display());
            }
        }
        if built.status == 0 {
            prop_assert!(after.contains_key(&out.join("cp1.yaml")));
            prop_assert!(!source_inside || output.is_none(), "built over its own source");
        }
    }
}
