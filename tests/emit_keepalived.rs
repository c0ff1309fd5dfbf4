//! keepalived configurations: Debian's `keepalived -t` accepts them, they carry
//! the plan's priority and both checks' weights, and the check script and
//! interface discovery work for real.

#[path = "emit_common.rs"]
mod emit_common;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use emit_common::{require, run_with_input, text};
use hac::build::paths::KEEPALIVED_CHECK_SCRIPT;
use hac::emit::keepalived::{
    KeepalivedSpec, check_script, config, config_with_interface_file, interface_discovery,
};
use hac::plan::{keepalived_check_weight, keepalived_priority};

/// An interface of this machine with an address of the given family, and that
/// address: `keepalived -t` insists that the configured interface exists.
fn local_interface(ipv4: bool) -> Option<(String, IpAddr)> {
    let output = Command::new(require("ip", "iproute2"))
        .args([
            if ipv4 { "-4" } else { "-6" },
            "-o",
            "addr",
            "show",
            "scope",
            "global",
        ])
        .output()
        .expect("run ip");
    text(&output.stdout).lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let address = fields.get(3)?.split('/').next()?.parse().ok()?;
        Some((fields.get(1)?.to_string(), address))
    })
}

fn ipv4_spec(interface: Option<String>) -> KeepalivedSpec {
    KeepalivedSpec {
        vip: "10.0.0.100".parse().unwrap(),
        vip_prefix: 24,
        virtual_router_id: 51,
        auth_pass: "s3cr3tPw".to_string(),
        priority: keepalived_priority(0, 2),
        check_weight: keepalived_check_weight(2),
        source: "10.0.0.11".parse().unwrap(),
        peers: vec!["10.0.0.12".parse().unwrap()],
        interface,
        check_script: KEEPALIVED_CHECK_SCRIPT.to_string(),
    }
}

