//! Every lint, firing (at the right place) and not firing.

use hac_lang::{Diagnostic, Origin, Severity};
use serde_json::json;

use crate::model::testing::{at, base, remove, set, value};
use crate::model::{check_cluster, codes};

fn run(json: serde_json::Value) -> (hac_lang::Value, Vec<Diagnostic>) {
    let root = value(json);
    let (_, diagnostics) = check_cluster(&root);
    (root, diagnostics)
}

fn with(changes: &[(&str, serde_json::Value)]) -> serde_json::Value {
    let mut json = base();
    for (path, new) in changes {
        set(&mut json, path, new.clone());
    }
    json
}

fn one(diagnostics: &[Diagnostic], code: &str) -> Diagnostic {
    let found: Vec<_> = diagnostics.iter().filter(|d| d.code == code).collect();
    assert_eq!(found.len(), 1, "expected one {code}, got {diagnostics:#?}");
    found[0].clone()
}

fn none(diagnostics: &[Diagnostic], code: &str) {
    assert!(
        diagnostics.iter().all(|d| d.code != code),
        "unexpected {code}: {diagnostics:#?}"
    );
}

fn primary(diagnostic: &Diagnostic) -> Origin {
    diagnostic.primary().expect("a primary label").origin
}

fn secondary(diagnostic: &Diagnostic) -> Vec<Origin> {
    diagnostic
        .labels
        .iter()
        .filter(|l| !l.primary)
        .map(|l| l.origin)
        .collect()
}

/// A cluster whose only problem is the lint under test must still be rejected (errors)
/// or accepted (warnings).
fn accepted(json: serde_json::Value) -> bool {
    check_cluster(&value(json)).0.is_some()
}

#[test]
fn duplicate_host_name_labels_both_occurrences() {
    let json = with(&[("workers.1.name", json!("cp2"))]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::DUPLICATE_HOST_NAME);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.message, "host name `cp2` is used twice");
    assert_eq!(primary(&d), at(&root, "workers.1.name").origin);
    assert_eq!(
        secondary(&d),
        vec![at(&root, "controlplanes.1.name").origin]
    );
    assert!(!accepted(json));
    let (root, diagnostics) = run(with(&[("loadbalancer.hosts.1.name", json!("lb1"))]));
    let d = one(&diagnostics, codes::DUPLICATE_HOST_NAME);
    assert_eq!(
        secondary(&d),
        vec![at(&root, "loadbalancer.hosts.0.name").origin]
    );
    none(&run(base()).1, codes::DUPLICATE_HOST_NAME);
}

#[test]
fn duplicate_address() {
    let (root, diagnostics) = run(with(&[("workers.0.address", json!("10.0.0.12"))]));
    let d = one(&diagnostics, codes::DUPLICATE_ADDRESS);
    assert_eq!(primary(&d), at(&root, "workers.0.address").origin);
    assert_eq!(
        secondary(&d),
        vec![at(&root, "controlplanes.1.address").origin]
    );
    assert_eq!(d.message, "address `10.0.0.12` is used by `cp2` and `w1`");
    let (_, diagnostics) = run(with(&[
        ("workers.0.address", json!("w1.example.com")),
        ("workers.1.address", json!("w1.example.com")),
    ]));
    one(&diagnostics, codes::DUPLICATE_ADDRESS);
    none(&run(base()).1, codes::DUPLICATE_ADDRESS);
}

#[test]
fn no_control_planes() {
    let json = with(&[("controlplanes", json!([]))]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::NO_CONTROL_PLANES);
    assert_eq!(primary(&d), at(&root, "controlplanes").origin);
    assert!(!accepted(json));
    none(&diagnostics, codes::NO_ETCD_MEMBERS);
}

#[test]
fn no_etcd_members() {
    let json = with(&[("etcd", json!({ "external": [] }))]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::NO_ETCD_MEMBERS);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.message, "`etcd.external` is empty");
    assert_eq!(primary(&d), at(&root, "etcd.external").origin);
    none(&diagnostics, codes::NO_CONTROL_PLANES);
    assert!(!accepted(json));
    none(&run(base()).1, codes::NO_ETCD_MEMBERS);
}

#[test]
fn missing_address_for_hosts_others_must_reach() {
    let mut json = base();
    remove(&mut json, "controlplanes.2.address");
    remove(&mut json, "loadbalancer.hosts.0.address");
    let (root, diagnostics) = run(json);
    let found: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.code == codes::MISSING_ADDRESS)
        .collect();
    assert_eq!(found.len(), 2, "{diagnostics:#?}");
    assert!(
        found
            .iter()
            .any(|d| primary(d) == at(&root, "controlplanes.2").origin
                && d.message == "control plane `cp3` has no `address`")
    );
    assert!(
        found
            .iter()
            .any(|d| primary(d) == at(&root, "loadbalancer.hosts.0").origin)
    );
    let (_, diagnostics) = run(with(&[(
        "etcd",
        json!({ "external": [{ "name": "etcd1" }, { "name": "etcd2", "address": "10.0.0.32" }, { "name": "etcd3", "address": "10.0.0.33" }] }),
    )]));
    assert!(
        one(&diagnostics, codes::MISSING_ADDRESS)
            .help
            .as_deref()
            .unwrap_or_default()
            .starts_with("an etcd member needs an address: ")
    );
    let mut json = base();
    remove(&mut json, "workers.0.address");
    none(&run(json).1, codes::MISSING_ADDRESS);
}

