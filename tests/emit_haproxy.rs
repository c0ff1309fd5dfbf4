//! haproxy configurations: Debian's haproxy accepts them without a warning, and
//! they have the health check that really asks each API server.

#[path = "emit_common.rs"]
mod emit_common;

use std::net::{IpAddr, SocketAddr};
use std::process::Command;

use emit_common::{require, text};
use hac::emit::haproxy::{HaproxyBackend, HaproxySpec, config, health_url};

fn backend(name: &str, address: &str) -> HaproxyBackend {
    HaproxyBackend {
        name: name.to_string(),
        address: address.parse().expect("IP"),
        port: 6443,
    }
}

fn spec(frontend: &str, backends: Vec<HaproxyBackend>) -> HaproxySpec {
    HaproxySpec {
        frontend_bind: frontend.parse().expect("socket address"),
        backends,
        health_bind: "127.0.0.1:8404".parse().expect("socket address"),
    }
}

fn specs() -> Vec<(&'static str, HaproxySpec)> {
    vec![
        (
            "dedicated IPv4 load balancer, three control planes",
            spec(
                "0.0.0.0:6443",
                vec![
                    backend("cp-1", "10.0.0.11"),
                    backend("cp-2", "10.0.0.12"),
                    backend("cp-3", "10.0.0.13"),
                ],
            ),
        ),
        (
            "one control plane",
            spec("10.0.0.5:6443", vec![backend("cp1", "10.0.0.11")]),
        ),
        (
            "colocated on a control plane, dual-stack listener, IPv6 backends",
            HaproxySpec {
                frontend_bind: "[::]:8443".parse().unwrap(),
                backends: vec![
                    backend("cp-a", "fd00::11"),
                    backend("cp-b", "fd00::12"),
                    backend("cp.c_3", "fd00::13"),
                ],
                health_bind: "[::1]:8404".parse().unwrap(),
            },
        ),
        (
            "mixed families, specific IPv6 frontend",
            spec(
                "[fd00::5]:443",
                vec![backend("v4", "192.0.2.10"), backend("v6", "2001:db8::10")],
            ),
        ),
        (
            "many control planes",
            spec(
                "0.0.0.0:6443",
                (1..=9)
                    .map(|n| backend(&format!("cp-{n}"), &format!("10.1.0.{n}")))
                    .collect(),
            ),
        ),
    ]
}

/// `haproxy -c -dW -f FILE` (check only, warnings are errors): (success, output).
fn haproxy_check(config_text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("haproxy.cfg");
    std::fs::write(&file, config_text).expect("write");
    let output = Command::new(require("/usr/sbin/haproxy", "haproxy"))
        .args(["-c", "-dW", "-f"])
        .arg(&file)
        .output()
        .expect("run haproxy");
    (
        output.status.success(),
        format!("{}{}", text(&output.stdout), text(&output.stderr)),
    )
}

/// The lines of one `frontend`/`backend`/… section, trimmed.
fn section<'a>(config_text: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = config_text.lines().skip_while(|line| *line != header);
    assert!(
        lines.next().is_some(),
        "no section `{header}` in:\n{config_text}"
    );
    lines
        .take_while(|line| line.starts_with("  ") || line.is_empty())
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

#[test]
fn debian_haproxy_accepts_every_spec_without_warnings() {
    for (what, spec) in specs() {
        let config_text = config(&spec).unwrap_or_else(|error| panic!("{what}: {error}"));
        let (valid, output) = haproxy_check(&config_text);
        assert!(
            valid,
            "{what}: haproxy -c rejected it:\n{output}\n--- config ---\n{config_text}"
        );
        assert!(
            output.contains("Configuration file is valid"),
            "{what}: {output}"
        );
    }
}

#[test]
fn the_check_fails_on_a_broken_configuration() {
    // The harness can fail: an unknown keyword and a missing backend are rejected.
    let config_text = config(&specs()[0].1).expect("valid");
    let (valid, output) =
        haproxy_check(&config_text.replace("check verify none", "check verify none bogus-kw"));
    assert!(!valid && output.contains("bogus-kw"), "{output}");
    let (valid, output) = haproxy_check(
        &config_text.replace("default_backend k8s-api-servers", "default_backend nope"),
    );
    assert!(!valid && output.contains("nope"), "{output}");
}

