//! The load-balancer steps of a two-balancer cluster with a virtual IP.

use serde_json::json;

use super::*;
use crate::build::fixture::Fixture;
use crate::model::testing::{base, set};
use crate::plan::Step;

impl Fixture {
    fn host(&self, name: &str) -> (&Host, &HostPlan) {
        let host = self.context().host(name).unwrap();
        let plan_host = self.plan.hosts.iter().find(|h| h.name == name).unwrap();
        (host, plan_host)
    }

    fn step<'a>(&'a self, name: &str, id: &str) -> &'a Step {
        let (_, plan_host) = self.host(name);
        plan_host.steps.iter().find(|s| s.id == id).unwrap()
    }

    fn render(&self, name: &str, id: &str) -> Rendered {
        let (host, plan_host) = self.host(name);
        let context = self.context();
        match &self.step(name, id).action {
            Action::ConfigureHaproxy { port, backends } => {
                configure_haproxy(&context, host, *port, backends).unwrap()
            }
            Action::ConfigureKeepalived {
                vip,
                priority,
                check_weight,
                peers,
                interface,
            } => configure_keepalived(
                &context,
                host,
                vip,
                *priority,
                *check_weight,
                peers,
                interface.as_deref(),
            )
            .unwrap(),
            Action::StartLoadBalancer { keepalived } => {
                start(&context, host, plan_host, *keepalived).unwrap()
            }
            other => panic!("not a load-balancer step: {other:?}"),
        }
    }
}

fn file<'a>(rendered: &'a Rendered, path: &str) -> &'a str {
    &rendered
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path}"))
        .content
}

#[test]
fn haproxy_forwards_to_every_control_plane_and_is_checked_before_use() {
    let fixture = Fixture::new(base());
    let rendered = fixture.render("lb1", "configure-haproxy");
    let config = file(&rendered, paths::HAPROXY_CONFIG);
    assert!(config.contains("bind 0.0.0.0:6443"));
    for (name, ip) in [
        ("cp1", "10.0.0.11"),
        ("cp2", "10.0.0.12"),
        ("cp3", "10.0.0.13"),
    ] {
        assert!(config.contains(&format!("server {name} {ip}:6443 check verify none")));
    }
    assert!(config.contains("bind 127.0.0.1:8404"));
    assert_eq!(rendered.body, ["haproxy -c -f /etc/haproxy/haproxy.cfg"]);
}

#[test]
fn the_first_balancer_is_preferred_and_peers_are_the_others() {
    let fixture = Fixture::new(base());
    let first = fixture.render("lb1", "configure-keepalived");
    let second = fixture.render("lb2", "configure-keepalived");
    let first_config = file(&first, paths::KEEPALIVED_CONFIG);
    let second_config = file(&second, paths::KEEPALIVED_CONFIG);
    assert!(first_config.contains("priority 101"), "{first_config}");
    assert!(second_config.contains("priority 100"), "{second_config}");
    assert!(first_config.contains("unicast_src_ip 10.0.0.5"));
    assert!(first_config.contains("    10.0.0.6\n"));
    assert!(second_config.contains("    10.0.0.5\n"));
    assert!(first_config.contains("10.0.0.100/32"));
    // The same VRRP instance on both: router id and password agree.
    let line = |config: &str, key: &str| {
        config
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap()
            .to_owned()
    };
    for key in ["virtual_router_id", "auth_pass"] {
        assert_eq!(line(first_config, key), line(second_config, key));
    }
    for check in ["answers", "api"] {
        let line = format!("script \"{} {check}\"", paths::KEEPALIVED_CHECK_SCRIPT);
        assert!(first_config.contains(&line), "{first_config}");
    }
    let script = first
        .files
        .iter()
        .find(|f| f.path == paths::KEEPALIVED_CHECK_SCRIPT)
        .unwrap();
    assert_eq!(script.permissions, 0o755);
    assert!(first.body.iter().any(|l| l.starts_with("keepalived -t -f")));
}

#[test]
fn a_given_interface_is_written_and_nothing_is_discovered() {
    let found_at_boot = Fixture::new(base()).render("lb1", "configure-keepalived");
    let config = file(&found_at_boot, paths::KEEPALIVED_CONFIG);
    assert!(
        config.contains("interface ${HAC_VRRP_INTERFACE}"),
        "{config}"
    );
    assert!(
        found_at_boot
            .body
            .iter()
            .any(|l| l.contains("ip -o addr show to"))
    );

    let mut json = base();
    set(&mut json, "loadbalancer.interface", json!("ens3"));
    let given = Fixture::new(json).render("lb1", "configure-keepalived");
    let config = file(&given, paths::KEEPALIVED_CONFIG);
    assert!(config.contains("\n  interface ens3\n"), "{config}");
    assert!(!config.contains("HAC_VRRP_INTERFACE"), "{config}");
    assert!(!config.contains("include"), "{config}");
    assert_eq!(
        given.body,
        ["keepalived -t -f /etc/keepalived/keepalived.conf"]
    );
}

#[test]
fn other_clusters_get_another_router_id() {
    let a = Fixture::new(base());
    let mut other = base();
    set(&mut other, "name", json!("staging"));
    let b = Fixture::new(other);
    assert_ne!(
        virtual_router_id(&a.context()),
        virtual_router_id(&b.context())
    );
    assert_ne!(vrrp_password(&a.context()), vrrp_password(&b.context()));
}

#[test]
fn start_restarts_both_and_waits_for_the_frontend() {
    let fixture = Fixture::new(base());
    let rendered = fixture.render("lb1", "start-load-balancer");
    assert_eq!(
        &rendered.body[..4],
        [
            "systemctl enable haproxy",
            "systemctl restart haproxy",
            "systemctl enable keepalived",
            "systemctl restart keepalived"
        ]
    );
    assert!(rendered.body[4].starts_with("wait_until "));
    assert!(rendered.body[4].ends_with(" hac_tcp_accepts 127.0.0.1 6443"));
}

#[test]
fn colocated_balancers_listen_on_their_own_port() {
    let mut json = base();
    set(
        &mut json,
        "loadbalancer",
        json!({ "colocated": true, "vip": "10.0.0.100", "port": 8443 }),
    );
    set(&mut json, "endpoint", json!("api.prod.example.com:8443"));
    let fixture = Fixture::new(json);
    let rendered = fixture.render("cp1", "configure-haproxy");
    let config = file(&rendered, paths::HAPROXY_CONFIG);
    assert!(config.contains("bind 0.0.0.0:8443"));
    assert!(config.contains("server cp1 10.0.0.11:6443"));
    let start = fixture.render("cp2", "start-load-balancer");
    assert!(
        start
            .body
            .last()
            .unwrap()
            .ends_with(" hac_tcp_accepts 127.0.0.1 8443")
    );
}

#[test]
fn control_planes_known_only_by_name_are_refused() {
    let fixture = Fixture::new(base());
    let (host, _) = fixture.host("lb1");
    let backends = [Backend {
        name: "cp1".to_owned(),
        address: "cp1.example.com:6443".to_owned(),
    }];
    let err = configure_haproxy(&fixture.context(), host, 6443, &backends).unwrap_err();
    assert!(err.message.contains("`cp1`"), "{}", err.message);
}