#[test]
fn cidr_overlap_and_family_and_size() {
    let (root, diagnostics) = run(with(&[("network.pods", json!("10.96.0.0/16"))]));
    let d = one(&diagnostics, codes::CIDR_OVERLAP);
    assert_eq!(primary(&d), at(&root, "network.pods").origin);
    // `services` is the default: the label falls on the set it would be written in.
    assert_eq!(secondary(&d), vec![at(&root, "network").origin]);
    let (_, diagnostics) = run(with(&[
        ("network.pods", json!("fd00:10:244::/56")),
        ("network.cni", json!("calico")),
    ]));
    assert!(
        one(&diagnostics, codes::INVALID_CIDR)
            .message
            .contains("different IP families")
    );
    none(&diagnostics, codes::CIDR_OVERLAP);
    let (root, diagnostics) = run(with(&[("network.services", json!("10.96.0.0/11"))]));
    let d = one(&diagnostics, codes::INVALID_CIDR);
    assert_eq!(primary(&d), at(&root, "network.services").origin);
    none(
        &run(with(&[("network.services", json!("10.96.0.0/12"))])).1,
        codes::INVALID_CIDR,
    );
    for small in ["10.96.0.0/29", "10.96.0.0/32"] {
        let (root, diagnostics) = run(with(&[("network.services", json!(small))]));
        let d = one(&diagnostics, codes::INVALID_CIDR);
        assert_eq!(
            d.message,
            format!("`network.services` `{small}` has no 10th address for cluster DNS")
        );
        assert_eq!(primary(&d), at(&root, "network.services").origin);
    }
    none(
        &run(with(&[("network.services", json!("10.96.0.0/28"))])).1,
        codes::INVALID_CIDR,
    );
    let ipv6 = |services: &str| {
        with(&[(
            "network",
            json!({ "cni": "calico", "pods": "fd00:10:244::/56", "services": services }),
        )])
    };
    none(&run(ipv6("fd00:10:96::/124")).1, codes::INVALID_CIDR);
    one(&run(ipv6("fd00:10:96::/125")).1, codes::INVALID_CIDR);
    let (_, diagnostics) = run(with(&[("network.pods", json!("10.244.0.0/23"))]));
    assert_eq!(
        one(&diagnostics, codes::POD_CIDR_TOO_SMALL).message,
        "`network.pods` `10.244.0.0/23` holds 2 node subnets (/24 each) for 5 nodes"
    );
    none(
        &run(with(&[("network.pods", json!("10.244.0.0/21"))])).1,
        codes::POD_CIDR_TOO_SMALL,
    );
    let (_, diagnostics) = run(with(&[("network.pods", json!("10.244.0.0/25"))]));
    one(&diagnostics, codes::POD_CIDR_TOO_SMALL);
}

#[test]
fn addresses_inside_cluster_ranges() {
    let (root, diagnostics) = run(with(&[("workers.1.address", json!("10.244.3.7"))]));
    let d = one(&diagnostics, codes::ADDRESS_IN_CLUSTER_CIDR);
    assert_eq!(
        d.message,
        "address `10.244.3.7` of `w2` is inside the pods CIDR `10.244.0.0/16`"
    );
    assert_eq!(primary(&d), at(&root, "workers.1.address").origin);
    // No `network` set: the default range is labelled at the cluster set.
    assert_eq!(secondary(&d), vec![root.origin]);
    let (root, diagnostics) = run(with(&[("loadbalancer.vip", json!("10.100.0.1"))]));
    let d = one(&diagnostics, codes::ADDRESS_IN_CLUSTER_CIDR);
    assert_eq!(primary(&d), at(&root, "loadbalancer.vip").origin);
    assert!(d.message.contains("services CIDR"));
    none(&run(base()).1, codes::ADDRESS_IN_CLUSTER_CIDR);
}

#[test]
fn endpoint_forms() {
    let (root, diagnostics) = run(with(&[("endpoint", json!("10.0.0.100:6443"))]));
    let d = one(&diagnostics, codes::ENDPOINT_IS_IP);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(primary(&d), at(&root, "endpoint").origin);
    none(&diagnostics, codes::ENDPOINT_NOT_LOAD_BALANCED);
    none(&run(base()).1, codes::ENDPOINT_IS_IP);
    let (_, diagnostics) = run(with(&[("endpoint", json!("10.0.0.5:6443"))]));
    assert_eq!(
        one(&diagnostics, codes::ENDPOINT_NOT_LOAD_BALANCED).message,
        "the endpoint `10.0.0.5:6443` is not the VIP `10.0.0.100`"
    );
    // Both: the address is the wrong one, and an address at all.
    one(&diagnostics, codes::ENDPOINT_IS_IP);
    let (root, diagnostics) = run(with(&[("loadbalancer.port", json!(8443))]));
    let d = one(&diagnostics, codes::ENDPOINT_NOT_LOAD_BALANCED);
    assert_eq!(secondary(&d), vec![at(&root, "loadbalancer.port").origin]);
    let mut json = with(&[("endpoint", json!("10.0.0.6:6443"))]);
    remove(&mut json, "loadbalancer.vip");
    none(&run(json).1, codes::ENDPOINT_NOT_LOAD_BALANCED);
}

#[test]
fn endpoint_single_point_without_load_balancer() {
    let mut json = with(&[("endpoint", json!("10.0.0.11:6443"))]);
    remove(&mut json, "loadbalancer");
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::ENDPOINT_SINGLE_POINT);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(
        d.message,
        "the endpoint `10.0.0.11:6443` is control plane `cp1`'s address"
    );
    assert_eq!(primary(&d), at(&root, "endpoint").origin);
    one(&diagnostics, codes::ENDPOINT_IS_IP);
    assert!(accepted(json));
    let mut json = with(&[("endpoint", json!("api.prod.example.com:6443"))]);
    remove(&mut json, "loadbalancer");
    none(&run(json).1, codes::ENDPOINT_SINGLE_POINT);
    let mut json = with(&[
        ("endpoint", json!("10.0.0.12:8443")),
        ("loadbalancer", json!({ "colocated": true, "port": 8443 })),
    ]);
    let (_, diagnostics) = run(json.clone());
    one(&diagnostics, codes::ENDPOINT_SINGLE_POINT);
    set(&mut json, "endpoint", json!("api.prod.example.com:8443"));
    none(&run(json).1, codes::ENDPOINT_SINGLE_POINT);
}

