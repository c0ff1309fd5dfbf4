//! Schema validation of cloud-config and kubeadm documents with the schemas
//! bundled in `compiler/schemas/`.

use hac::emit::validate::{Schema, cloud_config, kubeadm, kubeadm_kinds};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const BOTH: [Schema; 2] = [Schema::Newest, Schema::Debian12];

fn schemas_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../compiler/schemas")
}

fn realistic_cloud_config() -> Value {
    json!({
        "hostname": "cp-1",
        "ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHacHacHacHacHacHacHacHacHacHacHacHacHacHacH admin@example"],
        "write_files": [
            {"path": "/etc/apt/keyrings/kubernetes-apt-keyring.asc", "permissions": "0644",
             "content": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGMHoXcBEADH\n-----END PGP PUBLIC KEY BLOCK-----\n"},
            {"path": "/etc/kubernetes/pki/ca.key", "permissions": "0600", "owner": "root:root",
             "encoding": "b64", "content": "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCg=="},
            {"path": "/usr/local/sbin/hac-bootstrap", "permissions": "0700", "content": "#!/bin/bash\nexit 0\n"},
            {"path": "/etc/haproxy/haproxy.cfg", "permissions": "0644", "defer": true, "content": "global\n"},
        ],
        "apt": {"sources": {"kubernetes.list": {
            "source": "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] https://pkgs.k8s.io/core:/stable:/v1.35/deb/ /"
        }}},
        "package_update": true,
        "packages": ["containerd", ["kubeadm", "1.35.2-1.1"], ["kubelet", "1.35.2-1.1"], "haproxy"],
        "runcmd": [["/usr/local/sbin/hac-bootstrap"]],
        "final_message": "hac bootstrap handed over after $UPTIME seconds",
    })
}

#[test]
fn a_realistic_cloud_config_is_valid_under_both_schemas() {
    for schema in BOTH {
        assert_eq!(
            cloud_config(&realistic_cloud_config(), schema),
            Vec::<String>::new(),
            "{schema:?}"
        );
    }
}

#[test]
fn unknown_top_level_keys_are_errors_under_both_schemas() {
    let mut doc = realistic_cloud_config();
    doc["bogus_key"] = json!(1);
    doc["write-files"] = json!([]);
    assert_eq!(
        cloud_config(&doc, Schema::Newest),
        vec![
            "`bogus_key`: unknown top-level key (cloud-init rejects it)",
            "`write-files`: unknown top-level key (cloud-init rejects it)",
        ]
    );
    assert_eq!(
        cloud_config(&doc, Schema::Debian12),
        vec![
            "`bogus_key`: unknown top-level key (cloud-init 22.4 silently ignores it)",
            "`write-files`: unknown top-level key (cloud-init 22.4 silently ignores it)",
        ]
    );
}

#[test]
fn wrong_types_and_unknown_item_fields_are_errors() {
    let doc = json!({
        "packages": "haproxy",
        "runcmd": "echo hi",
        "write_files": [{"path": "/x", "permissions": 420, "mode": "0644", "content": 1, "encoding": "base32"}],
    });
    for schema in BOTH {
        let problems = cloud_config(&doc, schema);
        let has = |prefix: &str| problems.iter().any(|p| p.starts_with(prefix));
        assert!(has("packages: "), "{schema:?}: {problems:#?}");
        assert!(has("runcmd: "), "{schema:?}: {problems:#?}");
        assert!(
            has("write_files.0.permissions: 420 is not of type \"string\""),
            "{schema:?}: {problems:#?}"
        );
        assert!(has("write_files.0.content: "), "{schema:?}: {problems:#?}");
        assert!(has("write_files.0.encoding: "), "{schema:?}: {problems:#?}");
        assert!(
            has("write_files.0: unknown field `mode`"),
            "{schema:?}: {problems:#?}"
        );
    }
}

#[test]
fn alternatives_report_the_closest_reason() {
    let problems = cloud_config(&json!({"runcmd": [["echo", 5]]}), Schema::Newest);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].starts_with("runcmd.0: "), "{problems:#?}");
    assert!(
        problems[0].contains("closest: runcmd.0.1: 5 is not of type \"string\""),
        "{problems:#?}"
    );
}

#[test]
fn the_top_level_must_be_a_mapping() {
    assert_eq!(
        cloud_config(&json!([1]), Schema::Newest),
        vec!["-: a cloud-config document must be a mapping"]
    );
}

