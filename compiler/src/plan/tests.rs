//! Plan order and waits for every example shape, and the four renderings.

use serde_json::json;

use super::render;
use super::*;
use crate::model::check_cluster;
use crate::model::testing::{base, remove, set, value};

fn plan_of(json: serde_json::Value) -> BootPlan {
    let root = value(json);
    let (cluster, diagnostics) = check_cluster(&root);
    let cluster = cluster.unwrap_or_else(|| panic!("invalid test cluster: {diagnostics:#?}"));
    plan(&cluster)
}

fn host<'p>(plan: &'p BootPlan, name: &str) -> &'p HostPlan {
    plan.hosts
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no host {name}"))
}

fn step<'p>(plan: &'p BootPlan, name: &str, id: &str) -> &'p Step {
    host(plan, name)
        .steps
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("{name} has no step {id}"))
}

fn order(plan: &BootPlan) -> Vec<(&str, u32)> {
    plan.hosts
        .iter()
        .map(|h| (h.name.as_str(), h.stage))
        .collect()
}

fn edges(plan: &BootPlan) -> Vec<(&str, &str, &str)> {
    plan.edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str(), e.reason.as_str()))
        .collect()
}

fn conditions(step: &Step) -> Vec<&Condition> {
    step.waits_for.iter().map(|w| &w.condition).collect()
}

/// Every wait polls and is bounded; every edge goes to a later stage.
fn assert_well_formed(plan: &BootPlan) {
    for host in &plan.hosts {
        for step in &host.steps {
            for wait in &step.waits_for {
                assert!(
                    wait.interval_seconds > 0 && wait.timeout_seconds > wait.interval_seconds,
                    "{wait:?}"
                );
            }
        }
    }
    for edge in &plan.edges {
        assert!(
            host(plan, &edge.from).stage < host(plan, &edge.to).stage,
            "{edge:?}"
        );
    }
}

fn stacked() -> serde_json::Value {
    let mut json = base();
    set(
        &mut json,
        "workers",
        json!([
            { "name": "w1", "address": "10.0.0.21" }, { "name": "w2", "address": "10.0.0.22" }, { "name": "w3" }
        ]),
    );
    json
}

#[test]
fn stacked_with_two_load_balancers() {
    let plan = plan_of(stacked());
    assert_well_formed(&plan);
    assert_eq!(
        order(&plan),
        vec![
            ("lb1", 0),
            ("lb2", 0),
            ("cp1", 1),
            ("cp2", 2),
            ("w1", 2),
            ("w2", 2),
            ("w3", 2),
            ("cp3", 3)
        ]
    );
    let lb = host(&plan, "lb1");
    assert_eq!(lb.roles, vec![PlanRole::LoadBalancer]);
    let ids: Vec<_> = lb.steps.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        vec![
            "install-packages",
            "configure-haproxy",
            "configure-keepalived",
            "start-load-balancer"
        ]
    );
    let Action::ConfigureHaproxy { port, backends } =
        &step(&plan, "lb1", "configure-haproxy").action
    else {
        panic!()
    };
    assert_eq!(*port, 6443);
    assert_eq!(
        backends
            .iter()
            .map(|b| b.address.as_str())
            .collect::<Vec<_>>(),
        vec!["10.0.0.11:6443", "10.0.0.12:6443", "10.0.0.13:6443"]
    );
    let priority = |name| match &step(&plan, name, "configure-keepalived").action {
        Action::ConfigureKeepalived {
            priority,
            check_weight,
            peers,
            vip,
            interface,
        } => {
            assert_eq!(vip, "10.0.0.100");
            assert_eq!(*interface, None);
            assert_eq!(peers.len(), 1);
            assert_eq!(*check_weight, 2);
            *priority
        }
        other => panic!("{other:?}"),
    };
    assert_eq!((priority("lb1"), priority("lb2")), (101, 100));

    let init = step(&plan, "cp1", "kubeadm-init");
    assert_eq!(
        conditions(init),
        vec![&Condition::TcpAccepts {
            address: "api.prod.example.com:6443".into()
        }]
    );
    assert_eq!(init.action, Action::KubeadmInit { upload_certs: true });
    assert_eq!(
        step(&plan, "cp1", "install-cni").action,
        Action::InstallCni {
            cni: "flannel".into(),
            pods: "10.244.0.0/16".into()
        }
    );

    let readyz = Condition::ApiReady {
        url: "https://api.prod.example.com:6443/readyz".into(),
    };
    let join2 = step(&plan, "cp2", "kubeadm-join");
    assert_eq!(
        join2.action,
        Action::KubeadmJoin {
            control_plane: true
        }
    );
    let token = |host: &str| Condition::TokenAccepted {
        endpoint: "api.prod.example.com:6443".into(),
        host: host.into(),
        refused_for_seconds: super::TOKEN_REFUSED_SECONDS,
    };
    let peer = |host: &str, address: &str, earlier: bool| super::Peer {
        host: host.into(),
        url: format!("https://{address}:6443/readyz"),
        earlier,
    };
    let turn = |peers: Vec<super::Peer>| Condition::ControlPlaneTurn {
        endpoint: "api.prod.example.com:6443".into(),
        peers,
        pass_after_seconds: super::PASS_UNREGISTERED_SECONDS,
    };
    assert_eq!(
        conditions(join2),
        vec![
            &readyz,
            &token("cp2"),
            &turn(vec![
                peer("cp1", "10.0.0.11", true),
                peer("cp3", "10.0.0.13", false)
            ])
        ]
    );
    // cp3 waits for both control planes listed before it (a bounded time for one that
    // never registers), not for cp2 alone.
    let join3 = step(&plan, "cp3", "kubeadm-join");
    assert_eq!(
        conditions(join3)[2],
        &turn(vec![
            peer("cp1", "10.0.0.11", true),
            peer("cp2", "10.0.0.12", true)
        ])
    );
    assert!(
        join3.waits_for[2].timeout_seconds > join2.waits_for[2].timeout_seconds,
        "later joins are expected later"
    );
    let worker = step(&plan, "w3", "kubeadm-join");
    assert_eq!(
        worker.action,
        Action::KubeadmJoin {
            control_plane: false
        }
    );
    assert_eq!(conditions(worker), vec![&readyz, &token("w3")]);

    assert_eq!(
        edges(&plan),
        vec![
            ("lb1", "cp1", "endpoint accepts TCP"),
            ("lb2", "cp1", "endpoint accepts TCP"),
            (
                "cp1",
                "cp2",
                "API ready, token accepted, control plane turn"
            ),
            (
                "cp1",
                "cp3",
                "API ready, token accepted, control plane turn"
            ),
            ("cp1", "w1", "API ready, token accepted"),
            ("cp1", "w2", "API ready, token accepted"),
            ("cp1", "w3", "API ready, token accepted"),
            ("cp2", "cp3", "control plane turn"),
        ]
    );
}