#[test]
fn colocated_load_balancer_on_6443() {
    let json = with(&[(
        "loadbalancer",
        json!({ "colocated": true, "vip": "10.0.0.100" }),
    )]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::COLOCATED_PORT_6443);
    // The port defaulted from the endpoint: the label is on the load-balancer set.
    assert_eq!(primary(&d), at(&root, "loadbalancer").origin);
    assert!(!accepted(json));
    let (root, diagnostics) = run(with(&[(
        "loadbalancer",
        json!({ "colocated": true, "port": 6443 }),
    )]));
    assert_eq!(
        primary(&one(&diagnostics, codes::COLOCATED_PORT_6443)),
        at(&root, "loadbalancer.port").origin
    );
    let json = with(&[
        (
            "loadbalancer",
            json!({ "colocated": true, "vip": "10.0.0.100", "port": 8443 }),
        ),
        ("endpoint", json!("api.prod.example.com:8443")),
    ]);
    none(&run(json).1, codes::COLOCATED_PORT_6443);
}

#[test]
fn colocated_without_vip_warns_on_the_load_balancer_set() {
    let json = with(&[
        ("loadbalancer", json!({ "colocated": true, "port": 8443 })),
        ("endpoint", json!("api.prod.example.com:8443")),
    ]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::COLOCATED_WITHOUT_VIP);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.message, "a colocated load balancer without a VIP");
    assert_eq!(primary(&d), at(&root, "loadbalancer").origin);
    assert!(d.help.as_deref().is_some_and(|h| h.contains("add `vip")));
    assert!(accepted(json));
    let json = with(&[
        (
            "loadbalancer",
            json!({ "colocated": true, "vip": "10.0.0.100", "port": 8443 }),
        ),
        ("endpoint", json!("api.prod.example.com:8443")),
    ]);
    none(&run(json).1, codes::COLOCATED_WITHOUT_VIP);
    // Dedicated hosts without a VIP are each a reachable load balancer of their own.
    let mut json = base();
    remove(&mut json, "loadbalancer.vip");
    none(&run(json).1, codes::COLOCATED_WITHOUT_VIP);
}

#[test]
fn vip_mistakes() {
    let (root, diagnostics) = run(with(&[("loadbalancer.vip", json!("10.0.0.21"))]));
    let d = one(&diagnostics, codes::VIP_IS_HOST_ADDRESS);
    assert_eq!(d.message, "VIP `10.0.0.21` is the address of `w1`");
    assert_eq!(primary(&d), at(&root, "loadbalancer.vip").origin);
    assert_eq!(secondary(&d), vec![at(&root, "workers.0.address").origin]);
    none(&run(base()).1, codes::VIP_IS_HOST_ADDRESS);
    let json = with(&[(
        "loadbalancer",
        json!({ "external": true, "vip": "10.0.0.100" }),
    )]);
    let (root, diagnostics) = run(json.clone());
    assert_eq!(
        primary(&one(&diagnostics, codes::VIP_WITH_EXTERNAL_LB)),
        at(&root, "loadbalancer.vip").origin
    );
    assert!(!accepted(json));
    none(
        &run(with(&[("loadbalancer", json!("external"))])).1,
        codes::VIP_WITH_EXTERNAL_LB,
    );
}

#[test]
fn vip_without_failover() {
    let json = with(&[(
        "loadbalancer.hosts",
        json!([{ "name": "lb1", "address": "10.0.0.5" }]),
    )]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::VIP_WITHOUT_FAILOVER);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(primary(&d), at(&root, "loadbalancer.vip").origin);
    assert!(accepted(json));
    none(&run(base()).1, codes::VIP_WITHOUT_FAILOVER);
}

#[test]
fn flannel_needs_ipv4_pods() {
    let json = with(&[(
        "network",
        json!({ "pods": "fd00:10:244::/56", "services": "fd00:10:96::/108" }),
    )]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::CNI_POD_CIDR);
    assert_eq!(primary(&d), at(&root, "network.pods").origin);
    assert!(!accepted(json));
    let json = with(&[(
        "network",
        json!({ "cni": "cilium", "pods": "fd00:10:244::/56", "services": "fd00:10:96::/108" }),
    )]);
    none(&run(json).1, codes::CNI_POD_CIDR);
    // A custom IPv4 range is fine: hac rewrites flannel's network to it.
    none(
        &run(with(&[("network.pods", json!("172.16.0.0/16"))])).1,
        codes::CNI_POD_CIDR,
    );
}

