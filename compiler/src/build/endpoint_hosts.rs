//! `network.resolveEndpoint = "hosts"`: the endpoint's name in every node's
//! `/etc/hosts`, written by cloud-init's `bootcmd` at every boot (cloud-init's own
//! `manage_etc_hosts` may rewrite the file from its template at boot, so the entry goes
//! into the template as well).

use serde_json::{Value, json};

use crate::emit::SpecError;
use crate::emit::shell::quote;
use crate::model::{Address, Cluster, EndpointResolution, Host};

/// Ends every line hac writes, so the next boot replaces them rather than adding more.
pub const MARKER: &str = "# hac endpoint";

/// The files the entry goes into, when they exist.
pub const FILES: [&str; 2] = ["/etc/hosts", "/etc/cloud/templates/hosts.debian.tmpl"];

/// The `/etc/hosts` lines for the endpoint, when the cluster asks for them.
pub fn lines(cluster: &Cluster) -> Vec<String> {
    let Address::Dns(name) = &cluster.endpoint.value.host else {
        return Vec::new();
    };
    if cluster.network.resolve_endpoint.value != EndpointResolution::HostsFile {
        return Vec::new();
    }
    let (targets, _) = cluster.endpoint_targets();
    targets
        .iter()
        .map(|ip| format!("{ip} {name} {MARKER}"))
        .collect()
}

/// The POSIX shell that replaces hac's lines in `files` with `lines`.
pub fn script(lines: &[String], files: &[&str]) -> Result<String, SpecError> {
    let mut text = String::from("set -e\n");
    let quoted: Vec<String> = files.iter().map(|f| quote(f)).collect::<Result<_, _>>()?;
    text.push_str(&format!("for f in {}; do\n", quoted.join(" ")));
    text.push_str("  [ -f \"$f\" ] || continue\n");
    text.push_str(&format!("  sed -i '/ {MARKER}$/d' \"$f\"\n"));
    for line in lines {
        text.push_str(&format!("  printf '%s\\n' {} >> \"$f\"\n", quote(line)?));
    }
    text.push_str("done\n");
    Ok(text)
}

/// The `bootcmd` of a control plane or worker; `None` for other hosts, or when the
/// endpoint resolves by DNS.
pub fn bootcmd(cluster: &Cluster, host: &Host) -> Result<Option<Value>, SpecError> {
    let lines = lines(cluster);
    // Only then is the host looked for among the nodes (a search per host).
    if lines.is_empty() {
        return Ok(None);
    }
    let is_node = cluster
        .controlplanes
        .iter()
        .chain(&cluster.workers)
        .any(|h| h.name.value == host.name.value);
    if !is_node {
        return Ok(None);
    }
    Ok(Some(json!([["sh", "-c", script(&lines, &FILES)?]])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::check_cluster;
    use crate::model::testing::{base, remove, set, value};

    fn cluster(changes: &[(&str, serde_json::Value)]) -> Cluster {
        let mut json = base();
        for (path, new) in changes {
            set(&mut json, path, new.clone());
        }
        let (cluster, diagnostics) = check_cluster(&value(json));
        cluster.unwrap_or_else(|| panic!("{diagnostics:#?}"))
    }

    #[test]
    fn the_name_points_at_the_vip_and_only_when_asked() {
        assert!(lines(&cluster(&[])).is_empty());
        let hosts = cluster(&[("network", json!({ "resolveEndpoint": "hosts" }))]);
        assert_eq!(
            lines(&hosts),
            [format!("10.0.0.100 api.prod.example.com {MARKER}")]
        );
        let cp1 = &hosts.controlplanes[0];
        assert!(bootcmd(&hosts, cp1).unwrap().is_some());
        let lb1 = match &hosts.loadbalancer {
            crate::model::LoadBalancer::Dedicated { hosts, .. } => hosts[0].clone(),
            other => panic!("{other:?}"),
        };
        assert!(bootcmd(&hosts, &lb1).unwrap().is_none());
    }

    #[test]
    fn without_a_vip_the_name_points_at_every_load_balancer_host() {
        let mut json = base();
        set(&mut json, "network", json!({ "resolveEndpoint": "hosts" }));
        remove(&mut json, "loadbalancer.vip");
        let hosts = check_cluster(&value(json)).0.unwrap();
        assert_eq!(
            lines(&hosts),
            [
                format!("10.0.0.5 api.prod.example.com {MARKER}"),
                format!("10.0.0.6 api.prod.example.com {MARKER}"),
            ]
        );
    }

    #[test]
    fn the_script_replaces_its_own_lines_and_keeps_the_rest() {
        let dir = std::env::temp_dir().join(format!("hac-hosts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hosts = dir.join("hosts");
        let absent = dir.join("absent");
        std::fs::write(
            &hosts,
            "127.0.0.1 localhost\n10.9.9.9 old.example # hac endpoint\n",
        )
        .unwrap();
        let files = [hosts.to_str().unwrap(), absent.to_str().unwrap()];
        let lines = vec![format!("10.0.0.100 api.example {MARKER}")];
        for _ in 0..2 {
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(script(&lines, &files).unwrap())
                .status()
                .unwrap();
            assert!(status.success());
        }
        assert_eq!(
            std::fs::read_to_string(&hosts).unwrap(),
            format!("127.0.0.1 localhost\n10.0.0.100 api.example {MARKER}\n")
        );
        assert!(!absent.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_script_is_clean_posix_shell() {
        // cloud-init runs `bootcmd` with sh, not bash.
        let lines = vec![format!("fd00::100 api.example {MARKER}")];
        let script = format!("#!/bin/sh\n{}", script(&lines, &FILES).unwrap());
        let mut child = std::process::Command::new("shellcheck")
            .args(["--shell=sh", "--severity=style", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("shellcheck runs");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}\n{script}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}
