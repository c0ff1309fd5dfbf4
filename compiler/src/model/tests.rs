//! Reading values into the model: every shape and format error, at the right place.

use hac_lang::{Diagnostic, Origin, Severity};
use serde_json::json;

use super::testing::{at, base, name_at, name_in, remove, set, value};
use super::{LoadBalancer, check_cluster, codes};

/// The diagnostics a clean cluster must not have: the DNS-record note is advice for
/// every named endpoint.
fn beyond_advice(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Advice)
        .collect()
}

fn run(json: serde_json::Value) -> (hac_lang::Value, Vec<Diagnostic>) {
    let root = value(json);
    let (_, diagnostics) = check_cluster(&root);
    (root, diagnostics)
}

/// The one diagnostic with `code`; fails if there is none or more than one.
fn one(diagnostics: &[Diagnostic], code: &str) -> Diagnostic {
    let found: Vec<_> = diagnostics.iter().filter(|d| d.code == code).collect();
    assert_eq!(found.len(), 1, "expected one {code}, got {diagnostics:#?}");
    found[0].clone()
}

fn primary(diagnostic: &Diagnostic) -> Origin {
    diagnostic.primary().expect("a primary label").origin
}

fn with(path: &str, new: serde_json::Value) -> serde_json::Value {
    let mut json = base();
    set(&mut json, path, new);
    json
}

#[test]
fn the_base_cluster_is_clean() {
    let root = value(base());
    let (cluster, diagnostics) = check_cluster(&root);
    assert_eq!(beyond_advice(&diagnostics), Vec::<&Diagnostic>::new());
    let cluster = cluster.expect("a cluster");
    assert_eq!(cluster.name.value, "prod");
    assert_eq!(cluster.controlplanes.len(), 3);
    assert_eq!(cluster.network.pods.value.to_string(), "10.244.0.0/16");
    assert_eq!(cluster.network.services.value.to_string(), "10.96.0.0/12");
    assert_eq!(cluster.bootstrap.token_ttl.value, 86_400);
    assert!(
        matches!(&cluster.loadbalancer, LoadBalancer::Dedicated { hosts, port, .. } if hosts.len() == 2 && port.value == 6443)
    );
    assert_eq!(cluster.controlplanes[0].taints, None);
}

#[test]
fn unknown_attribute_points_at_the_name_and_suggests() {
    let json = with("contolplanes", json!([]));
    let (root, diagnostics) = run(json);
    let d = one(&diagnostics, codes::UNKNOWN_ATTRIBUTE);
    assert_eq!(d.message, "unknown attribute `contolplanes` in the cluster");
    assert_eq!(primary(&d), name_at(&root, "contolplanes"));
    assert_eq!(d.help.as_deref(), Some("did you mean `controlplanes`?"));
    let (root, diagnostics) = run(with("network.podz", json!("10.244.0.0/16")));
    let d = one(&diagnostics, codes::UNKNOWN_ATTRIBUTE);
    assert_eq!(d.message, "unknown attribute `podz` in `network`");
    assert_eq!(primary(&d), name_at(&root, "network.podz"));
    assert_eq!(d.help.as_deref(), Some("did you mean `pods`?"));
    let (_, diagnostics) = run(with("controlplanes.0.zzzzzzz", json!(1)));
    let d = one(&diagnostics, codes::UNKNOWN_ATTRIBUTE);
    assert!(d.help.unwrap().starts_with("a host has: `name`, `address`"));
}

#[test]
fn missing_attribute_labels_the_set_that_lacks_it() {
    let mut json = base();
    remove(&mut json, "controlplanes.1.name");
    let (root, diagnostics) = run(json);
    let d = one(&diagnostics, codes::MISSING_ATTRIBUTE);
    assert_eq!(d.message, "missing attribute `name` in `controlplanes[1]`");
    assert_eq!(primary(&d), at(&root, "controlplanes.1").origin);
    assert!(d.help.unwrap().starts_with("add `name = …;`"));
    let (_, diagnostics) = run(with("name", json!(null)));
    assert_eq!(
        one(&diagnostics, codes::MISSING_ATTRIBUTE).message,
        "`name` is null but required"
    );
}

