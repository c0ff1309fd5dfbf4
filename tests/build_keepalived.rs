//! `hac plan` and the generated files agree on keepalived: for every example with
//! a virtual IP, each load balancer's `keepalived.conf` carries exactly the plan's
//! priority, check weight and peers, its haproxy listens on the plan's port, and
//! the plan's text (what `hac plan` prints) shows the same numbers.

#[path = "build_common.rs"]
mod build_common;

use hac::build::{HostOutput, paths};
use hac::plan::{Action, render};

fn file<'a>(host: &'a HostOutput, path: &str) -> &'a str {
    &host
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{} has no {path}", host.name))
        .content
}

/// The values of every `key value` line, trimmed.
fn values<'a>(config: &'a str, key: &str) -> Vec<&'a str> {
    config
        .lines()
        .filter_map(|line| line.trim().strip_prefix(key)?.strip_prefix(' '))
        .collect()
}

/// The addresses inside `unicast_peer { … }`.
fn unicast_peers(config: &str) -> Vec<String> {
    config
        .split("unicast_peer {\n")
        .nth(1)
        .expect("a unicast_peer block")
        .lines()
        .take_while(|line| line.trim() != "}")
        .map(|line| line.trim().to_owned())
        .collect()
}

#[test]
fn keepalived_files_carry_the_plans_priority_weight_peers_and_port() {
    let mut checked = Vec::new();
    for built in build_common::build_all() {
        let text = render::text(&built.plan);
        for plan_host in &built.plan.hosts {
            let Some((vip, priority, check_weight, peers)) =
                plan_host.steps.iter().find_map(|step| match &step.action {
                    Action::ConfigureKeepalived {
                        vip,
                        priority,
                        check_weight,
                        peers,
                        ..
                    } => Some((vip, *priority, *check_weight, peers)),
                    _ => None,
                })
            else {
                continue;
            };
            let port = plan_host
                .steps
                .iter()
                .find_map(|step| match step.action {
                    Action::ConfigureHaproxy { port, .. } => Some(port),
                    _ => None,
                })
                .expect("keepalived without haproxy");
            let host = built
                .hosts
                .iter()
                .find(|h| h.name == plan_host.name)
                .expect("every planned host is built");
            let where_ = format!("{} {}", built.example, host.name);
            let config = file(host, paths::KEEPALIVED_CONFIG);
            assert_eq!(
                values(config, "priority"),
                [priority.to_string()],
                "{where_}:\n{config}"
            );
            let weights = values(config, "weight");
            assert!(!weights.is_empty(), "{where_}: no check weight");
            for weight in weights {
                assert_eq!(weight, format!("-{check_weight}"), "{where_}:\n{config}");
            }
            let bare: Vec<String> = peers
                .iter()
                .map(|p| p.trim_start_matches('[').trim_end_matches(']').to_owned())
                .collect();
            assert_eq!(unicast_peers(config), bare, "{where_}");
            assert!(
                config.contains(&format!("    {vip}/")),
                "{where_}: VIP {vip}"
            );
            let haproxy = file(host, paths::HAPROXY_CONFIG);
            let binds = values(haproxy, "bind");
            assert!(
                binds.iter().any(|b| b.ends_with(&format!(":{port}"))),
                "{where_}: haproxy does not bind the plan's port {port}: {binds:?}"
            );
            assert!(
                text.contains(&format!(
                    "configure keepalived for VIP {vip} (priority {priority}, -{check_weight} per failing check"
                )),
                "{where_}: `hac plan` shows other numbers:\n{text}"
            );
            checked.push(where_);
        }
    }
    // Two dedicated balancers in stacked, loopback and airgapped, three colocated ones.
    assert_eq!(checked.len(), 9, "{checked:?}");
}