#[test]
fn even_and_single_member_counts_quote_the_quorum_arithmetic() {
    let four = json!([
        { "name": "cp1", "address": "10.0.0.11" }, { "name": "cp2", "address": "10.0.0.12" },
        { "name": "cp3", "address": "10.0.0.13" }, { "name": "cp4", "address": "10.0.0.14" }
    ]);
    let json = with(&[("controlplanes", four)]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::EVEN_CONTROL_PLANES);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(
        d.message,
        "4 control planes run 4 stacked etcd members: quorum is 3 of 4, so 1 member may fail, as with 3"
    );
    assert_eq!(
        d.help.as_deref(),
        Some(
            "etcd needs a majority: with 4 members quorum is ⌊4/2⌋+1 = 3 and ⌊(4-1)/2⌋ = 1 may fail, so an even count adds a member without adding failure tolerance; use 3 or 5 control planes"
        )
    );
    assert_eq!(primary(&d), at(&root, "controlplanes").origin);
    assert!(accepted(json));
    let two = json!([{ "name": "cp1", "address": "10.0.0.11" }, { "name": "cp2", "address": "10.0.0.12" }]);
    let member = |i: u32| json!({ "name": format!("etcd{i}"), "address": format!("10.0.0.3{i}") });
    let (_, diagnostics) = run(with(&[("controlplanes", two.clone())]));
    assert_eq!(
        one(&diagnostics, codes::EVEN_CONTROL_PLANES).message,
        "2 control planes run 2 stacked etcd members: quorum is 2 of 2, so no member may fail, as with 1"
    );
    let (_, diagnostics) = run(with(&[
        ("controlplanes", two.clone()),
        (
            "etcd",
            json!({ "external": [member(1), member(2), member(3)] }),
        ),
    ]));
    // Stateless API servers: two survive one failure; etcd has three members.
    none(&diagnostics, codes::EVEN_CONTROL_PLANES);
    none(&diagnostics, codes::EVEN_ETCD_MEMBERS);
    let (_, diagnostics) = run(with(&[
        ("controlplanes", two),
        ("etcd", json!({ "external": [member(1), member(2)] })),
    ]));
    none(&diagnostics, codes::EVEN_CONTROL_PLANES);
    one(&diagnostics, codes::EVEN_ETCD_MEMBERS);
    let (_, diagnostics) = run(with(&[(
        "controlplanes",
        json!([{ "name": "cp1", "address": "10.0.0.11" }]),
    )]));
    one(&diagnostics, codes::SINGLE_CONTROL_PLANE);
    none(&diagnostics, codes::EVEN_CONTROL_PLANES);
    let base_diagnostics = run(base()).1;
    none(&base_diagnostics, codes::EVEN_CONTROL_PLANES);
    none(&base_diagnostics, codes::SINGLE_CONTROL_PLANE);

    let (root, diagnostics) = run(with(&[(
        "etcd",
        json!({ "external": [member(1), member(2)] }),
    )]));
    let d = one(&diagnostics, codes::EVEN_ETCD_MEMBERS);
    assert_eq!(
        d.message,
        "2 etcd members: quorum is 2 of 2, so no member may fail, as with 1"
    );
    assert!(
        d.help
            .as_deref()
            .unwrap_or_default()
            .contains("quorum is ⌊2/2⌋+1 = 2")
    );
    assert_eq!(primary(&d), at(&root, "etcd").origin);
    let (_, diagnostics) = run(with(&[("etcd", json!({ "external": [member(1)] }))]));
    one(&diagnostics, codes::SINGLE_ETCD_MEMBER);
    let (_, diagnostics) = run(with(&[(
        "etcd",
        json!({ "external": [member(1), member(2), member(3)] }),
    )]));
    none(&diagnostics, codes::EVEN_ETCD_MEMBERS);
    none(&diagnostics, codes::SINGLE_ETCD_MEMBER);
}

#[test]
fn unknown_kubernetes_minor() {
    let (root, diagnostics) = run(with(&[("kubernetes", json!("1.30.4"))]));
    let d = one(&diagnostics, codes::UNKNOWN_KUBERNETES_MINOR);
    assert_eq!(
        d.message,
        "Kubernetes 1.30 is not one of the minors hac knows (1.35, 1.36 and 1.37)"
    );
    assert_eq!(primary(&d), at(&root, "kubernetes").origin);
    for known in ["1.35.2", "1.36.1", "1.37.0"] {
        none(
            &run(with(&[("kubernetes", json!(known))])).1,
            codes::UNKNOWN_KUBERNETES_MINOR,
        );
    }
}

#[test]
fn token_that_never_expires() {
    for never in [json!("0"), json!(0), json!("0s")] {
        let (root, diagnostics) = run(with(&[("bootstrap.tokenTTL", never)]));
        let d = one(&diagnostics, codes::TOKEN_NEVER_EXPIRES);
        assert_eq!(primary(&d), at(&root, "bootstrap.tokenTTL").origin);
    }
    none(
        &run(with(&[("bootstrap.tokenTTL", json!("48h"))])).1,
        codes::TOKEN_NEVER_EXPIRES,
    );
}

#[test]
fn no_workers() {
    let (root, diagnostics) = run(with(&[("workers", json!([]))]));
    let d = one(&diagnostics, codes::NO_WORKERS);
    assert_eq!(primary(&d), at(&root, "workers").origin);
    let mut json = base();
    remove(&mut json, "workers");
    let (root, diagnostics) = run(json.clone());
    assert_eq!(primary(&one(&diagnostics, codes::NO_WORKERS)), root.origin);
    // Untainted control planes run workloads themselves.
    for i in 0..3 {
        set(&mut json, &format!("controlplanes.{i}.taints"), json!([]));
    }
    none(&run(json).1, codes::NO_WORKERS);
}

