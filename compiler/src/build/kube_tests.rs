//! Tests of the node, kubeadm and CNI steps: the kubeadm documents validate and read
//! back exactly, the rendered steps pass shellcheck and `bash -n` inside a complete
//! bootstrap script, and hostile values arrive verbatim or are refused.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::emit::bootstrap;
use crate::emit::validate;
use crate::model::testing::{EMPTY_SHA256, base, set, value};
use crate::model::{Encapsulation, check_cluster};
use crate::plan::{Action, HostPlan};

use super::fixture::Fixture;
use super::kubeadm_config::{self, Api};
use super::versions::{self, Artefact};
use super::{HostFile, Rendered, cni, kubeadm, node, paths, waits};

impl Fixture {
    /// The steps this helper renders, for one host: (step id, rendered with waits).
    fn render_host(&self, plan_host: &HostPlan) -> Vec<(&'static str, Rendered)> {
        let context = self.context();
        let host = context.host(&plan_host.name).unwrap();
        let mut out = Vec::new();
        for step in &plan_host.steps {
            let rendered = match &step.action {
                Action::InstallPackages { packages } => {
                    node::install_packages(&context, host, plan_host, packages)
                }
                Action::KubeadmInit { upload_certs } => {
                    kubeadm::init(&context, host, *upload_certs)
                }
                Action::KubeadmJoin { control_plane } => {
                    kubeadm::join(&context, host, *control_plane)
                }
                Action::InstallCni { cni, pods } => cni::install(&context, cni, pods),
                _ => continue,
            }
            .unwrap_or_else(|e| panic!("{} {}: {e}", plan_host.name, step.id));
            let waited = waits::render(&context, &plan_host.name, &step.waits_for).unwrap();
            let mut body = waited.body;
            body.extend(rendered.body);
            let mut files = waited.files;
            files.extend(rendered.files);
            out.push((step.id, Rendered::new(files, body)));
        }
        out
    }

    fn all(&self) -> Vec<(String, Vec<(&'static str, Rendered)>)> {
        self.plan
            .hosts
            .iter()
            .map(|h| (h.name.clone(), self.render_host(h)))
            .collect()
    }

    fn host_steps(&self, name: &str) -> Vec<(&'static str, Rendered)> {
        let plan_host = self.plan.hosts.iter().find(|h| h.name == name).unwrap();
        self.render_host(plan_host)
    }
}

fn file<'a>(rendered: &'a Rendered, path: &str) -> &'a HostFile {
    rendered
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no file {path}"))
}

fn step<'a>(steps: &'a [(&'static str, Rendered)], id: &str) -> &'a Rendered {
    &steps
        .iter()
        .find(|(s, _)| *s == id)
        .unwrap_or_else(|| panic!("no step {id}"))
        .1
}

fn run_tool(program: &str, args: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} must be installed for this test: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Every document of a YAML stream as PyYAML's `safe_load_all` reads it.
fn pyyaml(text: &str) -> Vec<Value> {
    let (ok, out) = run_tool(
        "python3",
        &[
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))",
        ],
        text,
    );
    assert!(ok, "PyYAML cannot read:\n{text}\n{out}");
    serde_json::from_str::<Vec<Value>>(&out).unwrap()
}

