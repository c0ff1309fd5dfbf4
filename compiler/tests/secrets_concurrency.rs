//! Concurrent `hac` processes on one secrets bundle, with the real binary: builds that
//! all find the bundle missing must agree on one CA, and a rotation beside builds must
//! not be lost. (The lock is between processes, so threads would not test it.)

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const HAC: &str = env!("CARGO_BIN_EXE_hac");
const BUILDS: usize = 8;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(format!("{name}.hac"))
}

fn spawn(args: &[&Path]) -> Child {
    Command::new(HAC)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hac")
}

fn build(source: &Path, out: &Path, secrets: &Path) -> Child {
    spawn(&[
        Path::new("build"),
        source,
        Path::new("-o"),
        out,
        Path::new("--secrets"),
        secrets,
    ])
}

fn wait_ok(child: Child, what: &str) {
    let output = child.wait_with_output().expect("wait for hac");
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every `sha256:<64 hex>` in the files of `dir`.
fn pins(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("output directory").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("read output");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("sha256:") {
            let candidate = &rest[at..];
            let hex = &candidate[7..];
            if hex.len() >= 64 && hex.as_bytes()[..64].iter().all(u8::is_ascii_hexdigit) {
                found.push(candidate[..7 + 64].to_owned());
            }
            rest = &candidate[7..];
        }
    }
    found
}

#[test]
fn concurrent_builds_on_a_missing_bundle_agree_on_one_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = dir.path().join("cluster.secrets");
    let source = example("stacked");
    let outs: Vec<PathBuf> = (0..BUILDS)
        .map(|i| dir.path().join(format!("out{i}")))
        .collect();
    // All started before any is waited for, so they race for the missing bundle.
    let children: Vec<Child> = outs
        .iter()
        .map(|out| build(&source, out, &secrets))
        .collect();
    for child in children {
        wait_ok(child, "a concurrent build");
    }
    let hash = hac::secrets::load(&secrets)
        .expect("the final bundle")
        .discovery_hash();
    for out in &outs {
        let pins = pins(out);
        assert!(!pins.is_empty(), "{} pins no CA", out.display());
        for pin in pins {
            assert_eq!(
                pin,
                hash,
                "{} pins a CA that is not the bundle's",
                out.display()
            );
        }
    }
}

#[test]
fn a_rotation_beside_a_build_that_rewrites_the_bundle_is_not_lost() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = dir.path().join("cluster.secrets");
    let out = dir.path().join("out");
    wait_ok(
        build(&example("stacked"), &out, &secrets),
        "the first build",
    );
    // Switching between stacked and external etcd makes every build rewrite the bundle
    // (adding or dropping the etcd PKI) while the token is rotated beside it: without
    // the lock the build can write back the token it loaded, undoing the rotation.
    for (round, name) in ["external-etcd", "stacked", "external-etcd", "stacked"]
        .into_iter()
        .enumerate()
    {
        let before = hac::secrets::load(&secrets).expect("bundle");
        let building = build(&example(name), &out, &secrets);
        let rotating = spawn(&[
            Path::new("secrets"),
            Path::new("rotate"),
            Path::new("token"),
            &secrets,
        ]);
        wait_ok(building, "a build");
        wait_ok(rotating, "the rotation");
        let after = hac::secrets::load(&secrets).expect("bundle");
        assert_eq!(
            after.token_generation(),
            before.token_generation() + 1,
            "round {round}: the rotation was lost"
        );
        assert_eq!(
            after.etcd().is_some(),
            name == "external-etcd",
            "round {round}: the build's change was lost"
        );
        assert_eq!(after.discovery_hash(), before.discovery_hash());
    }
}
