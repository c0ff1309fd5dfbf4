//! Every port and protocol a cluster's hosts must accept, per role, as data: the
//! check reads it (a colocated load balancer must not take a port in use) and
//! `docs/networking.md` embeds [`markdown_table`], so the two cannot drift apart.

use super::types::{Cluster, Cni, Encapsulation, Etcd, LoadBalancer, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    /// An IP protocol number (VRRP is 112).
    Ip(u8),
}

impl Protocol {
    pub fn as_str(self) -> String {
        match self {
            Protocol::Tcp => "TCP".to_owned(),
            Protocol::Udp => "UDP".to_owned(),
            Protocol::Ip(number) => format!("IP protocol {number}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ports {
    Range(u16, u16),
    /// `loadbalancer.port` (the endpoint's port by default).
    LoadBalancer,
    /// A protocol without ports.
    None,
}

/// When a host needs the opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    StackedEtcd,
    /// haproxy on these hosts (dedicated hosts, or colocated on the control planes).
    HacLoadBalancer,
    /// keepalived with a VIP on these hosts.
    Vip,
    Cni(Cni),
    /// Calico with `vxlan-cross-subnet`, which keeps BGP for the routes inside a subnet.
    CalicoBgp,
}

impl When {
    pub fn describe(self) -> &'static str {
        match self {
            When::Always => "always",
            When::StackedEtcd => "stacked etcd",
            When::HacLoadBalancer => "hac runs the load balancer here",
            When::Vip => "with `vip`",
            When::Cni(Cni::Flannel) => "`cni = \"flannel\"`",
            When::Cni(Cni::Calico) => "`cni = \"calico\"`",
            When::Cni(Cni::Cilium) => "`cni = \"cilium\"`",
            When::Cni(Cni::None) => "your own CNI",
            When::CalicoBgp => "calico with `vxlan-cross-subnet`",
        }
    }

    fn holds(self, cluster: &Cluster, role: Role) -> bool {
        match self {
            When::Always => true,
            When::StackedEtcd => matches!(cluster.etcd, Etcd::Stacked),
            When::HacLoadBalancer => match &cluster.loadbalancer {
                LoadBalancer::Dedicated { .. } => role == Role::LoadBalancer,
                LoadBalancer::Colocated { .. } => role == Role::ControlPlane,
                LoadBalancer::None | LoadBalancer::External { .. } => false,
            },
            When::Vip => {
                cluster.loadbalancer.vip().is_some() && When::HacLoadBalancer.holds(cluster, role)
            }
            When::Cni(cni) => cluster.network.cni.value == cni,
            When::CalicoBgp => {
                cluster.network.cni.value == Cni::Calico
                    && cluster.encapsulation() == Encapsulation::VxlanCrossSubnet
            }
        }
    }
}

/// One kind of traffic a host must accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    pub roles: &'static [Role],
    pub protocol: Protocol,
    pub ports: Ports,
    pub component: &'static str,
    /// Who connects.
    pub from: &'static str,
    pub when: When,
    /// Whether the component binds the port on the host (a load balancer colocated
    /// there cannot take it).
    pub bound: bool,
    pub source: &'static str,
}

const NODES: &[Role] = &[Role::ControlPlane, Role::Worker];
const K8S_PORTS: &str = "kubernetes.io, \"Ports and Protocols\"";

