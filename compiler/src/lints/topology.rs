//! High availability and the load balancer: member counts, the endpoint, the VIP,
//! versions and token lifetime.

use hac_lang::{Diagnostic, Origin};

use super::addressing::control_plane_at;
use super::{error, warning};
use crate::model::version::known_minors_text;
use crate::model::{Address, Cluster, Etcd, LoadBalancer, codes};

pub(super) fn check(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    members(cluster, out);
    load_balancer(cluster, out);
    endpoint(cluster, out);
    versions_and_tokens(cluster, out);
}

/// The odd counts around an even `n` worth suggesting: `3 or 5` for 4, but only `3`
/// for 2 (one member is no better, and is warned about on its own).
fn odd_counts(n: usize) -> String {
    if n > 2 {
        format!("{} or {}", n - 1, n + 1)
    } else {
        (n + 1).to_string()
    }
}

/// `⌊n/2⌋+1` and `⌊(n-1)/2⌋`, spelled out for people.
fn quorum_arithmetic(n: usize) -> String {
    let quorum = n / 2 + 1;
    let tolerated = (n - 1) / 2;
    let failures = if tolerated == 1 {
        "failure"
    } else {
        "failures"
    };
    format!(
        "with {n} members quorum is ⌊{n}/2⌋+1 = {quorum} and the cluster tolerates ⌊({n}-1)/2⌋ = {tolerated} {failures}, no more than with {}",
        n - 1
    )
}

fn members(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let cps = cluster.controlplanes.len();
    let stacked = matches!(cluster.etcd, Etcd::Stacked);
    if cps == 0 {
        out.push(
            error(
                codes::NO_CONTROL_PLANES,
                cluster.controlplanes_origin,
                "`controlplanes` is empty".to_owned(),
                "no host can run `kubeadm init`",
            )
            .with_help("add at least one control plane; three for high availability"),
        );
    } else if cps == 1 {
        out.push(
            warning(
                codes::SINGLE_CONTROL_PLANE,
                cluster.controlplanes_origin,
                "a single control plane is not highly available".to_owned(),
                "one control plane",
            )
            .with_help("if it fails the API is gone; use three control planes"),
        );
    } else if cps.is_multiple_of(2) {
        let advice = format!("use {} control planes", odd_counts(cps));
        let (message, help) = if stacked {
            (
                format!(
                    "{cps} control planes run {cps} stacked etcd members, which tolerate no more failures than {}",
                    cps - 1
                ),
                format!("{}; {advice}", quorum_arithmetic(cps)),
            )
        } else {
            (
                format!(
                    "an even number of control planes: {cps} API servers add no more leader-election safety than {}",
                    cps - 1
                ),
                advice,
            )
        };
        out.push(
            warning(
                codes::EVEN_CONTROL_PLANES,
                cluster.controlplanes_origin,
                message,
                format!("{cps} control planes"),
            )
            .with_help(help),
        );
    }
    if let Etcd::External { members, origin } = &cluster.etcd {
        let n = members.len();
        if n == 0 {
            out.push(
                error(codes::NO_CONTROL_PLANES, *origin, "`etcd.external` is empty".to_owned(), "no etcd member")
                    .with_help("list the etcd hosts (three for high availability), or use `etcd = \"stacked\";`"),
            );
        } else if n == 1 {
            out.push(
                warning(
                    codes::SINGLE_ETCD_MEMBER,
                    *origin,
                    "a single etcd member is not highly available".to_owned(),
                    "one etcd member",
                )
                .with_help(
                    "if it fails the cluster's state is unavailable; use three etcd members",
                ),
            );
        } else if n.is_multiple_of(2) {
            out.push(
                warning(
                    codes::EVEN_ETCD_MEMBERS,
                    *origin,
                    format!("{n} etcd members tolerate no more failures than {}", n - 1),
                    format!("{n} etcd members"),
                )
                .with_help(format!(
                    "{}; use {} etcd members",
                    quorum_arithmetic(n),
                    odd_counts(n)
                )),
            );
        }
    }
}

fn load_balancer(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    match &cluster.loadbalancer {
        LoadBalancer::Colocated { port, .. } if port.value == 6443 => out.push(
            error(
                codes::COLOCATED_PORT_6443,
                port.origin,
                "a colocated load balancer cannot listen on port 6443".to_owned(),
                "kube-apiserver already binds 6443 on every control plane",
            )
            .with_help("set `loadbalancer.port = 8443;` and use port 8443 in `endpoint`"),
        ),
        _ => {}
    }
    if let LoadBalancer::Colocated {
        origin, vip: None, ..
    } = &cluster.loadbalancer
    {
        out.push(
            warning(codes::COLOCATED_WITHOUT_VIP, *origin, "a colocated load balancer without a VIP".to_owned(), "no address moves between the control planes")
                .with_help("each control plane's haproxy answers only on that control plane's own address, so clients reaching one of them lose the API with it; add `vip = \"…\";` and point `endpoint` at it (or at a DNS name for it), unless `endpoint` is a name that already fails over between the control planes"),
        );
    }
    let Some(vip) = cluster.loadbalancer.vip() else {
        return;
    };
    let balancers = cluster.load_balancer_hosts().len();
    if cluster.loadbalancer.is_generated() && balancers < 2 {
        let hosts = if matches!(cluster.loadbalancer, LoadBalancer::Colocated { .. }) {
            "control plane"
        } else {
            "load-balancer host"
        };
        out.push(
            warning(codes::VIP_WITHOUT_FAILOVER, vip.origin, format!("VIP `{}` with {balancers} {hosts}: no failover", vip.value), "nowhere to move to")
                .with_help("keepalived moves the VIP only between two or more hosts; add another, or drop the VIP"),
        );
    }
}