/// [`base`] with three external etcd members and a load balancer `lb1` in front.
fn with_external_etcd_and_a_load_balancer() -> serde_json::Value {
    let mut json = base();
    let member = |i: u32| json!({ "name": format!("etcd{i}"), "address": format!("10.0.0.3{i}") });
    set(
        &mut json,
        "etcd",
        json!({ "external": [member(1), member(2), member(3)] }),
    );
    set(
        &mut json,
        "loadbalancer",
        json!({ "hosts": [{ "name": "lb1", "address": "10.0.0.5" }] }),
    );
    set(&mut json, "endpoint", json!("lb.prod.example.com:6443"));
    json
}

#[test]
fn external_etcd_forms_quorum_before_init() {
    let json = with_external_etcd_and_a_load_balancer();
    let plan = plan_of(json);
    assert_well_formed(&plan);
    assert_eq!(
        &order(&plan)[..5],
        &[
            ("lb1", 0),
            ("etcd1", 0),
            ("etcd2", 0),
            ("etcd3", 0),
            ("cp1", 1)
        ]
    );
    let quorum = Condition::EtcdHealthy {
        endpoints: vec![
            "https://10.0.0.31:2379".into(),
            "https://10.0.0.32:2379".into(),
            "https://10.0.0.33:2379".into(),
        ],
        quorum: 2,
    };
    let Action::StartEtcd {
        initial_cluster, ..
    } = &step(&plan, "etcd2", "start-etcd").action
    else {
        panic!()
    };
    assert_eq!(initial_cluster[0], "etcd1=https://10.0.0.31:2380");
    assert_eq!(
        conditions(step(&plan, "etcd2", "etcd-quorum")),
        vec![&quorum]
    );
    assert_eq!(
        conditions(step(&plan, "cp1", "kubeadm-init")),
        vec![
            &quorum,
            &Condition::TcpAccepts {
                address: "lb.prod.example.com:6443".into()
            }
        ]
    );
    // No VIP: haproxy only.
    assert_eq!(
        step(&plan, "lb1", "install-packages").action,
        Action::InstallPackages {
            packages: vec!["haproxy".into()]
        }
    );
    assert!(
        host(&plan, "lb1")
            .steps
            .iter()
            .all(|s| s.id != "configure-keepalived")
    );
    let into_cp1: Vec<_> = edges(&plan).into_iter().filter(|e| e.1 == "cp1").collect();
    assert_eq!(
        into_cp1,
        vec![
            ("lb1", "cp1", "endpoint accepts TCP"),
            ("etcd1", "cp1", "etcd quorum"),
            ("etcd2", "cp1", "etcd quorum"),
            ("etcd3", "cp1", "etcd quorum")
        ]
    );
    assert!(
        plan.edges
            .iter()
            .all(|e| !(e.from.starts_with("etcd") && e.to.starts_with("etcd"))),
        "members start together"
    );
}

