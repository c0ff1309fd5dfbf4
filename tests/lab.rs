//! The boot lab (docs/lab.md): each test boots a whole cluster from its generated
//! user-data on this machine (systemd-nspawn machines in network namespaces, real
//! systemd, cloud-init, apt, haproxy and keepalived; stand-ins for kubeadm, the kubelet,
//! kubectl, the API server and containerd) and checks that it assembles. The harness is
//! tests/lab/lab.py, also run by hand as `scripts/lab`.
//!
//! Without root or systemd-nspawn the lab cannot run: a test then says so and passes
//! outside CI, and fails in CI (CI=true).

use std::path::PathBuf;
use std::process::Command;

/// The harness's exit status when the lab cannot run on this machine.
const CANNOT_RUN: i32 = 77;

/// The `hac` that `cargo test --workspace` built next to this test (target/debug/hac):
/// the harness would otherwise run `cargo build` itself, waiting on the lock this very
/// cargo holds.
fn built_hac() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let hac = exe.parent()?.parent()?.join("hac");
    hac.exists().then_some(hac)
}

fn scenario(name: &str) {
    let root = hac_tests::repo_root();
    let mut command = Command::new("python3");
    command
        .arg(root.join("tests/lab/lab.py"))
        .arg(name)
        .current_dir(&root);
    if let Some(hac) = built_hac() {
        command.env("HAC_BIN", hac);
    }
    let output = command.output().expect("python3 runs the lab harness");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {
            let summary = stdout.lines().next_back().unwrap_or_default();
            eprintln!("lab: {summary}");
        }
        Some(CANNOT_RUN) => eprintln!("lab: scenario {name} SKIPPED: {}", stderr.trim()),
        status => {
            panic!("lab scenario {name} failed (exit status {status:?}):\n{stdout}\n{stderr}")
        }
    }
}

#[test]
fn all_hosts_at_once() {
    scenario("all-at-once");
}

#[test]
fn offline_cluster_reaches_only_its_mirror() {
    scenario("offline");
}

#[test]
fn external_etcd_all_at_once() {
    scenario("external-etcd");
}

#[test]
fn random_boot_orders() {
    scenario("random-orders");
}

#[test]
fn load_balancer_60_lab_minutes_late() {
    scenario("lb-60-min-late");
}

#[test]
fn first_control_plane_boots_last() {
    scenario("cp1-last");
}

#[test]
fn apt_connection_refused_for_the_first_three_tries() {
    scenario("apt-refused");
}

#[test]
fn power_cut_at_every_step() {
    scenario("power-cut-every-step");
}

#[test]
fn first_control_plane_recreated_with_failing_first_probes() {
    scenario("cp1-recreated");
}

#[test]
fn second_control_plane_never_boots() {
    scenario("cp2-never-boots");
}

#[test]
fn worker_built_25_lab_hours_after_init() {
    scenario("worker-25-h-late");
}

#[test]
fn worker_built_30_lab_days_after_init() {
    scenario("worker-30-days-late");
}

#[test]
fn control_plane_added_3_lab_hours_after_init() {
    scenario("cp3-3-h-late");
}

#[test]
fn token_rotated_then_a_new_worker_joins() {
    scenario("token-rotated");
}

#[test]
fn vip_moves_while_cp2_joins() {
    scenario("vip-moves-while-cp2-joins");
}
