//! Names, addresses and networks: duplicates, overlaps, and addresses in the wrong range.

use std::collections::HashMap;
use std::net::IpAddr;

use hac_lang::{Diagnostic, Origin};

use super::error;
use crate::model::cidr::Cidr;
use crate::model::{Address, Cluster, Cni, LoadBalancer, Located, Role, codes};

pub(super) fn check(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    duplicates(cluster, out);
    missing_addresses(cluster, out);
    addresses_needing_ip(cluster, out);
    cidrs(cluster, out);
    families(cluster, out);
    cluster_addresses(cluster, out);
    cni(cluster, out);
}

fn duplicates(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let mut names: HashMap<&str, (Origin, Role)> = HashMap::new();
    let mut addresses: HashMap<&Address, (Origin, &str)> = HashMap::new();
    for (host, role) in cluster.hosts() {
        let name = host.name.value.as_str();
        if let Some(&(first, first_role)) = names.get(name) {
            out.push(
                error(codes::DUPLICATE_HOST_NAME, host.name.origin, format!("host name `{name}` is used twice"), format!("this {} is also named `{name}`", role.as_str()))
                    .with_label(first, format!("`{name}` first defined here ({})", first_role.as_str()))
                    .with_help("every host needs its own name: it is the node name and the cloud-init file name"),
            );
        } else {
            names.insert(name, (host.name.origin, role));
        }
        if let Some(address) = &host.address {
            if let Some(&(first, first_name)) = addresses.get(&address.value) {
                out.push(
                    error(
                        codes::DUPLICATE_ADDRESS,
                        address.origin,
                        format!(
                            "address `{}` is used by `{first_name}` and `{name}`",
                            address.value
                        ),
                        format!("`{name}` has the same address"),
                    )
                    .with_label(first, format!("`{first_name}` has it first"))
                    .with_help("give every host its own address"),
                );
            } else {
                addresses.insert(&address.value, (address.origin, name));
            }
        }
    }
}

fn missing_addresses(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    for (host, role) in cluster.hosts() {
        if host.address.is_none() && role != Role::Worker {
            let why = match role {
                Role::ControlPlane => {
                    "the load balancer, the other control planes and the API server certificate need it"
                }
                Role::Etcd => "the control planes and the other etcd members reach it there",
                _ => "the VIP and the health checks need it",
            };
            out.push(
                error(
                    codes::MISSING_ADDRESS,
                    host.origin,
                    format!("{} `{}` has no `address`", role.as_str(), host.name.value),
                    "add `address = \"…\";` to this host",
                )
                .with_help(format!(
                    "{} {} needs an address: {why}",
                    if role == Role::Etcd { "an" } else { "a" },
                    role.as_str()
                )),
            );
        }
    }
}

/// The load balancer hac generates names its servers and VRRP peers by IP: haproxy
/// resolves no names at start and keepalived sends adverts to addresses. (`hac build`
/// would otherwise fail where `hac check` passed.)
fn addresses_needing_ip(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let (balanced, vrrp_peers): (bool, &[crate::model::Host]) = match &cluster.loadbalancer {
        LoadBalancer::Dedicated { hosts, vip, .. } => {
            (true, if vip.is_some() { hosts } else { &[] })
        }
        LoadBalancer::Colocated { .. } => (true, &[]),
        LoadBalancer::None | LoadBalancer::External { .. } => (false, &[]),
    };
    let control_planes: &[crate::model::Host] = if balanced {
        &cluster.controlplanes
    } else {
        &[]
    };
    for (host, why) in control_planes
        .iter()
        .map(|h| (h, "haproxy forwards to the control planes by IP address"))
        .chain(vrrp_peers.iter().map(|h| {
            (
                h,
                "keepalived sends VRRP adverts to the other load balancers' IP addresses",
            )
        }))
    {
        if let Some(Located {
            value: Address::Dns(name),
            origin,
        }) = &host.address
        {
            out.push(
                error(
                    codes::ADDRESS_NEEDS_IP,
                    *origin,
                    format!("`{}` is named `{name}`, but {why}", host.name.value),
                    "a DNS name",
                )
                .with_help("give this host its IP address; DNS names are fine for workers and with an external load balancer"),
            );
        }
    }
}

