//! The member step on a three-member external etcd cluster: files, flags, the
//! kubelet configuration against its schema, and the quorum step's shell.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::build::fixture::Fixture;
use crate::emit::validate;
use crate::model::check_cluster;
use crate::model::testing::{base, set, value};
use crate::plan::{Action, plan};

fn cluster() -> Value {
    let mut json = base();
    set(
        &mut json,
        "etcd",
        json!({ "external": [
            { "name": "etcd1", "address": "10.0.1.31" },
            { "name": "etcd2", "address": "10.0.1.32" },
            { "name": "etcd3", "address": "fd00::33" },
        ]}),
    );
    json
}

impl Fixture {
    /// The rendered `start-etcd` step of `member`, with the plan's arguments.
    fn start(&self, member: &str) -> Result<Rendered, SpecError> {
        let context = self.context();
        let host = context.host(member).unwrap();
        let step = self
            .plan
            .hosts
            .iter()
            .find(|h| h.name == member)
            .unwrap()
            .steps
            .iter()
            .find(|s| s.id == "start-etcd")
            .unwrap();
        let Action::StartEtcd {
            member,
            initial_cluster,
        } = &step.action
        else {
            panic!("start-etcd is not StartEtcd");
        };
        start_member(&context, host, member, initial_cluster)
    }
}

fn file<'r>(rendered: &'r Rendered, path: &str) -> &'r HostFile {
    rendered
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no file {path}"))
}

/// `--flag=value` pairs of the manifest's command (the manifest as a value).
fn flags(manifest: &Value) -> BTreeMap<String, String> {
    let command = manifest["spec"]["containers"][0]["command"]
        .as_array()
        .unwrap();
    assert_eq!(command[0], "etcd");
    command[1..]
        .iter()
        .map(|word| {
            let word = word.as_str().unwrap();
            let (flag, value) = word
                .strip_prefix("--")
                .and_then(|w| w.split_once('='))
                .unwrap_or_else(|| panic!("not --flag=value: {word}"));
            (flag.to_owned(), value.to_owned())
        })
        .collect()
}

fn manifest_of(fixture: &Fixture, member: &str) -> Value {
    let host = fixture
        .cluster
        .hosts()
        .into_iter()
        .find(|(h, _)| h.name.value == member)
        .unwrap()
        .0;
    let this = member_of(host, member).unwrap();
    let Action::StartEtcd {
        initial_cluster, ..
    } = &fixture
        .plan
        .hosts
        .iter()
        .find(|h| h.name == member)
        .unwrap()
        .steps
        .iter()
        .find(|s| s.id == "start-etcd")
        .unwrap()
        .action
    else {
        panic!()
    };
    static_pod(
        &this,
        initial_cluster,
        "prod-etcd",
        "registry.k8s.io/etcd:3.6.9-0",
    )
}

#[test]
fn a_member_gets_its_certificates_with_private_keys() {
    let fixture = Fixture::new(cluster());
    let rendered = fixture.start("etcd2").unwrap();
    let pki = fixture.bundle.etcd().unwrap();
    let member = pki.member("etcd2").unwrap();
    let expected = [
        (paths::ETCD_CA_CERT, pki.ca().certificate_pem(), 0o644),
        (
            paths::ETCD_SERVER_CERT,
            member.server().certificate_pem(),
            0o644,
        ),
        (
            paths::ETCD_SERVER_KEY,
            member.server().private_key_pem().expose(),
            0o600,
        ),
        (
            paths::ETCD_PEER_CERT,
            member.peer().certificate_pem(),
            0o644,
        ),
        (
            paths::ETCD_PEER_KEY,
            member.peer().private_key_pem().expose(),
            0o600,
        ),
        (
            paths::ETCD_HEALTHCHECK_CLIENT_CERT,
            pki.healthcheck_client().certificate_pem(),
            0o644,
        ),
        (
            paths::ETCD_HEALTHCHECK_CLIENT_KEY,
            pki.healthcheck_client().private_key_pem().expose(),
            0o600,
        ),
    ];
    for (path, content, mode) in expected {
        let file = file(&rendered, path);
        assert_eq!(file.content, content, "{path}");
        assert_eq!(file.permissions, mode, "{path}");
        assert_eq!(file.owner, "root:root");
    }
    // Only what a member needs: no CA key, no other member's pairs, no API server pair.
    let everything: String = rendered.files.iter().map(|f| f.content.as_str()).collect();
    assert!(!everything.contains(pki.ca().private_key_pem().expose()));
    assert!(!everything.contains(pki.apiserver_etcd_client().certificate_pem()));
    for other in ["etcd1", "etcd3"] {
        assert!(!everything.contains(pki.member(other).unwrap().server().certificate_pem()));
    }
    assert_eq!(file(&rendered, paths::ETCD_MANIFEST).permissions, 0o600);
}

