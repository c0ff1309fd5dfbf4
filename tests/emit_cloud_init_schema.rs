//! Debian's own `cloud-init schema -c FILE` (cloud-init 22.4.2, what Debian 12
//! images run) on cloud-configs put together from the emitter's building blocks.

#[path = "emit_common.rs"]
mod emit_common;

use std::process::Command;

use emit_common::{pyyaml_load, require, text};
use hac::emit::bootstrap::{self, Step};
use hac::emit::haproxy::{self, HaproxyBackend, HaproxySpec};
use hac::emit::validate::{Schema, cloud_config};
use hac::emit::yaml::to_cloud_config;
use serde_json::{Value, json};

const KEYRING: &str = "/etc/apt/keyrings/kubernetes-apt-keyring.asc";

/// A load balancer host: apt repository with its key as an `.asc` file (works on
/// 22.4 without gpg), packages, configuration and bootstrap script, runcmd.
fn realistic() -> Value {
    let haproxy_config = haproxy::config(&HaproxySpec {
        frontend_bind: "0.0.0.0:6443".parse().unwrap(),
        backends: vec![HaproxyBackend {
            name: "cp-1".to_string(),
            address: "10.0.0.11".parse().unwrap(),
            port: 6443,
        }],
        health_bind: "127.0.0.1:8404".parse().unwrap(),
    })
    .expect("valid");
    let script = bootstrap::script(&[
        Step::new("restart-haproxy", vec!["systemctl restart haproxy".to_string()]),
        Step::new(
            "wait-for-haproxy",
            vec!["wait_until \"haproxy's health endpoint\" 300 5 curl --silent --fail --max-time 2 http://127.0.0.1:8404/healthz".to_string()],
        ),
    ])
    .expect("valid");
    json!({
        "hostname": "lb-1",
        "ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHacHacHacHacHacHacHacHacHacHacHacHacHacHacH admin@example"],
        "write_files": [
            {"path": KEYRING, "permissions": "0644",
             "content": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGMHoXcBEADHlZ0Tx\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n"},
            {"path": "/etc/hac/secret.key", "permissions": "0600", "owner": "root:root", "encoding": "b64",
             "content": "c2VjcmV0IGtleSBtYXRlcmlhbAo="},
            {"path": haproxy::CONFIG_PATH, "permissions": "0644", "content": haproxy_config},
            {"path": bootstrap::SCRIPT_PATH, "permissions": "0700", "content": script},
        ],
        "apt": {"sources": {"kubernetes.list": {
            "source": format!("deb [signed-by={KEYRING}] https://pkgs.k8s.io/core:/stable:/v1.35/deb/ /")
        }}},
        "package_update": true,
        "packages": ["haproxy", "curl", ["kubectl", "1.35.2-1.1"]],
        "runcmd": [[bootstrap::SCRIPT_PATH]],
    })
}

/// `cloud-init schema -c FILE`: (exit status, stdout, stderr).
fn cloud_init_schema(yaml: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("user-data.yaml");
    std::fs::write(&file, yaml).expect("write");
    let output = Command::new(require("/usr/bin/cloud-init", "cloud-init"))
        .args(["schema", "-c"])
        .arg(&file)
        .output()
        .expect("run cloud-init");
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

#[test]
fn debian_cloud_init_accepts_a_realistic_cloud_config() {
    let doc = realistic();
    let yaml = to_cloud_config(&doc).expect("emits");
    let (status, stdout, stderr) = cloud_init_schema(&yaml);
    // 22.4 prints an empty "deprecations" heading at times; only errors count.
    assert!(
        status == 0 && stdout.contains("Valid cloud-config") && !stderr.contains("Error"),
        "cloud-init schema rejected it (status {status}):\n{stdout}{stderr}\n--- user-data ---\n{yaml}"
    );
    // hac's own validators and PyYAML agree.
    assert_eq!(cloud_config(&doc, Schema::Newest), Vec::<String>::new());
    assert_eq!(cloud_config(&doc, Schema::Debian12), Vec::<String>::new());
    assert_eq!(pyyaml_load(std::slice::from_ref(&yaml))[0], doc);
}

#[test]
fn debian_cloud_init_reports_real_errors() {
    // The harness can fail: unquoted permissions (an int) and a misspelled
    // write_files field are schema errors for cloud-init too.
    let mut doc = realistic();
    doc["write_files"][1]["permissions"] = json!(384);
    doc["write_files"][2]["mode"] = json!("0644");
    let yaml = to_cloud_config(&doc).expect("emits");
    let (status, stdout, stderr) = cloud_init_schema(&yaml);
    assert_eq!(status, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("write_files.1.permissions: 384 is not of type 'string'"),
        "{stderr}"
    );
    assert!(stderr.contains("'mode' was unexpected"), "{stderr}");
    // hac's validators find the same two problems.
    let problems = cloud_config(&doc, Schema::Debian12);
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

#[test]
fn debian_cloud_init_needs_the_header() {
    let yaml = to_cloud_config(&realistic()).expect("emits");
    let without = yaml.strip_prefix("#cloud-config\n").expect("header");
    let (status, _, stderr) = cloud_init_schema(without);
    assert_eq!(status, 1);
    assert!(
        stderr.contains("needs to begin with \"#cloud-config\""),
        "{stderr}"
    );
}