fn cidrs(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let pods = &cluster.network.pods;
    let services = &cluster.network.services;
    if pods.value.is_ipv4() != services.value.is_ipv4() {
        let diagnostic = error(
            codes::INVALID_CIDR,
            pods.origin,
            format!(
                "`network.pods` `{}` and `network.services` `{}` are of different IP families",
                pods.value, services.value
            ),
            "pods range",
        );
        out.push(
            label_apart(diagnostic, services.origin, "services range")
                .with_help("hac builds single-stack clusters: use IPv4 (or IPv6) for both"),
        );
    } else if pods.value.overlaps(services.value) {
        let diagnostic = error(
            codes::CIDR_OVERLAP,
            pods.origin,
            format!(
                "`network.pods` `{}` overlaps `network.services` `{}`",
                pods.value, services.value
            ),
            "pods range",
        );
        out.push(
            label_apart(diagnostic, services.origin, "services range")
                .with_help("pod and service addresses must be distinct; e.g. pods `10.244.0.0/16` and services `10.96.0.0/12`"),
        );
    }
    // kube-apiserver refuses service ranges with more than 20 host bits.
    if services.value.host_bits() > 20 {
        let smallest = if services.value.is_ipv4() { 12 } else { 108 };
        out.push(
            error(
                codes::INVALID_CIDR,
                services.origin,
                format!(
                    "`network.services` `{}` is larger than kube-apiserver accepts",
                    services.value
                ),
                "too many addresses",
            )
            .with_help(format!("use a prefix of /{smallest} or longer")),
        );
    }
    // kubeadm gives cluster DNS the 10th address of the services range.
    if services.value.nth(10).is_none() {
        let longest = if services.value.is_ipv4() { 28 } else { 124 };
        out.push(
            error(
                codes::INVALID_CIDR,
                services.origin,
                format!(
                    "`network.services` `{}` has no 10th address for cluster DNS",
                    services.value
                ),
                "too few addresses",
            )
            .with_help(format!("kubeadm gives cluster DNS the 10th address of the services range (`10.96.0.10` in `10.96.0.0/12`); use a prefix of /{longest} or shorter")),
        );
    }
    let node_prefix: u8 = if pods.value.is_ipv4() { 24 } else { 64 };
    let nodes = cluster.node_count();
    let subnets = if pods.value.prefix() > node_prefix {
        0
    } else {
        1u128
            .checked_shl(u32::from(node_prefix - pods.value.prefix()))
            .unwrap_or(u128::MAX)
    };
    if subnets < nodes as u128 {
        out.push(
            error(
                codes::POD_CIDR_TOO_SMALL,
                pods.origin,
                format!("`network.pods` `{}` holds {subnets} node subnets (/{node_prefix} each) for {nodes} nodes", pods.value),
                "too small for the cluster",
            )
            .with_help(format!("each node takes a /{node_prefix} of the pods range; use a shorter prefix, e.g. /16")),
        );
    }
}

/// kube-apiserver serves one family unless it is dual-stack: the nodes' IPs (the
/// kubelets' node IPs, the API servers' advertise addresses) must be of the ranges'
/// family. Load balancers, the VIP and etcd members may be of either: haproxy and the
/// API servers' etcd client connect across families.
fn families(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let pods = &cluster.network.pods;
    let services = &cluster.network.services;
    // Ranges of two families are reported by `cidrs`.
    if pods.value.is_ipv4() != services.value.is_ipv4() {
        return;
    }
    let ranges_v4 = pods.value.is_ipv4();
    let family = |v4: bool| if v4 { "IPv4" } else { "IPv6" };
    let mut others: Vec<(String, Origin)> = Vec::new();
    for host in cluster.controlplanes.iter().chain(&cluster.workers) {
        if let Some(Located {
            value: Address::Ip(ip),
            origin,
        }) = &host.address
            && ip.is_ipv4() != ranges_v4
        {
            others.push((
                format!(
                    "`{}` has the {} address `{ip}`",
                    host.name.value,
                    family(ip.is_ipv4())
                ),
                *origin,
            ));
        }
    }
    let Some((first, first_origin)) = others.first() else {
        return;
    };
    let more = match others.len() - 1 {
        0 => String::new(),
        1 => " (and 1 more address)".to_owned(),
        n => format!(" (and {n} more addresses)"),
    };
    let diagnostic = error(
        codes::MIXED_FAMILIES,
        pods.origin,
        format!(
            "`network.pods` `{}` is {}, but {first}{more}",
            pods.value,
            family(ranges_v4)
        ),
        format!("{} pods range", family(ranges_v4)),
    )
    .with_label(*first_origin, format!("{} address", family(!ranges_v4)));
    out.push(
        label_apart(diagnostic, services.origin, format!("{} services range", family(ranges_v4)))
            .with_help(format!(
                "kube-apiserver and the kubelets serve one family in a single-stack cluster: the node IPs and the API's advertise address would be {}, the pod and service addresses {}. Use {} ranges for `network.pods` and `network.services` (e.g. {}); dual-stack is not supported (docs/networking.md#dual-stack)",
                family(!ranges_v4),
                family(ranges_v4),
                family(!ranges_v4),
                if ranges_v4 { "`fd00:10:244::/56` and `fd00:10:96::/112`" } else { "`10.244.0.0/16` and `10.96.0.0/12`" }
            )),
    );
}