#[test]
fn external_load_balancer_lets_the_first_control_plane_start_at_once() {
    let plan = plan_of({
        let mut json = base();
        set(&mut json, "loadbalancer", json!("external"));
        json
    });
    assert_well_formed(&plan);
    assert_eq!(order(&plan)[0], ("cp1", 0));
    assert!(step(&plan, "cp1", "kubeadm-init").waits_for.is_empty());
    assert!(
        plan.hosts
            .iter()
            .all(|h| !h.roles.contains(&PlanRole::LoadBalancer))
    );
}

#[test]
fn colocated_load_balancer_runs_on_every_control_plane() {
    let mut json = base();
    set(
        &mut json,
        "loadbalancer",
        json!({ "colocated": true, "vip": "10.0.0.100", "port": 8443 }),
    );
    set(&mut json, "endpoint", json!("api.prod.example.com:8443"));
    let plan = plan_of(json);
    assert_well_formed(&plan);
    let cp1 = host(&plan, "cp1");
    assert_eq!(
        cp1.roles,
        vec![PlanRole::InitControlPlane, PlanRole::LoadBalancer]
    );
    assert_eq!(cp1.stage, 0);
    let ids: Vec<_> = cp1.steps.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        vec![
            "install-packages",
            "pin-sandbox-image",
            "configure-haproxy",
            "configure-keepalived",
            "start-load-balancer",
            "kubeadm-init",
            "install-cni"
        ]
    );
    assert_eq!(
        conditions(step(&plan, "cp1", "kubeadm-init")),
        vec![&Condition::TcpAccepts {
            address: "api.prod.example.com:8443".into()
        }]
    );
    assert_eq!(
        host(&plan, "cp3").roles,
        vec![PlanRole::ControlPlane, PlanRole::LoadBalancer]
    );
    let Action::ConfigureHaproxy { port, .. } = &step(&plan, "cp2", "configure-haproxy").action
    else {
        panic!()
    };
    assert_eq!(*port, 8443);
    let Action::InstallPackages { packages } = &step(&plan, "cp2", "install-packages").action
    else {
        panic!()
    };
    assert!(
        packages.contains(&"haproxy".to_owned()) && packages.contains(&"kubeadm=1.36.1".to_owned())
    );
}

#[test]
fn files_and_commands_frame_the_main_step() {
    let mut json = base();
    set(
        &mut json,
        "files",
        json!([{ "path": "/etc/a", "content": "a" }]),
    );
    set(
        &mut json,
        "commands",
        json!({ "before": ["echo cluster"], "after": ["echo done"] }),
    );
    set(
        &mut json,
        "workers.0.commands",
        json!({ "before": ["echo host"] }),
    );
    set(
        &mut json,
        "workers.0.files",
        json!([{ "path": "/etc/b", "content": "b" }]),
    );
    let plan = plan_of(json);
    let w1 = host(&plan, "w1");
    let ids: Vec<_> = w1.steps.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        vec![
            "write-files",
            "install-packages",
            "pin-sandbox-image",
            "commands-before",
            "kubeadm-join",
            "commands-after"
        ]
    );
    assert_eq!(
        w1.steps[0].action,
        Action::WriteFiles {
            paths: vec!["/etc/a".into(), "/etc/b".into()]
        }
    );
    assert_eq!(
        w1.steps[3].action,
        Action::RunCommands {
            commands: vec!["echo cluster".into(), "echo host".into()]
        }
    );
    assert_eq!(
        host(&plan, "w2")
            .steps
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        vec![
            "write-files",
            "install-packages",
            "pin-sandbox-image",
            "commands-before",
            "kubeadm-join",
            "commands-after"
        ]
    );
}

#[test]
fn no_cni_step_for_cni_none() {
    let mut json = base();
    set(&mut json, "network", json!({ "cni": "none" }));
    let plan = plan_of(json);
    assert!(
        host(&plan, "cp1")
            .steps
            .iter()
            .all(|s| s.id != "install-cni")
    );
}

