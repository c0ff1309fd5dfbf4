//! The control-plane components' settings: the extra flags of
//! `controlplane.{apiserver,controllermanager,scheduler}`, the API server's audit
//! policy and log, and the encryption of Secrets at rest. They reach kubeadm's
//! `ClusterConfiguration` as `extraArgs` and `extraVolumes`; the files the API server's
//! static pod mounts are written on every control plane before kubeadm runs.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::emit::SpecError;
use crate::emit::yaml::to_yaml;
use crate::model::{AuditLevel, Cluster};
use crate::secrets::{Bundle, EncryptionKeys};

use super::{HostFile, paths};

/// The first minor whose API server re-reads its encryption configuration when the
/// file changes, so a rotated key takes effect without restarting the static pod.
const AUTOMATIC_RELOAD_MINOR: u32 = 26;

/// The API server's flags: the user's, and those hac sets for the audit log and the
/// encryption configuration (the model refuses user flags that clash with them).
pub fn apiserver_args(cluster: &Cluster) -> BTreeMap<String, String> {
    let settings = &cluster.controlplane;
    let mut args = settings.apiserver.extra_args.clone();
    let audit = &settings.audit;
    if audit.level != AuditLevel::None {
        args.insert("audit-policy-file".into(), paths::AUDIT_POLICY.into());
        args.insert("audit-log-path".into(), paths::AUDIT_LOG.into());
        args.insert("audit-log-maxage".into(), audit.max_age_days.to_string());
        args.insert("audit-log-maxbackup".into(), audit.max_backups.to_string());
        args.insert("audit-log-maxsize".into(), audit.max_size_mb.to_string());
    }
    if settings.encrypt_secrets {
        args.insert(
            "encryption-provider-config".into(),
            paths::ENCRYPTION_CONFIG.into(),
        );
        if cluster.kubernetes.value.minor >= AUTOMATIC_RELOAD_MINOR {
            args.insert(
                "encryption-provider-config-automatic-reload".into(),
                "true".into(),
            );
        }
    }
    args
}

pub fn controller_manager_args(cluster: &Cluster) -> BTreeMap<String, String> {
    cluster.controlplane.controller_manager.extra_args.clone()
}

pub fn scheduler_args(cluster: &Cluster) -> BTreeMap<String, String> {
    cluster.controlplane.scheduler.extra_args.clone()
}

/// The host paths the API server's static pod mounts (kubeadm `HostPathMount`s).
pub fn apiserver_volumes(cluster: &Cluster) -> Vec<Value> {
    let settings = &cluster.controlplane;
    let mut volumes = Vec::new();
    if settings.audit.level != AuditLevel::None {
        volumes.push(json!({
            "name": "hac-audit-policy",
            "hostPath": paths::AUDIT_POLICY,
            "mountPath": paths::AUDIT_POLICY,
            "readOnly": true,
            "pathType": "File",
        }));
        volumes.push(json!({
            "name": "hac-audit-log",
            "hostPath": paths::AUDIT_LOG_DIR,
            "mountPath": paths::AUDIT_LOG_DIR,
            "readOnly": false,
            "pathType": "DirectoryOrCreate",
        }));
    }
    if settings.encrypt_secrets {
        volumes.push(json!({
            "name": "hac-encryption-config",
            "hostPath": paths::ENCRYPTION_CONFIG,
            "mountPath": paths::ENCRYPTION_CONFIG,
            "readOnly": true,
            "pathType": "File",
        }));
    }
    volumes
}

/// The files every control plane needs before kubeadm starts the API server.
pub fn files(cluster: &Cluster, secrets: &Bundle) -> Result<Vec<HostFile>, SpecError> {
    let settings = &cluster.controlplane;
    let mut files = Vec::new();
    if settings.audit.level != AuditLevel::None {
        let policy = match &settings.audit.rules {
            Some(rules) => policy_with(rules.clone()),
            None => audit_policy(settings.audit.level),
        };
        files.push(HostFile::private(paths::AUDIT_POLICY, to_yaml(&policy)?));
    }
    if settings.encrypt_secrets {
        let keys = secrets.encryption_keys().ok_or_else(|| {
            SpecError::new(
                "the cluster encrypts Secrets at rest but the secrets bundle has no encryption key",
            )
            .with_help("run `hac build` again so the secrets bundle is completed")
        })?;
        files.push(HostFile::private(
            paths::ENCRYPTION_CONFIG,
            to_yaml(&encryption_configuration(keys))?,
        ));
    }
    Ok(files)
}