#[test]
fn wrong_type_names_both_types_and_the_path() {
    let (root, diagnostics) = run(with("endpoint", json!(["api:6443"])));
    let d = one(&diagnostics, codes::WRONG_TYPE);
    assert_eq!(d.message, "expected a string for `endpoint`, found a list");
    assert_eq!(primary(&d), at(&root, "endpoint").origin);
    let (root, diagnostics) = run(with("controlplanes.2.address", json!(5)));
    let d = one(&diagnostics, codes::WRONG_TYPE);
    assert_eq!(
        d.message,
        "expected a string for `controlplanes[2].address`, found an integer"
    );
    assert_eq!(primary(&d), at(&root, "controlplanes.2.address").origin);
    let (_, diagnostics) = run(json!(["not", "a", "set"]));
    assert_eq!(
        one(&diagnostics, codes::WRONG_TYPE).message,
        "expected an attribute set for the cluster, found a list"
    );
    let (_, diagnostics) = run(with("workers", json!({ "name": "w1" })));
    assert_eq!(
        one(&diagnostics, codes::WRONG_TYPE).message,
        "expected a list of hosts for `workers`, found an attribute set"
    );
}

#[test]
fn every_model_error_is_reported_in_one_run() {
    let mut json = base();
    set(&mut json, "kubernetes", json!("1.36"));
    set(&mut json, "network.pods", json!("10.244.1.0/16"));
    set(
        &mut json,
        "workers.1.labels",
        json!({ "tier": "front end" }),
    );
    set(
        &mut json,
        "controlplanes.0.taints",
        json!(["dedicated=infra"]),
    );
    set(&mut json, "os", json!("ubuntu-24.10"));
    set(&mut json, "loadbalancer.hostz", json!([]));
    let (root, diagnostics) = run(json);
    let expected = [
        (codes::INVALID_VERSION, at(&root, "kubernetes").origin),
        (codes::INVALID_CIDR, at(&root, "network.pods").origin),
        (
            codes::INVALID_VALUE,
            at(&root, "workers.1.labels.tier").origin,
        ),
        (
            codes::INVALID_VALUE,
            at(&root, "controlplanes.0.taints.0").origin,
        ),
        (codes::UNSUPPORTED_OS, at(&root, "os").origin),
        (
            codes::UNKNOWN_ATTRIBUTE,
            name_at(&root, "loadbalancer.hostz"),
        ),
    ];
    assert_eq!(diagnostics.len(), expected.len(), "{diagnostics:#?}");
    for (code, origin) in expected {
        assert!(
            diagnostics
                .iter()
                .any(|d| d.code == code && primary(d) == origin),
            "{code} at {origin:?} in {diagnostics:#?}"
        );
    }
    assert!(diagnostics.iter().all(|d| d.severity == Severity::Error));
}

/// A mistake in one load-balancer attribute hides none in the others, hosts included.
#[test]
fn load_balancer_errors_are_all_reported() {
    let mut json = with("loadbalancer.vip", json!(5));
    set(&mut json, "loadbalancer.port", json!(0));
    remove(&mut json, "loadbalancer.hosts.1.address");
    set(&mut json, "loadbalancer.hosts.1.adress", json!("10.0.0.6"));
    set(
        &mut json,
        "loadbalancer.hosts.0.address",
        json!("10.0.0.5/24"),
    );
    let (root, diagnostics) = run(json);
    let d = one(&diagnostics, codes::WRONG_TYPE);
    assert_eq!(primary(&d), at(&root, "loadbalancer.vip").origin);
    let d = one(&diagnostics, codes::UNKNOWN_ATTRIBUTE);
    assert_eq!(primary(&d), name_at(&root, "loadbalancer.hosts.1.adress"));
    assert_eq!(d.help.as_deref(), Some("did you mean `address`?"));
    let invalid: Vec<Origin> = diagnostics
        .iter()
        .filter(|d| d.code == codes::INVALID_VALUE)
        .map(primary)
        .collect();
    assert_eq!(invalid.len(), 2, "{diagnostics:#?}");
    assert!(invalid.contains(&at(&root, "loadbalancer.port").origin));
    assert!(invalid.contains(&at(&root, "loadbalancer.hosts.0.address").origin));
}

#[test]
fn kubernetes_with_a_leading_v_is_refused_with_the_fix() {
    let (root, diagnostics) = run(with("kubernetes", json!("v1.36.1")));
    let d = one(&diagnostics, codes::INVALID_VERSION);
    assert_eq!(primary(&d), at(&root, "kubernetes").origin);
    assert_eq!(
        d.message,
        "invalid `kubernetes`: `v1.36.1` is not a release `X.Y.Z`"
    );
    assert!(
        d.help
            .as_deref()
            .unwrap_or_default()
            .starts_with("drop the `v`: write `\"1.36.1\"`"),
        "{d:?}"
    );
}