#[test]
fn every_member_starts_with_the_same_cluster_and_its_own_urls() {
    let fixture = Fixture::new(cluster());
    let all: Vec<BTreeMap<String, String>> = ["etcd1", "etcd2", "etcd3"]
        .iter()
        .map(|m| flags(&manifest_of(&fixture, m)))
        .collect();
    let initial =
        "etcd1=https://10.0.1.31:2380,etcd2=https://10.0.1.32:2380,etcd3=https://[fd00::33]:2380";
    for flags in &all {
        assert_eq!(flags["initial-cluster"], initial);
        assert_eq!(flags["initial-cluster-state"], "new");
        assert_eq!(flags["initial-cluster-token"], "prod-etcd");
        assert_eq!(flags["client-cert-auth"], "true");
        assert_eq!(flags["peer-client-cert-auth"], "true");
        assert_eq!(flags["trusted-ca-file"], paths::ETCD_CA_CERT);
        assert_eq!(flags["peer-trusted-ca-file"], paths::ETCD_CA_CERT);
        assert_eq!(flags["cert-file"], paths::ETCD_SERVER_CERT);
        assert_eq!(flags["key-file"], paths::ETCD_SERVER_KEY);
        assert_eq!(flags["peer-cert-file"], paths::ETCD_PEER_CERT);
        assert_eq!(flags["peer-key-file"], paths::ETCD_PEER_KEY);
        assert_eq!(flags["data-dir"], "/var/lib/etcd");
        assert_eq!(flags["listen-metrics-urls"], "http://127.0.0.1:2381");
    }
    let member = &all[1];
    assert_eq!(member["name"], "etcd2");
    assert_eq!(member["listen-client-urls"], "https://10.0.1.32:2379");
    assert_eq!(member["advertise-client-urls"], "https://10.0.1.32:2379");
    assert_eq!(member["listen-peer-urls"], "https://10.0.1.32:2380");
    assert_eq!(
        member["initial-advertise-peer-urls"],
        "https://10.0.1.32:2380"
    );
    // the advertised peer URL is this member's entry of the initial cluster
    assert!(
        member["initial-cluster"]
            .split(',')
            .any(|e| e == format!("etcd2={}", member["initial-advertise-peer-urls"]))
    );
    let v6 = &all[2];
    assert_eq!(v6["listen-client-urls"], "https://[fd00::33]:2379");
    assert_eq!(v6["initial-advertise-peer-urls"], "https://[fd00::33]:2380");
}