fn endpoint(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let endpoint = &cluster.endpoint;
    let single_point = |out: &mut Vec<Diagnostic>, cp: &str, why: &str| {
        out.push(
            warning(codes::ENDPOINT_SINGLE_POINT, endpoint.origin, format!("the endpoint `{}` is control plane `{cp}`'s address", endpoint.value), format!("only `{cp}` answers here"))
                .with_help(format!("{why}; if `{cp}` fails, nothing reaches the API. Point `endpoint` at a load balancer or VIP")),
        );
    };
    let lb_port = cluster.loadbalancer.port();
    let before_host_checks = out.len();
    match &cluster.loadbalancer {
        LoadBalancer::None | LoadBalancer::External { .. } => {
            if let Some(cp) = control_plane_at(cluster, &endpoint.value.host) {
                let why = if matches!(cluster.loadbalancer, LoadBalancer::None) {
                    "there is no load balancer"
                } else {
                    "an external load balancer would have its own address"
                };
                single_point(out, cp, why);
            }
        }
        LoadBalancer::Dedicated { vip, .. } | LoadBalancer::Colocated { vip, .. }
            if endpoint.value.host.ip().is_some() =>
        {
            let host = &endpoint.value.host;
            let colocated = matches!(cluster.loadbalancer, LoadBalancer::Colocated { .. });
            let hosts = cluster.load_balancer_hosts();
            if let Some(vip) = vip {
                if *host != Address::Ip(vip.value) {
                    not_balanced(
                        out,
                        cluster,
                        format!(
                            "the endpoint `{}` is not the VIP `{}`",
                            endpoint.value, vip.value
                        ),
                        Some(vip.origin),
                    );
                }
            } else if colocated {
                if let Some(cp) = control_plane_at(cluster, host) {
                    single_point(
                        out,
                        cp,
                        "a colocated load balancer without a VIP still answers only on each control plane's own address",
                    );
                } else {
                    not_balanced(
                        out,
                        cluster,
                        format!(
                            "the endpoint `{}` is not a control plane's address",
                            endpoint.value
                        ),
                        None,
                    );
                }
            } else if !hosts
                .iter()
                .any(|h| h.address.as_ref().is_some_and(|a| &a.value == host))
            {
                not_balanced(
                    out,
                    cluster,
                    format!(
                        "the endpoint `{}` is not a load-balancer host's address",
                        endpoint.value
                    ),
                    None,
                );
            }
        }
        _ => {}
    }
    // A warning that the endpoint is the wrong address already says it is an address.
    if out.len() == before_host_checks && endpoint.value.host.ip().is_some() {
        out.push(
            warning(codes::ENDPOINT_IS_IP, endpoint.origin, format!("the endpoint `{}` is a bare IP address", endpoint.value), "an IP address")
                .with_help("prefer a DNS name: it goes into every certificate and kubeconfig, and a name can move to a new load balancer"),
        );
    }
    if let Some(port) = lb_port
        && port.value != endpoint.value.port
    {
        not_balanced(
            out,
            cluster,
            format!(
                "the endpoint port {} differs from the load balancer's port {}",
                endpoint.value.port, port.value
            ),
            Some(port.origin),
        );
    }
}

fn not_balanced(
    out: &mut Vec<Diagnostic>,
    cluster: &Cluster,
    message: String,
    related: Option<Origin>,
) {
    let mut diagnostic = warning(codes::ENDPOINT_NOT_LOAD_BALANCED, cluster.endpoint.origin, message, "clients connect here")
        .with_help("every node and client reaches the API through `endpoint`; point it at the load balancer hac generates (its VIP, a host's address, or a DNS name for them) and its port");
    if let Some(origin) = related {
        diagnostic = diagnostic.with_label(origin, "the load balancer");
    }
    out.push(diagnostic);
}

fn versions_and_tokens(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let version = &cluster.kubernetes;
    if !version.value.is_known_minor() {
        out.push(
            warning(
                codes::UNKNOWN_KUBERNETES_MINOR,
                version.origin,
                format!("Kubernetes 1.{} is not one of the minors hac knows ({})", version.value.minor, known_minors_text()),
                "outside the supported minors",
            )
            .with_help("older minors no longer get patches; newer ones are untested with hac's generated configuration"),
        );
    }
    let ttl = &cluster.bootstrap.token_ttl;
    if ttl.value == 0 {
        out.push(
            warning(codes::TOKEN_NEVER_EXPIRES, ttl.origin, "the join token never expires".to_owned(), "`0` disables expiry")
                .with_help("anyone who reads a host's user-data can join nodes forever; delete the `bootstrap-token-…` secret in `kube-system` once every host has joined, or set a duration"),
        );
    }
    let keeps_workloads_off = |host: &crate::model::Host| {
        host.taints.as_ref().is_none_or(|taints| {
            taints
                .iter()
                .any(|t| t.effect != crate::model::TaintEffect::PreferNoSchedule)
        })
    };
    if cluster.workers.is_empty()
        && !cluster.controlplanes.is_empty()
        && cluster.controlplanes.iter().all(keeps_workloads_off)
    {
        out.push(
            warning(codes::NO_WORKERS, cluster.workers_origin, "the cluster has no workers".to_owned(), "no workers")
                .with_help("control planes keep their `node-role.kubernetes.io/control-plane:NoSchedule` taint, so workloads will not schedule; add workers, or give the control planes `taints = [ ];`"),
        );
    }
}