#[test]
fn null_optional_attributes_take_their_defaults() {
    let (_, diagnostics) = run(with("workers.0.address", json!(null)));
    assert_eq!(beyond_advice(&diagnostics), Vec::<&Diagnostic>::new());
    let root = value(with("os", json!(null)));
    assert_eq!(
        check_cluster(&root).0.unwrap().os.value,
        super::Os::Ubuntu2404
    );
}

#[test]
fn format_errors_point_at_the_value() {
    let cases: Vec<(&str, serde_json::Value, &str, &str)> = vec![
        ("name", json!("Prod"), codes::INVALID_NAME, "name"),
        (
            "controlplanes.1.name",
            json!("cp_2"),
            codes::INVALID_NAME,
            "controlplanes.1.name",
        ),
        (
            "kubernetes",
            json!("1.23.4"),
            codes::INVALID_VERSION,
            "kubernetes",
        ),
        (
            "kubernetes",
            json!("2.0.0"),
            codes::INVALID_VERSION,
            "kubernetes",
        ),
        (
            "endpoint",
            json!("api.prod.example.com"),
            codes::INVALID_ENDPOINT,
            "endpoint",
        ),
        (
            "endpoint",
            json!("api.prod.example.com:99999"),
            codes::INVALID_ENDPOINT,
            "endpoint",
        ),
        (
            "network.services",
            json!("10.96.0.0"),
            codes::INVALID_CIDR,
            "network.services",
        ),
        (
            "network.cni",
            json!("flanel"),
            codes::INVALID_VALUE,
            "network.cni",
        ),
        (
            "network.domain",
            json!("cluster..local"),
            codes::INVALID_VALUE,
            "network.domain",
        ),
        (
            "controlplanes.0.address",
            json!("10.0.0.256"),
            codes::INVALID_VALUE,
            "controlplanes.0.address",
        ),
        (
            "controlplanes.0.address",
            json!("cp1; reboot"),
            codes::INVALID_VALUE,
            "controlplanes.0.address",
        ),
        (
            "workers.0.taints",
            json!(["gpu=yes:Sometimes"]),
            codes::INVALID_VALUE,
            "workers.0.taints.0",
        ),
        (
            "files",
            json!([{ "path": "etc/x", "content": "" }]),
            codes::INVALID_VALUE,
            "files.0.path",
        ),
        (
            "files",
            json!([{ "path": "/etc/../x", "content": "" }]),
            codes::INVALID_VALUE,
            "files.0.path",
        ),
        (
            "files",
            json!([{ "path": "/etc/x", "content": "", "permissions": "644" }]),
            codes::INVALID_VALUE,
            "files.0.permissions",
        ),
        (
            "files",
            json!([{ "path": "/etc/x", "content": "", "owner": "root;x" }]),
            codes::INVALID_VALUE,
            "files.0.owner",
        ),
        (
            "ssh.authorizedKeys",
            json!(["ssh-dss AAAA"]),
            codes::INVALID_VALUE,
            "ssh.authorizedKeys.0",
        ),
        (
            "bootstrap.tokenTTL",
            json!("1 day"),
            codes::INVALID_VALUE,
            "bootstrap.tokenTTL",
        ),
        (
            "bootstrap.tokenTTL",
            json!(3600),
            codes::INVALID_VALUE,
            "bootstrap.tokenTTL",
        ),
        (
            "packages.mirror",
            json!("ftp://mirror"),
            codes::INVALID_VALUE,
            "packages.mirror",
        ),
        (
            "containerd.registryMirrors",
            json!({ "docker.io": ["https://m.example.com/$(id)"] }),
            codes::INVALID_VALUE,
            "containerd.registryMirrors.docker\\.io.0",
        ),
        (
            "loadbalancer.vip",
            json!("vip.example.com"),
            codes::INVALID_VALUE,
            "loadbalancer.vip",
        ),
        (
            "loadbalancer.port",
            json!(70000),
            codes::INVALID_VALUE,
            "loadbalancer.port",
        ),
        ("etcd", json!("external"), codes::INVALID_VALUE, "etcd"),
        (
            "kubelet.extraArgs",
            json!({ "max-pods": "1\n2" }),
            codes::INVALID_VALUE,
            "kubelet.extraArgs.max-pods",
        ),
    ];
    for (path, new, code, at_path) in cases {
        let (root, diagnostics) = run(with(path, new.clone()));
        let d = one(&diagnostics, code);
        let at_path = at_path.replace("docker\\.io", "docker.io");
        let expected = if at_path.starts_with("containerd.registryMirrors") {
            at(&root, "containerd.registryMirrors")
                .as_attrs()
                .unwrap()
                .get("docker.io")
                .unwrap()
                .value
                .as_list()
                .unwrap()[0]
                .origin
        } else {
            at(&root, &at_path).origin
        };
        assert_eq!(primary(&d), expected, "{path} = {new}: {d:#?}");
        assert!(!d.message.ends_with('.'), "{}", d.message);
    }
}