#[test]
fn lints_report_together_and_sorted() {
    let json = with(&[
        ("workers.1.name", json!("cp1")),
        ("network.pods", json!("10.96.0.0/16")),
        ("bootstrap.tokenTTL", json!("0")),
        ("kubernetes", json!("1.29.0")),
    ]);
    let (_, diagnostics) = run(json);
    let mut codes_found: Vec<_> = diagnostics.iter().map(|d| d.code).collect();
    codes_found.sort_unstable();
    assert_eq!(
        codes_found,
        vec![
            codes::CIDR_OVERLAP,
            codes::DUPLICATE_HOST_NAME,
            codes::ENDPOINT_DNS_RECORD,
            codes::TOKEN_NEVER_EXPIRES,
            codes::UNKNOWN_KUBERNETES_MINOR
        ]
    );
    let keys: Vec<_> = diagnostics.iter().map(Diagnostic::sort_key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn every_reported_code_is_in_the_table_and_messages_are_one_line() {
    let broken = [
        with(&[
            ("workers.1.name", json!("cp1")),
            ("workers.0.address", json!("10.0.0.11")),
        ]),
        with(&[
            ("network.pods", json!("10.96.0.0/16")),
            ("loadbalancer.vip", json!("10.0.0.5")),
        ]),
        with(&[
            ("loadbalancer", json!({ "colocated": true })),
            ("endpoint", json!("10.0.0.11:6443")),
        ]),
        with(&[
            ("controlplanes", json!([])),
            ("bootstrap.tokenTTL", json!("0")),
            ("kubernetes", json!("1.25.0")),
        ]),
        with(&[
            ("nmae", json!("x")),
            ("endpoint", json!(1)),
            ("os", json!("arch")),
        ]),
    ];
    let known: Vec<&str> = codes::ALL.iter().map(|(code, _)| *code).collect();
    let mut seen = 0;
    for json in broken {
        for d in run(json).1 {
            seen += 1;
            assert!(
                known.contains(&d.code),
                "{} is not in the code table",
                d.code
            );
            assert!(
                !d.message.contains('\n') && !d.message.ends_with('.'),
                "{}",
                d.message
            );
            assert!(d.primary().is_some_and(|l| l.primary), "{d:?}");
        }
    }
    assert!(seen >= 12, "{seen}");
}

#[test]
fn load_balancer_without_hosts() {
    let json = with(&[("loadbalancer.hosts", json!([]))]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::NO_LOAD_BALANCER_HOSTS);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(primary(&d), at(&root, "loadbalancer.hosts").origin);
    assert!(
        d.help
            .as_deref()
            .unwrap_or_default()
            .contains("`loadbalancer = \"external\"` or `colocated = true`")
    );
    // The VIP has no host to move between, but that is this error, not a second warning.
    none(&diagnostics, codes::VIP_WITHOUT_FAILOVER);
    assert!(!accepted(json));
    none(&run(base()).1, codes::NO_LOAD_BALANCER_HOSTS);
}

#[test]
fn token_shorter_than_the_longest_join_wait() {
    let json = with(&[("bootstrap.tokenTTL", json!("20m"))]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::TOKEN_EXPIRES_BEFORE_JOIN);
    assert_eq!(d.severity, Severity::Warning);
    // Workers wait up to 45 min for the API, and so does cp3 (30 min + 15 for cp2).
    assert_eq!(
        d.message,
        "the join token expires after 20m, but worker `w1` may wait up to 45m to join (and 3 other hosts may join after the token expires)"
    );
    assert_eq!(primary(&d), at(&root, "bootstrap.tokenTTL").origin);
    assert_eq!(secondary(&d), vec![at(&root, "workers.0").origin]);
    assert!(
        d.help
            .as_deref()
            .unwrap_or_default()
            .contains("at least `\"45m\"`")
    );
    assert!(accepted(json));
    // Exactly the longest wait, a longer one, the default and never: no warning.
    for fine in [json!("45m"), json!("1h"), json!("0")] {
        none(
            &run(with(&[("bootstrap.tokenTTL", fine)])).1,
            codes::TOKEN_EXPIRES_BEFORE_JOIN,
        );
    }
    none(&run(base()).1, codes::TOKEN_EXPIRES_BEFORE_JOIN);
    // Without workers the longest wait is cp3's.
    let (_, diagnostics) = run(with(&[
        ("bootstrap.tokenTTL", json!("40m")),
        ("workers", json!([])),
    ]));
    assert_eq!(
        one(&diagnostics, codes::TOKEN_EXPIRES_BEFORE_JOIN).message,
        "the join token expires after 40m, but control plane `cp3` may wait up to 45m to join"
    );
}

#[test]
fn control_planes_that_may_join_after_the_certificates_expire() {
    let control_planes = |n: u32| {
        json!(
            (1..=n)
                .map(|i| json!({ "name": format!("cp{i}"), "address": format!("10.0.1.{i}") }))
                .collect::<Vec<_>>()
        )
    };
    // cp9 joins after 8 others: 30 min + 7 × 15 min = 2h15m > 2h.
    let json = with(&[("controlplanes", control_planes(11))]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::CERTIFICATES_EXPIRE_BEFORE_JOIN);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(
        d.message,
        "control plane `cp9` may start joining 2h15m after boot, after the uploaded certificates expire (2h), and so may the 2 control planes after it"
    );
    assert_eq!(primary(&d), at(&root, "controlplanes.8").origin);
    let help = d.help.unwrap_or_default();
    assert!(help.contains("at most 8 boot together"), "{help}");
    assert!(help.contains("kubeadm init phase upload-certs --upload-certs --certificate-key"));
    assert!(accepted(json));
    let (_, diagnostics) = run(with(&[("controlplanes", control_planes(9))]));
    assert!(
        one(&diagnostics, codes::CERTIFICATES_EXPIRE_BEFORE_JOIN)
            .message
            .ends_with("(2h)")
    );
    // cp8 may start joining exactly 2 h after boot: inside the window.
    none(
        &run(with(&[("controlplanes", control_planes(8))])).1,
        codes::CERTIFICATES_EXPIRE_BEFORE_JOIN,
    );
    none(&run(base()).1, codes::CERTIFICATES_EXPIRE_BEFORE_JOIN);
}

fn run_on(
    json: serde_json::Value,
    cloud: crate::model::Cloud,
) -> (hac_lang::Value, Vec<Diagnostic>) {
    let root = value(json);
    let (_, diagnostics) = crate::model::check_cluster_on(&root, Some(cloud));
    (root, diagnostics)
}

#[test]
fn a_keepalived_vip_on_a_public_cloud_is_refused_with_the_external_load_balancer_as_help() {
    use crate::model::Cloud;
    for cloud in ["aws", "gcp", "azure"] {
        let (root, diagnostics) = run(with(&[("cloud", json!(cloud))]));
        let d = one(&diagnostics, codes::VIP_ON_CLOUD);
        assert_eq!(d.severity, Severity::Error);
        assert_eq!(primary(&d), at(&root, "loadbalancer.vip").origin);
        assert_eq!(secondary(&d), [at(&root, "cloud").origin]);
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .contains("loadbalancer = \"external\"")
        );
    }
    // `--provider` alone says the same, with no label on a `cloud` the source lacks.
    let (root, diagnostics) = run_on(base(), Cloud::Aws);
    let d = one(&diagnostics, codes::VIP_ON_CLOUD);
    assert_eq!(primary(&d), at(&root, "loadbalancer.vip").origin);
    assert!(d.message.contains("--provider aws"), "{}", d.message);
    // OpenStack: a warning about allowed-address-pairs; bare metal and no cloud: nothing.
    let (_, diagnostics) = run(with(&[("cloud", json!("openstack"))]));
    let d = one(&diagnostics, codes::VIP_NEEDS_PORT_SECURITY);
    assert_eq!(d.severity, Severity::Warning);
    assert!(d.help.as_deref().unwrap().contains("allowed-address"));
    for json in [with(&[("cloud", json!("bare-metal"))]), base()] {
        let (_, diagnostics) = run(json);
        none(&diagnostics, codes::VIP_ON_CLOUD);
        none(&diagnostics, codes::VIP_NEEDS_PORT_SECURITY);
    }
    // The external load balancer the help proposes passes.
    let mut external = with(&[("cloud", json!("aws")), ("loadbalancer", json!("external"))]);
    assert!(accepted(external.clone()));
    set(&mut external, "cloud", json!("amazon"));
    let (root, diagnostics) = run(external);
    let d = one(&diagnostics, codes::INVALID_VALUE);
    assert_eq!(primary(&d), at(&root, "cloud").origin);
}

#[test]
fn the_provider_and_the_cloud_attribute_must_agree() {
    use crate::model::Cloud;
    let json = with(&[("cloud", json!("gcp")), ("loadbalancer", json!("external"))]);
    let (root, diagnostics) = run_on(json.clone(), Cloud::Azure);
    let d = one(&diagnostics, codes::CLOUD_CONFLICT);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(primary(&d), at(&root, "cloud").origin);
    let (_, diagnostics) = run_on(json, Cloud::Gcp);
    none(&diagnostics, codes::CLOUD_CONFLICT);
}

#[test]
fn ipv6_ranges_with_ipv4_hosts_are_an_error_at_the_range() {
    // The reproduction: this passed `hac check`, and kube-apiserver refuses it.
    let json = with(&[(
        "network",
        json!({ "cni": "calico", "pods": "fd00:10:244::/56", "services": "fd00:10:96::/112" }),
    )]);
    let (root, diagnostics) = run(json.clone());
    let d = one(&diagnostics, codes::MIXED_FAMILIES);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(primary(&d), at(&root, "network.pods").origin);
    assert!(secondary(&d).contains(&at(&root, "controlplanes.0.address").origin));
    assert!(d.message.contains("IPv6"), "{}", d.message);
    assert!(!accepted(json));
    // And the reverse.
    let mut v6 = base();
    for (i, path) in [
        "loadbalancer.hosts.0",
        "loadbalancer.hosts.1",
        "controlplanes.0",
        "controlplanes.1",
        "controlplanes.2",
        "workers.0",
        "workers.1",
    ]
    .iter()
    .enumerate()
    {
        set(
            &mut v6,
            &format!("{path}.address"),
            json!(format!("fd00::{}", i + 1)),
        );
    }
    set(&mut v6, "loadbalancer.vip", json!("fd00::100"));
    let (root, diagnostics) = run(v6.clone());
    let d = one(&diagnostics, codes::MIXED_FAMILIES);
    // The default ranges belong to the cluster set that lacks `network`.
    assert_eq!(primary(&d), root.origin);
    set(
        &mut v6,
        "network",
        json!({ "cni": "calico", "pods": "fd00:10:244::/56", "services": "fd00:10:96::/112" }),
    );
    let (_, diagnostics) = run(v6);
    none(&diagnostics, codes::MIXED_FAMILIES);
}

#[test]
fn dual_stack_lists_are_refused_with_a_pointer_to_the_docs() {
    let json = with(&[(
        "network",
        json!({ "pods": ["10.244.0.0/16", "fd00:10:244::/56"] }),
    )]);
    let (root, diagnostics) = run(json);
    let d = one(&diagnostics, codes::DUAL_STACK_UNSUPPORTED);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(primary(&d), at(&root, "network.pods").origin);
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("docs/networking.md#dual-stack")
    );
}