pub const OPENINGS: &[Opening] = &[
    Opening {
        roles: &[Role::ControlPlane],
        protocol: Protocol::Tcp,
        ports: Ports::Range(6443, 6443),
        component: "kube-apiserver",
        from: "every node, the load balancer, clients",
        when: When::Always,
        bound: true,
        source: K8S_PORTS,
    },
    Opening {
        roles: &[Role::ControlPlane],
        protocol: Protocol::Tcp,
        ports: Ports::Range(2379, 2380),
        component: "etcd (client, peer)",
        from: "the control planes",
        when: When::StackedEtcd,
        bound: true,
        source: K8S_PORTS,
    },
    Opening {
        roles: &[Role::Etcd],
        protocol: Protocol::Tcp,
        ports: Ports::Range(2379, 2379),
        component: "etcd client API",
        from: "the control planes",
        when: When::Always,
        bound: true,
        source: K8S_PORTS,
    },
    Opening {
        roles: &[Role::Etcd],
        protocol: Protocol::Tcp,
        ports: Ports::Range(2380, 2380),
        component: "etcd peers",
        from: "the other etcd members",
        when: When::Always,
        bound: true,
        source: K8S_PORTS,
    },
    Opening {
        roles: NODES,
        protocol: Protocol::Tcp,
        ports: Ports::Range(10250, 10250),
        component: "kubelet API",
        from: "the control planes",
        when: When::Always,
        bound: true,
        source: K8S_PORTS,
    },
    Opening {
        roles: &[Role::ControlPlane],
        protocol: Protocol::Tcp,
        ports: Ports::Range(10257, 10257),
        component: "kube-controller-manager",
        from: "itself (bound to 127.0.0.1)",
        when: When::Always,
        bound: true,
        source: K8S_PORTS,
    },
    Opening {
        roles: &[Role::ControlPlane],
        protocol: Protocol::Tcp,
        ports: Ports::Range(10259, 10259),
        component: "kube-scheduler",
        from: "itself (bound to 127.0.0.1)",
        when: When::Always,
        bound: true,
        source: K8S_PORTS,
    },
    Opening {
        roles: NODES,
        protocol: Protocol::Tcp,
        ports: Ports::Range(10256, 10256),
        component: "kube-proxy health check",
        from: "itself, external load balancers",
        when: When::Always,
        bound: true,
        source: K8S_PORTS,
    },
    Opening {
        roles: NODES,
        protocol: Protocol::Tcp,
        ports: Ports::Range(30000, 32767),
        component: "NodePort services",
        from: "clients of those services",
        when: When::Always,
        bound: false,
        source: K8S_PORTS,
    },
    Opening {
        roles: &[Role::LoadBalancer, Role::ControlPlane],
        protocol: Protocol::Tcp,
        ports: Ports::LoadBalancer,
        component: "haproxy (the API load balancer)",
        from: "every node, clients",
        when: When::HacLoadBalancer,
        bound: true,
        source: "this cluster's `loadbalancer.port`",
    },
    Opening {
        roles: &[Role::LoadBalancer, Role::ControlPlane],
        protocol: Protocol::Ip(112),
        ports: Ports::None,
        component: "VRRP adverts (keepalived)",
        from: "the other load-balancer hosts",
        when: When::Vip,
        bound: false,
        source: "RFC 5798 §5.1.1.4: VRRP is IP protocol 112",
    },
    Opening {
        roles: NODES,
        protocol: Protocol::Udp,
        ports: Ports::Range(8472, 8472),
        component: "flannel VXLAN",
        from: "every node",
        when: When::Cni(Cni::Flannel),
        bound: false,
        source: "flannel Documentation/backends.md: vxlan `Port` defaults to 8472 on Linux",
    },
    Opening {
        roles: NODES,
        protocol: Protocol::Udp,
        ports: Ports::Range(4789, 4789),
        component: "Calico VXLAN",
        from: "every node",
        when: When::Cni(Cni::Calico),
        bound: false,
        source: "docs.tigera.io, Calico \"System requirements\", network requirements table",
    },
    Opening {
        roles: NODES,
        protocol: Protocol::Tcp,
        ports: Ports::Range(5473, 5473),
        component: "Calico Typha",
        from: "every node",
        when: When::Cni(Cni::Calico),
        bound: true,
        source: "docs.tigera.io, Calico \"System requirements\", network requirements table",
    },
    Opening {
        roles: NODES,
        protocol: Protocol::Tcp,
        ports: Ports::Range(179, 179),
        component: "Calico BGP",
        from: "every node",
        when: When::CalicoBgp,
        bound: true,
        source: "docs.tigera.io, Calico \"System requirements\", network requirements table",
    },
    Opening {
        roles: NODES,
        protocol: Protocol::Udp,
        ports: Ports::Range(8472, 8472),
        component: "Cilium VXLAN",
        from: "every node",
        when: When::Cni(Cni::Cilium),
        bound: false,
        source: "docs.cilium.io, \"System Requirements\", firewall rules",
    },
    Opening {
        roles: NODES,
        protocol: Protocol::Tcp,
        ports: Ports::Range(4240, 4240),
        component: "Cilium health checks",
        from: "every node",
        when: When::Cni(Cni::Cilium),
        bound: true,
        source: "docs.cilium.io, \"System Requirements\", firewall rules",
    },
    Opening {
        roles: NODES,
        protocol: Protocol::Tcp,
        ports: Ports::Range(4244, 4244),
        component: "Cilium Hubble server",
        from: "every node (Hubble Relay)",
        when: When::Cni(Cni::Cilium),
        bound: true,
        source: "docs.cilium.io, \"System Requirements\", firewall rules",
    },
];

/// The openings of `role` in this cluster, with the load balancer's port filled in.
pub fn for_role(cluster: &Cluster, role: Role) -> Vec<(&'static Opening, Option<(u16, u16)>)> {
    OPENINGS
        .iter()
        .filter(|o| o.roles.contains(&role) && o.when.holds(cluster, role))
        .map(|o| {
            let ports = match o.ports {
                Ports::Range(low, high) => Some((low, high)),
                Ports::LoadBalancer => cluster.loadbalancer.port().map(|p| (p.value, p.value)),
                Ports::None => None,
            };
            (o, ports)
        })
        .collect()
}

