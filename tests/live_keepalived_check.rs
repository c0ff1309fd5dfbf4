//! keepalived's generated checks against the generated haproxy, running. The load
//! balancer `lb1` of `examples/loopback.hac` is built, its `haproxy.cfg` runs under
//! Debian's haproxy, and its check script runs with both arguments the
//! configuration gives it, through the states the checks must tell apart:
//!
//! - haproxy not running ("dead"): both checks fail;
//! - haproxy running with no API server up (a cluster still booting, "blind"):
//!   its monitor answers 503, `answers` passes and `api` fails; with the plan's
//!   weights such a host still outranks a dead one, so the VIP holder keeps the
//!   address while the first control plane initialises through it;
//! - an API server up (an `openssl s_server` on `cp1`'s address answering
//!   `/healthz` with 200): both pass.
//!
//! The only rewrites are the two ports haproxy binds (free loopback ports instead
//! of the frontend's wildcard 6443, which the stand-in API server needs, and 8404,
//! which another program on a test machine may hold), in the configuration and in
//! the script.

#[path = "build_common.rs"]
mod build_common;
#[path = "emit_common.rs"]
mod emit_common;
#[path = "live_common.rs"]
mod live_common;

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use build_common::build;
use emit_common::{require, text};
use hac::build::paths;
use hac::plan::Action;
use live_common::{Daemon, machine_lock, poll, report, seconds, self_signed_pair};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the check script passes with `argument`.
fn passes(script: &Path, argument: &str) -> bool {
    Command::new("sh")
        .arg(script)
        .arg(argument)
        .status()
        .expect("sh")
        .success()
}

/// (`answers` passes, `api` passes).
fn checks(script: &Path) -> (bool, bool) {
    (passes(script, "answers"), passes(script, "api"))
}

fn monitor_status(port: u16) -> String {
    let output = Command::new("curl")
        .args([
            "--silent",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}",
        ])
        .arg(format!("http://127.0.0.1:{port}/healthz"))
        .output()
        .expect("curl");
    text(&output.stdout)
}

/// Polls until haproxy's monitor answers `status`; the time it took.
fn wait_for_monitor(port: u16, status: &str, limit: Duration, haproxy: &Daemon) -> Duration {
    poll(limit, Duration::from_millis(200), || {
        (monitor_status(port) == status).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "haproxy's monitor never answered {status}\n{}",
            haproxy.log_tail()
        )
    })
    .1
}

#[test]
fn the_checks_tell_a_dead_haproxy_from_a_blind_one_from_a_healthy_one() {
    let haproxy = require("/usr/sbin/haproxy", "haproxy");
    require("curl", "curl");
    require("openssl", "openssl");
    // The stand-in API server binds cp1's address, as tests/live_haproxy.rs does.
    let _lock = machine_lock("haproxy");
    let built = build("loopback");
    let lb1 = built.hosts.iter().find(|h| h.name == "lb1").expect("lb1");
    let (priority, weight) = built
        .plan
        .hosts
        .iter()
        .find(|h| h.name == "lb1")
        .and_then(|h| {
            h.steps.iter().find_map(|step| match step.action {
                Action::ConfigureKeepalived {
                    priority,
                    check_weight,
                    ..
                } => Some((i32::from(priority), i32::from(check_weight))),
                _ => None,
            })
        })
        .expect("lb1 runs keepalived");
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
    let cp1 = "127.0.0.11:6443";
    assert!(
        config.contains(&format!("server cp1 {cp1} check")),
        "{config}"
    );
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
    let script = dir.path().join("check");
    fs::write(&config_path, config).unwrap();
    fs::write(&script, check).unwrap();
    let effective = |(answers, api): (bool, bool)| {
        priority - weight * i32::from(!answers) - weight * i32::from(!api)
    };

    let dead = checks(&script);
    assert_eq!(dead, (false, false), "no haproxy: both checks fail");

    let mut haproxy = Daemon::start(
        "haproxy",
        Command::new(haproxy).arg("-db").arg("-f").arg(&config_path),
        &dir.path().join("haproxy.log"),
    );
    // No API server is up: once haproxy's checks have failed (servers start as
    // up), the monitor reports none and answers 503.
    let took = wait_for_monitor(monitor, "503", Duration::from_secs(60), &haproxy);
    let blind = checks(&script);
    assert_eq!(
        blind,
        (true, false),
        "haproxy runs with no API server up: it answers, but sees no API server"
    );
    report(&format!(
        "keepalived checks: haproxy reported no API server after {}",
        seconds(took)
    ));

    // One API server comes up.
    let server_dir = dir.path().join("cp1");
    fs::create_dir(&server_dir).unwrap();
    self_signed_pair(&server_dir, "kube-apiserver", &[]);
    fs::write(
        server_dir.join("healthz"),
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nok",
    )
    .unwrap();
    let api_server = Daemon::start(
        "s_server cp1",
        Command::new("openssl")
            .args(["s_server", "-quiet", "-HTTP", "-accept", cp1])
            .args(["-cert", "cert.pem", "-key", "key.pem"])
            .current_dir(&server_dir),
        &server_dir.join("s_server.log"),
    );
    let took = wait_for_monitor(monitor, "200", Duration::from_secs(30), &haproxy);
    let healthy = checks(&script);
    assert_eq!(
        healthy,
        (true, true),
        "an API server is up: both checks pass"
    );
    report(&format!(
        "keepalived checks: haproxy saw cp1's API server {} after it started",
        seconds(took)
    ));
    drop(api_server);

    haproxy.kill();
    assert_eq!(
        checks(&script),
        (false, false),
        "haproxy stopped: both fail"
    );

    let [healthy, blind, dead] = [healthy, blind, dead].map(effective);
    report(&format!(
        "keepalived checks: lb1's effective priority is {healthy} healthy, {blind} with haproxy blind, {dead} with haproxy dead"
    ));
    assert!(
        healthy > blind && blind > dead,
        "{healthy} > {blind} > {dead}"
    );
}