#[test]
fn cross_subnet_pod_traffic_on_a_cloud_warns_and_cilium_refuses_it() {
    let json = with(&[
        ("cloud", json!("azure")),
        ("loadbalancer", json!("external")),
        (
            "network",
            json!({ "cni": "calico", "encapsulation": "vxlan-cross-subnet" }),
        ),
    ]);
    let (root, diagnostics) = run(json);
    let d = one(&diagnostics, codes::CROSS_SUBNET_ON_CLOUD);
    assert_eq!(primary(&d), at(&root, "network.encapsulation").origin);
    assert!(d.help.as_deref().unwrap().contains("Azure"));
    let (_, diagnostics) = run(with(&[(
        "network",
        json!({ "cni": "calico", "encapsulation": "vxlan-cross-subnet" }),
    )]));
    none(&diagnostics, codes::CROSS_SUBNET_ON_CLOUD);
    let (root, diagnostics) = run(with(&[(
        "network",
        json!({ "cni": "cilium", "encapsulation": "vxlan-cross-subnet" }),
    )]));
    let d = one(&diagnostics, codes::CNI_ENCAPSULATION);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(primary(&d), at(&root, "network.encapsulation").origin);
}

#[test]
fn an_mtu_without_room_for_vxlan_is_refused() {
    let mut v6 = base();
    for (i, path) in [
        "loadbalancer.hosts.0",
        "loadbalancer.hosts.1",
        "controlplanes.0",
        "controlplanes.1",
        "controlplanes.2",
        "workers.0",
        "workers.1",
    ]
    .iter()
    .enumerate()
    {
        set(
            &mut v6,
            &format!("{path}.address"),
            json!(format!("fd00::{}", i + 1)),
        );
    }
    set(&mut v6, "loadbalancer.vip", json!("fd00::100"));
    set(
        &mut v6,
        "network",
        json!({ "cni": "calico", "pods": "fd00:10:244::/56", "services": "fd00:10:96::/112", "mtu": 1340 }),
    );
    let (root, diagnostics) = run(v6.clone());
    let d = one(&diagnostics, codes::MTU_TOO_SMALL);
    assert_eq!(primary(&d), at(&root, "network.mtu").origin);
    assert!(d.message.contains("1270"), "{}", d.message);
    set(&mut v6, "network.mtu", json!(1350));
    let (_, diagnostics) = run(v6);
    none(&diagnostics, codes::MTU_TOO_SMALL);
    let (_, diagnostics) = run(with(&[("network", json!({ "mtu": 1500 }))]));
    none(&diagnostics, codes::MTU_TOO_SMALL);
    let (root, diagnostics) = run(with(&[("network", json!({ "mtu": 70000 }))]));
    assert_eq!(
        primary(&one(&diagnostics, codes::INVALID_VALUE)),
        at(&root, "network.mtu").origin
    );
}

