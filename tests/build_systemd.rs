//! The unit that resumes the bootstrap after a reboot, checked by systemd itself:
//! enabled the way the user-data enables it, next to cloud-init's units enabled the
//! way cloud-init's generator enables them, the boot transaction must have no
//! ordering cycle. systemd breaks a cycle by dropping a job, which would silently
//! leave a host rebooted half-way unfinished.

#[path = "build_common.rs"]
mod build_common;
#[path = "emit_common.rs"]
mod emit_common;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use build_common::build_all;
use emit_common::require;
use hac::build::paths;

/// cloud-init's units as Debian installs them; its generator links the target into
/// `multi-user.target.wants` on a machine booted with user-data.
const CLOUD_INIT_UNITS: &str = "/lib/systemd/system";
const CLOUD_INIT_SERVICES: [&str; 4] = [
    "cloud-init-local.service",
    "cloud-init.service",
    "cloud-config.service",
    "cloud-final.service",
];

fn unit_name(path: &str) -> &str {
    path.rsplit('/')
        .next()
        .expect("a unit path has a file name")
}

/// A unit directory that boots into `multi-user.target` with cloud-init and the
/// given unit enabled.
fn boot_with(dir: &Path, unit_path: &str, unit: &str) {
    let name = unit_name(unit_path);
    std::fs::write(dir.join(name), unit).expect("write the unit");
    let wants = dir.join("multi-user.target.wants");
    let cloud_init_wants = dir.join("cloud-init.target.wants");
    std::fs::create_dir_all(&wants).expect("mkdir");
    std::fs::create_dir_all(&cloud_init_wants).expect("mkdir");
    symlink(dir.join(name), wants.join(name)).expect("enable the unit");
    symlink(
        Path::new(CLOUD_INIT_UNITS).join("cloud-init.target"),
        wants.join("cloud-init.target"),
    )
    .expect("enable cloud-init.target");
    for service in CLOUD_INIT_SERVICES {
        symlink(
            Path::new(CLOUD_INIT_UNITS).join(service),
            cloud_init_wants.join(service),
        )
        .expect("enable a cloud-init service");
    }
}

/// What `systemd-analyze verify multi-user.target` says about the boot.
fn verify_boot(dir: &Path) -> String {
    let analyze = require("systemd-analyze", "systemd");
    let mut unit_path = dir.as_os_str().to_owned();
    // The trailing colon appends the system's own unit directories.
    unit_path.push(":");
    let output = Command::new(analyze)
        .args(["verify", "multi-user.target"])
        .env("SYSTEMD_UNIT_PATH", unit_path)
        .output()
        .expect("run systemd-analyze");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text
}

fn problems(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|line| line.contains("ordering cycle") || line.contains("deleted to break"))
        .collect()
}

#[test]
fn the_resume_unit_starts_at_boot_without_an_ordering_cycle() {
    assert!(
        Path::new(CLOUD_INIT_UNITS)
            .join("cloud-final.service")
            .is_file(),
        "cloud-init's units are missing: install the Debian package `cloud-init` (scripts/test installs it)"
    );
    let built = build_all();
    let mut checked = 0;
    for example in &built {
        for host in &example.hosts {
            let unit = host
                .files
                .iter()
                .find(|file| file.path == paths::BOOTSTRAP_UNIT)
                .unwrap_or_else(|| panic!("{}/{}: no resume unit", example.example, host.name));
            let dir = tempfile::tempdir().expect("a temporary directory");
            boot_with(dir.path(), &unit.path, &unit.content);
            let report = verify_boot(dir.path());
            let found = problems(&report);
            assert!(
                found.is_empty(),
                "{}/{}: systemd drops the resume job at boot:\n{}",
                example.example,
                host.name,
                found.join("\n")
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no host was checked");
}

/// The check itself can fail: a unit ordered after cloud-final but wanted by
/// multi-user.target (which cloud-final is ordered after) is a cycle.
#[test]
fn a_cyclic_unit_is_reported() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    boot_with(
        dir.path(),
        "/etc/systemd/system/cyclic.service",
        "[Unit]\nAfter=cloud-final.service\n\n[Service]\nType=oneshot\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n",
    );
    let report = verify_boot(dir.path());
    assert!(
        !problems(&report).is_empty(),
        "no cycle found in:\n{report}"
    );
}
