//! High availability and the load balancer: member counts, the endpoint, the VIP,
//! versions and token lifetime.

use hac_lang::{Diagnostic, Origin};

use super::addressing::control_plane_at;
use super::{advice, error, warning};
use crate::model::version::known_minors_text;
use crate::model::{Address, Cluster, EndpointResolution, Etcd, LoadBalancer, VipSupport, codes};
use crate::plan::{HostPlan, PlanRole};

pub(super) fn check(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    members(cluster, out);
    load_balancer(cluster, out);
    endpoint(cluster, out);
    endpoint_resolution(cluster, out);
    versions_and_tokens(cluster, out);
    join_windows(cluster, out);
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

/// `quorum is 3 of 4, so 1 member may fail, as with 3`: what an even count buys.
fn quorum_arithmetic(n: usize) -> String {
    let quorum = n / 2 + 1;
    let tolerated = match (n - 1) / 2 {
        0 => "no member may fail".to_owned(),
        1 => "1 member may fail".to_owned(),
        t => format!("{t} members may fail"),
    };
    format!(
        "quorum is {quorum} of {n}, so {tolerated}, as with {}",
        n - 1
    )
}

/// The rule behind the message, for the help.
fn quorum_rule(n: usize) -> String {
    format!(
        "etcd needs a majority: with {n} members quorum is ⌊{n}/2⌋+1 = {} and ⌊({n}-1)/2⌋ = {} may fail, so an even count adds a member without adding failure tolerance",
        n / 2 + 1,
        (n - 1) / 2
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
    } else if cps.is_multiple_of(2) && stacked {
        // With external etcd the API servers hold no state: two survive one failure,
        // and the etcd member count is checked below.
        out.push(
            warning(
                codes::EVEN_CONTROL_PLANES,
                cluster.controlplanes_origin,
                format!(
                    "{cps} control planes run {cps} stacked etcd members: {}",
                    quorum_arithmetic(cps)
                ),
                format!("{cps} control planes"),
            )
            .with_help(format!(
                "{}; use {} control planes",
                quorum_rule(cps),
                odd_counts(cps)
            )),
        );
    }
    if let Etcd::External {
        members,
        origin,
        members_origin,
    } = &cluster.etcd
    {
        let n = members.len();
        if n == 0 {
            out.push(
                error(codes::NO_ETCD_MEMBERS, *members_origin, "`etcd.external` is empty".to_owned(), "no etcd member")
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
                    format!("{n} etcd members: {}", quorum_arithmetic(n)),
                    format!("{n} etcd members"),
                )
                .with_help(format!(
                    "{}; use {} etcd members",
                    quorum_rule(n),
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
        LoadBalancer::Dedicated {
            hosts,
            hosts_origin,
            ..
        } if hosts.is_empty() => out.push(
            error(
                codes::NO_LOAD_BALANCER_HOSTS,
                *hosts_origin,
                "`loadbalancer.hosts` is empty".to_owned(),
                "no host runs haproxy",
            )
            .with_help("the control planes would wait for an endpoint nothing serves; list the haproxy hosts, or use `loadbalancer = \"external\"` or `colocated = true`"),
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
    // No host at all is the error above; a VIP warning would add nothing.
    let dedicated_without_hosts =
        matches!(&cluster.loadbalancer, LoadBalancer::Dedicated { hosts, .. } if hosts.is_empty());
    if cluster.loadbalancer.is_generated() && balancers < 2 && !dedicated_without_hosts {
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
    // Even when the address is also the wrong one: fixing that with another IP would
    // still leave an address in every certificate and kubeconfig.
    if endpoint.value.host.ip().is_some() {
        out.push(
            warning(codes::ENDPOINT_IS_IP, endpoint.origin, format!("the endpoint `{}` is a bare IP address", endpoint.value), "an IP address")
                .with_help("prefer a DNS name: it goes into every certificate and kubeconfig, and a name can move to a new load balancer. Then create its DNS record (`hac check` names it), or let hac write it into every node's /etc/hosts with `network.resolveEndpoint = \"hosts\";`"),
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

/// A name must resolve on every node before the API can be reached through it: either
/// someone creates the DNS record (named here), or hac writes it into /etc/hosts.
fn endpoint_resolution(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let endpoint = &cluster.endpoint;
    let resolution = &cluster.network.resolve_endpoint;
    let (targets, what) = cluster.endpoint_targets();
    let name = match (&endpoint.value.host, resolution.value) {
        (Address::Ip(ip), EndpointResolution::HostsFile) => {
            out.push(
                warning(codes::HOSTS_ENTRY_FOR_IP, resolution.origin, format!("`resolveEndpoint = \"hosts\"` with the IP endpoint `{ip}`"), "nothing to resolve")
                    .with_label(endpoint.origin, "an IP address")
                    .with_help("hac writes no /etc/hosts entry for an IP; give `endpoint` a name, or remove `resolveEndpoint`"),
            );
            return;
        }
        (Address::Ip(_), EndpointResolution::Dns) => return,
        (Address::Dns(name), _) => name,
    };
    let listed = targets
        .iter()
        .map(|ip| format!("`{ip}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match resolution.value {
        EndpointResolution::HostsFile if targets.is_empty() => {
            let why = if matches!(cluster.loadbalancer, LoadBalancer::External { .. }) {
                "hac does not know the external load balancer's address".to_owned()
            } else {
                format!("{what} are named by DNS, not by IP")
            };
            out.push(
                error(codes::HOSTS_ENTRY_WITHOUT_ADDRESS, resolution.origin, format!("no address to write for `{name}` into /etc/hosts"), "hosts-file resolution")
                    .with_label(endpoint.origin, "this name")
                    .with_help(format!("{why}; create a DNS record for `{name}` and use `resolveEndpoint = \"dns\"` (the default)")),
            );
        }
        EndpointResolution::HostsFile => {}
        // A VIP the cloud refuses has its own error; a record for it would mislead.
        EndpointResolution::Dns
            if cluster.loadbalancer.is_generated()
                && cluster.loadbalancer.vip().is_some()
                && cluster
                    .cloud
                    .is_some_and(|s| s.cloud.vip_support() == VipSupport::Refused) => {}
        EndpointResolution::Dns => {
            let record = if targets.is_empty() {
                match cluster.loadbalancer {
                    LoadBalancer::External { .. } => format!(
                        "`{name}` → your load balancer's address (an A/AAAA record), or a CNAME to its DNS name"
                    ),
                    _ => format!("`{name}` → the addresses of {what}"),
                }
            } else {
                let kind = match (
                    targets.iter().any(|ip| ip.is_ipv4()),
                    targets.iter().any(|ip| ip.is_ipv6()),
                ) {
                    (true, false) => "A",
                    (false, true) => "AAAA",
                    _ => "A and AAAA",
                };
                format!("{kind} `{name}` → {listed} ({what})")
            };
            out.push(
                advice(codes::ENDPOINT_DNS_RECORD, endpoint.origin, format!("create the DNS record {record} before the hosts boot"), "every node resolves this name")
                    .with_help("hac creates no DNS record: until it resolves on the hosts, kubeadm and every join wait for an API they cannot find. Or set `network.resolveEndpoint = \"hosts\";` and hac writes the name into every node's /etc/hosts"),
            );
        }
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
            warning(codes::TOKEN_NEVER_EXPIRES, ttl.origin, "a join token that never expires is asked for, and hac makes none".to_owned(), "`0` gives the longest hac allows: 13 days")
                .with_help("no token hac makes is valid for more than 14 days (the keepers on the control planes make each week's token, see docs/secrets.md); write the lifetime you mean for the first one, like \"24h\""),
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

/// `2h45m`, `45m`, `90s` → `1m30s`: a duration as people write it.
fn duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let mut text = String::new();
    for (amount, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if amount > 0 {
            text.push_str(&format!("{amount}{unit}"));
        }
    }
    if text.is_empty() {
        "0s".to_owned()
    } else {
        text
    }
}

/// The join token and the uploaded certificates are created when the first control
/// plane initialises and expire after a while; the plan lets a host wait longer than
/// that before it joins (all hosts are taken to boot together).
fn join_windows(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let plan = crate::plan::plan(cluster);
    let bounds = plan.join_bounds();
    let host_origin = |name: &str| {
        cluster
            .hosts()
            .into_iter()
            .find(|(h, _)| h.name.value == name)
            .map(|(h, _)| h.origin)
    };
    let ttl = &cluster.bootstrap.token_ttl;
    // The first host with the longest bound.
    let longest = bounds.iter().fold(
        None,
        |best: Option<&(&HostPlan, u32)>, candidate| match best {
            Some(best) if best.1 >= candidate.1 => Some(best),
            _ => Some(candidate),
        },
    );
    if let Some(&(host, bound)) = longest
        && ttl.value != 0
        && u64::from(bound) > ttl.value
    {
        let later = bounds
            .iter()
            .filter(|(h, b)| h.name != host.name && u64::from(*b) > ttl.value)
            .count();
        let others = match later {
            0 => String::new(),
            1 => " (and 1 other host may join after the token expires)".to_owned(),
            n => format!(" (and {n} other hosts may join after the token expires)"),
        };
        let mut diagnostic = warning(
            codes::TOKEN_EXPIRES_BEFORE_JOIN,
            ttl.origin,
            format!(
                "the join token expires after {}, but {} `{}` may wait up to {} to join{others}",
                duration(ttl.value),
                role_of(host),
                host.name,
                duration(u64::from(bound)),
            ),
            "token lifetime",
        );
        if let Some(origin) = host_origin(&host.name) {
            diagnostic = diagnostic.with_label(
                origin,
                format!(
                    "`{}` may join {} after boot",
                    host.name,
                    duration(u64::from(bound))
                ),
            );
        }
        out.push(diagnostic.with_help(format!(
            "`kubeadm init` creates the token; a host whose join starts after it expires cannot join. Set `bootstrap.tokenTTL` to at least `\"{}\"` (the default is `\"24h\"`)",
            duration(u64::from(bound))
        )));
    }
    let window = crate::plan::UPLOADED_CERTIFICATES_SECONDS;
    let late: Vec<_> = bounds
        .iter()
        .filter(|(h, bound)| h.roles.contains(&PlanRole::ControlPlane) && *bound > window)
        .collect();
    if let Some(&&(first, bound)) = late.first() {
        let Some(origin) = host_origin(&first.name) else {
            return;
        };
        let fit = cluster
            .controlplanes
            .iter()
            .position(|h| h.name.value == first.name)
            .unwrap_or_default();
        let after = match late.len() - 1 {
            0 => String::new(),
            1 => ", and so may the control plane after it".to_owned(),
            n => format!(", and so may the {n} control planes after it"),
        };
        out.push(
            warning(
                codes::CERTIFICATES_EXPIRE_BEFORE_JOIN,
                origin,
                format!(
                    "control plane `{}` may start joining {} after boot, after the uploaded certificates expire ({}){after}",
                    first.name,
                    duration(u64::from(bound)),
                    duration(u64::from(window)),
                ),
                format!("`{}` joins after {fit} other control planes", first.name),
            )
            .with_help(format!(
                "kubeadm deletes the `kubeadm-certs` secret {} after `kubeadm init --upload-certs`, and a control plane joining later cannot fetch the certificates. Use fewer control planes per wave (at most {fit} boot together safely) and add the rest later, or re-upload the certificates on a live control plane before the late ones join: `kubeadm init phase upload-certs --upload-certs --certificate-key …`",
                duration(u64::from(window))
            )),
        );
    }
}

fn role_of(host: &HostPlan) -> &'static str {
    if host.roles.contains(&PlanRole::Worker) {
        "worker"
    } else {
        "control plane"
    }
}