#[test]
fn bad_names_in_sets_point_at_the_name() {
    let (root, diagnostics) = run(with(
        "workers.0.labels",
        json!({ "node-role.kubernetes.io/infra": "" }),
    ));
    let d = one(&diagnostics, codes::INVALID_VALUE);
    assert_eq!(
        primary(&d),
        name_in(&root, "workers.0.labels", "node-role.kubernetes.io/infra")
    );
    let (root, diagnostics) = run(with("kubelet.extraArgs", json!({ "node-ip": "10.0.0.1" })));
    let d = one(&diagnostics, codes::INVALID_VALUE);
    assert_eq!(primary(&d), name_at(&root, "kubelet.extraArgs.node-ip"));
    assert!(d.message.contains("hac sets `--node-ip` itself"));
}

#[test]
fn hints_for_common_mistakes() {
    let (_, diagnostics) = run(with("network.pods", json!("10.244.1.0/16")));
    assert_eq!(
        one(&diagnostics, codes::INVALID_CIDR).help.as_deref(),
        Some("did you mean `\"10.244.0.0/16\"`?")
    );
    let (_, diagnostics) = run(with("os", json!("debian12")));
    assert_eq!(
        one(&diagnostics, codes::UNSUPPORTED_OS).help.as_deref(),
        Some("did you mean `debian-12`?")
    );
    let (_, diagnostics) = run(with("network.cni", json!("calicoo")));
    assert_eq!(
        one(&diagnostics, codes::INVALID_VALUE).help.as_deref(),
        Some("did you mean `calico`?")
    );
}

#[test]
fn load_balancer_forms() {
    let root = value(with("loadbalancer", json!("external")));
    assert!(matches!(
        check_cluster(&root).0.unwrap().loadbalancer,
        LoadBalancer::External { vip: None, .. }
    ));
    let root = value(with("loadbalancer", json!("none")));
    assert!(matches!(
        check_cluster(&root).0.unwrap().loadbalancer,
        LoadBalancer::None
    ));
    let mut json = with(
        "loadbalancer",
        json!({ "colocated": true, "vip": "10.0.0.100", "port": 8443 }),
    );
    set(&mut json, "endpoint", json!("api.prod.example.com:8443"));
    let root = value(json);
    let (cluster, diagnostics) = check_cluster(&root);
    assert_eq!(beyond_advice(&diagnostics), Vec::<&Diagnostic>::new());
    assert!(
        matches!(cluster.unwrap().loadbalancer, LoadBalancer::Colocated { port, .. } if port.value == 8443)
    );
    let (_, diagnostics) = run(with(
        "loadbalancer",
        json!({ "colocated": true, "hosts": [] }),
    ));
    assert_eq!(
        one(&diagnostics, codes::INVALID_VALUE).message,
        "invalid `loadbalancer`: a colocated load balancer has no `hosts`"
    );
    let (root, diagnostics) = run(with("loadbalancer", json!({ "vip": "10.0.0.100" })));
    let d = one(&diagnostics, codes::MISSING_ATTRIBUTE);
    assert_eq!(d.message, "missing attribute `hosts` in `loadbalancer`");
    assert_eq!(primary(&d), at(&root, "loadbalancer").origin);
    let (_, diagnostics) = run(with("loadbalancer", json!("haproxy")));
    one(&diagnostics, codes::INVALID_VALUE);
    let (_, diagnostics) = run(with("loadbalancer", json!(true)));
    one(&diagnostics, codes::WRONG_TYPE);
}