fn ports_text(ports: Ports) -> String {
    match ports {
        Ports::Range(low, high) if low == high => low.to_string(),
        Ports::Range(low, high) => format!("{low}–{high}"),
        Ports::LoadBalancer => "`loadbalancer.port`".to_owned(),
        Ports::None => "—".to_owned(),
    }
}

/// The port section of `docs/networking.md`: one table per role.
pub fn markdown_table() -> String {
    let mut out = String::new();
    for role in [
        Role::ControlPlane,
        Role::Worker,
        Role::Etcd,
        Role::LoadBalancer,
    ] {
        let title = match role {
            Role::ControlPlane => "Control planes",
            Role::Worker => "Workers",
            Role::Etcd => "External etcd members",
            Role::LoadBalancer => "Dedicated load-balancer hosts",
        };
        out.push_str(&format!("### {title}\n\n"));
        out.push_str(
            "| Protocol | Port | Component | From | When | Source |\n|---|---|---|---|---|---|\n",
        );
        for opening in OPENINGS.iter().filter(|o| o.roles.contains(&role)) {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                opening.protocol.as_str(),
                ports_text(opening.ports),
                opening.component,
                opening.from,
                opening.when.describe(),
                opening.source,
            ));
        }
        out.push('\n');
    }
    out
}

/// The cloud section of `docs/networking.md`: what hac allows and assumes per cloud.
pub fn markdown_clouds() -> String {
    use super::types::{Cloud, VipSupport};
    let mut out = String::from(
        "| `cloud` | keepalived `vip` | Default encapsulation | Unencapsulated pod traffic |\n|---|---|---|---|\n",
    );
    for cloud in Cloud::ALL {
        let vip = match cloud.vip_support() {
            VipSupport::Works => "works (ARP)",
            VipSupport::NeedsPortConfiguration => "warning: needs allowed-address-pairs",
            VipSupport::Refused => "error: use `loadbalancer = \"external\"`",
        };
        let encapsulation = match cloud {
            Cloud::BareMetal => "`vxlan-cross-subnet`",
            _ => "`vxlan`",
        };
        out.push_str(&format!(
            "| `{}` | {vip} | {encapsulation} | {} |\n",
            cloud.as_str(),
            cloud
                .drops_foreign_addresses()
                .map_or("carried".to_owned(), |drops| format!("dropped: {drops}")),
        ));
    }
    out.push_str("| (none) | allowed, unchecked | `vxlan` | not assumed |\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &str = include_str!("../../../docs/networking.md");
    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/networking.md");

    fn bounds(text: &str, marker: &str) -> (usize, usize) {
        let begin = format!("<!-- BEGIN GENERATED {marker} -->\n");
        let end = format!("<!-- END GENERATED {marker} -->");
        let start = text
            .find(&begin)
            .unwrap_or_else(|| panic!("docs/networking.md lacks `{begin}`"))
            + begin.len();
        let stop = text[start..]
            .find(&end)
            .unwrap_or_else(|| panic!("docs/networking.md lacks `{end}`"));
        (start, start + stop)
    }

    /// Compares a generated section of `docs/networking.md`; with `HAC_BLESS=1`,
    /// rewrites it instead.
    fn check_section(marker: &str, expected: &str) {
        if std::env::var_os("HAC_BLESS").is_some() {
            let mut text = std::fs::read_to_string(PATH).expect("docs/networking.md");
            let (start, stop) = bounds(&text, marker);
            text.replace_range(start..stop, expected);
            std::fs::write(PATH, text).expect("write docs/networking.md");
            return;
        }
        let (start, stop) = bounds(DOCS, marker);
        assert!(
            DOCS[start..stop] == *expected,
            "the `{marker}` section of docs/networking.md is out of date; run `HAC_BLESS=1 cargo test -p hac --lib docs_embed -- --test-threads=1` and review the diff"
        );
    }

    #[test]
    fn docs_embed_the_port_table() {
        check_section("ports", &markdown_table());
    }

    #[test]
    fn docs_embed_the_cloud_table() {
        check_section("clouds", &markdown_clouds());
    }

    #[test]
    fn every_role_has_ports_and_the_usual_ones_are_listed() {
        let table = markdown_table();
        for needle in [
            "| TCP | 6443 |",
            "| TCP | 2379–2380 |",
            "| TCP | 10250 |",
            "| TCP | 10257 |",
            "| TCP | 10259 |",
            "| IP protocol 112 | — |",
            "| UDP | 8472 |",
            "| UDP | 4789 |",
            "| TCP | 179 |",
            "| TCP | 4240 |",
        ] {
            assert!(table.contains(needle), "{needle}");
        }
        for role in [
            Role::ControlPlane,
            Role::Worker,
            Role::Etcd,
            Role::LoadBalancer,
        ] {
            assert!(OPENINGS.iter().any(|o| o.roles.contains(&role)), "{role:?}");
        }
    }
}