#[test]
fn text_lists_hosts_in_order_with_waits() {
    let text = render::text(&plan_of(stacked()));
    assert!(text.starts_with(
        "Boot plan for cluster `prod`: Kubernetes 1.36.1, endpoint api.prod.example.com:6443\n"
    ));
    let position = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in\n{text}"))
    };
    assert!(
        position("  lb1 (10.0.0.5): load balancer")
            < position("  cp1 (10.0.0.11): first control plane")
    );
    assert!(position("  cp1 (10.0.0.11)") < position("  cp2 (10.0.0.12): control plane"));
    assert!(position("  cp2 (10.0.0.12)") < position("  cp3 (10.0.0.13)"));
    assert!(text.contains("  w3: worker\n"));
    assert!(text.contains("    3. kubeadm init --upload-certs\n       waits until api.prod.example.com:6443 accepts TCP connections (polled every 5s at first, normally within 30m, then keeps waiting)\n"));
    assert!(text.contains(
        "waits until its turn: every registered control plane serving, none mid-join, earlier ones (cp1, cp2) registered or passed after 30m"
    ));
    assert!(text.contains("waits until https://api.prod.example.com:6443 accepts w3's bootstrap token (refused for 60m: needs a person)"));
    assert!(text.contains("  cp2 -> cp3: control plane turn\n"));
}

#[test]
fn json_round_trips_through_serde() {
    let plan = plan_of(stacked());
    let parsed: serde_json::Value = serde_json::from_str(&render::json(&plan)).expect("valid JSON");
    assert_eq!(parsed["cluster"], "prod");
    assert_eq!(parsed["hosts"][0]["name"], "lb1");
    assert_eq!(parsed["hosts"][2]["roles"], json!(["init-control-plane"]));
    assert_eq!(
        parsed["hosts"][2]["steps"][2]["waits_for"][0]["condition"]["kind"],
        "tcp-accepts"
    );
    assert_eq!(
        parsed["hosts"][3]["steps"][2]["waits_for"][2]["condition"],
        json!({
            "kind": "control-plane-turn",
            "endpoint": "api.prod.example.com:6443",
            "peers": [
                { "host": "cp1", "url": "https://10.0.0.11:6443/readyz", "earlier": true },
                { "host": "cp3", "url": "https://10.0.0.13:6443/readyz", "earlier": false },
            ],
            "pass_after_seconds": 1800,
        })
    );
    assert_eq!(parsed["edges"].as_array().unwrap().len(), plan.edges.len());
}

#[test]
fn dot_has_every_node_and_edge() {
    let plan = plan_of(stacked());
    let dot = render::dot(&plan);
    assert!(dot.starts_with("digraph boot {\n") && dot.ends_with("}\n"));
    assert!(dot.contains("  \"cp1\" [label=\"cp1\\nfirst control plane\"];\n"));
    assert!(dot.contains("  \"lb1\" -> \"cp1\" [label=\"endpoint accepts TCP\"];\n"));
    assert_eq!(dot.matches(" -> ").count(), plan.edges.len());
    assert_eq!(
        dot.matches("[label=").count(),
        plan.edges.len() + plan.hosts.len()
    );
}

#[test]
fn mermaid_has_the_expected_edges() {
    let mermaid = render::mermaid(&plan_of(stacked()));
    assert!(mermaid.starts_with("flowchart LR\n"));
    assert!(mermaid.contains("  h_lb1[\"lb1<br/>load balancer\"]\n"));
    for edge in [
        "h_lb1 -->|endpoint accepts TCP| h_cp1",
        "h_cp1 -->|API ready, token accepted, control plane turn| h_cp2",
        "h_cp2 -->|control plane turn| h_cp3",
        "h_cp1 -->|API ready, token accepted| h_w3",
    ] {
        assert!(
            mermaid.contains(&format!("  {edge}\n")),
            "no `{edge}` in\n{mermaid}"
        );
    }
    let mut json = stacked();
    set(&mut json, "workers.0.name", json!("end"));
    set(&mut json, "workers.1.name", json!("node-a"));
    let mermaid = render::mermaid(&plan_of(json));
    assert!(
        mermaid.contains("h_cp1 -->|API ready, token accepted| h_end")
            && mermaid.contains("h_node_a[\"node-a")
    );
}

/// Needs Graphviz's `dot` (Debian package `graphviz`); fails when it is missing.
#[test]
fn dot_output_renders_with_graphviz() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut shapes = vec![stacked()];
    let mut json = base();
    remove(&mut json, "loadbalancer");
    shapes.push(json);
    for json in shapes {
        let dot = render::dot(&plan_of(json));
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("Graphviz `dot` is not installed (Debian package `graphviz`)");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(dot.as_bytes())
            .expect("write to dot");
        let output = child.wait_with_output().expect("dot runs");
        assert!(
            output.status.success(),
            "dot rejected:\n{dot}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("<svg"));
    }
}