#[test]
fn the_vrrp_interface_is_read_and_checked_at_its_value() {
    let mut lb = base()["loadbalancer"].clone();
    lb["interface"] = json!("ens3");
    let root = value(with("loadbalancer", lb.clone()));
    let (cluster, diagnostics) = check_cluster(&root);
    assert_eq!(beyond_advice(&diagnostics), Vec::<&Diagnostic>::new());
    let cluster = cluster.unwrap();
    assert_eq!(
        cluster.loadbalancer.interface().map(|i| i.value.as_str()),
        Some("ens3")
    );
    assert_eq!(
        cluster.loadbalancer.interface().unwrap().origin,
        at(&root, "loadbalancer.interface").origin
    );

    lb["interface"] = json!("eth0; reboot");
    let (root, diagnostics) = run(with("loadbalancer", lb.clone()));
    let d = one(&diagnostics, codes::INVALID_VALUE);
    assert!(
        d.message.starts_with(
            "invalid `loadbalancer.interface`: `eth0; reboot` is not a network interface name"
        ),
        "{}",
        d.message
    );
    assert_eq!(primary(&d), at(&root, "loadbalancer.interface").origin);

    lb["interface"] = json!(3);
    let (_, diagnostics) = run(with("loadbalancer", lb.clone()));
    one(&diagnostics, codes::WRONG_TYPE);

    lb["interface"] = json!("ens3");
    lb.as_object_mut().unwrap().remove("vip");
    let (root, diagnostics) = run(with("loadbalancer", lb));
    let d = one(&diagnostics, codes::INVALID_VALUE);
    assert_eq!(
        d.message,
        "invalid `loadbalancer.interface`: keepalived puts the VIP on this interface, but there is no `vip`"
    );
    assert_eq!(primary(&d), at(&root, "loadbalancer.interface").origin);

    let (_, diagnostics) = run(with(
        "loadbalancer",
        json!({ "external": true, "interface": "ens3" }),
    ));
    assert_eq!(
        one(&diagnostics, codes::INVALID_VALUE).message,
        "invalid `loadbalancer.interface`: hac runs no keepalived for an external load balancer"
    );
}

#[test]
fn knobs_are_read() {
    let mut json = base();
    set(&mut json, "bootstrap", json!({ "tokenTTL": "1h30m" }));
    set(
        &mut json,
        "containerd",
        json!({ "systemdCgroup": false, "registryMirrors": { "docker.io": ["https://mirror.example.com"] } }),
    );
    set(
        &mut json,
        "packages",
        json!({ "mirror": "https://pkgs.example.com/" }),
    );
    set(
        &mut json,
        "kubelet",
        json!({ "extraArgs": { "max-pods": 200, "serialize-image-pulls": false } }),
    );
    set(&mut json, "workers.0.taints", json!([]));
    set(
        &mut json,
        "workers.0.files",
        json!([{ "path": "/etc/motd", "content": "hi", "permissions": "0600" }]),
    );
    let root = value(json);
    let (cluster, diagnostics) = check_cluster(&root);
    assert_eq!(beyond_advice(&diagnostics), Vec::<&Diagnostic>::new());
    let cluster = cluster.unwrap();
    assert_eq!(cluster.bootstrap.token_ttl.value, 5400);
    assert!(!cluster.containerd.systemd_cgroup);
    assert_eq!(
        cluster.containerd.registry_mirrors["docker.io"],
        vec!["https://mirror.example.com".to_owned()]
    );
    assert_eq!(cluster.packages.mirror, "https://pkgs.example.com");
    assert_eq!(cluster.kubelet.extra_args["max-pods"], "200");
    assert_eq!(cluster.kubelet.extra_args["serialize-image-pulls"], "false");
    assert_eq!(cluster.workers[0].taints, Some(vec![]));
    assert_eq!(cluster.workers[0].files[0].permissions, 0o600);
}