fn init_configuration() -> Value {
    json!({
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "InitConfiguration",
        "bootstrapTokens": [{"token": "h4c7ok.q0x9m2v5b8n1z3k6", "ttl": "2h0m0s", "usages": ["signing", "authentication"]}],
        "certificateKey": "036c7ae2a8306b94fbd0600b7750e55dc2a5662a85b7a468615da4b23a244153",
        "nodeRegistration": {
            "name": "cp-1",
            "criSocket": "unix:///run/containerd/containerd.sock",
            "taints": null,
            "kubeletExtraArgs": [{"name": "node-ip", "value": "192.0.2.11"}],
        },
        "localAPIEndpoint": {"advertiseAddress": "192.0.2.11", "bindPort": 6443},
    })
}

fn cluster_configuration() -> Value {
    json!({
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "ClusterConfiguration",
        "kubernetesVersion": "v1.35.2",
        "controlPlaneEndpoint": "10.0.0.10:6443",
        "networking": {"podSubnet": "10.244.0.0/16,fd00:10:244::/56", "serviceSubnet": "10.96.0.0/12", "dnsDomain": "cluster.local"},
        "etcd": {"local": {"dataDir": "/var/lib/etcd"}},
    })
}

fn join_configuration() -> Value {
    json!({
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "JoinConfiguration",
        "discovery": {"bootstrapToken": {
            "apiServerEndpoint": "10.0.0.10:6443",
            "token": "h4c7ok.q0x9m2v5b8n1z3k6",
            "caCertHashes": ["sha256:4f5a3b0e0e1d3c7c2d7b4a6b1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e"],
        }},
        "controlPlane": {
            "localAPIEndpoint": {"advertiseAddress": "10.0.0.12", "bindPort": 6443},
            "certificateKey": "036c7ae2a8306b94fbd0600b7750e55dc2a5662a85b7a468615da4b23a244153",
        },
        "nodeRegistration": {"name": "cp-2"},
    })
}

fn kubelet_configuration() -> Value {
    json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "systemd",
        "failSwapOn": true,
    })
}

fn check(doc: &Value) -> Vec<String> {
    kubeadm(
        doc["kind"].as_str().expect("kind"),
        doc["apiVersion"].as_str().expect("apiVersion"),
        doc,
    )
}

#[test]
fn valid_kubeadm_documents_pass() {
    for doc in [
        init_configuration(),
        cluster_configuration(),
        join_configuration(),
        kubelet_configuration(),
    ] {
        assert_eq!(check(&doc), Vec::<String>::new(), "{doc:#}");
    }
    let proxy = json!({"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration", "mode": "nftables"});
    assert_eq!(check(&proxy), Vec::<String>::new());
}

#[test]
fn unknown_fields_are_errors_at_every_level() {
    let mut doc = init_configuration();
    doc["nodeRegistration"]["nmae"] = json!("typo");
    doc["bogus"] = json!(true);
    let problems = check(&doc);
    assert!(
        problems.contains(&"-: unknown field `bogus`".to_string()),
        "{problems:#?}"
    );
    assert!(
        problems.contains(&"nodeRegistration: unknown field `nmae`".to_string()),
        "{problems:#?}"
    );

    let mut cluster = cluster_configuration();
    cluster["networking"]["podCIDR"] = json!("10.244.0.0/16");
    assert!(check(&cluster).contains(&"networking: unknown field `podCIDR`".to_string()));
}

#[test]
fn wrong_types_are_errors() {
    let mut doc = init_configuration();
    doc["localAPIEndpoint"]["bindPort"] = json!("6443");
    let problems = check(&doc);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("localAPIEndpoint.bindPort: ")),
        "{problems:#?}"
    );
}

#[test]
fn format_rules_are_checked() {
    let mut init = init_configuration();
    init["bootstrapTokens"][0]["token"] = json!("ABCDEF.0123456789abcdef");
    init["certificateKey"] = json!("abc123");
    let problems = check(&init);
    assert!(
        problems.contains(
            &"bootstrapTokens.0.token: a bootstrap token is `[a-z0-9]{6}.[a-z0-9]{16}`".to_string()
        ),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("certificateKey: a certificate key is 64 hexadecimal")),
        "{problems:#?}"
    );

    let mut join = join_configuration();
    join["discovery"]["bootstrapToken"]["caCertHashes"] = json!(["md5:abc"]);
    assert!(
        check(&join)
            .iter()
            .any(|p| p.starts_with("discovery.bootstrapToken.caCertHashes.0: "))
    );
    join["discovery"]["bootstrapToken"]["caCertHashes"] = json!([]);
    assert!(
        check(&join)
            .iter()
            .any(|p| p.contains("`caCertHashes` is required unless")),
        "{:#?}",
        check(&join)
    );
    join["discovery"]["bootstrapToken"]["unsafeSkipCAVerification"] = json!(true);
    assert_eq!(check(&join), Vec::<String>::new());
    join["discovery"]["file"] = json!({"kubeConfigPath": "/etc/kubernetes/discovery.conf"});
    assert!(
        check(&join)
            .iter()
            .any(|p| p.starts_with("discovery: exactly one of"))
    );

    let mut cluster = cluster_configuration();
    for (subnet, valid) in [
        ("10.244.0.0/16", true),
        ("10.244.0.0/16,fd00::/56", true),
        ("10.244.0.0/33", false),
        ("10.244.0.0", false),
        ("10.244.0.0/+8", false),
        ("10.244.0.0/08", false),
        ("10.244.0.0/16,10.245.0.0/16", false),
        ("fd00::/56,fd01::/56", false),
    ] {
        cluster["networking"]["podSubnet"] = json!(subnet);
        let problems = check(&cluster);
        assert_eq!(problems.is_empty(), valid, "{subnet}: {problems:#?}");
    }
    let mut both = cluster_configuration();
    both["etcd"]["external"] = json!({"endpoints": ["https://10.0.0.21:2379"]});
    assert!(
        check(&both).contains(&"etcd: `local` and `external` are mutually exclusive".to_string())
    );
}

