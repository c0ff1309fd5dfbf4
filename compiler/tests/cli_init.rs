//! `hac init`: every topology's starting file passes `hac check` without a warning,
//! is formatted, describes that topology, and never replaces a file.

use std::path::Path;
use std::process::Command;

const HAC: &str = env!("CARGO_BIN_EXE_hac");

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn hac(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(HAC)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("hac runs");
    Run {
        status: output.status.code().expect("an exit status"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8"),
    }
}

/// `--topology` value, and what the description's value shows of it.
const TOPOLOGIES: [(&str, &str, &str); 4] = [
    ("stacked", "\"stacked\"", "hosts"),
    ("external-etcd", "{\"external\":", "hosts"),
    ("colocated", "\"stacked\"", "colocated"),
    // etcd left out: stacked, the default.
    ("cloud-lb", "", "\"external\""),
];

#[test]
fn every_topology_checks_clean_and_is_formatted() {
    for (topology, etcd, loadbalancer) in TOPOLOGIES {
        let dir = tempfile::tempdir().unwrap();
        let made = hac(dir.path(), &["init", "--topology", topology, "c.hac"]);
        assert_eq!(made.status, 0, "{topology}: {}", made.stderr);
        assert!(made.stdout.contains("wrote c.hac"), "{}", made.stdout);
        let text = std::fs::read_to_string(dir.path().join("c.hac")).unwrap();
        assert!(text.starts_with("# "), "{topology}: a commented file");

        let check = hac(dir.path(), &["check", "--deny-warnings", "c.hac"]);
        assert_eq!(check.status, 0, "{topology}: {}", check.stderr);
        // At most advice (the DNS record to create), no warning.
        assert!(
            check.stderr.is_empty() || check.stderr.contains("c.hac: 0 errors, 0 warnings"),
            "{topology}: {}",
            check.stderr
        );
        let fmt = hac(dir.path(), &["fmt", "--check", "c.hac"]);
        assert_eq!(fmt.status, 0, "{topology}: {}", fmt.stdout);

        let value: serde_json::Value =
            serde_json::from_str(&hac(dir.path(), &["eval", "c.hac"]).stdout).unwrap();
        let shown = |key: &str| value.get(key).map(|v| v.to_string()).unwrap_or_default();
        assert!(
            shown("etcd").starts_with(etcd),
            "{topology}: {}",
            shown("etcd")
        );
        assert!(
            shown("loadbalancer").contains(loadbalancer),
            "{topology}: {}",
            shown("loadbalancer")
        );
        assert_eq!(value["controlplanes"].as_array().unwrap().len(), 3);
    }
}

#[test]
fn the_default_is_stacked_in_cluster_hac() {
    let dir = tempfile::tempdir().unwrap();
    let made = hac(dir.path(), &["init"]);
    assert_eq!(made.status, 0, "{}", made.stderr);
    let text = std::fs::read_to_string(dir.path().join("cluster.hac")).unwrap();
    let printed = hac(dir.path(), &["init", "--topology", "stacked", "-"]);
    assert_eq!(printed.stdout, text);
}

#[test]
fn an_existing_file_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.hac");
    std::fs::write(&path, "{ }").unwrap();
    let refused = hac(dir.path(), &["init", "cluster.hac"]);
    assert_eq!(refused.status, 2);
    assert!(
        refused.stderr.contains("cluster.hac already exists"),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ }");
    // Nor a link's target.
    std::os::unix::fs::symlink(&path, dir.path().join("link.hac")).unwrap();
    assert_eq!(hac(dir.path(), &["init", "link.hac"]).status, 2);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ }");
    let unknown = hac(dir.path(), &["init", "--topology", "mesh", "new.hac"]);
    assert_eq!(unknown.status, 2);
    assert!(!dir.path().join("new.hac").exists());
}