#[test]
fn a_colocated_load_balancer_on_a_port_in_use_is_refused() {
    let json = with(&[
        ("endpoint", json!("10.0.0.100:10250")),
        (
            "loadbalancer",
            json!({ "colocated": true, "vip": "10.0.0.100", "port": 10250 }),
        ),
    ]);
    let (root, diagnostics) = run(json);
    let d = one(&diagnostics, codes::PORT_IN_USE);
    assert_eq!(primary(&d), at(&root, "loadbalancer.port").origin);
    assert!(d.message.contains("kubelet"), "{}", d.message);
    let json = with(&[
        ("endpoint", json!("10.0.0.100:8443")),
        (
            "loadbalancer",
            json!({ "colocated": true, "vip": "10.0.0.100", "port": 8443 }),
        ),
    ]);
    let (_, diagnostics) = run(json);
    none(&diagnostics, codes::PORT_IN_USE);
}

#[test]
fn a_named_endpoint_gets_a_note_naming_its_dns_record() {
    let (root, diagnostics) = run(base());
    let d = one(&diagnostics, codes::ENDPOINT_DNS_RECORD);
    assert_eq!(d.severity, Severity::Advice);
    assert_eq!(primary(&d), at(&root, "endpoint").origin);
    assert!(
        d.message
            .contains("A `api.prod.example.com` → `10.0.0.100` (the VIP)"),
        "{}",
        d.message
    );
    // External: hac knows no address, and says what to point the name at.
    let (_, diagnostics) = run(with(&[("loadbalancer", json!("external"))]));
    assert!(
        one(&diagnostics, codes::ENDPOINT_DNS_RECORD)
            .message
            .contains("CNAME")
    );
    // With the hosts-file option, no note; with an IP endpoint, neither.
    let (_, diagnostics) = run(with(&[("network", json!({ "resolveEndpoint": "hosts" }))]));
    none(&diagnostics, codes::ENDPOINT_DNS_RECORD);
    let (_, diagnostics) = run(with(&[("endpoint", json!("10.0.0.100:6443"))]));
    none(&diagnostics, codes::ENDPOINT_DNS_RECORD);
    // The IP warning now names both ways out of the DNS trap.
    let ip = one(&diagnostics, codes::ENDPOINT_IS_IP);
    assert!(ip.help.as_deref().unwrap().contains("resolveEndpoint"));
}

#[test]
fn the_hosts_file_option_needs_a_name_and_an_address() {
    let (root, diagnostics) = run(with(&[
        ("endpoint", json!("10.0.0.100:6443")),
        ("network", json!({ "resolveEndpoint": "hosts" })),
    ]));
    let d = one(&diagnostics, codes::HOSTS_ENTRY_FOR_IP);
    assert_eq!(primary(&d), at(&root, "network.resolveEndpoint").origin);
    let (root, diagnostics) = run(with(&[
        ("loadbalancer", json!("external")),
        ("network", json!({ "resolveEndpoint": "hosts" })),
    ]));
    let d = one(&diagnostics, codes::HOSTS_ENTRY_WITHOUT_ADDRESS);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(primary(&d), at(&root, "network.resolveEndpoint").origin);
}

// Downloads: digests and offline clusters.