#[test]
fn the_pod_is_the_one_kubeadm_writes() {
    let fixture = Fixture::new(cluster());
    let manifest = manifest_of(&fixture, "etcd1");
    let container = &manifest["spec"]["containers"][0];
    assert_eq!(manifest["metadata"]["namespace"], "kube-system");
    assert_eq!(manifest["spec"]["hostNetwork"], true);
    assert_eq!(
        manifest["spec"]["priorityClassName"],
        "system-node-critical"
    );
    let liveness = &container["livenessProbe"];
    assert_eq!(liveness["httpGet"]["path"], "/livez");
    assert_eq!(liveness["httpGet"]["host"], "127.0.0.1");
    assert_eq!(liveness["httpGet"]["port"], 2381);
    assert_eq!(liveness["failureThreshold"], 8);
    assert_eq!(liveness["periodSeconds"], 10);
    assert_eq!(container["startupProbe"]["httpGet"]["path"], "/readyz");
    // the probes ask the metrics listener the command opens
    assert_eq!(
        flags(&manifest)["listen-metrics-urls"],
        format!(
            "http://{}:{}",
            liveness["httpGet"]["host"].as_str().unwrap(),
            liveness["httpGet"]["port"]
        )
    );
    // every mount has its volume, and the mounts hold the data and certificate paths
    let volumes: Vec<&str> = manifest["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for mount in container["volumeMounts"].as_array().unwrap() {
        assert!(volumes.contains(&mount["name"].as_str().unwrap()));
    }
    let flags = flags(&manifest);
    for path in [
        &flags["data-dir"],
        &flags["cert-file"],
        &flags["peer-key-file"],
    ] {
        assert!(
            container["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| path.starts_with(m["mountPath"].as_str().unwrap())),
            "{path} is not mounted"
        );
    }
}

#[test]
fn the_image_follows_kubeadm_for_the_minor() {
    let version = |minor| crate::model::version::KubernetesVersion {
        major: 1,
        minor,
        patch: 0,
    };
    assert_eq!(etcd_image(version(36)), "registry.k8s.io/etcd:3.6.9-0");
    assert_eq!(etcd_image(version(34)), "registry.k8s.io/etcd:3.6.9-0");
    assert_eq!(etcd_image(version(33)), "registry.k8s.io/etcd:3.5.24-0");
    // outside the table: the nearest entry, as kubeadm
    assert_eq!(etcd_image(version(37)), "registry.k8s.io/etcd:3.6.9-0");
    assert_eq!(etcd_image(version(28)), "registry.k8s.io/etcd:3.5.24-0");
    let fixture = Fixture::new(cluster());
    let rendered = fixture.start("etcd1").unwrap();
    assert!(
        file(&rendered, paths::ETCD_MANIFEST)
            .content
            .contains("image: registry.k8s.io/etcd:3.6.9-0")
    );
}

#[test]
fn the_standalone_kubelet_configuration_is_valid_and_has_no_api_server() {
    let config = kubelet_configuration();
    let problems = validate::kubeadm(
        "KubeletConfiguration",
        "kubelet.config.k8s.io/v1beta1",
        &config,
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(config["authentication"]["anonymous"]["enabled"], false);
    assert_eq!(config["authentication"]["webhook"]["enabled"], false);
    assert_eq!(config["authorization"]["mode"], "AlwaysAllow");
    assert_eq!(config["cgroupDriver"], "systemd");
    assert_eq!(config["staticPodPath"], paths::MANIFESTS_DIR);
    assert!(
        paths::ETCD_MANIFEST.starts_with(&format!("{}/", paths::MANIFESTS_DIR)),
        "the manifest is not where the kubelet looks"
    );

    let drop_in = kubelet_drop_in();
    let exec: Vec<&str> = drop_in
        .lines()
        .filter(|l| l.starts_with("ExecStart="))
        .collect();
    // an empty ExecStart= first clears the packaged command line
    assert_eq!(
        exec,
        [
            "ExecStart=",
            "ExecStart=/usr/bin/kubelet --config=/etc/hac/etcd-kubelet.yaml"
        ]
    );
    assert!(drop_in.contains("\nRestart=always\n"));
    assert!(paths::ETCD_KUBELET_DROP_IN.starts_with("/etc/systemd/system/kubelet.service.d/2"));
    assert!(!paths::ETCD_KUBELET_CONFIG.starts_with("/etc/systemd/"));
}

#[test]
fn the_step_starts_the_kubelet_after_writing_its_files() {
    let fixture = Fixture::new(cluster());
    let rendered = fixture.start("etcd1").unwrap();
    let body = rendered.body.join("\n");
    let restart = body.find("systemctl restart kubelet").expect("restart");
    assert!(body.find("systemctl daemon-reload").unwrap() < restart);
    assert!(body.contains("install -d -m 0700 /var/lib/etcd"));
}

#[test]
fn certificates_for_another_address_are_refused() {
    let mut fixture = Fixture::new(cluster());
    // the bundle was issued before etcd2 moved
    let mut json = base();
    set(
        &mut json,
        "etcd",
        json!({ "external": [
            { "name": "etcd1", "address": "10.0.1.31" },
            { "name": "etcd2", "address": "10.0.1.42" },
            { "name": "etcd3", "address": "fd00::33" },
        ]}),
    );
    fixture.cluster = check_cluster(&value(json)).0.unwrap();
    fixture.plan = plan(&fixture.cluster);
    let error = fixture.start("etcd2").unwrap_err();
    assert_eq!(
        error.message,
        "the certificates of etcd member `etcd2` were issued for `10.0.1.32`, not `10.0.1.42`"
    );
    assert!(error.help.unwrap().contains("hac build"));
}

#[test]
fn the_quorum_step_asks_this_member_for_the_list() {
    let fixture = Fixture::new(cluster());
    let context = fixture.context();
    let rendered = confirm_quorum(&context, context.host("etcd3").unwrap()).unwrap();
    let body = rendered.body.join("\n");
    assert!(body.contains("https://[fd00::33]:2379/v3/cluster/member/list"));
    assert!(body.contains("--cert /etc/kubernetes/pki/etcd/healthcheck-client.crt"));
    assert!(body.contains(r#"*'"name":"etcd3"'*"#), "{body}");
}