/// The same cluster as `examples/stacked.hac`, whose graph `docs/plan.md` shows.
fn stacked_example() -> serde_json::Value {
    let mut json = base();
    let worker = |i: u32| json!({ "name": format!("worker{i}"), "address": format!("10.0.0.2{i}"), "labels": { "node.kubernetes.io/pool": "general" } });
    set(
        &mut json,
        "workers",
        json!([worker(1), worker(2), worker(3)]),
    );
    json
}

#[test]
fn docs_show_the_current_mermaid_graph() {
    let expected = render::mermaid(&plan_of(stacked_example()));
    for (name, text) in [
        ("docs/plan.md", include_str!("../../../docs/plan.md")),
        ("README.md", include_str!("../../../README.md")),
    ] {
        let start = text
            .find("```mermaid\n")
            .unwrap_or_else(|| panic!("a mermaid block in {name}"))
            + "```mermaid\n".len();
        let end = start + text[start..].find("```").expect("the block's end");
        assert_eq!(&text[start..end], expected, "the mermaid block in {name}");
    }
}

#[test]
fn join_bounds_are_the_longest_wait_of_each_join() {
    let plan = plan_of(stacked());
    let bounds: Vec<(&str, u32)> = plan
        .join_bounds()
        .into_iter()
        .map(|(h, b)| (h.name.as_str(), b / 60))
        .collect();
    let mut expected = vec![("cp2", 30), ("cp3", 45)];
    expected.extend(
        plan.hosts
            .iter()
            .filter(|h| h.roles.contains(&PlanRole::Worker))
            .map(|h| (h.name.as_str(), 45)),
    );
    let mut sorted = bounds.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
    assert!(bounds.iter().all(|(name, _)| *name != "cp1"));
}

/// Effective keepalived priorities in every combination of host states: a healthy
/// host always outranks a blind one (haproxy up, no API server), and a blind one a
/// dead one (haproxy silent, so both checks fail), whatever their ranks.
#[test]
fn keepalived_numbers_rank_healthy_above_blind_above_dead() {
    use super::{keepalived_check_weight, keepalived_priority};
    let effective = |count: usize, state: u8| -> Vec<i32> {
        let weight = i32::from(keepalived_check_weight(count));
        (0..count)
            .map(|rank| i32::from(keepalived_priority(rank, count)) - i32::from(state) * weight)
            .collect()
    };
    // 0: healthy, 1: blind (one check fails), 2: dead (both fail).
    assert_eq!(effective(2, 0), [101, 100]);
    assert_eq!(effective(2, 1), [99, 98]);
    assert_eq!(effective(2, 2), [97, 96]);
    assert_eq!(effective(3, 0), [102, 101, 100]);
    assert_eq!(effective(3, 1), [99, 98, 97]);
    assert_eq!(effective(3, 2), [96, 95, 94]);
    for count in 1..=49 {
        let [healthy, blind, dead] = [0, 1, 2].map(|state| effective(count, state));
        assert!(healthy.iter().min() > blind.iter().max(), "{count}");
        assert!(blind.iter().min() > dead.iter().max(), "{count}");
        assert!(*dead.iter().min().unwrap() >= 1, "{count}");
        let mut distinct = healthy.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), count, "{count}: ranks are distinct");
    }
}

#[test]
fn every_host_with_a_kubelet_pins_the_sandbox_image_right_after_installing() {
    let mut json = with_external_etcd_and_a_load_balancer();
    set(
        &mut json,
        "packages",
        json!({ "imageRepository": "registry.lan/k8s" }),
    );
    let plan = plan_of(json);
    for host in &plan.hosts {
        let ids: Vec<_> = host.steps.iter().map(|s| s.id).collect();
        let installs = ids.iter().position(|id| *id == "install-packages").unwrap();
        if host.roles == [PlanRole::LoadBalancer] {
            assert!(!ids.contains(&SANDBOX_STEP), "{}: {ids:?}", host.name);
            continue;
        }
        assert_eq!(ids[installs + 1], SANDBOX_STEP, "{}: {ids:?}", host.name);
        assert_eq!(
            step(&plan, &host.name, SANDBOX_STEP).action,
            Action::PinSandboxImage {
                kubernetes: plan.kubernetes.clone(),
                image_repository: Some("registry.lan/k8s".to_owned()),
            }
        );
    }
    assert!(plan.hosts.iter().any(|h| h.roles == [PlanRole::EtcdMember]));
}