fn without_versions() -> serde_json::Value {
    let mut json = base();
    remove(&mut json, "versions");
    json
}
#[test]
fn a_download_without_a_known_digest_is_an_error_at_what_chose_it() {
    let (root, diagnostics) = run(without_versions());
    let d = one(&diagnostics, codes::UNVERIFIED_DOWNLOAD);
    assert_eq!(d.severity, Severity::Error);
    assert!(d.message.contains("flannel 0.27.4 (manifest)"), "{d:?}");
    // No `network` in the base cluster: the default is the cluster set's.
    assert_eq!(primary(&d).file, root.origin.file);
    let help = d.help.unwrap();
    assert!(
        help.contains("versions.flannel = { version = \"0.27.4\"; sha256 = \"…\"; };"),
        "{help}"
    );
    assert!(
        help.contains("versions.flannel.unverified = true;"),
        "{help}"
    );

    let mut json = without_versions();
    set(&mut json, "network", json!({ "cni": "calico" }));
    let (root, diagnostics) = run(json);
    let d = one(&diagnostics, codes::UNVERIFIED_DOWNLOAD);
    assert_eq!(primary(&d), at(&root, "network.cni").origin);
    assert!(
        d.help
            .unwrap()
            .contains("sha256 = { crds = \"…\"; operator = \"…\"; }")
    );
}
#[test]
fn recorded_digests_need_nothing_from_the_source() {
    // containerd (1.36 needs it) and the cilium CLI have digests in the table.
    let mut json = without_versions();
    set(&mut json, "network", json!({ "cni": "cilium" }));
    let (_, diagnostics) = run(json);
    none(&diagnostics, codes::UNVERIFIED_DOWNLOAD);
    none(&diagnostics, codes::UNVERIFIED_DOWNLOAD_ALLOWED);
}
#[test]
fn another_version_needs_its_own_digests() {
    let mut json = base();
    set(
        &mut json,
        "versions.containerd",
        json!({ "version": "2.2.0" }),
    );
    let (root, diagnostics) = run(json);
    let d = one(&diagnostics, codes::UNVERIFIED_DOWNLOAD);
    assert_eq!(primary(&d), at(&root, "versions.containerd.version").origin);
    assert!(
        d.message.contains("containerd 2.2.0 (amd64, arm64)"),
        "{d:?}"
    );
    assert!(
        d.message.contains("only vouches for containerd 2.2.1"),
        "{d:?}"
    );

    // A plain string is the amd64 digest: arm64 still has none.
    let mut json = base();
    set(
        &mut json,
        "versions.containerd",
        json!({ "version": "2.2.0", "sha256": "b9626a94ab93b00bcbcbf13d98deef972c6fb064690e57940632df54ad39ee71" }),
    );
    let (_, diagnostics) = run(json);
    let d = one(&diagnostics, codes::UNVERIFIED_DOWNLOAD);
    assert!(d.message.contains("(arm64)"), "{d:?}");

    let mut json = base();
    set(
        &mut json,
        "versions.containerd",
        json!({ "version": "2.2.0", "sha256": {
            "amd64": "b9626a94ab93b00bcbcbf13d98deef972c6fb064690e57940632df54ad39ee71",
            "arm64": "8805c2123d3b7c7ee2030e9f8fc07a1167d8a3f871d6a7d7ec5d1deb0b51a4a7"
        } }),
    );
    let (_, diagnostics) = run(json);
    none(&diagnostics, codes::UNVERIFIED_DOWNLOAD);
}
#[test]
fn an_explicit_opt_out_warns_at_itself() {
    let mut json = without_versions();
    set(&mut json, "versions.flannel.unverified", json!(true));
    let (root, diagnostics) = run(json);
    none(&diagnostics, codes::UNVERIFIED_DOWNLOAD);
    let d = one(&diagnostics, codes::UNVERIFIED_DOWNLOAD_ALLOWED);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(primary(&d), at(&root, "versions.flannel.unverified").origin);
    // `unverified = false` is no opt-out.
    let mut json = without_versions();
    set(&mut json, "versions.flannel.unverified", json!(false));
    let (_, diagnostics) = run(json);
    one(&diagnostics, codes::UNVERIFIED_DOWNLOAD);
}
fn offline(changes: &[(&str, serde_json::Value)]) -> Vec<Diagnostic> {
    let mut json = with(changes);
    set(&mut json, "packages.offline", json!(true));
    run(json).1
}
#[test]
fn an_offline_cluster_names_every_fetch_outside_its_mirrors() {
    let diagnostics = offline(&[]);
    let messages: Vec<&str> = diagnostics
        .iter()
        .filter(|d| d.code == codes::OFFLINE_FETCH)
        .map(|d| d.message.as_str())
        .collect();
    for expected in [
        "the Kubernetes packages and their signing key from https://pkgs.k8s.io/core:/stable:/v1.36/deb/",
        "containerd 2.2.1 (amd64) from https://github.com/containerd/containerd/releases/download/v2.2.1/containerd-2.2.1-linux-amd64.tar.gz",
        "containerd 2.2.1 (arm64) from",
        "flannel 0.27.4 (manifest) from https://github.com/flannel-io/flannel/releases/download/v0.27.4/kube-flannel.yml",
        "the Kubernetes images (kube-apiserver, etcd, CoreDNS, pause…) from registry.k8s.io",
        "flannel's images from ghcr.io",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(expected)),
            "`{expected}` not in {messages:#?}"
        );
    }
    assert_eq!(messages.len(), 6, "{messages:#?}");
}
#[test]
fn an_offline_cluster_with_every_mirror_is_clean() {
    let diagnostics = offline(&[
        ("packages.mirror", json!("https://mirror.lan/k8s")),
        ("packages.releases", json!("https://mirror.lan/releases")),
        ("packages.imageRepository", json!("registry.lan/k8s")),
        (
            "containerd.registryMirrors",
            json!({ "ghcr.io": ["https://registry.lan"] }),
        ),
    ]);
    // imageRepository moves containerd's sandbox image too (the hosts pin it to
    // kubeadm's), so no registry.k8s.io mirror is needed.
    none(&diagnostics, codes::OFFLINE_FETCH);
    let diagnostics = offline(&[
        ("packages.mirror", json!("https://mirror.lan/k8s")),
        ("packages.releases", json!("https://mirror.lan/releases")),
        ("packages.imageRepository", json!("registry.lan/k8s")),
        (
            "containerd.registryMirrors",
            json!({ "ghcr.io": ["https://registry.lan"], "registry.k8s.io": ["https://registry.lan"] }),
        ),
    ]);
    none(&diagnostics, codes::OFFLINE_FETCH);
    // Calico needs quay.io and docker.io as well; a registry.k8s.io mirror stands in
    // for imageRepository.
    let diagnostics = offline(&[
        ("network", json!({ "cni": "calico" })),
        ("packages.mirror", json!("https://mirror.lan/k8s")),
        ("packages.releases", json!("https://mirror.lan/releases")),
        (
            "containerd.registryMirrors",
            json!({ "registry.k8s.io": ["https://registry.lan"], "quay.io": ["https://registry.lan"] }),
        ),
    ]);
    let d = one(&diagnostics, codes::OFFLINE_FETCH);
    assert!(
        d.message.contains("calico's images from docker.io"),
        "{d:?}"
    );
}
#[test]
fn an_online_cluster_is_not_asked_for_mirrors() {
    let (_, diagnostics) = run(with(&[("packages.offline", json!(false))]));
    none(&diagnostics, codes::OFFLINE_FETCH);
}