/// Host addresses, the VIP and the endpoint must not fall into a cluster-internal range.
fn cluster_addresses(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let mut ips: Vec<(String, Located<IpAddr>)> = Vec::new();
    for (host, _) in cluster.hosts() {
        if let Some(Located {
            value: Address::Ip(ip),
            origin,
        }) = &host.address
        {
            ips.push((
                format!("address `{ip}` of `{}`", host.name.value),
                Located::new(*ip, *origin),
            ));
        }
    }
    if let Some(vip) = cluster.loadbalancer.vip() {
        ips.push((format!("VIP `{}`", vip.value), vip.clone()));
    }
    if let Address::Ip(ip) = cluster.endpoint.value.host {
        ips.push((
            format!("endpoint address `{ip}`"),
            Located::new(ip, cluster.endpoint.origin),
        ));
    }
    let ranges: [(&str, &Located<Cidr>); 2] = [
        ("pods", &cluster.network.pods),
        ("services", &cluster.network.services),
    ];
    // One report per range: a range over the host network contains every host.
    const SHOWN: usize = 3;
    for (range, cidr) in ranges {
        let inside: Vec<_> = ips
            .iter()
            .filter(|(_, ip)| cidr.value.contains(ip.value))
            .collect();
        match inside.as_slice() {
            [] => {}
            [(what, ip)] => {
                let diagnostic = error(
                    codes::ADDRESS_IN_CLUSTER_CIDR,
                    ip.origin,
                    format!("{what} is inside the {range} CIDR `{}`", cidr.value),
                    format!("inside `network.{range}`"),
                );
                out.push(
                    label_apart(diagnostic, cidr.origin, format!("the {range} range"))
                        .with_help(format!("traffic to it would be routed into the cluster network; move `network.{range}` away from the host network")),
                );
            }
            [..] => {
                let mut diagnostic = error(
                    codes::ADDRESS_IN_CLUSTER_CIDR,
                    cidr.origin,
                    format!(
                        "the {range} CIDR `{}` contains {} addresses of this cluster",
                        cidr.value,
                        inside.len()
                    ),
                    "overlaps the host network",
                );
                for (what, ip) in inside.iter().take(SHOWN) {
                    diagnostic = diagnostic.with_label(ip.origin, what.clone());
                }
                let more = match inside.len().saturating_sub(SHOWN) {
                    0 => String::new(),
                    n => format!(" (and {n} more)"),
                };
                out.push(diagnostic.with_help(format!("traffic to these addresses{more} would be routed into the cluster network; move `network.{range}` away from the host network")));
            }
        }
    }
    let hosts: Vec<_> = cluster.hosts();
    if let LoadBalancer::External { vip: Some(vip), .. } = &cluster.loadbalancer {
        out.push(
        error(codes::VIP_WITH_EXTERNAL_LB, vip.origin, "`vip` with an external load balancer".to_owned(), "hac does not run keepalived here")
            .with_help("remove `vip` (point `endpoint` at the external load balancer), or let hac run the load balancer with `hosts` or `colocated = true`"),
        );
    }
    if let Some(vip) = cluster.loadbalancer.vip() {
        for (host, _) in &hosts {
            if let Some(address) = host
                .address
                .as_ref()
                .filter(|a| a.value == Address::Ip(vip.value))
            {
                out.push(
                    error(codes::VIP_IS_HOST_ADDRESS, vip.origin, format!("VIP `{}` is the address of `{}`", vip.value, host.name.value), "the VIP must be a free address")
                        .with_label(address.origin, format!("`{}` uses it", host.name.value))
                        .with_help("keepalived moves the VIP between hosts; choose an unused address in the same subnet"),
                );
            }
        }
    }
}

fn cni(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let cni = &cluster.network.cni;
    let pods = &cluster.network.pods;
    if cni.value == Cni::Flannel && !pods.value.is_ipv4() {
        out.push(
            error(codes::CNI_POD_CIDR, pods.origin, format!("flannel with the IPv6 pods CIDR `{}`", pods.value), "IPv6 range")
                .with_label(cni.origin, "flannel chosen here")
                .with_help("hac configures flannel for IPv4 only; use an IPv4 pods CIDR, or `cni = \"calico\"` or `\"cilium\"`"),
        );
    }
}

/// Whether `address` is one of the control planes' addresses; returns that host's name.
pub(super) fn control_plane_at<'c>(cluster: &'c Cluster, address: &Address) -> Option<&'c str> {
    cluster
        .controlplanes
        .iter()
        .find(|h| h.address.as_ref().is_some_and(|a| &a.value == address))
        .map(|h| h.name.value.as_str())
}

/// Adds a secondary label unless it overlaps the primary one: a range left at its
/// default has the origin of the set around it, which may enclose the primary.
fn label_apart(diagnostic: Diagnostic, origin: Origin, message: impl Into<String>) -> Diagnostic {
    let overlaps = diagnostic.primary().is_some_and(|primary| {
        let p = primary.origin;
        p.file == origin.file && p.span.start < origin.span.end && origin.span.start < p.span.end
    });
    if overlaps {
        diagnostic
    } else {
        diagnostic.with_label(origin, message)
    }
}