/// Issue 15: only `kubelet.extraArgs` existed; the control-plane components had no
/// settings at all (`controlplane` was an unknown attribute).
#[test]
fn control_plane_components_take_extra_args() {
    let (cluster, diagnostics) = check_cluster(&value(with(
        "controlplane",
        json!({
            "apiserver": { "extraArgs": { "profiling": false, "max-requests-inflight": 800 } },
            "controllermanager": { "extraArgs": { "terminated-pod-gc-threshold": "100" } },
            "scheduler": { "extraArgs": { "v": 2 } },
            "audit": { "level": "RequestResponse", "maxAge": 7 },
            "encryptSecrets": true
        }),
    )));
    assert_eq!(beyond_advice(&diagnostics), Vec::<&Diagnostic>::new());
    let settings = cluster.expect("a cluster").controlplane;
    assert_eq!(settings.apiserver.extra_args["profiling"], "false");
    assert_eq!(
        settings.apiserver.extra_args["max-requests-inflight"],
        "800"
    );
    assert_eq!(
        settings.controller_manager.extra_args["terminated-pod-gc-threshold"],
        "100"
    );
    assert_eq!(settings.scheduler.extra_args["v"], "2");
    assert_eq!(settings.audit.level, super::AuditLevel::RequestResponse);
    assert_eq!(settings.audit.max_age_days, 7);
    assert_eq!(settings.audit.max_backups, 10);
    assert!(settings.encrypt_secrets);
    // The defaults: a metadata audit log, no encryption.
    let cluster = check_cluster(&value(base())).0.unwrap();
    assert_eq!(
        cluster.controlplane.audit.level,
        super::AuditLevel::Metadata
    );
    assert!(!cluster.controlplane.encrypt_secrets);
}

#[test]
fn control_plane_flags_hac_or_kubeadm_set_are_refused_at_the_name() {
    for (component, flag, says) in [
        ("apiserver", "etcd-servers", "kubeadm sets it from `etcd`"),
        ("apiserver", "audit-log-path", "`controlplane.audit`"),
        (
            "apiserver",
            "encryption-provider-config",
            "`controlplane.encryptSecrets`",
        ),
        ("apiserver", "--v", "no leading `--`"),
        ("controllermanager", "cluster-cidr", "`network.pods`"),
        ("controllermanager", "allocate-node-cidrs", "CNIs"),
        ("scheduler", "kubeconfig", "kubeconfig"),
    ] {
        let path = format!("controlplane.{component}.extraArgs");
        let (root, diagnostics) = run(with(&path, json!({ flag: "x" })));
        let d = one(&diagnostics, codes::INVALID_VALUE);
        assert_eq!(primary(&d), name_in(&root, &path, flag), "{flag}: {d:#?}");
        let text = format!("{} {}", d.message, d.help.clone().unwrap_or_default());
        assert!(text.contains(says), "{flag}: {text}");
    }
}

#[test]
fn control_plane_values_that_break_the_cluster_are_refused_at_the_value() {
    for (component, flag, value_text) in [
        ("apiserver", "anonymous-auth", json!(false)),
        ("apiserver", "authorization-mode", json!("RBAC")),
        ("apiserver", "v", json!("1\n2")),
        ("controllermanager", "leader-elect", json!(false)),
        (
            "controllermanager",
            "controllers",
            json!("*,-bootstrapsigner"),
        ),
        ("scheduler", "leader-elect", json!("false")),
    ] {
        let path = format!("controlplane.{component}.extraArgs");
        let (root, diagnostics) = run(with(&path, json!({ flag: value_text })));
        let d = one(&diagnostics, codes::INVALID_VALUE);
        assert_eq!(
            primary(&d),
            at(&root, &format!("{path}.{flag}")).origin,
            "{flag}: {d:#?}"
        );
    }
    for (component, flag, value_text) in [
        ("apiserver", "anonymous-auth", json!(true)),
        (
            "apiserver",
            "authorization-mode",
            json!("Node,RBAC,Webhook"),
        ),
        (
            "controllermanager",
            "controllers",
            json!("*,bootstrapsigner,tokencleaner,-ttl"),
        ),
        ("scheduler", "leader-elect", json!(true)),
    ] {
        let path = format!("controlplane.{component}.extraArgs");
        let (_, diagnostics) = run(with(&path, json!({ flag: value_text })));
        assert_eq!(
            beyond_advice(&diagnostics),
            Vec::<&Diagnostic>::new(),
            "{flag}"
        );
    }
}

