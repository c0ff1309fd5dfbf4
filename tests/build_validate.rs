//! Every example's user-data, checked by the tools that will read it: both
//! cloud-config schemas, Debian's `cloud-init schema`, PyYAML, the kubeadm
//! schemas, shellcheck and `bash -n`, `haproxy -c`; and the scripts run the
//! plan's steps in the plan's order.

#[path = "build_common.rs"]
mod build_common;
#[path = "emit_common.rs"]
mod emit_common;

use build_common::{
    Built, bootstrap_script, build_all, in_parallel, pyyaml_load_all, run_on, scratch_file,
    script_steps, shell_of,
};
use emit_common::{pyyaml_load, require};
use hac::build::{HostFile, paths};
use hac::emit::validate::{self, Schema};
use hac::plan::PlanRole;

fn every_host(built: &[Built]) -> Vec<(&str, &hac::build::HostOutput)> {
    built
        .iter()
        .flat_map(|b| b.hosts.iter().map(move |h| (b.example.as_str(), h)))
        .collect()
}

#[test]
fn every_output_validates_against_both_cloud_config_schemas() {
    let built = build_all();
    for (example, host) in every_host(&built) {
        for schema in [Schema::Newest, Schema::Debian12] {
            let problems = validate::cloud_config(&host.document, schema);
            assert!(
                problems.is_empty(),
                "{example}/{}: {schema:?} schema: {problems:#?}",
                host.name
            );
        }
    }
}

#[test]
fn debian_cloud_init_schema_accepts_every_output() {
    let cloud_init = require("/usr/bin/cloud-init", "cloud-init");
    let built = build_all();
    let dir = tempfile::tempdir().expect("temp dir");
    let hosts = every_host(&built);
    in_parallel(&hosts, |(example, host)| {
        let file = scratch_file(
            dir.path(),
            &format!("{example}-{}.yaml", host.name),
            &host.user_data,
        );
        let (ok, output) = run_on(&cloud_init, &["schema", "-c"], &file);
        assert!(
            ok && output.contains("Valid cloud-config"),
            "{example}/{}: cloud-init schema: {output}",
            host.name
        );
    });
}

#[test]
fn pyyaml_reads_every_output_as_hac_meant_it() {
    let built = build_all();
    let hosts = every_host(&built);
    let texts: Vec<String> = hosts.iter().map(|(_, h)| h.user_data.clone()).collect();
    let loaded = pyyaml_load(&texts);
    for ((example, host), loaded) in hosts.iter().zip(loaded) {
        assert!(
            loaded == host.document,
            "{example}/{}: PyYAML reads something else than hac wrote",
            host.name
        );
        // write_files in the document are exactly the host's files.
        let paths: Vec<&str> = loaded["write_files"]
            .as_array()
            .expect("write_files")
            .iter()
            .map(|f| f["path"].as_str().expect("path"))
            .collect();
        let expected: Vec<&str> = host.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, expected, "{example}/{}", host.name);
    }
}

fn is_kubeadm_family(api_version: &str) -> bool {
    validate::kubeadm_kinds().any(|(version, _)| version == api_version)
}

#[test]
fn every_kubeadm_document_validates() {
    let built = build_all();
    let hosts = every_host(&built);
    let mut candidates: Vec<(&str, &str, &HostFile)> = Vec::new();
    for (example, host) in &hosts {
        for file in &host.files {
            if file.content.contains("apiVersion:") && !file.path.ends_with(".sh") {
                candidates.push((example, &host.name, file));
            }
        }
    }
    let texts: Vec<String> = candidates
        .iter()
        .map(|(_, _, f)| f.content.clone())
        .collect();
    let loaded = pyyaml_load_all(&texts);
    let mut kinds_per_host: std::collections::BTreeMap<(String, String), Vec<String>> =
        Default::default();
    for ((example, host, file), docs) in candidates.iter().zip(loaded) {
        for doc in docs {
            let (Some(api_version), Some(kind)) =
                (doc["apiVersion"].as_str(), doc["kind"].as_str())
            else {
                continue;
            };
            if !is_kubeadm_family(api_version) {
                continue;
            }
            let problems = validate::kubeadm(kind, api_version, &doc);
            assert!(
                problems.is_empty(),
                "{example}/{host}: {} ({kind}): {problems:#?}",
                file.path
            );
            kinds_per_host
                .entry((example.to_string(), host.to_string()))
                .or_default()
                .push(kind.to_owned());
        }
    }
    // Every Kubernetes node has its init or join configuration among them.
    for built in &built {
        for host in &built.hosts {
            let kinds = kinds_per_host
                .get(&(built.example.clone(), host.name.clone()))
                .cloned()
                .unwrap_or_default();
            let wanted = if host.roles.contains(&PlanRole::InitControlPlane) {
                Some("InitConfiguration")
            } else if host.roles.contains(&PlanRole::ControlPlane)
                || host.roles.contains(&PlanRole::Worker)
            {
                Some("JoinConfiguration")
            } else {
                None
            };
            if let Some(wanted) = wanted {
                assert!(
                    kinds.iter().any(|k| k == wanted),
                    "{}/{}: no {wanted} among {kinds:?}",
                    built.example,
                    host.name
                );
            }
        }
    }
}

