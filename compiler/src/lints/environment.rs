//! What the environment allows: a VIP keepalived can move, pod traffic the network
//! carries, an MTU that leaves room for VXLAN, ports a colocated load balancer may take.

use hac_lang::Diagnostic;

use super::{error, warning};
use crate::model::ports::{self, Ports};
use crate::model::{
    Cloud, CloudSetting, CloudSource, Cluster, Cni, Encapsulation, LoadBalancer, Role, VipSupport,
    codes,
};

pub(super) fn check(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    vip(cluster, out);
    encapsulation(cluster, out);
    mtu(cluster, out);
    colocated_port(cluster, out);
}

/// Adds a label on the `cloud` attribute when the source named the cloud.
fn label_cloud(diagnostic: Diagnostic, setting: &CloudSetting) -> Diagnostic {
    match setting.source {
        CloudSource::Attribute => {
            diagnostic.with_label(setting.origin, format!("{} here", setting.cloud.title()))
        }
        CloudSource::Provider => diagnostic,
    }
}

/// The cloud's own load balancer, for the help.
fn cloud_load_balancer(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Aws => "an internal Network Load Balancer (NLB)",
        Cloud::Gcp => "an internal passthrough Network Load Balancer",
        Cloud::Azure => "a Standard internal Load Balancer",
        Cloud::OpenStack => "an Octavia load balancer",
        Cloud::Hetzner => "a Hetzner Load Balancer",
        Cloud::DigitalOcean => "a DigitalOcean Load Balancer",
        Cloud::BareMetal => "a load balancer",
    }
}

fn vip(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let (Some(setting), Some(vip)) = (&cluster.cloud, cluster.loadbalancer.vip()) else {
        return;
    };
    // A VIP with an external load balancer is an error of its own.
    if !cluster.loadbalancer.is_generated() {
        return;
    }
    let cloud = setting.cloud;
    match cloud.vip_support() {
        VipSupport::Works => {}
        VipSupport::Refused => out.push(label_cloud(
            error(
                codes::VIP_ON_CLOUD,
                vip.origin,
                format!(
                    "keepalived cannot move the VIP `{}` on {} ({})",
                    vip.value,
                    cloud.title(),
                    setting.named_by()
                ),
                "no instance can take this address over by VRRP",
            )
            .with_help(format!(
                "{} delivers an address only to the instance its API assigned it to, so a gratuitous ARP moves nothing. Use {}: `loadbalancer = \"external\";` (without `vip`) and `endpoint` at its address or DNS name; docs/networking.md#hairpin shows how to keep the control planes from reaching themselves through it",
                cloud.title(),
                cloud_load_balancer(cloud)
            )),
            setting,
        )),
        VipSupport::NeedsPortConfiguration => out.push(label_cloud(
            warning(
                codes::VIP_NEEDS_PORT_SECURITY,
                vip.origin,
                format!("the VIP `{}` on OpenStack needs allowed-address-pairs", vip.value),
                "dropped by port security unless allowed",
            )
            .with_help(format!(
                "Neutron's port security drops packets for addresses a port does not own: add `{}` to the allowed-address-pairs of every load-balancer host's port (`openstack port set --allowed-address ip-address={} PORT`), or use {} with `loadbalancer = \"external\";`",
                vip.value,
                vip.value,
                cloud_load_balancer(cloud)
            )),
            setting,
        )),
    }
}