/// `keepalived -t -f FILE` (configuration test, no daemon): (success, output).
fn keepalived_check(config_text: &str, dir: &Path) -> (bool, String) {
    let file = dir.join("keepalived.conf");
    std::fs::write(&file, config_text).expect("write");
    let output = Command::new(require("/usr/sbin/keepalived", "keepalived"))
        .args(["-t", "-f"])
        .arg(&file)
        .output()
        .expect("run keepalived");
    let stderr = text(&output.stderr);
    // As a user, keepalived cannot vouch for a root-run check script and
    // disables it, which fails the test for reasons that are not the config's.
    assert!(
        !stderr.contains("due to insecure") || is_root(),
        "`keepalived -t` must run as root to check `script_user root` scripts: run the tests as root"
    );
    (
        output.status.success(),
        format!(
            "status {:?}\n{}{}",
            output.status.code(),
            text(&output.stdout),
            text(&output.stderr)
        ),
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| text(&output.stdout).trim() == "0")
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Installs the generated check script in `dir` (keepalived -t insists that it
/// exists, is executable and is writable by root only) and returns its path.
fn install_check_script(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("hac-check-haproxy");
    std::fs::write(
        &path,
        check_script("http://127.0.0.1:8404/healthz").expect("valid"),
    )
    .expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.to_str().expect("UTF-8 path").to_string()
}

#[test]
fn keepalived_accepts_a_two_host_ipv4_configuration() {
    let (interface, _) = local_interface(true).expect("this machine has an IPv4 interface");
    let dir = temp();
    for rank in 0..2 {
        let mut spec = ipv4_spec(Some(interface.clone()));
        spec.check_script = install_check_script(dir.path());
        spec.priority = keepalived_priority(rank, 2);
        let config_text = config(&spec).expect("valid");
        let (valid, output) = keepalived_check(&config_text, dir.path());
        assert!(
            valid,
            "keepalived -t rejected it:\n{output}\n--- config ---\n{config_text}"
        );
    }
}

#[test]
fn keepalived_accepts_three_peers_and_ipv6() {
    let dir = temp();
    let (interface, _) = local_interface(true).expect("an IPv4 interface");
    let mut three = ipv4_spec(Some(interface.clone()));
    three.check_script = install_check_script(dir.path());
    three.peers.push("10.0.0.13".parse().unwrap());
    three.priority = keepalived_priority(2, 3);
    three.check_weight = keepalived_check_weight(3);
    let config_text = config(&three).expect("valid");
    assert!(config_text.contains("  weight -3\n"), "{config_text}");
    let (valid, output) = keepalived_check(&config_text, dir.path());
    assert!(valid, "{output}\n{config_text}");

    let ipv6 = KeepalivedSpec {
        vip: "fd00::100".parse().unwrap(),
        vip_prefix: 64,
        source: "fd00::11".parse().unwrap(),
        peers: vec!["fd00::12".parse().unwrap()],
        auth_pass: String::new(),
        check_script: install_check_script(dir.path()),
        ..ipv4_spec(Some(interface))
    };
    let config_text = config(&ipv6).expect("valid");
    assert!(
        !config_text.contains("authentication"),
        "VRRP v3 has no authentication:\n{config_text}"
    );
    let (valid, output) = keepalived_check(&config_text, dir.path());
    assert!(valid, "{output}\n{config_text}");
}

#[test]
fn the_check_fails_on_a_broken_configuration() {
    let dir = temp();
    let mut missing_interface = ipv4_spec(Some("hacnope0".to_string()));
    missing_interface.check_script = install_check_script(dir.path());
    let (valid, output) = keepalived_check(&config(&missing_interface).unwrap(), dir.path());
    assert!(
        !valid && output.contains("hacnope0"),
        "a missing interface is an error: {output}"
    );
    let (interface, _) = local_interface(true).expect("an IPv4 interface");
    let mut spec = ipv4_spec(Some(interface));
    spec.check_script = install_check_script(dir.path());
    let broken = config(&spec).unwrap().replace("10.0.0.12", "fd00::12");
    let (valid, output) = keepalived_check(&broken, dir.path());
    assert!(!valid && output.contains("same family"), "{output}");
}

#[test]
fn the_interface_found_at_boot_feeds_the_configuration() {
    let (interface, address) = local_interface(true).expect("an IPv4 interface");
    let dir = temp();
    let include: PathBuf = dir.path().join("etc/hac-interface.conf");
    let include = include.to_str().expect("UTF-8 path").to_string();
    let mut spec = ipv4_spec(None);
    spec.source = address;
    spec.check_script = install_check_script(dir.path());
    let lines = interface_discovery(address, &include).expect("valid");
    let script = format!("set -euo pipefail\n{}\n", lines.join("\n"));
    let output = run_with_input(&require("bash", "bash"), &[], script.as_bytes());
    assert!(
        output.status.success(),
        "discovery failed: {}",
        text(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&include).expect("written"),
        format!("$HAC_VRRP_INTERFACE={interface}\n")
    );
    let config_text = config_with_interface_file(&spec, &include).expect("valid");
    assert!(
        config_text.contains(&format!("include {include}\n")),
        "{config_text}"
    );
    assert!(
        config_text.contains("  interface ${HAC_VRRP_INTERFACE}\n"),
        "{config_text}"
    );
    let (valid, output) = keepalived_check(&config_text, dir.path());
    assert!(valid, "{output}\n{config_text}");

    let (shellcheck_clean, findings) = {
        let output = run_with_input(
            &require("shellcheck", "shellcheck"),
            &["--shell=bash", "--severity=style", "--format=gcc", "-"],
            format!("#!/bin/bash\n{script}").as_bytes(),
        );
        (output.status.success(), text(&output.stdout))
    };
    assert!(shellcheck_clean, "{findings}");
}

#[test]
fn discovery_fails_clearly_when_no_interface_has_the_address() {
    let dir = temp();
    let include = dir.path().join("hac-interface.conf");
    let lines = interface_discovery("203.0.113.254".parse().unwrap(), include.to_str().unwrap())
        .expect("valid");
    let output = run_with_input(
        &require("bash", "bash"),
        &[],
        format!("set -euo pipefail\n{}\n", lines.join("\n")).as_bytes(),
    );
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("no network interface has the address 203.0.113.254"));
    assert!(!include.exists());
}

#[test]
fn both_checks_carry_the_plans_weight() {
    // The ranking itself (healthy > blind > dead for any count) is tested with the
    // plan's numbers in compiler/src/plan/tests.rs.
    let config_text = config(&ipv4_spec(Some("eth0".to_string()))).unwrap();
    assert_eq!(
        config_text.matches("  weight -2\n").count(),
        2,
        "{config_text}"
    );
    assert_eq!(
        config_text.matches("  priority 101\n").count(),
        1,
        "{config_text}"
    );
    assert!(!config_text.contains("weight 0"), "{config_text}");
}

#[test]
fn the_configuration_has_one_instance_with_shared_settings() {
    let config_text = config(&ipv4_spec(Some("eth0".to_string()))).unwrap();
    assert_eq!(config_text.matches("vrrp_instance ").count(), 1);
    for line in [
        "  virtual_router_id 51\n",
        "    auth_type PASS\n",
        "    auth_pass s3cr3tPw\n",
        "  unicast_src_ip 10.0.0.11\n",
        "  unicast_peer {\n    10.0.0.12\n  }\n",
        "    10.0.0.100/24\n",
        "vrrp_script chk_haproxy_answers {\n  script \"/etc/keepalived/hac-check-haproxy answers\"\n",
        "vrrp_script chk_api_healthy {\n  script \"/etc/keepalived/hac-check-haproxy api\"\n",
        "  track_script {\n    chk_haproxy_answers\n    chk_api_healthy\n  }\n",
        "  enable_script_security\n",
    ] {
        assert!(
            config_text.contains(line),
            "`{line}` missing:\n{config_text}"
        );
    }
}

/// Answers every HTTP request on a loopback port with `status`, once per connection.
fn http_server(status: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0_u8; 1024];
            let _ = stream.read(&mut buffer);
            let _ = write!(stream, "HTTP/1.0 {status}\r\nContent-Length: 0\r\n\r\n");
        }
    });
    port
}