/// The audit policy: nothing for health checks and the busiest system reads, never
/// more than the metadata of Secrets, ConfigMaps, tokens and token reviews (their
/// bodies hold credentials), and `level` for everything else. The
/// `RequestReceived` stage is omitted: every request is logged again when it ends.
pub fn audit_policy(level: AuditLevel) -> Value {
    json!({
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": [
            {
                "level": "None",
                "nonResourceURLs": ["/healthz*", "/livez*", "/readyz*", "/version"],
            },
            {
                "level": "None",
                "users": ["system:kube-proxy"],
                "verbs": ["watch"],
                "resources": [
                    { "group": "", "resources": ["endpoints", "services", "services/status"] },
                    { "group": "discovery.k8s.io", "resources": ["endpointslices"] },
                ],
            },
            {
                "level": "None",
                "userGroups": ["system:nodes"],
                "verbs": ["get"],
                "resources": [{ "group": "", "resources": ["nodes", "nodes/status"] }],
            },
            {
                "level": "None",
                "verbs": ["get", "update"],
                "namespaces": ["kube-system", "kube-node-lease"],
                "resources": [{ "group": "coordination.k8s.io", "resources": ["leases"] }],
            },
            {
                "level": "Metadata",
                "resources": [
                    { "group": "", "resources": ["secrets", "configmaps", "serviceaccounts/token"] },
                    { "group": "authentication.k8s.io", "resources": ["tokenreviews"] },
                    { "group": "certificates.k8s.io", "resources": ["certificatesigningrequests"] },
                ],
            },
            { "level": level.as_str() },
        ],
    })
}

/// A policy of the user's rules.
pub fn policy_with(rules: Vec<Value>) -> Value {
    json!({
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": rules,
    })
}