fn encapsulation(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let Some(written) = &cluster.network.encapsulation else {
        return;
    };
    if written.value != Encapsulation::VxlanCrossSubnet {
        return;
    }
    let cni = &cluster.network.cni;
    if cni.value == Cni::Cilium {
        out.push(
            error(
                codes::CNI_ENCAPSULATION,
                written.origin,
                "cilium with `encapsulation = \"vxlan-cross-subnet\"`".to_owned(),
                "cilium has no cross-subnet mode",
            )
            .with_label(cni.origin, "cilium chosen here")
            .with_help("hac runs cilium in its VXLAN tunnel mode, which encapsulates all pod traffic; remove `encapsulation` or use `\"vxlan\"`"),
        );
        return;
    }
    if let Some(setting) = &cluster.cloud
        && let Some(drops) = setting.cloud.drops_foreign_addresses()
    {
        out.push(label_cloud(
            warning(
                codes::CROSS_SUBNET_ON_CLOUD,
                written.origin,
                format!(
                    "pod traffic inside a subnet goes unencapsulated on {}",
                    setting.cloud.title()
                ),
                "pod addresses on the cloud's network",
            )
            .with_help(format!(
                "a packet between two nodes of one subnet then carries pod addresses, and {drops}; nodes still turn Ready, but pods on different nodes cannot reach each other. Use `encapsulation = \"vxlan\"` (the default there) unless the cloud is set up for it"
            )),
            setting,
        ));
    }
}

/// VXLAN's outer headers: Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8, or 40 for IPv6.
pub const VXLAN_OVERHEAD_IPV4: u32 = 50;
pub const VXLAN_OVERHEAD_IPV6: u32 = 70;
/// The smallest MTU IPv6 allows (RFC 8200) and the smallest an IPv4 host must accept (RFC 791).
const MIN_IPV6_MTU: u32 = 1280;
const MIN_IPV4_MTU: u32 = 576;

/// The pods' MTU under VXLAN on hosts of `mtu`.
pub fn pod_mtu(cluster: &Cluster, mtu: u32) -> u32 {
    let overhead = if host_family_is_ipv6(cluster) {
        VXLAN_OVERHEAD_IPV6
    } else {
        VXLAN_OVERHEAD_IPV4
    };
    mtu.saturating_sub(overhead)
}

/// The outer packets travel between host addresses, of the ranges' family (the family
/// lint makes them agree).
fn host_family_is_ipv6(cluster: &Cluster) -> bool {
    !cluster.network.pods.value.is_ipv4()
}

fn mtu(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let Some(mtu) = &cluster.network.mtu else {
        return;
    };
    if cluster.network.cni.value == Cni::None {
        return;
    }
    let pods_ipv6 = !cluster.network.pods.value.is_ipv4();
    let minimum = if pods_ipv6 {
        MIN_IPV6_MTU
    } else {
        MIN_IPV4_MTU
    };
    let inner = pod_mtu(cluster, mtu.value);
    if inner < minimum {
        let overhead = mtu.value - inner;
        out.push(
            error(
                codes::MTU_TOO_SMALL,
                mtu.origin,
                format!(
                    "an MTU of {} leaves pods {inner} bytes after VXLAN's {overhead}, below the {minimum} {} needs",
                    mtu.value,
                    if pods_ipv6 { "IPv6" } else { "IPv4" }
                ),
                "too small for VXLAN",
            )
            .with_label(cluster.network.pods.origin, "the pods' family")
            .with_help(format!(
                "{} encapsulates pod traffic in VXLAN, which adds {overhead} bytes to every packet; hosts need an MTU of at least {}",
                cluster.network.cni.value.as_str(),
                minimum + overhead
            )),
        );
    }
}

/// A colocated haproxy shares the control planes with everything else they run.
fn colocated_port(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let LoadBalancer::Colocated { port, .. } = &cluster.loadbalancer else {
        return;
    };
    // 6443 has its own lint.
    if port.value == 6443 {
        return;
    }
    let taken = ports::for_role(cluster, Role::ControlPlane)
        .into_iter()
        .find(|(opening, range)| {
            opening.bound
                && opening.ports != Ports::LoadBalancer
                && range.is_some_and(|(low, high)| (low..=high).contains(&port.value))
        });
    if let Some((opening, _)) = taken {
        out.push(
            error(
                codes::PORT_IN_USE,
                port.origin,
                format!(
                    "a colocated load balancer cannot listen on port {}: {} binds it on every control plane",
                    port.value, opening.component
                ),
                format!("{} uses {}", opening.component, port.value),
            )
            .with_help("choose a free port such as 8443 for `loadbalancer.port`, and use it in `endpoint`; docs/networking.md lists the ports each role uses"),
        );
    }
}