fn check_script(name: &str, steps: &[(&'static str, Rendered)]) {
    let script_steps: Vec<bootstrap::Step> = steps
        .iter()
        .map(|(id, r)| bootstrap::Step::new(*id, r.body.clone()))
        .collect();
    let script = bootstrap::script_with_library(&script_steps, waits::PROBES).unwrap();
    let (ok, out) = run_tool("bash", &["-n"], &script);
    assert!(ok, "{name}: bash -n fails:\n{out}\n{script}");
    let (ok, out) = run_tool(
        "shellcheck",
        &["--shell=bash", "--severity=style", "-"],
        &script,
    );
    assert!(ok, "{name}: shellcheck complains:\n{out}\n{script}");
}

fn with(changes: &[(&str, Value)]) -> Value {
    let mut json = base();
    for (path, new) in changes {
        set(&mut json, path, new.clone());
    }
    json
}

fn external_etcd() -> Value {
    with(&[(
        "etcd",
        json!({ "external": [
            { "name": "etcd1", "address": "10.0.0.31" },
            { "name": "etcd2", "address": "10.0.0.32" },
            { "name": "etcd3", "address": "10.0.0.33" }
        ]}),
    )])
}

fn varied() -> Vec<(&'static str, Value)> {
    vec![
        ("base", base()),
        ("external etcd", external_etcd()),
        (
            "calico on debian 12 with 1.30",
            with(&[
                ("kubernetes", json!("1.30.4")),
                ("os", json!("debian-12")),
                (
                    "network",
                    json!({ "cni": "calico", "pods": "192.168.0.0/16" }),
                ),
            ]),
        ),
        (
            "cilium on ubuntu 22.04 with mirrors",
            with(&[
                ("os", json!("ubuntu-22.04")),
                ("network", json!({ "cni": "cilium" })),
                (
                    "containerd",
                    json!({ "registryMirrors": { "docker.io": ["https://mirror.example.com"] } }),
                ),
                (
                    "packages",
                    json!({ "mirror": "https://pkgs.mirror.example.com/k8s" }),
                ),
                (
                    "proxy",
                    json!({
                        "http": "http://proxy.example.com:3128",
                        "https": "http://proxy.example.com:3128",
                        "noProxy": ["pkgs.mirror.example.com", ".corp.example.com"]
                    }),
                ),
            ]),
        ),
        (
            "ipv6 with calico and DNS-named workers",
            json!({
                "name": "six",
                "kubernetes": "1.35.2",
                "endpoint": "[fd00::100]:6443",
                "network": { "cni": "calico", "pods": "fd00:10:244::/56", "services": "fd00:10:96::/112" },
                "versions": base()["versions"],
                "controlplanes": [
                    { "name": "cp1", "address": "fd00::11" },
                    { "name": "cp2", "address": "fd00::12" },
                    { "name": "cp3", "address": "fd00::13" }
                ],
                "workers": [
                    { "name": "w1", "address": "w1.example.com" },
                    { "name": "w2", "address": "fd00::22" }
                ]
            }),
        ),
        (
            "control-plane settings, encryption, own audit rules",
            with(&[(
                "controlplane",
                json!({
                    "apiserver": { "extraArgs": { "profiling": false, "audit-log-compress": true } },
                    "controllermanager": { "extraArgs": { "terminated-pod-gc-threshold": 50 } },
                    "scheduler": { "extraArgs": { "v": 2 } },
                    "audit": { "rules": [{ "level": "Metadata" }], "maxBackups": 3 },
                    "encryptSecrets": true
                }),
            )]),
        ),
        (
            "colocated, no cni, debian 13",
            with(&[
                ("os", json!("debian-13")),
                ("network", json!({ "cni": "none" })),
                (
                    "loadbalancer",
                    json!({ "colocated": true, "vip": "10.0.0.100", "port": 8443 }),
                ),
            ]),
        ),
    ]
}

#[test]
fn every_rendered_step_passes_shellcheck_and_bash_n() {
    for (name, json) in varied() {
        let fixture = Fixture::new(json);
        for (host, steps) in fixture.all() {
            check_script(&format!("{name}, {host}"), &steps);
        }
    }
}

/// (kind, apiVersion) of a document.
fn kind_of(doc: &Value) -> (&str, &str) {
    (
        doc["kind"].as_str().unwrap(),
        doc["apiVersion"].as_str().unwrap(),
    )
}

#[test]
fn every_v1beta4_kubeadm_document_validates_and_reads_back_exactly() {
    for (name, json) in varied() {
        let fixture = Fixture::new(json);
        if Api::of(&fixture.cluster) != Api::V1beta4 {
            continue;
        }
        let mut seen = 0;
        for (host, steps) in fixture.all() {
            for (_, rendered) in &steps {
                for file in &rendered.files {
                    if file.path != paths::KUBEADM_CONFIG && file.path != paths::KUBEADM_JOIN_CONFIG
                    {
                        continue;
                    }
                    assert_eq!(file.permissions, 0o600, "{name} {host} {}", file.path);
                    for doc in pyyaml(&file.content) {
                        let (kind, version) = kind_of(&doc);
                        let problems = validate::kubeadm(kind, version, &doc);
                        assert!(problems.is_empty(), "{name} {host} {kind}: {problems:#?}");
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen >= 4, "{name}: only {seen} documents");
    }
}

#[test]
fn generated_documents_are_what_pyyaml_reads() {
    for (name, json) in varied() {
        let fixture = Fixture::new(json);
        let context = fixture.context();
        for plan_host in &fixture.plan.hosts {
            let host = context.host(&plan_host.name).unwrap();
            for (id, rendered) in fixture.render_host(plan_host) {
                let expected = match id {
                    "kubeadm-init" => kubeadm_config::init_documents(&context, host).unwrap(),
                    "kubeadm-join" => {
                        let control_plane = plan_host
                            .roles
                            .contains(&crate::plan::PlanRole::ControlPlane);
                        vec![kubeadm_config::join_document(&context, host, control_plane).unwrap()]
                    }
                    _ => continue,
                };
                let written = pyyaml(&file(&rendered, paths::KUBEADM_CONFIG).content);
                assert_eq!(written, expected, "{name}, {}", plan_host.name);
            }
        }
    }
}

#[test]
fn init_configuration_carries_the_seeded_secrets_and_the_cluster() {
    let fixture = Fixture::new(external_etcd());
    let context = fixture.context();
    let docs = kubeadm_config::init_documents(&context, context.host("cp1").unwrap()).unwrap();
    let init = &docs[0];
    let bundle = &fixture.bundle;
    assert_eq!(
        init["bootstrapTokens"][0]["token"],
        json!(bundle.join_token(context.built_at).token().expose())
    );
    assert_eq!(init["bootstrapTokens"][0]["ttl"], json!("24h0m0s"));
    assert_eq!(
        init["bootstrapTokens"][0]["groups"],
        json!([kubeadm_config::DEFAULT_NODE_TOKEN_GROUP])
    );
    assert_eq!(
        init["certificateKey"],
        json!(bundle.certificate_key().expose())
    );
    assert_eq!(init["nodeRegistration"]["name"], json!("cp1"));
    assert_eq!(
        init["nodeRegistration"]["criSocket"],
        json!(paths::CONTAINERD_SOCKET)
    );
    assert_eq!(
        init["nodeRegistration"]["kubeletExtraArgs"],
        json!([{ "name": "node-ip", "value": "10.0.0.11" }])
    );
    assert_eq!(
        init["localAPIEndpoint"],
        json!({ "advertiseAddress": "10.0.0.11", "bindPort": 6443 })
    );
    // No `taints` key: kubeadm's default control-plane taint applies.
    assert!(init["nodeRegistration"].get("taints").is_none());

    let cluster = &docs[1];
    assert_eq!(cluster["kubernetesVersion"], json!("v1.36.1"));
    assert_eq!(cluster["clusterName"], json!("prod"));
    assert_eq!(
        cluster["controlPlaneEndpoint"],
        json!("api.prod.example.com:6443")
    );
    assert_eq!(
        cluster["networking"],
        json!({ "podSubnet": "10.244.0.0/16", "serviceSubnet": "10.96.0.0/12", "dnsDomain": "cluster.local" })
    );
    assert_eq!(
        cluster["apiServer"]["certSANs"],
        json!([
            "api.prod.example.com",
            "10.0.0.100",
            "10.0.0.11",
            "10.0.0.12",
            "10.0.0.13"
        ])
    );
    assert_eq!(
        cluster["encryptionAlgorithm"],
        json!(bundle.key_algorithm().kubeadm_name())
    );
    assert_eq!(
        cluster["etcd"]["external"],
        json!({
            "endpoints": ["https://10.0.0.31:2379", "https://10.0.0.32:2379", "https://10.0.0.33:2379"],
            "caFile": paths::ETCD_CA_CERT,
            "certFile": paths::APISERVER_ETCD_CLIENT_CERT,
            "keyFile": paths::APISERVER_ETCD_CLIENT_KEY,
        })
    );
    assert_eq!(docs[2]["cgroupDriver"], json!("systemd"));
}

/// No token hac makes lives longer than a window and its grace (13 days): a
/// `tokenTTL` of 0 or one longer than that is cut to it.
#[test]
fn the_seeded_token_never_outlives_its_window() {
    for ttl in [json!(0), json!("2000h")] {
        let fixture = Fixture::new(with(&[("bootstrap", json!({ "tokenTTL": ttl }))]));
        let context = fixture.context();
        let docs = kubeadm_config::init_documents(&context, context.host("cp1").unwrap()).unwrap();
        assert_eq!(docs[0]["bootstrapTokens"][0]["ttl"], json!("312h0m0s"));
    }
}

#[test]
fn join_configurations_pin_the_ca_and_differ_for_control_planes() {
    let fixture = Fixture::new(base());
    let context = fixture.context();
    let worker =
        kubeadm_config::join_document(&context, context.host("w1").unwrap(), false).unwrap();
    let token = &worker["discovery"]["bootstrapToken"];
    assert_eq!(
        token["apiServerEndpoint"],
        json!("api.prod.example.com:6443")
    );
    assert_eq!(
        token["caCertHashes"],
        json!([fixture.bundle.discovery_hash()])
    );
    assert!(worker.get("controlPlane").is_none());
    let cp = kubeadm_config::join_document(&context, context.host("cp2").unwrap(), true).unwrap();
    assert_eq!(
        cp["controlPlane"],
        json!({
            "localAPIEndpoint": { "advertiseAddress": "10.0.0.12", "bindPort": 6443 },
            "certificateKey": fixture.bundle.certificate_key().expose(),
        })
    );
    assert_eq!(cp["timeouts"]["etcdAPICall"], json!("5m0s"));
}

#[test]
fn v1beta3_uses_maps_and_its_own_timeout_fields() {
    let fixture = Fixture::new(with(&[
        ("kubernetes", json!("1.30.4")),
        (
            "workers.0",
            json!({ "name": "w1", "address": "10.0.0.21", "labels": { "tier": "web" },
                    "kubelet": { "extraArgs": { "max-pods": 50 } } }),
        ),
    ]));
    let context = fixture.context();
    let docs = kubeadm_config::init_documents(&context, context.host("cp1").unwrap()).unwrap();
    assert_eq!(docs[0]["apiVersion"], json!("kubeadm.k8s.io/v1beta3"));
    assert_eq!(docs[1]["apiVersion"], json!("kubeadm.k8s.io/v1beta3"));
    assert_eq!(
        docs[0]["nodeRegistration"]["kubeletExtraArgs"],
        json!({ "node-ip": "10.0.0.11" })
    );
    assert!(docs[0].get("timeouts").is_none());
    assert!(docs[1].get("encryptionAlgorithm").is_none());
    assert_eq!(
        docs[1]["apiServer"]["timeoutForControlPlane"],
        json!("10m0s")
    );
    let join = kubeadm_config::join_document(&context, context.host("w1").unwrap(), false).unwrap();
    assert_eq!(join["apiVersion"], json!("kubeadm.k8s.io/v1beta3"));
    assert!(join.get("timeouts").is_none());
    assert_eq!(join["discovery"]["timeout"], json!("10m0s"));
    assert_eq!(
        join["nodeRegistration"]["kubeletExtraArgs"],
        json!({ "max-pods": "50", "node-ip": "10.0.0.21", "node-labels": "tier=web" })
    );
    // The step renders no `config validate` for kubeadm releases without v1beta4.
    let steps = fixture.host_steps("cp1");
    assert!(
        !step(&steps, "kubeadm-init")
            .body
            .iter()
            .any(|l| l.contains("config validate"))
    );
}

#[test]
fn hostile_kubelet_args_labels_and_taints_arrive_verbatim() {
    // Everything YAML and bash treat specially that kubeadm still passes through
    // verbatim (whitespace, quotes, `$` and backslashes are refused by the model).
    let hostile = "a;b|c&d#{x:y}-[1]*!%@>pwned<~^?,:=";
    let fixture = Fixture::new(with(&[
        ("kubelet", json!({ "extraArgs": { "v": hostile } })),
        (
            "workers.0",
            json!({
                "name": "w1", "address": "10.0.0.21",
                "labels": { "example.com/tier": "web-1.a_b" },
                "taints": ["dedicated=infra:NoSchedule", "gpu:NoExecute"],
                "kubelet": { "extraArgs": { "node-status-update-frequency": "10s" } }
            }),
        ),
    ]));
    for (host, steps) in fixture.all() {
        check_script(&host, &steps);
    }
    let steps = fixture.host_steps("w1");
    let config = &file(step(&steps, "kubeadm-join"), paths::KUBEADM_CONFIG).content;
    let docs = pyyaml(config);
    let registration = &docs[0]["nodeRegistration"];
    assert_eq!(
        registration["kubeletExtraArgs"],
        json!([
            { "name": "node-ip", "value": "10.0.0.21" },
            { "name": "node-labels", "value": "example.com/tier=web-1.a_b" },
            { "name": "node-status-update-frequency", "value": "10s" },
            { "name": "v", "value": hostile },
        ])
    );
    assert_eq!(
        registration["taints"],
        json!([
            { "key": "dedicated", "value": "infra", "effect": "NoSchedule" },
            { "key": "gpu", "effect": "NoExecute" },
        ])
    );
    let problems = validate::kubeadm("JoinConfiguration", "kubeadm.k8s.io/v1beta4", &docs[0]);
    assert!(problems.is_empty(), "{problems:#?}");
    // Nothing of it reaches bash.
    assert!(
        !step(&steps, "kubeadm-join")
            .body
            .iter()
            .any(|l| l.contains("pwned"))
    );
}

#[test]
fn an_empty_taint_list_is_kept_for_untainted_control_planes() {
    let fixture = Fixture::new(with(&[(
        "controlplanes.0",
        json!({ "name": "cp1", "address": "10.0.0.11", "taints": [] }),
    )]));
    let context = fixture.context();
    let docs = kubeadm_config::init_documents(&context, context.host("cp1").unwrap()).unwrap();
    assert_eq!(docs[0]["nodeRegistration"]["taints"], json!([]));
}

#[test]
fn hostile_mirrors_and_flags_are_refused_by_the_model() {
    for (path, bad) in [
        ("packages", json!({ "mirror": "https://x/$(id)" })),
        (
            "containerd",
            json!({ "registryMirrors": { "docker.io": ["https://x\"]\n"] } }),
        ),
        ("kubelet", json!({ "extraArgs": { "v": "1\nrm -rf /" } })),
        ("kubelet", json!({ "extraArgs": { "node-ip": "10.0.0.1" } })),
        // kubeadm joins the flags with spaces and systemd splits, unquotes and expands
        // them: each of these would reach the kubelet as something else.
        (
            "kubelet",
            json!({ "extraArgs": { "max-pods": "110 --node-labels=node-role.kubernetes.io/control-plane=" } }),
        ),
        (
            "kubelet",
            json!({ "extraArgs": { "v": "$(touch /tmp/pwned)" } }),
        ),
        ("kubelet", json!({ "extraArgs": { "v": "a'b" } })),
        ("kubelet", json!({ "extraArgs": { "v": "a\"b" } })),
        ("kubelet", json!({ "extraArgs": { "v": "a\\b" } })),
        ("kubelet", json!({ "extraArgs": { "v": "a\tb" } })),
        ("packages", json!({ "mirror": "http://mirror.example.com" })),
        (
            "containerd",
            json!({ "registryMirrors": { "docker.io": ["http://registry.local"] } }),
        ),
    ] {
        let (cluster, _) = check_cluster(&value(with(&[(path, bad.clone())])));
        assert!(cluster.is_none(), "{path} = {bad} was accepted");
    }
}

#[test]
fn the_first_control_plane_ships_the_seeded_pki_and_never_inits_twice() {
    let fixture = Fixture::new(external_etcd());
    let steps = fixture.host_steps("cp1");
    let init = step(&steps, "kubeadm-init");
    let ca = fixture.bundle.cluster_ca();
    assert_eq!(file(init, paths::CLUSTER_CA_CERT).permissions, 0o644);
    assert_eq!(
        file(init, paths::CLUSTER_CA_CERT).content,
        ca.certificate_pem()
    );
    assert_eq!(file(init, paths::CLUSTER_CA_KEY).permissions, 0o600);
    assert_eq!(
        file(init, paths::CLUSTER_CA_KEY).content,
        ca.private_key_pem().expose()
    );
    assert_eq!(file(init, paths::CLUSTER_CA_PUBLIC).permissions, 0o644);
    assert_eq!(file(init, paths::ETCD_CA_CERT).permissions, 0o644);
    assert_eq!(
        file(init, paths::APISERVER_ETCD_CLIENT_CERT).permissions,
        0o644
    );
    assert_eq!(
        file(init, paths::APISERVER_ETCD_CLIENT_KEY).permissions,
        0o600
    );
    assert!(init.files.iter().all(|f| f.path != paths::ETCD_CA_KEY));
    let etcd = fixture.bundle.etcd().unwrap();
    assert!(
        init.files
            .iter()
            .all(|f| !f.content.contains(etcd.ca().private_key_pem().expose()))
    );
    let join = pyyaml(&file(init, paths::KUBEADM_JOIN_CONFIG).content);
    assert!(join[0]["controlPlane"].is_object());

    let body = init.body.join("\n");
    assert_eq!(
        body.matches("hac_kubeadm_attempt init").count(),
        1,
        "{body}"
    );
    assert!(body.contains("--upload-certs"));
    assert!(body.contains(paths::KUBEADM_DONE_MARKER));
    // Whether the cluster already runs is asked through the endpoint and every other
    // control plane's own address, several times.
    assert!(
        body.contains("hac_cluster_urls=(https://api.prod.example.com:6443/readyz https://10.0.0.12:6443/readyz https://10.0.0.13:6443/readyz)"),
        "{body}"
    );
    assert!(body.contains("hac_cluster_answers 6 10; then"), "{body}");
    assert!(body.contains("systemctl enable --now hac-keeper.timer"));
    assert!(body.contains(
        "kubeadm config validate --config /etc/hac/kubeadm.yaml || hac_fail kubeadm-config-invalid"
    ));
    assert!(body.contains("kubeadm reset -f"));
    assert!(body.contains("retry 3 30 hac_kubeadm_attempt init"));
    assert!(body.contains("/root/.kube/config"));
    // Stacked etcd: no etcd files at all.
    let stacked = Fixture::new(base());
    let steps = stacked.host_steps("cp1");
    assert!(
        step(&steps, "kubeadm-init")
            .files
            .iter()
            .all(|f| !f.path.contains("etcd"))
    );
}

#[test]
fn workers_join_without_pki_and_without_admin_kubeconfig() {
    let fixture = Fixture::new(base());
    let steps = fixture.host_steps("w1");
    let join = step(&steps, "kubeadm-join");
    assert!(
        join.files
            .iter()
            .all(|f| !f.path.starts_with(paths::PKI_DIR))
    );
    let body = join.body.join("\n");
    assert!(body.contains("retry 5 30 hac_kubeadm_attempt join --config /etc/hac/kubeadm.yaml"));
    assert!(!body.contains("/root/.kube"));
    let steps = fixture.host_steps("cp2");
    assert!(
        step(&steps, "kubeadm-join")
            .body
            .join("\n")
            .contains("/root/.kube/config")
    );
}

#[test]
fn kubernetes_hosts_get_the_pinned_repository_and_prepared_kernel() {
    let fixture = Fixture::new(with(&[(
        "packages",
        json!({ "mirror": "https://pkgs.mirror.example.com/k8s" }),
    )]));
    let steps = fixture.host_steps("w1");
    let install = step(&steps, "install-packages");
    let body = install.body.join("\n");
    for expected in [
        "swapoff -a",
        "/etc/fstab",
        "modprobe br_netfilter",
        "sysctl --system",
        "https://pkgs.mirror.example.com/k8s/core:/stable:/v1.36/deb/Release.key",
        "'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.mirror.example.com/k8s/core:/stable:/v1.36/deb/ /'",
        "gpg --batch --yes --dearmor",
        "kubelet_version=$(retry 5 10 hac_package_version kubelet 1.36.1) || hac_fail package-missing",
        "kubelet=\"$kubelet_version\"",
        "apt-mark hold kubelet kubeadm kubectl",
        "install --no-install-recommends ca-certificates curl gpg\n",
        "hac_apt_install --no-install-recommends containerd",
        "retry 5 10 hac_apt_update",
        "hac_apt update --error-on=any",
        "containerd --version",
        "[[ $os_release != 'ubuntu 24.04' ]]",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in\n{body}");
    }
    assert!(!body.contains("/dev/null]"));
    assert!(!body.contains("pkgs.k8s.io"));
    let modules = file(install, paths::KERNEL_MODULES_CONFIG);
    assert!(modules.content.contains("overlay\nbr_netfilter\n"));
    let sysctl = &file(install, paths::SYSCTL_CONFIG).content;
    for setting in [
        "net.bridge.bridge-nf-call-iptables = 1",
        "net.bridge.bridge-nf-call-ip6tables = 1",
        "net.ipv4.ip_forward = 1",
    ] {
        assert!(sysctl.contains(setting), "{sysctl}");
    }
    // 1.36 needs containerd 2: only its configuration ships, and where the OS
    // packages 1.x, the pinned upstream release is installed.
    file(install, paths::CONTAINERD_CONFIG_V2);
    assert!(
        !install
            .files
            .iter()
            .any(|f| f.path == paths::CONTAINERD_CONFIG_V1)
    );
    assert!(body.contains("needs containerd 2.x"));
    let containerd = Artefact::Containerd;
    let version = containerd.default_version(fixture.cluster.kubernetes.value.minor);
    for arch in ["amd64", "arm64"] {
        let url = containerd.url(version, arch).expect("a URL");
        let digest = containerd
            .pinned_sha256(version, arch)
            .expect("a recorded digest");
        assert!(
            body.contains(&format!("hac_download 300 {url} {digest} ")),
            "{body}"
        );
    }
    // hac's unit, not a download.
    assert!(!body.contains("containerd.service'"));
    assert_eq!(
        file(install, paths::CONTAINERD_UNIT_SOURCE).content,
        node::CONTAINERD_UNIT
    );
}

#[test]
fn containerd_1_is_configured_for_older_kubernetes() {
    let fixture = Fixture::new(with(&[("kubernetes", json!("1.33.2"))]));
    let steps = fixture.host_steps("w1");
    let install = step(&steps, "install-packages");
    let body = install.body.join("\n");
    file(install, paths::CONTAINERD_CONFIG_V1);
    file(install, paths::CONTAINERD_CONFIG_V2);
    assert!(body.contains(&format!(
        "1) containerd_config={}",
        paths::CONTAINERD_CONFIG_V1
    )));
    assert!(body.contains(&format!(
        "2) containerd_config={}",
        paths::CONTAINERD_CONFIG_V2
    )));
}

#[test]
fn etcd_members_are_prepared_without_kubectl_and_load_balancers_only_install() {
    let fixture = Fixture::new(external_etcd());
    let steps = fixture.host_steps("etcd1");
    let body = step(&steps, "install-packages").body.join("\n");
    assert!(
        body.contains("apt-mark hold kubelet kubeadm\n")
            || body.ends_with("apt-mark hold kubelet kubeadm")
    );
    assert!(body.contains("modprobe br_netfilter"));
    assert!(!body.contains("kubectl"));
    let steps = fixture.host_steps("lb1");
    let lb = step(&steps, "install-packages");
    let body = lb.body.join("\n");
    assert!(
        body.contains("install --no-install-recommends ca-certificates curl haproxy keepalived"),
        "{body}"
    );
    assert!(body.contains("--force-confold"));
    assert!(!body.contains("swapoff") && !body.contains("kubeadm"));
    assert!(lb.files.is_empty());
}

#[test]
fn every_os_is_checked_at_boot() {
    for (os, expected) in [
        ("ubuntu-22.04", "ubuntu 22.04"),
        ("ubuntu-24.04", "ubuntu 24.04"),
        ("debian-12", "debian 12"),
        ("debian-13", "debian 13"),
    ] {
        let fixture = Fixture::new(with(&[("os", json!(os))]));
        let steps = fixture.host_steps("lb1");
        let body = step(&steps, "install-packages").body.join("\n");
        assert!(
            body.contains(&format!("[[ $os_release != '{expected}' ]]")),
            "{body}"
        );
    }
}

#[test]
fn flannel_gets_the_pod_cidr_through_a_kustomize_patch() {
    let fixture = Fixture::new(with(&[(
        "network",
        json!({ "cni": "flannel", "pods": "10.50.0.0/16" }),
    )]));
    let steps = fixture.host_steps("cp1");
    let cni = step(&steps, "install-cni");
    let dir = format!("{}/flannel", paths::CNI_MANIFESTS_DIR);
    let kustomization = pyyaml(&file(cni, &format!("{dir}/kustomization.yaml")).content);
    assert_eq!(kustomization[0]["resources"], json!(["kube-flannel.yml"]));
    assert_eq!(
        kustomization[0]["patches"][0],
        json!({ "path": "net-conf.yaml" })
    );
    let patch = pyyaml(&file(cni, &format!("{dir}/net-conf.yaml")).content);
    assert_eq!(patch[0]["metadata"]["name"], json!("kube-flannel-cfg"));
    let net_conf: Value =
        serde_json::from_str(patch[0]["data"]["net-conf.json"].as_str().unwrap()).unwrap();
    assert_eq!(net_conf["Network"], json!("10.50.0.0/16"));
    assert_eq!(net_conf["Backend"]["Type"], json!("vxlan"));
    let body = cni.body.join("\n");
    let flannel = Artefact::Flannel;
    let minor = fixture.cluster.kubernetes.value.minor;
    let url = flannel
        .url(flannel.default_version(minor), "manifest")
        .unwrap();
    // The digest the cluster gives (hac's table has none for flannel).
    assert!(
        body.contains(&format!("hac_download 120 {url} {EMPTY_SHA256} ")),
        "{body}"
    );
    assert!(body.contains("export KUBECONFIG=/etc/kubernetes/admin.conf"));
    assert!(body.contains("kubectl apply -k /etc/hac/cni/flannel"));
    assert!(body.contains("curl --fail"));
    assert!(!body.contains("sed "));
    // The wait on the local API server comes first.
    assert!(body.starts_with("wait_until "));
}

#[test]
fn calico_pool_is_the_pod_cidr() {
    let fixture = Fixture::new(with(&[(
        "network",
        json!({ "cni": "calico", "pods": "192.168.0.0/16" }),
    )]));
    let steps = fixture.host_steps("cp1");
    let cni = step(&steps, "install-cni");
    let installation = pyyaml(
        &file(
            cni,
            &format!("{}/calico/installation.yaml", paths::CNI_MANIFESTS_DIR),
        )
        .content,
    );
    let pool = &installation[0]["spec"]["calicoNetwork"]["ipPools"][0];
    assert_eq!(pool["cidr"], json!("192.168.0.0/16"));
    assert_eq!(pool["blockSize"], json!(26));
    assert_eq!(installation[0]["kind"], json!("Installation"));
    let body = cni.body.join("\n");
    let calico = Artefact::Calico;
    let minor = fixture.cluster.kubernetes.value.minor;
    for part in ["crds", "operator"] {
        let url = calico.url(calico.default_version(minor), part).unwrap();
        assert!(body.contains(&url), "{url}");
    }
    assert!(body.contains("--server-side"));
    let small =
        cni::calico_installation("10.1.0.0/28".parse().unwrap(), Encapsulation::Vxlan, None);
    assert_eq!(
        small["spec"]["calicoNetwork"]["ipPools"][0]["blockSize"],
        json!(28)
    );
}

#[test]
fn the_calico_release_is_the_tables_for_the_clusters_minor() {
    for kubernetes in ["1.35.4", "1.36.1", "1.37.0"] {
        let fixture = Fixture::new(with(&[
            ("kubernetes", json!(kubernetes)),
            (
                "network",
                json!({ "cni": "calico", "pods": "192.168.0.0/16" }),
            ),
        ]));
        let release = Artefact::Calico.default_version(fixture.cluster.kubernetes.value.minor);
        let calico: Vec<_> = fixture
            .plan
            .downloads
            .iter()
            .filter(|d| d.artefact == Artefact::Calico)
            .collect();
        assert_eq!(calico.len(), 2, "{kubernetes}");
        for download in calico {
            assert_eq!(download.version, release, "{kubernetes}");
            assert!(
                download.upstream.starts_with(&format!(
                    "https://raw.githubusercontent.com/projectcalico/calico/v{release}/manifests/"
                )),
                "{kubernetes}: {download:?}"
            );
        }
    }
    // 3.32 is the series the vendor tests on 1.36 (versions.tsv, docs/versions.md).
    assert_eq!(Artefact::Calico.default_version(36), "3.32.4");
}

#[test]
fn cilium_is_pinned_with_kubernetes_ipam() {
    let fixture = Fixture::new(with(&[("network", json!({ "cni": "cilium" }))]));
    let steps = fixture.host_steps("cp1");
    let body = step(&steps, "install-cni").body.join("\n");
    let minor = fixture.cluster.kubernetes.value.minor;
    assert!(body.contains(&format!(
        "cilium install --version {} --set 'ipam.mode=kubernetes'",
        versions::cilium_version(minor)
    )));
    let cli = Artefact::CiliumCli;
    let version = cli.default_version(minor);
    for arch in ["amd64", "arm64"] {
        let url = cli.url(version, arch).unwrap();
        let digest = cli.pinned_sha256(version, arch).unwrap();
        assert!(
            body.contains(&format!("hac_download 300 {url} {digest} ")),
            "{body}"
        );
    }
}

#[test]
fn a_plan_and_cluster_disagreeing_on_the_pod_cidr_is_refused() {
    let fixture = Fixture::new(base());
    let context = fixture.context();
    assert!(cni::install(&context, "flannel", "10.1.0.0/16").is_err());
    assert!(cni::install(&context, "weave", "10.244.0.0/16").is_err());
}

#[test]
fn ipv6_clusters_forward_ipv6_and_dns_named_hosts_get_no_node_ip() {
    let (_, json) = varied()
        .into_iter()
        .find(|(name, _)| name.starts_with("ipv6"))
        .unwrap();
    let fixture = Fixture::new(json);
    let steps = fixture.host_steps("w1");
    let install = step(&steps, "install-packages");
    assert!(
        file(install, paths::SYSCTL_CONFIG)
            .content
            .contains("net.ipv6.conf.all.forwarding = 1")
    );
    assert!(
        install
            .body
            .join("\n")
            .contains("net.ipv6.conf.all.forwarding; do")
    );
    let context = fixture.context();
    let w1 = kubeadm_config::join_document(&context, context.host("w1").unwrap(), false).unwrap();
    assert!(w1["nodeRegistration"].get("kubeletExtraArgs").is_none());
    let w2 = kubeadm_config::join_document(&context, context.host("w2").unwrap(), false).unwrap();
    assert_eq!(
        w2["nodeRegistration"]["kubeletExtraArgs"],
        json!([{ "name": "node-ip", "value": "fd00::22" }])
    );
    let docs = kubeadm_config::init_documents(&context, context.host("cp1").unwrap()).unwrap();
    assert_eq!(
        docs[0]["localAPIEndpoint"]["advertiseAddress"],
        json!("fd00::11")
    );
    assert_eq!(docs[1]["controlPlaneEndpoint"], json!("[fd00::100]:6443"));
    assert_eq!(docs[1]["apiServer"]["certSANs"][0], json!("fd00::100"));
    let pool = &cni::calico_installation(
        "fd00:10:244::/56".parse().unwrap(),
        Encapsulation::Vxlan,
        None,
    )["spec"]["calicoNetwork"]["ipPools"][0];
    assert_eq!(pool["blockSize"], json!(122));
    assert_eq!(pool["name"], json!("default-ipv6-ippool"));
}

/// A scratch directory standing in for the host's root file system.
struct Root(std::path::PathBuf);

impl Root {
    fn new(name: &str) -> Root {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("hac-kube-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Root(path)
    }

    fn path(&self, inner: &str) -> std::path::PathBuf {
        self.0.join(inner.trim_start_matches('/'))
    }

    fn write(&self, inner: &str, content: &str) {
        let path = self.path(inner);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// `lines` with the host's directories moved under this root.
    fn relocate(&self, lines: &[String]) -> String {
        let root = self.0.to_str().unwrap();
        let mut text = lines.join("\n");
        for dir in ["/var/lib/hac", "/etc/kubernetes", "/etc/hac", "/root/.kube"] {
            text = text.replace(dir, &format!("{root}{dir}"));
        }
        text
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// kubeadm as a stub: records its calls, fails `init` the first `FAIL_INITS` times,
/// empties the PKI directory on `reset` (as the real one does) and notes whether the
/// seeded CA key was in place when `init` ran.
const KUBEADM_STUB: &str = r#"
log() { printf 'LOG %s\n' "$*" >&2; }
timeout() { shift 2; "$@"; }
hac_sleep() { :; }
hac_timestamp() { echo 2026-01-01T00:00:00Z; }
hac_fail() { printf 'FAILED(%s) %s\n' "$1" "$2" >&2; touch "$ROOT/needs-person"; exit 3; }
wait_until() { printf 'WAIT %s\n' "$1" >>"$ROOT/waits"; }
systemctl() { printf 'SYSTEMCTL %s\n' "$*" >&2; }
retry() {
  local attempts=$1 i
  shift 2
  for ((i = 1; i <= attempts; i++)); do
    if ("$@"); then return 0; fi
    [[ ! -e $ROOT/needs-person ]] || return 1
  done
  return 1
}
# API_READY: yes, no, or `after N` (the probes from the N+1st on answer);
# READY_ONLY: only URLs containing it answer.
hac_api_ready() {
  local count
  count=$(($(cat "$ROOT/probes" 2>/dev/null || echo 0) + 1))
  echo "$count" >"$ROOT/probes"
  case $API_READY in
    yes) [[ -z ${READY_ONLY:-} || $1 == *"$READY_ONLY"* ]] ;;
    after*) ((count > ${API_READY#after })) ;;
    *) return 1 ;;
  esac
}
kubectl() { printf '%s\n' node/cp1 $OTHER_NODES; }
kubeadm() {
  printf '%s\n' "$*" >>"$ROOT/calls"
  case $1 in
    init)
      if [[ -e $ROOT/etc/kubernetes/pki/ca.key ]]; then echo CA-PRESENT >>"$ROOT/calls"; fi
      local failed
      failed=$(cat "$ROOT/failed" 2>/dev/null || echo 0)
      touch "$ROOT/etc/kubernetes/kubelet.conf" "$ROOT/etc/kubernetes/admin.conf"
      if ((failed < FAIL_INITS)); then
        echo $((failed + 1)) >"$ROOT/failed"
        return 1
      fi
      ;;
    join) touch "$ROOT/etc/kubernetes/kubelet.conf" "$ROOT/etc/kubernetes/admin.conf" ;;
    reset) rm -rf "$ROOT/etc/kubernetes/pki" "$ROOT/etc/kubernetes/kubelet.conf" "$ROOT/etc/kubernetes/admin.conf" ;;
  esac
}
"#;

/// Runs the first control plane's kubeadm-init body (without its waits) under the
/// stub; returns (success, kubeadm calls, output).
fn run_init(root: &Root, fail_inits: u32, api_ready: bool) -> (bool, Vec<String>, String) {
    run_init_with(root, fail_inits, api_ready, "")
}

fn run_init_with(
    root: &Root,
    fail_inits: u32,
    api_ready: bool,
    other_nodes: &str,
) -> (bool, Vec<String>, String) {
    let api = if api_ready { "yes" } else { "no" };
    run_init_probing(root, fail_inits, api, "", other_nodes)
}

/// [`run_init_with`] with the stub's `API_READY` (`yes`, `no`, `after N`) and
/// `READY_ONLY` (only URLs containing it answer) as they are.
fn run_init_probing(
    root: &Root,
    fail_inits: u32,
    api_ready: &str,
    ready_only: &str,
    other_nodes: &str,
) -> (bool, Vec<String>, String) {
    let fixture = Fixture::new(base());
    let context = fixture.context();
    let init = kubeadm::init(&context, context.host("cp1").unwrap(), true).unwrap();
    for file in &init.files {
        if file.path.starts_with("/etc/kubernetes") {
            root.write(&file.path, &file.content);
        }
    }
    let script = format!(
        "set -Eeuo pipefail\n{KUBEADM_STUB}\nbody() {{\n{}\n}}\nbody\n",
        root.relocate(&init.body)
    );
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("ROOT", &root.0)
        .env("FAIL_INITS", fail_inits.to_string())
        .env("API_READY", api_ready)
        .env("READY_ONLY", ready_only)
        .env("OTHER_NODES", other_nodes)
        .output()
        .unwrap();
    let calls = std::fs::read_to_string(root.path("calls")).unwrap_or_default();
    let calls = calls
        .lines()
        .map(|l| l.replace(root.0.to_str().unwrap(), ""))
        .collect();
    (
        output.status.success(),
        calls,
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn a_failed_init_is_reset_and_retried_with_the_seeded_ca() {
    let root = Root::new("retry");
    let (ok, calls, out) = run_init(&root, 1, false);
    assert!(ok, "{out}");
    assert_eq!(
        calls,
        [
            "config validate --config /etc/hac/kubeadm.yaml",
            "config images pull --config /etc/hac/kubeadm.yaml",
            "init --config /etc/hac/kubeadm.yaml --upload-certs",
            "CA-PRESENT",
            "reset -f",
            "init --config /etc/hac/kubeadm.yaml --upload-certs",
            "CA-PRESENT",
        ],
        "{out}"
    );
    assert!(root.path(paths::KUBEADM_DONE_MARKER).exists());
    assert!(root.path(paths::ROOT_KUBECONFIG).exists());

    // A second run of the step (a reboot before it was recorded) does not init again.
    std::fs::remove_file(root.path("calls")).unwrap();
    let (ok, calls, out) = run_init(&root, 0, true);
    assert!(ok, "{out}");
    assert!(calls.is_empty(), "{calls:?}");
}

#[test]
fn init_gives_up_after_its_attempts() {
    let root = Root::new("give-up");
    let (ok, calls, out) = run_init(&root, 99, false);
    assert!(!ok, "{out}");
    assert_eq!(calls.iter().filter(|c| c.starts_with("init ")).count(), 3);
    assert_eq!(calls.iter().filter(|c| *c == "reset -f").count(), 3);
    assert!(!root.path(paths::KUBEADM_DONE_MARKER).exists());
}

#[test]
fn a_recreated_first_control_plane_joins_the_running_cluster() {
    let root = Root::new("recreated");
    let (ok, calls, out) = run_init(&root, 0, true);
    assert!(ok, "{out}");
    assert_eq!(calls, ["join --config /etc/hac/kubeadm-join.yaml"], "{out}");
    assert!(out.contains("instead of initialising the cluster a second time"));
    assert!(root.path(paths::KUBEADM_DONE_MARKER).exists());
    // It waits for its turn and for the certificates like any joining control plane.
    let waits = std::fs::read_to_string(root.path("waits")).unwrap_or_default();
    assert_eq!(
        waits,
        "WAIT this control plane's turn to join\nWAIT the control-plane certificates to be uploaded\n"
    );
    assert!(
        out.contains("SYSTEMCTL enable --now hac-keeper.timer"),
        "{out}"
    );
}

/// A re-created first control plane whose first five rounds of probes fail (DNS not
/// ready, a VIP moving) still finds the cluster in the sixth and joins it.
#[test]
fn a_recreated_first_control_plane_probes_several_times_before_it_decides() {
    let root = Root::new("recreated-late-answer");
    // Three URLs a round (endpoint, cp2, cp3): the 16th probe is the sixth round's first.
    let (ok, calls, out) = run_init_probing(&root, 0, "after 15", "", "");
    assert!(ok, "{out}");
    assert_eq!(calls, ["join --config /etc/hac/kubeadm-join.yaml"], "{out}");
    let probes = std::fs::read_to_string(root.path("probes")).unwrap();
    assert_eq!(probes.trim(), "16");
}

/// The endpoint does not answer (its load balancer is down) but another control
/// plane does, on its own address: join, never a second init.
#[test]
fn a_recreated_first_control_plane_finds_the_cluster_through_another_control_plane() {
    let root = Root::new("recreated-other-cp");
    let (ok, calls, out) = run_init_probing(&root, 0, "yes", "10.0.0.13:6443", "");
    assert!(ok, "{out}");
    assert_eq!(calls, ["join --config /etc/hac/kubeadm-join.yaml"], "{out}");
    assert!(
        out.contains("https://10.0.0.13:6443/readyz answers"),
        "{out}"
    );
}

/// A control plane that starts answering after the decision (between the probes and
/// the attempt) still stops `kubeadm init`: each attempt asks again first.
#[test]
fn kubeadm_init_never_runs_while_another_control_plane_answers() {
    let root = Root::new("answers-at-attempt");
    // 6 rounds of 3 probes decide "init"; the attempts' own probes answer.
    let (ok, calls, out) = run_init_probing(&root, 0, "after 18", "", "");
    assert!(!ok, "{out}");
    assert!(
        !calls.iter().any(|c| c.starts_with("init ")),
        "{calls:?}\n{out}"
    );
    assert!(
        out.contains("hac never runs kubeadm init while one does"),
        "{out}"
    );
    assert!(!root.path(paths::KUBEADM_DONE_MARKER).exists());
}

#[test]
fn a_failed_init_is_not_reset_once_other_nodes_use_the_cluster() {
    let root = Root::new("in-use");
    let (ok, calls, out) = run_init_with(&root, 99, false, "node/cp2 node/worker1");
    assert!(!ok, "{out}");
    assert_eq!(
        calls,
        [
            "config validate --config /etc/hac/kubeadm.yaml",
            "config images pull --config /etc/hac/kubeadm.yaml",
            "init --config /etc/hac/kubeadm.yaml --upload-certs",
            "CA-PRESENT",
        ],
        "{out}"
    );
    assert!(out.contains("after node/cp2 node/worker1 joined"), "{out}");
    assert!(out.contains("FAILED(init-failed-in-use)"), "{out}");
    let marker = std::fs::read_to_string(root.path(paths::KUBEADM_INIT_IN_USE_MARKER)).unwrap();
    assert_eq!(marker, "node/cp2\nnode/worker1\n");
    assert!(!root.path(paths::KUBEADM_DONE_MARKER).exists());
}

#[test]
fn a_reboot_in_the_middle_of_init_does_not_reset_a_cluster_others_joined() {
    let root = Root::new("interrupted-in-use");
    // What `kubeadm init` leaves when the machine goes down half-way.
    root.write(paths::MANIFEST_KUBE_APISERVER, "");
    root.write(paths::KUBELET_KUBECONFIG, "");
    root.write(paths::ADMIN_KUBECONFIG, "");
    let (ok, calls, out) = run_init_with(&root, 0, false, "node/cp2");
    assert!(!ok, "{out}");
    assert!(
        !calls
            .iter()
            .any(|c| c == "reset -f" || c.starts_with("init ")),
        "{calls:?}\n{out}"
    );
    assert!(out.contains("FAILED(init-failed-in-use)"), "{out}");
    assert!(out.contains("hac does not reset a cluster in use"), "{out}");
    let marker = std::fs::read_to_string(root.path(paths::KUBEADM_INIT_IN_USE_MARKER)).unwrap();
    assert_eq!(marker, "node/cp2\n");
}

#[test]
fn a_reboot_in_the_middle_of_init_resets_when_nobody_joined() {
    let root = Root::new("interrupted-alone");
    root.write(paths::MANIFEST_KUBE_APISERVER, "");
    root.write(paths::KUBELET_KUBECONFIG, "");
    root.write(paths::ADMIN_KUBECONFIG, "");
    let (ok, calls, out) = run_init(&root, 0, false);
    assert!(ok, "{out}");
    assert_eq!(
        calls,
        [
            "config validate --config /etc/hac/kubeadm.yaml",
            "config images pull --config /etc/hac/kubeadm.yaml",
            "reset -f",
            "init --config /etc/hac/kubeadm.yaml --upload-certs",
            "CA-PRESENT",
        ],
        "{out}"
    );
}

fn calico_pool(fixture: &Fixture) -> (Value, Value) {
    let steps = fixture.host_steps("cp1");
    let cni = step(&steps, "install-cni");
    let installation = pyyaml(
        &file(
            cni,
            &format!("{}/calico/installation.yaml", paths::CNI_MANIFESTS_DIR),
        )
        .content,
    );
    let network = installation[0]["spec"]["calicoNetwork"].clone();
    (network["ipPools"][0].clone(), network)
}

#[test]
fn calico_encapsulates_everything_unless_the_hosts_are_on_bare_metal() {
    // The reproduction: an AWS cluster got `VXLANCrossSubnet`, whose unencapsulated
    // pod traffic inside a subnet AWS drops.
    let aws = Fixture::new(with(&[
        ("cloud", json!("aws")),
        ("loadbalancer", json!("external")),
        ("network", json!({ "cni": "calico" })),
    ]));
    let (pool, network) = calico_pool(&aws);
    assert_eq!(pool["encapsulation"], json!("VXLAN"));
    assert_eq!(network["bgp"], json!("Disabled"));
    assert!(network.get("mtu").is_none());
    // Calico's node address is the pinned node IP, not the first interface found.
    assert_eq!(
        network["nodeAddressAutodetectionV4"],
        json!({ "kubernetes": "NodeInternalIP" })
    );
    // Unknown environment: the same, safe everywhere.
    let unknown = Fixture::new(with(&[("network", json!({ "cni": "calico" }))]));
    assert_eq!(calico_pool(&unknown).0["encapsulation"], json!("VXLAN"));
    let metal = Fixture::new(with(&[
        ("cloud", json!("bare-metal")),
        ("network", json!({ "cni": "calico", "mtu": 9000 })),
    ]));
    let (pool, network) = calico_pool(&metal);
    assert_eq!(pool["encapsulation"], json!("VXLANCrossSubnet"));
    assert_eq!(network["bgp"], json!("Enabled"));
    assert_eq!(network["mtu"], json!(8950));
    // The source's choice wins over the environment's default.
    let forced = Fixture::new(with(&[
        ("cloud", json!("bare-metal")),
        (
            "network",
            json!({ "cni": "calico", "encapsulation": "vxlan" }),
        ),
    ]));
    assert_eq!(calico_pool(&forced).0["encapsulation"], json!("VXLAN"));
}

fn flannel_files(fixture: &Fixture) -> (Value, Option<Value>, Value, String) {
    let steps = fixture.host_steps("cp1");
    let cni = step(&steps, "install-cni");
    let dir = format!("{}/flannel", paths::CNI_MANIFESTS_DIR);
    let kustomization = pyyaml(&file(cni, &format!("{dir}/kustomization.yaml")).content);
    let interface = cni
        .files
        .iter()
        .find(|f| f.path == format!("{dir}/interface.yaml"))
        .map(|f| pyyaml(&f.content));
    let patch = pyyaml(&file(cni, &format!("{dir}/net-conf.yaml")).content);
    let net_conf: Value =
        serde_json::from_str(patch[0]["data"]["net-conf.json"].as_str().unwrap()).unwrap();
    (
        Value::Array(kustomization),
        interface.map(Value::Array),
        net_conf,
        cni.body.join("\n"),
    )
}

#[test]
fn flannel_uses_the_interface_that_holds_the_node_ip() {
    // The reproduction: the sandbox's hosts have a NAT interface with the default route
    // and the host-only 192.168.56.0/24 one with their address; flannel took the first.
    let fixture = Fixture::new(with(&[("network", json!({ "cni": "flannel" }))]));
    let (kustomization, interface, net_conf, body) = flannel_files(&fixture);
    assert_eq!(
        kustomization[0]["patches"][1],
        json!({ "path": "interface.yaml" })
    );
    let patch = interface.expect("an interface patch")[0].clone();
    assert_eq!(patch["kind"], json!("DaemonSet"));
    assert_eq!(patch["metadata"]["name"], json!("kube-flannel-ds"));
    let container = &patch["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["name"], json!("kube-flannel"));
    assert_eq!(
        container["env"],
        json!([{ "name": "FLANNELD_IFACE", "valueFrom": { "fieldRef": { "fieldPath": "status.hostIP" } } }])
    );
    // The environment is checked on the applied DaemonSet.
    let check = format!(
        "if [[ $flannel_pod != *{}* ]]; then",
        crate::emit::shell::quote("\"FLANNELD_IFACE\"").unwrap()
    );
    assert!(body.contains(&check), "{body}");
    assert_eq!(net_conf["Backend"], json!({ "Type": "vxlan" }));
    // One flag whatever the cluster's size: cp1's user-data does not grow with it.
    let mut big = base();
    let workers: Vec<Value> = (0..200)
        .map(|i| json!({ "name": format!("w{i}"), "address": format!("10.1.{}.{}", i / 200, i % 200 + 1) }))
        .collect();
    set(&mut big, "workers", Value::Array(workers));
    set(&mut big, "network", json!({ "cni": "flannel" }));
    let (_, big_interface, _, _) = flannel_files(&Fixture::new(big));
    assert_eq!(big_interface.unwrap()[0], patch);
}

#[test]
fn flannel_routes_directly_inside_a_subnet_only_with_vxlan_cross_subnet() {
    let fixture = Fixture::new(with(&[(
        "network",
        json!({ "cni": "flannel", "encapsulation": "vxlan-cross-subnet" }),
    )]));
    let (_, _, net_conf, _) = flannel_files(&fixture);
    assert_eq!(
        net_conf["Backend"],
        json!({ "Type": "vxlan", "DirectRouting": true })
    );
}

#[test]
fn nodes_get_the_endpoint_in_etc_hosts_only_when_asked() {
    let plain = Fixture::new(base());
    let built = super::build(&plain.context()).unwrap();
    assert!(built.iter().all(|h| h.document.get("bootcmd").is_none()));
    let fixture = Fixture::new(with(&[("network", json!({ "resolveEndpoint": "hosts" }))]));
    let built = super::build(&fixture.context()).unwrap();
    for host in &built {
        let node = host.name.starts_with("cp") || host.name.starts_with('w');
        assert_eq!(
            host.document.get("bootcmd").is_some(),
            node,
            "{}",
            host.name
        );
    }
    let cp1 = built.iter().find(|h| h.name == "cp1").unwrap();
    let script = cp1.document["bootcmd"][0][2].as_str().unwrap();
    assert!(
        script.contains("'10.0.0.100 api.prod.example.com # hac endpoint'"),
        "{script}"
    );
    // YAML reads back what the document says.
    assert!(cp1.user_data.contains("bootcmd:"));
}
