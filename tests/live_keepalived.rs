//! Every generated keepalived configuration passes Debian's `keepalived -t -f`: each
//! example with a virtual IP is built (with its test-only secrets bundle) and every
//! load balancer's `keepalived.conf` is checked together with the check script it
//! names and the interface file it includes.
//!
//! What the test changes, because the check runs in a temporary directory of this
//! machine: the paths of the included interface file and of the check script point
//! there; the interface file is the one the generated discovery writes at boot, with
//! an interface of this machine, since `keepalived -t` insists the interface exists
//! (and refuses `lo`). keepalived runs as root: with `script_user root` it refuses to vouch for
//! the script otherwise (see tests/emit_keepalived.rs).

#[path = "build_common.rs"]
mod build_common;
#[path = "emit_common.rs"]
mod emit_common;
#[path = "live_common.rs"]
mod live_common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use emit_common::{require, text};
use hac::build::HostFile;

const KEEPALIVED_CONFIG: &str = "/etc/keepalived/keepalived.conf";
const INTERFACE_FILE: &str = "/etc/keepalived/hac-interface.conf";

/// Every host's files of every example that has a keepalived configuration:
/// (example, host, files).
fn generated() -> Vec<(String, String, Vec<HostFile>)> {
    build_common::build_all()
        .into_iter()
        .flat_map(|built| {
            let example = built.example;
            built
                .hosts
                .into_iter()
                .filter(|host| host.files.iter().any(|f| f.path == KEEPALIVED_CONFIG))
                .map(move |host| (example.clone(), host.name, host.files))
        })
        .collect()
}

/// A network interface of this machine with a global IPv4 address (keepalived
/// refuses a VRRP instance on `lo`).
fn machine_interface() -> String {
    let output = Command::new(require("ip", "iproute2"))
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .expect("run ip");
    text(&output.stdout)
        .lines()
        .find_map(|line| line.split_whitespace().nth(1).map(str::to_owned))
        .expect("this machine has an interface with a global IPv4 address")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| text(&output.stdout).trim() == "0")
}

#[test]
fn keepalived_accepts_every_generated_configuration() {
    let keepalived = require("/usr/sbin/keepalived", "keepalived");
    assert!(
        is_root(),
        "`keepalived -t` must run as root to check `script_user root` scripts: run the tests as root"
    );
    let interface = machine_interface();
    let configurations = generated();
    let examples: std::collections::BTreeSet<&str> =
        configurations.iter().map(|(e, _, _)| e.as_str()).collect();
    assert!(
        examples.len() >= 2,
        "expected several examples with a virtual IP, found {examples:?}"
    );
    for (example, host, files) in &configurations {
        let config = files
            .iter()
            .find(|f| f.path == KEEPALIVED_CONFIG)
            .unwrap_or_else(|| panic!("{example}/{host}: no {KEEPALIVED_CONFIG}"));
        let scratch = tempfile::tempdir().unwrap();
        let mut text_of_config = config.content.clone();
        // The check script, where the configuration names it (both checks run
        // it, each with its own argument).
        let mut rewritten = 0;
        for file in files.iter().filter(|f| f.path != KEEPALIVED_CONFIG) {
            if !text_of_config.contains(&format!("script \"{} ", file.path)) {
                continue;
            }
            let local = scratch.path().join(file.path.rsplit('/').next().unwrap());
            fs::write(&local, &file.content).unwrap();
            fs::set_permissions(&local, fs::Permissions::from_mode(file.permissions)).unwrap();
            text_of_config = text_of_config.replace(&file.path, local.to_str().unwrap());
            rewritten += 1;
        }
        assert_eq!(
            rewritten, 1,
            "{example}/{host}: the configuration should name its check script"
        );
        if text_of_config.contains(INTERFACE_FILE) {
            let local = scratch.path().join("hac-interface.conf");
            fs::write(&local, format!("$HAC_VRRP_INTERFACE={interface}\n")).unwrap();
            text_of_config = text_of_config.replace(INTERFACE_FILE, local.to_str().unwrap());
        }
        let local_script = format!("script \"{}/", scratch.path().to_str().unwrap());
        assert_eq!(
            text_of_config.matches(&local_script).count(),
            2,
            "{example}/{host}: two checks, both running the local script:\n{text_of_config}"
        );
        let file = scratch.path().join("keepalived.conf");
        fs::write(&file, &text_of_config).unwrap();
        let output = Command::new(&keepalived)
            .args(["-t", "-f"])
            .arg(&file)
            .output()
            .expect("run keepalived");
        // keepalived -t drops a check whose script it cannot use, with this
        // message, and then fails; say so even if a version went on to succeed.
        assert!(
            !text(&output.stderr).contains("Disabling track script"),
            "{example}/{host}: {}",
            text(&output.stderr)
        );
        assert!(
            output.status.success(),
            "{example}/{host}: keepalived -t refused the configuration (status {:?}):\n{}{}\n--- configuration ---\n{text_of_config}",
            output.status.code(),
            text(&output.stdout),
            text(&output.stderr)
        );
    }
    live_common::report(&format!(
        "keepalived -t accepted {} generated configurations of {examples:?}",
        configurations.len()
    ));
}
