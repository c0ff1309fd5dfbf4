//! keepalived's generated check script against the generated haproxy, running:
//! with no API server up (a cluster still booting), haproxy's monitor answers 503
//! and the check must still pass, or nobody would hold the virtual IP while the
//! first control plane initialises through it. With haproxy stopped it must fail.
//!
//! The only rewrites are the two loopback ports (free ones instead of 6443 and
//! 8404, which other programs on a test machine may hold).

#[path = "build_common.rs"]
mod build_common;
#[path = "emit_common.rs"]
mod emit_common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use build_common::build;
use emit_common::require;
use hac::build::paths;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn check_passes(script: &std::path::Path) -> bool {
    Command::new("sh")
        .arg(script)
        .status()
        .expect("sh")
        .success()
}

#[test]
fn the_check_passes_while_haproxy_runs_without_any_api_server() {
    let haproxy = require("/usr/sbin/haproxy", "haproxy");
    require("curl", "curl");
    let built = build("stacked");
    let lb1 = built.hosts.iter().find(|h| h.name == "lb1").expect("lb1");
    let file = |path: &str| {
        lb1.files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("lb1 has no {path}"))
            .content
            .clone()
    };
    let (frontend, monitor) = (free_port(), free_port());
    let config = file(paths::HAPROXY_CONFIG);
    assert_eq!(config.matches("bind 0.0.0.0:6443\n").count(), 1);
    assert_eq!(config.matches("bind 127.0.0.1:8404\n").count(), 1);
    let config = config
        .replace(
            "bind 0.0.0.0:6443\n",
            &format!("bind 127.0.0.1:{frontend}\n"),
        )
        .replace(
            "bind 127.0.0.1:8404\n",
            &format!("bind 127.0.0.1:{monitor}\n"),
        );
    let check = file(paths::KEEPALIVED_CHECK_SCRIPT);
    assert_eq!(check.matches("127.0.0.1:8404").count(), 1, "{check}");
    let check = check.replace("127.0.0.1:8404", &format!("127.0.0.1:{monitor}"));

    let dir = tempfile::tempdir().expect("temp dir");
    let config_path = dir.path().join("haproxy.cfg");
    let check_path = dir.path().join("check");
    std::fs::write(&config_path, config).unwrap();
    std::fs::write(&check_path, check).unwrap();

    assert!(
        !check_passes(&check_path),
        "no haproxy yet: the check fails"
    );
    let running = Running(
        Command::new(haproxy)
            .arg("-db")
            .arg("-f")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy"),
    );
    let started = Instant::now();
    while !check_passes(&check_path) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the check never passed with haproxy running and no API server up"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The API servers (10.0.0.11-13) are not there: once haproxy's checks have
    // failed (servers start as up), the monitor reports none up, and the check
    // still passes.
    let monitor_status = || {
        let output = Command::new("curl")
            .args([
                "--silent",
                "--output",
                "/dev/null",
                "--write-out",
                "%{http_code}",
            ])
            .arg(format!("http://127.0.0.1:{monitor}/healthz"))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let started = Instant::now();
    while monitor_status() != "503" {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "haproxy never reported its API servers down"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        check_passes(&check_path),
        "haproxy runs with no API server up: the check passes"
    );
    drop(running);
    assert!(
        !check_passes(&check_path),
        "haproxy stopped: the check fails"
    );
}