#[test]
fn audit_settings_are_checked() {
    let (root, diagnostics) = run(with("controlplane.audit", json!({ "level": "All" })));
    let d = one(&diagnostics, codes::INVALID_VALUE);
    assert_eq!(primary(&d), at(&root, "controlplane.audit.level").origin);
    let (root, diagnostics) = run(with("controlplane.audit", json!({ "maxSize": 0 })));
    let d = one(&diagnostics, codes::INVALID_VALUE);
    assert_eq!(primary(&d), at(&root, "controlplane.audit.maxSize").origin);
    let (root, diagnostics) = run(with("controlplane", json!({ "encryptSecret": true })));
    let d = one(&diagnostics, codes::UNKNOWN_ATTRIBUTE);
    assert_eq!(primary(&d), name_in(&root, "controlplane", "encryptSecret"));
    assert_eq!(d.help.as_deref(), Some("did you mean `encryptSecrets`?"));
}

#[test]
fn audit_rules_of_the_users_own_are_read_and_checked_in_place() {
    let rules = json!([
        { "level": "None", "nonResourceURLs": ["/healthz*"] },
        { "level": "Metadata", "resources": [{ "group": "", "resources": ["secrets"] }] },
        { "level": "Request", "verbs": ["create", "delete"], "omitManagedFields": true }
    ]);
    let (cluster, diagnostics) = check_cluster(&value(with(
        "controlplane.audit",
        json!({ "rules": rules }),
    )));
    assert_eq!(beyond_advice(&diagnostics), Vec::<&Diagnostic>::new());
    let read = cluster.unwrap().controlplane.audit.rules.unwrap();
    assert_eq!(serde_json::Value::Array(read), rules);

    let (root, diagnostics) = run(with(
        "controlplane.audit.rules",
        json!([{ "level": "Everything" }]),
    ));
    let d = one(&diagnostics, codes::INVALID_VALUE);
    assert_eq!(
        primary(&d),
        at(&root, "controlplane.audit.rules.0.level").origin
    );
    let (root, diagnostics) = run(with(
        "controlplane.audit.rules",
        json!([{ "level": "None", "verb": ["get"] }]),
    ));
    let d = one(&diagnostics, codes::UNKNOWN_ATTRIBUTE);
    assert_eq!(
        primary(&d),
        name_in(&root, "controlplane.audit.rules.0", "verb")
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `verbs`?"));
    let (root, diagnostics) = run(with(
        "controlplane.audit.rules",
        json!([{ "level": "None", "resources": [{ "group": "", "resources": "secrets" }] }]),
    ));
    let d = one(&diagnostics, codes::WRONG_TYPE);
    assert_eq!(
        primary(&d),
        at(&root, "controlplane.audit.rules.0.resources.0.resources").origin
    );
    let (_, diagnostics) = run(with(
        "controlplane.audit.rules",
        json!([{ "verbs": ["get"] }]),
    ));
    one(&diagnostics, codes::MISSING_ATTRIBUTE);
    let (root, diagnostics) = run(with(
        "controlplane.audit",
        json!({ "level": "None", "rules": [{ "level": "Metadata" }] }),
    ));
    let d = one(&diagnostics, codes::INVALID_VALUE);
    assert_eq!(primary(&d), at(&root, "controlplane.audit.level").origin);
}

#[test]
fn release_overrides_are_read_and_checked_at_their_place() {
    let digest = "AB".repeat(32);
    let (root, diagnostics) = run(with(
        "versions.containerd",
        json!({ "version": "2.2.0", "sha256": { "amd64": digest, "arm64": "ab".repeat(32) } }),
    ));
    assert_eq!(beyond_advice(&diagnostics), Vec::<&Diagnostic>::new());
    let cluster = check_cluster(&root).0.unwrap();
    let chosen = &cluster.versions.overrides["containerd"];
    assert_eq!(chosen.version.as_ref().unwrap().value, "2.2.0");
    // Upper-case hex is read as the lower-case digest sha256sum prints.
    assert_eq!(chosen.sha256["amd64"].value, "ab".repeat(32));

    for (bad, path, expected) in [
        (
            json!({ "version": "v2.2.0" }),
            "versions.containerd.version",
            "leading `v`",
        ),
        (
            json!({ "version": "2.2" }),
            "versions.containerd.version",
            "not a release version",
        ),
        (
            json!({ "sha256": "abc" }),
            "versions.containerd.sha256",
            "not a sha256 digest",
        ),
        (
            json!({ "sha256": { "amd64": "zz".repeat(32) } }),
            "versions.containerd.sha256.amd64",
            "not a sha256 digest",
        ),
    ] {
        let (root, diagnostics) = run(with("versions.containerd", bad.clone()));
        let d = one(&diagnostics, codes::INVALID_VALUE);
        assert!(d.message.contains(expected), "{bad}: {d:?}");
        assert_eq!(primary(&d), at(&root, path).origin, "{bad}");
    }

    // A part the artefact does not have, at its name.
    let (root, diagnostics) = run(with(
        "versions.containerd.sha256",
        json!({ "riscv64": "ab".repeat(32) }),
    ));
    let d = one(&diagnostics, codes::UNKNOWN_ATTRIBUTE);
    assert_eq!(
        primary(&d),
        name_at(&root, "versions.containerd.sha256.riscv64")
    );
    assert!(d.help.unwrap().contains("`amd64`, `arm64`"));

    // Calico has two files and no obvious one: a plain string is refused.
    let (_, diagnostics) = run(with("versions.calico.sha256", json!("ab".repeat(32))));
    let d = one(&diagnostics, codes::INVALID_VALUE);
    assert!(
        d.help
            .clone()
            .unwrap()
            .contains("sha256 = { crds = \"…\"; operator = \"…\"; }"),
        "{d:?}"
    );

    let (_, diagnostics) = run(with("versions.weave", json!({})));
    one(&diagnostics, codes::UNKNOWN_ATTRIBUTE);
}
#[test]
fn mirrors_and_offline_are_read() {
    let mut json = base();
    set(
        &mut json,
        "packages.releases",
        json!("https://mirror.lan/releases/"),
    );
    set(
        &mut json,
        "packages.imageRepository",
        json!("registry.lan:5000/k8s"),
    );
    set(&mut json, "packages.offline", json!(true));
    set(
        &mut json,
        "packages.mirror",
        json!("https://mirror.lan/k8s"),
    );
    set(
        &mut json,
        "containerd.registryMirrors",
        json!({ "ghcr.io": ["https://registry.lan"], "registry.k8s.io": ["https://registry.lan"] }),
    );
    let root = value(json);
    let (cluster, diagnostics) = check_cluster(&root);
    assert_eq!(beyond_advice(&diagnostics), Vec::<&Diagnostic>::new());
    let packages = cluster.unwrap().packages;
    assert_eq!(
        packages.releases.unwrap().value,
        "https://mirror.lan/releases"
    );
    assert_eq!(
        packages.image_repository.unwrap().value,
        "registry.lan:5000/k8s"
    );
    assert!(packages.offline.unwrap().value);

    for (path, bad) in [
        (
            "packages.imageRepository",
            json!("https://registry.lan/k8s"),
        ),
        ("packages.imageRepository", json!("registry.lan/K8s")),
        ("packages.releases", json!("ftp://mirror.lan")),
        (
            "proxy",
            json!({ "http": "http://proxy.lan:3128", "noProxy": ["a b"] }),
        ),
        ("proxy", json!({ "http": "proxy.lan:3128" })),
    ] {
        let (_, diagnostics) = run(with(path, bad.clone()));
        one(&diagnostics, codes::INVALID_VALUE);
    }
    // A plain-HTTP release mirror is as dangerous as a package mirror.
    let (_, diagnostics) = run(with(
        "packages.releases",
        json!("http://mirror.lan/releases"),
    ));
    one(&diagnostics, codes::INSECURE_MIRROR);
}

#[test]
fn registry_logins_name_a_login_per_registry_host() {
    let (_, diagnostics) = run(with(
        "containerd.registryLogins",
        json!({ "registry.lan:5000": "lan", "mirror.lab": "lan" }),
    ));
    assert!(
        !diagnostics.iter().any(Diagnostic::is_error),
        "{diagnostics:#?}"
    );
    for (logins, what) in [
        (
            json!({ "registry.lan:5000": "Lan" }),
            "not a registry login name",
        ),
        (
            json!({ "registry.lan:5000": "" }),
            "not a registry login name",
        ),
        (
            json!({ "https://registry.lan": "lan" }),
            "not a registry host",
        ),
        (json!({ "registry.lan": ["lan"] }), "a string"),
    ] {
        let (root, diagnostics) = run(with("containerd.registryLogins", logins.clone()));
        let d = diagnostics
            .iter()
            .find(|d| d.is_error())
            .unwrap_or_else(|| panic!("{logins}: no error"));
        assert!(d.message.contains(what), "{logins}: {d:#?}");
        // At the entry, never at the whole set.
        assert_ne!(
            primary(d),
            at(&root, "containerd.registryLogins").origin,
            "{logins}: {d:#?}"
        );
    }
}