#[test]
fn unknown_kinds_and_mismatched_documents_are_errors() {
    let problems = kubeadm(
        "InitConfiguration",
        "kubeadm.k8s.io/v1beta3",
        &init_configuration(),
    );
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with(
            "-: no schema for `InitConfiguration` in `kubeadm.k8s.io/v1beta3` (known: "
        ),
        "{problems:#?}"
    );
    let problems = kubeadm(
        "JoinConfiguration",
        "kubeadm.k8s.io/v1beta4",
        &init_configuration(),
    );
    assert!(
        problems
            .contains(&"kind: is `InitConfiguration`, expected `JoinConfiguration`".to_string()),
        "{problems:#?}"
    );
    assert_eq!(kubeadm_kinds().count(), 7);
}

#[test]
fn every_bundled_schema_compiles() {
    for (version, kind) in kubeadm_kinds() {
        let problems = kubeadm(kind, version, &json!({"apiVersion": version, "kind": kind}));
        assert!(
            problems.iter().all(|p| !p.contains("bundled schema")),
            "{kind}: {problems:#?}"
        );
    }
}

#[test]
fn shared_definitions_are_identical_across_the_kubeadm_schemas() {
    let mut seen: std::collections::BTreeMap<String, (String, Value)> = Default::default();
    for entry in std::fs::read_dir(schemas_dir().join("kubeadm")).expect("schemas dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with("kubeadm.k8s.io_v1beta4.json") {
            continue;
        }
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (def, body) in schema["$defs"].as_object().expect("$defs") {
            match seen.get(def) {
                Some((first, earlier)) => {
                    assert_eq!(earlier, body, "`{def}` differs between {first} and {name}")
                }
                None => {
                    seen.insert(def.clone(), (name.clone(), body.clone()));
                }
            }
        }
    }
    assert!(seen.len() > 10, "{:?}", seen.keys());
}

#[test]
fn bundled_cloud_config_schemas_match_their_provenance_note() {
    let note = std::fs::read_to_string(schemas_dir().join("SOURCES.md")).expect("SOURCES.md");
    for file in [
        "cloud-config-v1.json",
        "cloud-config-v1-debian12-22.4.2.json",
    ] {
        let bytes = std::fs::read(schemas_dir().join(file)).expect("schema");
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let row = note
            .lines()
            .find(|line| line.starts_with(&format!("| `{file}`")))
            .unwrap_or_else(|| panic!("{file} is not in SOURCES.md"));
        assert!(
            row.contains(&format!("`{digest}`")),
            "{file}: sha256 {digest} is not the one in SOURCES.md"
        );
    }
}

#[test]
fn the_top_level_keys_come_from_the_module_definitions() {
    for key in [
        "write_files",
        "runcmd",
        "apt",
        "packages",
        "ssh_authorized_keys",
        "bootcmd",
        "users",
        "power_state",
    ] {
        for schema in BOTH {
            let problems = cloud_config(&json!({ key: null }), schema);
            assert!(
                problems
                    .iter()
                    .all(|p| !p.contains("unknown top-level key")),
                "{key} under {schema:?}: {problems:#?}"
            );
        }
    }
    // `ubuntu_pro` and `create_hostname_file` came after 22.4: known to the
    // newest schema only.
    for key in ["ubuntu_pro", "create_hostname_file"] {
        let unknown = |schema| {
            cloud_config(&json!({ key: null }), schema)
                .iter()
                .any(|p| p.contains("unknown top-level key"))
        };
        assert!(
            !unknown(Schema::Newest) && unknown(Schema::Debian12),
            "{key}"
        );
    }
}