/// Secrets are written with the first key and read with any; `identity` last reads
/// the Secrets written before encryption was turned on.
pub fn encryption_configuration(keys: &EncryptionKeys) -> Value {
    let keys: Vec<Value> = keys
        .in_provider_order()
        .into_iter()
        .map(|key| json!({ "name": key.name(), "secret": key.secret().expose() }))
        .collect();
    json!({
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [{
            "resources": ["secrets"],
            "providers": [
                { "secretbox": { "keys": keys } },
                { "identity": {} },
            ],
        }],
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::fixture::Fixture;
    use super::super::kubeadm_config;
    use super::*;
    use crate::emit::validate;
    use crate::model::testing::{base, set};

    fn settings(controlplane: Value) -> Fixture {
        let mut cluster = base();
        set(&mut cluster, "controlplane", controlplane);
        Fixture::new(cluster)
    }

    fn args_of(section: &Value) -> Vec<(String, String)> {
        section["extraArgs"]
            .as_array()
            .map(|args| {
                args.iter()
                    .map(|arg| {
                        (
                            arg["name"].as_str().unwrap().to_owned(),
                            arg["value"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn has(args: &[(String, String)], name: &str, value: &str) -> bool {
        args.iter().any(|(n, v)| n == name && v == value)
    }

    /// Issue 15: the components' flags, the audit log and the encryption reach
    /// kubeadm's ClusterConfiguration, which the strict v1beta4 schema accepts.
    #[test]
    fn the_settings_reach_a_valid_cluster_configuration() {
        let fixture = settings(json!({
            "apiserver": { "extraArgs": { "profiling": false, "max-requests-inflight": 800 } },
            "controllermanager": { "extraArgs": { "terminated-pod-gc-threshold": 100 } },
            "scheduler": { "extraArgs": { "v": 2 } },
            "encryptSecrets": true
        }));
        let context = fixture.context();
        let docs = kubeadm_config::init_documents(&context, context.host("cp1").unwrap()).unwrap();
        let config = &docs[1];
        assert_eq!(config["kind"], "ClusterConfiguration");
        let problems = validate::kubeadm("ClusterConfiguration", "kubeadm.k8s.io/v1beta4", config);
        assert!(problems.is_empty(), "{problems:#?}");
        let api = args_of(&config["apiServer"]);
        assert!(has(&api, "profiling", "false"), "{api:?}");
        assert!(has(&api, "max-requests-inflight", "800"));
        assert!(has(&api, "audit-policy-file", paths::AUDIT_POLICY));
        assert!(has(&api, "audit-log-path", paths::AUDIT_LOG));
        assert!(has(&api, "audit-log-maxage", "30"));
        assert!(has(&api, "audit-log-maxbackup", "10"));
        assert!(has(&api, "audit-log-maxsize", "100"));
        assert!(has(
            &api,
            "encryption-provider-config",
            paths::ENCRYPTION_CONFIG
        ));
        assert!(has(
            &api,
            "encryption-provider-config-automatic-reload",
            "true"
        ));
        let mounts: Vec<(&str, &str, bool)> = config["apiServer"]["extraVolumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["hostPath"].as_str().unwrap(),
                    v["mountPath"].as_str().unwrap(),
                    v["readOnly"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            mounts,
            [
                (paths::AUDIT_POLICY, paths::AUDIT_POLICY, true),
                (paths::AUDIT_LOG_DIR, paths::AUDIT_LOG_DIR, false),
                (paths::ENCRYPTION_CONFIG, paths::ENCRYPTION_CONFIG, true),
            ]
        );
        assert_eq!(
            args_of(&config["controllerManager"]),
            [("terminated-pod-gc-threshold".to_owned(), "100".to_owned())]
        );
        assert_eq!(
            args_of(&config["scheduler"]),
            [("v".to_owned(), "2".to_owned())]
        );
        // The keeper re-uploads the certificates with the same configuration.
        assert_eq!(&kubeadm_config::cluster_document(&context), config);
    }

    #[test]
    fn v1beta3_takes_the_flags_as_a_map() {
        let mut cluster = base();
        set(&mut cluster, "kubernetes", json!("1.30.4"));
        set(
            &mut cluster,
            "controlplane",
            json!({ "scheduler": { "extraArgs": { "v": 2 } }, "audit": { "level": "None" } }),
        );
        let fixture = Fixture::new(cluster);
        let config = kubeadm_config::cluster_document(&fixture.context());
        assert_eq!(config["scheduler"]["extraArgs"], json!({ "v": "2" }));
        // No audit log: no flags, no volumes, no files.
        assert_eq!(config["apiServer"].get("extraArgs"), None);
        assert_eq!(config["apiServer"].get("extraVolumes"), None);
        assert!(files(&fixture.cluster, &fixture.bundle).unwrap().is_empty());
    }

    #[test]
    fn control_planes_get_the_policy_and_the_keys_privately_and_workers_nothing() {
        let fixture = settings(json!({ "encryptSecrets": true, "audit": { "level": "Request" } }));
        let keys = fixture
            .bundle
            .encryption_keys()
            .expect("a key in the bundle");
        let context = fixture.context();
        for (name, control_plane) in [("cp1", true), ("cp2", true), ("w1", false)] {
            let host = context.host(name).unwrap();
            let rendered = if name == "cp1" {
                super::super::kubeadm::init(&context, host, true)
            } else {
                super::super::kubeadm::join(&context, host, control_plane)
            }
            .unwrap();
            let ours: Vec<&HostFile> = rendered
                .files
                .iter()
                .filter(|f| f.path == paths::AUDIT_POLICY || f.path == paths::ENCRYPTION_CONFIG)
                .collect();
            if !control_plane {
                assert!(ours.is_empty(), "{name}");
                continue;
            }
            assert_eq!(ours.len(), 2, "{name}");
            for file in ours {
                assert_eq!(file.permissions, 0o600, "{name} {}", file.path);
                if file.path == paths::ENCRYPTION_CONFIG {
                    assert!(
                        file.content
                            .contains(keys.in_provider_order()[0].secret().expose())
                    );
                    assert!(file.content.contains("secretbox"));
                } else {
                    assert!(file.content.contains("level: Request"));
                }
            }
        }
    }

    #[test]
    fn the_encryption_configuration_writes_with_the_first_key_and_reads_plain_secrets() {
        let fixture = settings(json!({ "encryptSecrets": true }));
        let keys = fixture.bundle.encryption_keys().unwrap();
        let staged = keys.rotated().unwrap();
        let config = encryption_configuration(&staged);
        let providers = &config["resources"][0]["providers"];
        assert_eq!(config["resources"][0]["resources"], json!(["secrets"]));
        let listed = providers[0]["secretbox"]["keys"].as_array().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(
            listed[0]["name"], "hac-1",
            "the old key writes until promoted"
        );
        assert_eq!(listed[1]["name"], "hac-2");
        assert_eq!(providers[1], json!({ "identity": {} }));
        let promoted = encryption_configuration(&staged.rotated().unwrap());
        assert_eq!(
            promoted["resources"][0]["providers"][0]["secretbox"]["keys"][0]["name"],
            "hac-2"
        );
    }

    #[test]
    fn the_audit_policy_never_records_secret_bodies() {
        for level in [
            AuditLevel::Metadata,
            AuditLevel::Request,
            AuditLevel::RequestResponse,
        ] {
            let policy = audit_policy(level);
            let rules = policy["rules"].as_array().unwrap();
            let secrets_rule = rules
                .iter()
                .position(|r| r["resources"][0]["resources"][0] == "secrets")
                .unwrap();
            assert_eq!(rules[secrets_rule]["level"], "Metadata");
            // Rules apply first match first: the catch-all comes last.
            assert_eq!(rules.last().unwrap(), &json!({ "level": level.as_str() }));
            assert!(secrets_rule < rules.len() - 1);
        }
    }

    #[test]
    fn the_users_rules_make_the_policy() {
        let fixture = settings(json!({ "audit": { "rules": [
            { "level": "Metadata", "resources": [{ "group": "", "resources": ["secrets"] }] },
            { "level": "RequestResponse" }
        ] } }));
        let files = files(&fixture.cluster, &fixture.bundle).unwrap();
        let [policy] = files.as_slice() else {
            panic!("one file: {files:?}")
        };
        assert_eq!(policy.path, paths::AUDIT_POLICY);
        assert!(
            policy
                .content
                .starts_with("apiVersion: audit.k8s.io/v1\nkind: Policy\n")
        );
        assert!(policy.content.contains("level: RequestResponse"));
        assert!(
            !policy.content.contains("/healthz"),
            "hac's rules are not added"
        );
        let config = kubeadm_config::cluster_document(&fixture.context());
        assert!(has(
            &args_of(&config["apiServer"]),
            "audit-policy-file",
            paths::AUDIT_POLICY
        ));
    }
}