#[test]
fn every_shell_file_passes_shellcheck_and_bash_n() {
    let shellcheck = require("shellcheck", "shellcheck");
    let built = build_all();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut scripts: Vec<(String, &'static str, String)> = Vec::new();
    for (example, host) in every_host(&built) {
        for file in &host.files {
            if let Some(shell) = shell_of(&file.content) {
                scripts.push((
                    format!("{example}-{}-{}", host.name, file.path),
                    shell,
                    file.content.clone(),
                ));
            }
        }
        assert!(
            shell_of(bootstrap_script(host)) == Some("bash"),
            "{example}/{}: the bootstrap script is a bash script",
            host.name
        );
    }
    assert!(scripts.len() >= built.iter().map(|b| b.hosts.len()).sum::<usize>());
    // The same script text appears on many hosts: check each text once.
    scripts.sort_by(|a, b| a.2.cmp(&b.2));
    scripts.dedup_by(|a, b| a.2 == b.2);
    in_parallel(&scripts, |(name, shell, content)| {
        let file = scratch_file(dir.path(), name, content);
        let (ok, output) = run_on(&shellcheck, &["-s", shell], &file);
        assert!(ok, "{name}: shellcheck:\n{output}");
        let (ok, output) = run_on("bash", &["-n"], &file);
        assert!(ok, "{name}: bash -n:\n{output}");
        if *shell == "sh" {
            let (ok, output) = run_on("sh", &["-n"], &file);
            assert!(ok, "{name}: sh -n:\n{output}");
        }
    });
}

#[test]
fn haproxy_accepts_every_haproxy_configuration() {
    let haproxy = require("/usr/sbin/haproxy", "haproxy");
    let built = build_all();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut checked = 0;
    for (example, host) in every_host(&built) {
        let is_lb = host.roles.contains(&PlanRole::LoadBalancer);
        let config = host.files.iter().find(|f| f.path == paths::HAPROXY_CONFIG);
        assert_eq!(
            is_lb,
            config.is_some(),
            "{example}/{}: a haproxy configuration exactly on load balancers",
            host.name
        );
        if let Some(config) = config {
            let file = scratch_file(
                dir.path(),
                &format!("{example}-{}.cfg", host.name),
                &config.content,
            );
            let (ok, output) = run_on(&haproxy, &["-c", "-dW", "-f"], &file);
            assert!(ok, "{example}/{}: haproxy -c:\n{output}", host.name);
            checked += 1;
        }
    }
    assert!(checked > 0, "no example has a generated load balancer");
}

#[test]
fn the_scripts_run_the_plans_steps_in_the_plans_order() {
    for built in build_all() {
        assert_eq!(
            built.hosts.iter().map(|h| &h.name).collect::<Vec<_>>(),
            built.plan.hosts.iter().map(|h| &h.name).collect::<Vec<_>>(),
            "{}: one output per plan host, in plan order",
            built.example
        );
        for (host, planned) in built.hosts.iter().zip(&built.plan.hosts) {
            let planned: Vec<&str> = planned.steps.iter().map(|s| s.id).collect();
            assert_eq!(
                script_steps(bootstrap_script(host)),
                planned,
                "{}/{}: the script's steps differ from `hac plan`",
                built.example,
                host.name
            );
            assert_eq!(host.steps, planned, "{}/{}", built.example, host.name);
        }
    }
}

#[test]
fn the_plan_printed_by_hac_plan_names_the_same_steps() {
    // `hac plan --format json` is what users see; the scripts must agree with it too.
    for built in build_all() {
        let path = hac_tests::repo_root()
            .join("examples")
            .join(format!("{}.hac", built.example));
        let out = hac_tests::hac(&["plan", "--format", "json", path.to_str().expect("UTF-8")]);
        assert_eq!(out.status, 0, "{}: {}", built.example, out.stderr);
        let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON plan");
        for (host, planned) in built
            .hosts
            .iter()
            .zip(plan["hosts"].as_array().expect("hosts"))
        {
            assert_eq!(planned["name"], host.name.as_str());
            let ids: Vec<&str> = planned["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .map(|s| s["id"].as_str().expect("id"))
                .collect();
            assert_eq!(
                script_steps(bootstrap_script(host)),
                ids,
                "{}/{}",
                built.example,
                host.name
            );
        }
    }
}

/// A user's `files` may not go where hac writes its own: the model refuses the
/// reserved places, and this keeps that list complete as hac learns to write more.
#[test]
fn every_file_hac_writes_is_reserved_from_user_files() {
    for example in build_common::examples() {
        let built = build_common::build(&example);
        let cluster = &built.cluster;
        for host in &built.hosts {
            let model_host = cluster
                .hosts()
                .into_iter()
                .map(|(h, _)| h)
                .find(|h| h.name.value == host.name);
            let user_paths: Vec<&str> = cluster
                .files
                .iter()
                .chain(model_host.map(|h| h.files.as_slice()).unwrap_or(&[]))
                .map(|f| f.path.as_str())
                .collect();
            for file in &host.files {
                // Registry mirrors share containerd's per-registry directory with the
                // user's own registries; there the build refuses two different
                // contents for one path instead.
                if user_paths.contains(&file.path.as_str())
                    || file.path.starts_with("/etc/containerd/certs.d/")
                {
                    continue;
                }
                assert!(
                    hac::model::formats::reserved_file(&file.path).is_some(),
                    "{example}/{}: hac writes `{}`, which user files may still claim",
                    host.name,
                    file.path
                );
            }
        }
    }
}