#[test]
fn the_backend_checks_healthz_over_tls_in_tcp_mode() {
    for (what, spec) in specs() {
        let config_text = config(&spec).expect("valid");
        let frontend = section(&config_text, "frontend k8s-api");
        assert!(
            frontend.contains(&"mode tcp"),
            "{what}: frontend not in tcp mode: {frontend:?}"
        );
        let backend = section(&config_text, "backend k8s-api-servers");
        for required in [
            "mode tcp",
            "option httpchk",
            "http-check connect ssl",
            "http-check send meth GET uri /healthz",
            "http-check expect status 200",
        ] {
            assert!(
                backend.contains(&required),
                "{what}: `{required}` missing from {backend:?}"
            );
        }
        let default_server = backend
            .iter()
            .find(|line| line.starts_with("default-server"))
            .expect("default-server");
        for setting in ["inter 3s", "downinter 5s", "rise 2", "fall 2"] {
            assert!(default_server.contains(setting), "{what}: {default_server}");
        }
        let servers: Vec<&&str> = backend
            .iter()
            .filter(|line| line.starts_with("server "))
            .collect();
        assert_eq!(
            servers.len(),
            spec.backends.len(),
            "{what}: one server line per control plane"
        );
        for (line, backend_spec) in servers.iter().zip(&spec.backends) {
            let address = match backend_spec.address {
                IpAddr::V4(ip) => format!("{ip}:6443"),
                IpAddr::V6(ip) => format!("[{ip}]:6443"),
            };
            assert_eq!(
                **line,
                format!("server {} {address} check verify none", backend_spec.name),
                "{what}"
            );
        }
        // Never the flawed combinations.
        assert!(!config_text.contains("ssl-hello-chk"), "{what}");
        assert!(!backend.contains(&"mode http"), "{what}");
        let defaults = section(&config_text, "defaults");
        assert!(
            defaults.contains(&"mode tcp"),
            "{what}: the defaults must not hand `mode http` to a backend"
        );
    }
}

#[test]
fn ipv6_addresses_are_bracketed() {
    let config_text = config(&specs()[2].1).expect("valid");
    assert!(
        config_text.contains("  bind [::]:8443 v4v6\n"),
        "{config_text}"
    );
    assert!(
        config_text.contains("  server cp-a [fd00::11]:6443 check verify none\n"),
        "{config_text}"
    );
    assert!(config_text.contains("  bind [::1]:8404\n"), "{config_text}");
    assert_eq!(health_url(&specs()[2].1), "http://[::1]:8404/healthz");
}

#[test]
fn there_is_a_local_health_endpoint_for_keepalived() {
    let (_, spec) = &specs()[0];
    let config_text = config(spec).expect("valid");
    let healthz = section(&config_text, "frontend healthz");
    assert!(healthz.contains(&"bind 127.0.0.1:8404"), "{healthz:?}");
    assert!(healthz.contains(&"monitor-uri /healthz"), "{healthz:?}");
    assert!(
        healthz.contains(&"monitor fail if { nbsrv(k8s-api-servers) lt 1 }"),
        "{healthz:?}"
    );
    assert_eq!(health_url(spec), "http://127.0.0.1:8404/healthz");
    let mut anywhere = spec.clone();
    anywhere.health_bind = "0.0.0.0:9000".parse().unwrap();
    assert_eq!(health_url(&anywhere), "http://127.0.0.1:9000/healthz");
}

#[test]
fn logging_goes_to_the_journal_and_timeouts_are_set() {
    let config_text = config(&specs()[0].1).expect("valid");
    let global = section(&config_text, "global");
    assert!(
        global.iter().any(|line| line.starts_with("log stdout")),
        "{global:?}"
    );
    assert!(
        !global.contains(&"daemon"),
        "daemon mode would close stdout, and with it the log"
    );
    let defaults = section(&config_text, "defaults");
    for timeout in [
        "timeout connect",
        "timeout client",
        "timeout server",
        "timeout check",
    ] {
        assert!(
            defaults.iter().any(|line| line.starts_with(timeout)),
            "{timeout} missing: {defaults:?}"
        );
    }
}

#[test]
fn bad_specs_are_refused() {
    let good = specs()[0].1.clone();
    let with = |change: &dyn Fn(&mut HaproxySpec)| {
        let mut spec = good.clone();
        change(&mut spec);
        config(&spec).expect_err("refused").message
    };
    assert_eq!(
        with(&|s| s.backends.clear()),
        "the API load balancer has no control plane to forward to"
    );
    assert_eq!(
        with(&|s| s.backends[1].name = "cp 2".to_string()),
        "invalid haproxy server name `cp 2`"
    );
    assert_eq!(
        with(&|s| s.backends[1].name = "cp\n  server evil 1.2.3.4:1".to_string()),
        "invalid haproxy server name `cp\\n  server evil 1.2.3.4:1`"
    );
    assert_eq!(
        with(&|s| s.backends[1].name = "cp-1".to_string()),
        "haproxy server `cp-1` is listed twice"
    );
    assert_eq!(
        with(&|s| s.backends[1].address = s.backends[0].address),
        "two haproxy servers point at `10.0.0.11:6443`"
    );
    assert_eq!(
        with(&|s| s.backends[0].port = 0),
        "haproxy server `cp-1` has port 0"
    );
    assert_eq!(
        with(&|s| s.frontend_bind = SocketAddr::from(([0, 0, 0, 0], 0))),
        "the haproxy frontend has port 0"
    );
    assert_eq!(
        with(&|s| s.health_bind = SocketAddr::from(([127, 0, 0, 1], 6443))),
        "the haproxy frontend and its health endpoint both use port 6443"
    );
    assert_eq!(
        with(&|s| s.frontend_bind = "10.0.0.11:6443".parse().unwrap()),
        "the haproxy frontend on port 6443 would also take server `cp-1`'s address 10.0.0.11:6443"
    );
}