#[test]
fn the_check_script_asks_the_monitor_endpoint() {
    let script = check_script("http://127.0.0.1:8404/healthz").expect("valid");
    let dir = temp();
    let run = |port: u16, argument: &str| {
        let file = dir.path().join(format!("check-{port}"));
        std::fs::write(
            &file,
            script.replace("127.0.0.1:8404", &format!("127.0.0.1:{port}")),
        )
        .expect("write");
        Command::new(require("sh", "dash"))
            .arg(&file)
            .arg(argument)
            .output()
            .expect("run")
            .status
            .code()
    };
    require("curl", "curl");
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // (what answers, `answers` passes, `api` passes)
    for (port, what, answers, api) in [
        (http_server("200 OK"), "an API server is up", true, true),
        (
            http_server("503 Service Unavailable"),
            "haproxy up, no API server",
            true,
            false,
        ),
        (
            http_server("500 Internal Server Error"),
            "another status",
            true,
            false,
        ),
        (closed, "nothing listening", false, false),
    ] {
        assert_eq!(
            run(port, "answers"),
            Some(if answers { 0 } else { 1 }),
            "{what}"
        );
        assert_eq!(run(port, "api"), Some(if api { 0 } else { 1 }), "{what}");
    }
    assert_eq!(run(closed, ""), Some(2), "no argument is a usage error");
    assert_eq!(run(closed, "healthz"), Some(2), "an unknown argument too");

    let output = run_with_input(
        &require("shellcheck", "shellcheck"),
        &["--shell=sh", "--severity=style", "--format=gcc", "-"],
        script.as_bytes(),
    );
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert!(check_script("file:///etc/passwd").is_err());
}

#[test]
fn bad_specs_are_refused() {
    let good = ipv4_spec(Some("eth0".to_string()));
    let with = |change: &dyn Fn(&mut KeepalivedSpec)| {
        let mut spec = good.clone();
        change(&mut spec);
        config(&spec).expect_err("refused").message
    };
    assert_eq!(
        with(&|s| s.auth_pass = "toolongpass".to_string()),
        "the VRRP password must be 1 to 8 ASCII letters and digits"
    );
    assert_eq!(
        with(&|s| s.auth_pass = "a b".to_string()),
        "the VRRP password must be 1 to 8 ASCII letters and digits"
    );
    assert_eq!(
        with(&|s| s.auth_pass = String::new()),
        "the VRRP password must be 1 to 8 ASCII letters and digits"
    );
    assert_eq!(
        with(&|s| s.virtual_router_id = 0),
        "VRRP `virtual_router_id` 0 is invalid"
    );
    assert_eq!(
        with(&|s| s.priority = 255),
        "VRRP priority 255 is outside 1..=254"
    );
    assert_eq!(
        with(&|s| s.check_weight = 1),
        "a failing check subtracts 1 from the priority, less than the 2 load balancers"
    );
    assert_eq!(
        with(&|s| s.priority = 4),
        "VRRP priority 4 minus twice the check weight 2 falls below 1"
    );
    assert_eq!(
        with(&|s| s.vip_prefix = 33),
        "virtual IP prefix length /33 is out of range for `10.0.0.100`"
    );
    assert_eq!(
        with(&|s| s.peers = vec!["fd00::1".parse().unwrap()]),
        "VRRP peer `fd00::1` and the virtual IP `10.0.0.100` are of different IP families"
    );
    assert_eq!(
        with(&|s| s.peers = vec![s.source]),
        "VRRP peer `10.0.0.11` is listed twice"
    );
    assert_eq!(
        with(&|s| s.peers = vec![s.vip]),
        "the virtual IP `10.0.0.100` is also a load balancer's own address"
    );
    assert_eq!(
        with(&|s| s.interface = Some("eth0; rm".to_string())),
        "invalid network interface name `eth0; rm`"
    );
    assert_eq!(
        with(&|s| s.interface = Some("a-very-long-interface".to_string())),
        "invalid network interface name `a-very-long-interface`"
    );
    assert_eq!(
        with(&|s| s.check_script = "check.sh\"; evil".to_string()),
        "invalid keepalived check script path `check.sh\\\"; evil`"
    );
}
