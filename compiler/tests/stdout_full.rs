//! Every command whose result goes to standard output fails (exit 2) and says so when
//! that output cannot be written: run on the real binary with stdout on `/dev/full`,
//! where every write fails with ENOSPC.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HAC: &str = env!("CARGO_BIN_EXE_hac");

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

/// Runs hac with `args`, stdin from `stdin` (or nothing), stdout on `/dev/full`.
fn to_full(args: &[&str], stdin: Option<&Path>) -> (Option<i32>, String) {
    let full = File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let input = match stdin {
        Some(path) => Stdio::from(File::open(path).expect("open stdin file")),
        None => Stdio::null(),
    };
    let output = Command::new(HAC)
        .args(args)
        .stdin(input)
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("run hac");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn commands_fail_when_standard_output_cannot_be_written() {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let source = scratch.path().join("cluster.hac");
    std::fs::copy(example("stacked.hac"), &source).expect("copy the example");
    let source = source.to_str().unwrap();
    let bundle = scratch.path().join("cluster.secrets");
    let init = Command::new(HAC)
        .args(["secrets", "init", source])
        .output()
        .expect("run hac");
    assert!(init.status.success(), "{init:?}");
    let bundle = bundle.to_str().unwrap();
    let cases: [(&[&str], Option<&Path>); 9] = [
        (&["plan", source, "--format", "json"], None),
        (&["join-info", source], None),
        (&["kubeconfig", source, "-"], None),
        (&["plan", source], None),
        (&["eval", source], None),
        (&["fmt", "-"], Some(Path::new(source))),
        (&["secrets", "show", bundle], None),
        (&["check", "--format", "json", source], None),
        (&["--help"], None),
    ];
    for (args, stdin) in cases {
        let (status, stderr) = to_full(args, stdin);
        assert_eq!(status, Some(2), "hac {args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write standard output"),
            "hac {args:?}: {stderr}"
        );
    }
}
