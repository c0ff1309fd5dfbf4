//! The typed cluster model: what a valid `.hac` file describes.
//!
//! Fields that lints point at keep the [`Origin`] of the value the user wrote; a
//! default takes the origin of the attribute set it would have been written in.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use hac_lang::Origin;

use super::cidr::Cidr;
use super::version::KubernetesVersion;

/// A value with the place in the user's source that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Located<T> {
    pub fn new(value: T, origin: Origin) -> Located<T> {
        Located { value, origin }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// The whole cluster attribute set.
    pub origin: Origin,
    pub name: Located<String>,
    pub kubernetes: Located<KubernetesVersion>,
    pub os: Located<Os>,
    pub endpoint: Located<Endpoint>,
    pub network: Network,
    pub etcd: Etcd,
    pub loadbalancer: LoadBalancer,
    /// The `controlplanes` list (for "no control planes").
    pub controlplanes_origin: Origin,
    /// The first one runs `kubeadm init`.
    pub controlplanes: Vec<Host>,
    /// The `workers` list, or the cluster set when there is none.
    pub workers_origin: Origin,
    pub workers: Vec<Host>,
    pub ssh: Ssh,
    pub files: Vec<FileSpec>,
    pub commands: Commands,
    pub bootstrap: Bootstrap,
    pub containerd: Containerd,
    pub packages: Packages,
    pub kubelet: Kubelet,
    /// Where the hosts run: the `cloud` attribute, or `--provider` when the source
    /// names none. `None`: unknown, and hac assumes nothing about the network.
    pub cloud: Option<CloudSetting>,
    pub controlplane: ControlPlane,
    /// Releases named in the source instead of hac's pinned ones.
    pub versions: Versions,
    pub proxy: Option<Proxy>,
}

impl Cluster {
    /// Every host, each once, with its roles, in declaration order of the roles:
    /// load balancers, etcd members, control planes, workers.
    pub fn hosts(&self) -> Vec<(&Host, Role)> {
        let mut hosts = Vec::new();
        if let LoadBalancer::Dedicated { hosts: lbs, .. } = &self.loadbalancer {
            hosts.extend(lbs.iter().map(|h| (h, Role::LoadBalancer)));
        }
        if let Etcd::External { members, .. } = &self.etcd {
            hosts.extend(members.iter().map(|h| (h, Role::Etcd)));
        }
        hosts.extend(self.controlplanes.iter().map(|h| (h, Role::ControlPlane)));
        hosts.extend(self.workers.iter().map(|h| (h, Role::Worker)));
        hosts
    }

    /// The hosts that run haproxy, if hac generates a load balancer.
    pub fn load_balancer_hosts(&self) -> &[Host] {
        match &self.loadbalancer {
            LoadBalancer::Dedicated { hosts, .. } => hosts,
            LoadBalancer::Colocated { .. } => &self.controlplanes,
            LoadBalancer::None | LoadBalancer::External { .. } => &[],
        }
    }

    /// Kubernetes nodes: control planes and workers.
    pub fn node_count(&self) -> usize {
        self.controlplanes.len() + self.workers.len()
    }

    /// The addresses the endpoint's name should resolve to, and what they are: the
    /// VIP, else hac's haproxy hosts, else the control planes. Empty for an external
    /// load balancer (hac knows no address of it) and for hosts named by DNS.
    pub fn endpoint_targets(&self) -> (Vec<IpAddr>, &'static str) {
        if let Some(vip) = self
            .loadbalancer
            .vip()
            .filter(|_| self.loadbalancer.is_generated())
        {
            return (vec![vip.value], "the VIP");
        }
        let (hosts, what) = match &self.loadbalancer {
            LoadBalancer::Dedicated { hosts, .. } => (hosts.as_slice(), "the load-balancer hosts"),
            LoadBalancer::Colocated { .. } | LoadBalancer::None => {
                (self.controlplanes.as_slice(), "the control planes")
            }
            LoadBalancer::External { .. } => (&[][..], "the external load balancer"),
        };
        let addresses = hosts
            .iter()
            .filter_map(|h| h.address.as_ref().and_then(|a| a.value.ip()))
            .collect();
        (addresses, what)
    }

    /// The pod network's encapsulation: as written, else what the environment allows.
    /// Unencapsulated pod traffic within a subnet is safe only where hac knows that
    /// nothing between the hosts checks source addresses (bare metal).
    pub fn encapsulation(&self) -> Encapsulation {
        match (&self.network.encapsulation, &self.cloud) {
            (Some(written), _) => written.value,
            (None, Some(setting)) if setting.cloud == Cloud::BareMetal => {
                Encapsulation::VxlanCrossSubnet
            }
            (None, _) => Encapsulation::Vxlan,
        }
    }
}

/// The environment the hosts run in, as far as pod networking and the VIP care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    Aws,
    Gcp,
    Azure,
    OpenStack,
    Hetzner,
    DigitalOcean,
    /// Machines (or VMs) on networks the operator controls: ARP moves addresses,
    /// nothing filters source addresses.
    BareMetal,
}

/// Whether keepalived can move a VIP between hosts in an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VipSupport {
    /// Gratuitous ARP moves the address.
    Works,
    /// It works once the cloud's port filter is told (OpenStack allowed-address-pairs).
    NeedsPortConfiguration,
    /// The cloud routes each address to one instance through its API; VRRP cannot move it.
    Refused,
}

impl Cloud {
    pub const ALL: [Cloud; 7] = [
        Cloud::Aws,
        Cloud::Gcp,
        Cloud::Azure,
        Cloud::OpenStack,
        Cloud::Hetzner,
        Cloud::DigitalOcean,
        Cloud::BareMetal,
    ];

    /// The `cloud` value, also the `--provider` name where there is one.
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
            Cloud::OpenStack => "openstack",
            Cloud::Hetzner => "hetzner",
            Cloud::DigitalOcean => "digitalocean",
            Cloud::BareMetal => "bare-metal",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Cloud::Aws => "AWS",
            Cloud::Gcp => "GCP",
            Cloud::Azure => "Azure",
            Cloud::OpenStack => "OpenStack",
            Cloud::Hetzner => "Hetzner Cloud",
            Cloud::DigitalOcean => "DigitalOcean",
            Cloud::BareMetal => "bare metal",
        }
    }

    pub fn parse(text: &str) -> Option<Cloud> {
        Cloud::ALL.into_iter().find(|cloud| cloud.as_str() == text)
    }

    pub fn vip_support(self) -> VipSupport {
        match self {
            Cloud::BareMetal => VipSupport::Works,
            Cloud::OpenStack => VipSupport::NeedsPortConfiguration,
            Cloud::Aws | Cloud::Gcp | Cloud::Azure | Cloud::Hetzner | Cloud::DigitalOcean => {
                VipSupport::Refused
            }
        }
    }

    /// What the cloud does to a packet whose addresses are not the instance's own
    /// (unencapsulated pod traffic), when its network drops it.
    pub fn drops_foreign_addresses(self) -> Option<&'static str> {
        match self {
            Cloud::Aws => {
                Some("AWS drops it unless every instance's source/destination check is off")
            }
            Cloud::Gcp => Some("GCP drops it unless every instance has IP forwarding on"),
            Cloud::Azure => Some(
                "Azure drops it unless a route table sends every node's pod range to that node and IP forwarding is on",
            ),
            Cloud::OpenStack => Some(
                "OpenStack's port security drops it unless every port allows the pod range (allowed-address-pairs)",
            ),
            Cloud::Hetzner => Some(
                "Hetzner Cloud networks drop it unless a route for every node's pod range is added through the API",
            ),
            Cloud::DigitalOcean => {
                Some("DigitalOcean VPCs drop it: they carry only the droplets' own addresses")
            }
            Cloud::BareMetal => None,
        }
    }
}

/// Who named the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudSource {
    /// The `cloud` attribute.
    Attribute,
    /// `--provider` on the command line (the origin is the cluster set).
    Provider,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloudSetting {
    pub cloud: Cloud,
    pub origin: Origin,
    pub source: CloudSource,
}

impl CloudSetting {
    /// How a message names where the cloud came from.
    pub fn named_by(&self) -> String {
        match self.source {
            CloudSource::Attribute => format!("`cloud = \"{}\"`", self.cloud.as_str()),
            CloudSource::Provider => format!("`--provider {}`", self.cloud.as_str()),
        }
    }
}

/// How pod traffic between nodes travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encapsulation {
    /// Always in VXLAN: works wherever UDP between the hosts does.
    Vxlan,
    /// VXLAN only between subnets; plain routed packets inside one.
    VxlanCrossSubnet,
}

impl Encapsulation {
    pub const ALL: [Encapsulation; 2] = [Encapsulation::Vxlan, Encapsulation::VxlanCrossSubnet];

    pub fn as_str(self) -> &'static str {
        match self {
            Encapsulation::Vxlan => "vxlan",
            Encapsulation::VxlanCrossSubnet => "vxlan-cross-subnet",
        }
    }

    pub fn parse(text: &str) -> Option<Encapsulation> {
        Encapsulation::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// How the hosts find the endpoint's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointResolution {
    /// A DNS record the operator creates.
    Dns,
    /// hac writes the name into every node's `/etc/hosts`.
    HostsFile,
}

impl EndpointResolution {
    pub const ALL: [EndpointResolution; 2] =
        [EndpointResolution::Dns, EndpointResolution::HostsFile];

    pub fn as_str(self) -> &'static str {
        match self {
            EndpointResolution::Dns => "dns",
            EndpointResolution::HostsFile => "hosts",
        }
    }

    pub fn parse(text: &str) -> Option<EndpointResolution> {
        EndpointResolution::ALL
            .into_iter()
            .find(|e| e.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    LoadBalancer,
    Etcd,
    ControlPlane,
    Worker,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::LoadBalancer => "load balancer",
            Role::Etcd => "etcd member",
            Role::ControlPlane => "control plane",
            Role::Worker => "worker",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Os {
    Ubuntu2204,
    Ubuntu2404,
    Debian12,
    Debian13,
}

impl Os {
    pub const ALL: [Os; 4] = [Os::Ubuntu2204, Os::Ubuntu2404, Os::Debian12, Os::Debian13];
    pub const DEFAULT: Os = Os::Ubuntu2404;

    pub fn as_str(self) -> &'static str {
        match self {
            Os::Ubuntu2204 => "ubuntu-22.04",
            Os::Ubuntu2404 => "ubuntu-24.04",
            Os::Debian12 => "debian-12",
            Os::Debian13 => "debian-13",
        }
    }

    pub fn parse(text: &str) -> Option<Os> {
        Os::ALL.into_iter().find(|os| os.as_str() == text)
    }
}

/// A host address: an IP or a DNS name (lowercase, validated).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Address {
    Ip(IpAddr),
    Dns(String),
}

impl Address {
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Address::Ip(ip) => Some(*ip),
            Address::Dns(_) => None,
        }
    }

    /// The form for a URL or `host:port`: IPv6 in brackets.
    pub fn url_host(&self) -> String {
        match self {
            Address::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ip(ip) => write!(f, "{ip}"),
            Address::Dns(name) => f.write_str(name),
        }
    }
}

/// `controlPlaneEndpoint`: where every client reaches the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: Address,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host.url_host(), self.port)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub cni: Located<Cni>,
    pub pods: Located<Cidr>,
    pub services: Located<Cidr>,
    pub domain: Located<String>,
    /// `None`: follow the environment ([`Cluster::encapsulation`]).
    pub encapsulation: Option<Located<Encapsulation>>,
    /// The MTU of the hosts' network, when the source gives it.
    pub mtu: Option<Located<u32>>,
    pub resolve_endpoint: Located<EndpointResolution>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cni {
    Flannel,
    Calico,
    Cilium,
    /// The user installs a network plugin after boot.
    None,
}

impl Cni {
    pub const ALL: [Cni; 4] = [Cni::Flannel, Cni::Calico, Cni::Cilium, Cni::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Cni::Flannel => "flannel",
            Cni::Calico => "calico",
            Cni::Cilium => "cilium",
            Cni::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Cni> {
        Cni::ALL.into_iter().find(|cni| cni.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Etcd {
    /// One etcd member on every control plane (kubeadm's default).
    Stacked,
    External {
        members: Vec<Host>,
        origin: Origin,
        /// The `external` list.
        members_origin: Origin,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum LoadBalancer {
    /// No load balancer: the endpoint is used as written.
    None,
    /// A load balancer outside hac's control already serves the endpoint.
    External {
        origin: Origin,
        vip: Option<Located<IpAddr>>,
    },
    /// haproxy on dedicated hosts, with keepalived when there is a VIP.
    Dedicated {
        origin: Origin,
        hosts: Vec<Host>,
        /// The `hosts` list.
        hosts_origin: Origin,
        vip: Option<Located<IpAddr>>,
        /// The network interface for the VIP; `None` finds it at boot.
        interface: Option<Located<String>>,
        port: Located<u16>,
    },
    /// haproxy (and keepalived when there is a VIP) on every control plane.
    Colocated {
        origin: Origin,
        vip: Option<Located<IpAddr>>,
        /// The network interface for the VIP; `None` finds it at boot.
        interface: Option<Located<String>>,
        port: Located<u16>,
    },
}

impl LoadBalancer {
    pub fn vip(&self) -> Option<&Located<IpAddr>> {
        match self {
            LoadBalancer::None => None,
            LoadBalancer::External { vip, .. }
            | LoadBalancer::Dedicated { vip, .. }
            | LoadBalancer::Colocated { vip, .. } => vip.as_ref(),
        }
    }

    /// The network interface keepalived puts the VIP on, when given.
    pub fn interface(&self) -> Option<&Located<String>> {
        match self {
            LoadBalancer::Dedicated { interface, .. }
            | LoadBalancer::Colocated { interface, .. } => interface.as_ref(),
            LoadBalancer::None | LoadBalancer::External { .. } => None,
        }
    }

    /// The port haproxy listens on, when hac generates the load balancer.
    pub fn port(&self) -> Option<&Located<u16>> {
        match self {
            LoadBalancer::Dedicated { port, .. } | LoadBalancer::Colocated { port, .. } => {
                Some(port)
            }
            LoadBalancer::None | LoadBalancer::External { .. } => None,
        }
    }

    pub fn is_generated(&self) -> bool {
        self.port().is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// The host's attribute set.
    pub origin: Origin,
    pub name: Located<String>,
    pub address: Option<Located<Address>>,
    pub labels: BTreeMap<String, String>,
    /// `None`: kubeadm's default (control planes get the control-plane NoSchedule taint).
    pub taints: Option<Vec<Taint>>,
    pub files: Vec<FileSpec>,
    pub commands: Commands,
    pub kubelet: Kubelet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl TaintEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: Option<String>,
    pub effect: TaintEffect,
}

impl fmt::Display for Taint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)?;
        if let Some(value) = &self.value {
            write!(f, "={value}")?;
        }
        write!(f, ":{}", self.effect.as_str())
    }
}

/// A file written before anything else runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Absolute, without `..`, from a safe character set.
    pub path: String,
    pub content: String,
    /// Mode bits, e.g. `0o644`.
    pub permissions: u32,
    /// `user` or `user:group`.
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Commands {
    /// Run before the kubeadm (or load-balancer, or etcd) step.
    pub before: Vec<String>,
    /// Run after it.
    pub after: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ssh {
    pub authorized_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrap {
    /// Lifetime of the seeded join token in seconds; 0 asks for "never", which the
    /// build caps at 13 days like any other value.
    pub token_ttl: Located<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Containerd {
    pub systemd_cgroup: bool,
    /// Registry host (e.g. `docker.io`) → mirror URLs, tried in order.
    pub registry_mirrors: BTreeMap<String, Vec<String>>,
    /// Registry host containerd contacts (an `imageRepository` host, a mirror's host)
    /// → the name of a login kept in the secrets bundle.
    pub registry_logins: BTreeMap<String, Located<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Packages {
    /// Base URL that replaces `https://pkgs.k8s.io`.
    pub mirror: String,
    /// Where `mirror` was written (the `packages` set when it was not).
    pub mirror_origin: Origin,
    /// Base URL under which release files are found at `BASE/HOST/PATH` of their
    /// upstream `https://HOST/PATH`.
    pub releases: Option<Located<String>>,
    /// kubeadm's `imageRepository`: where the Kubernetes images come from.
    pub image_repository: Option<Located<String>>,
    /// The cluster reaches nothing but its mirrors.
    pub offline: Option<Located<bool>>,
    /// The `packages` set, or the cluster set when there is none.
    pub origin: Origin,
}

/// `versions.NAME = { version; sha256; unverified; }`, keyed by the artefact's name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Versions {
    pub overrides: BTreeMap<String, VersionOverride>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VersionOverride {
    /// The set under `versions`.
    pub origin: Origin,
    pub version: Option<Located<String>>,
    /// Part (`amd64`, `manifest`, `crds`…) → sha256, lowercase.
    pub sha256: BTreeMap<String, Located<String>>,
    /// Download the files without checking them (warned on every build).
    pub unverified: Option<Located<bool>>,
}

/// HTTP(S) proxy for apt, the downloads, containerd and the kubelet.
#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    pub origin: Origin,
    pub http: Option<Located<String>>,
    pub https: Option<Located<String>>,
    /// Hosts, domains (`.example.com`) and CIDRs reached directly, besides the ones
    /// hac adds (localhost, the cluster's ranges and hosts, the endpoint).
    pub no_proxy: Vec<String>,
}

pub const DEFAULT_PACKAGE_MIRROR: &str = "https://pkgs.k8s.io";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Kubelet {
    /// Flag name (without `--`) → value.
    pub extra_args: BTreeMap<String, String>,
}

/// Settings of the control-plane components (`controlplane`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlPlane {
    pub apiserver: ComponentArgs,
    pub controller_manager: ComponentArgs,
    pub scheduler: ComponentArgs,
    pub audit: Audit,
    /// Secrets are encrypted at rest with a key from the secrets bundle.
    pub encrypt_secrets: bool,
}

/// Extra flags of one control-plane component, in the order kubeadm passes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComponentArgs {
    /// Flag name (without `--`) → value.
    pub extra_args: BTreeMap<String, String>,
}

/// The API server's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub level: AuditLevel,
    /// The rules of a policy of the user's (audit.k8s.io/v1 `PolicyRule`s as JSON,
    /// checked) instead of hac's.
    pub rules: Option<Vec<serde_json::Value>>,
    /// Days an audit file is kept (`--audit-log-maxage`).
    pub max_age_days: u32,
    /// Rotated files kept (`--audit-log-maxbackup`).
    pub max_backups: u32,
    /// Megabytes a file grows to before it is rotated (`--audit-log-maxsize`).
    pub max_size_mb: u32,
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            level: AuditLevel::Metadata,
            rules: None,
            max_age_days: 30,
            max_backups: 10,
            max_size_mb: 100,
        }
    }
}

/// How much of each request the audit log records (audit.k8s.io/v1 levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditLevel {
    /// No audit log: the API server gets no audit flags.
    None,
    Metadata,
    Request,
    RequestResponse,
}

impl AuditLevel {
    pub const ALL: [AuditLevel; 4] = [
        AuditLevel::None,
        AuditLevel::Metadata,
        AuditLevel::Request,
        AuditLevel::RequestResponse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditLevel::None => "None",
            AuditLevel::Metadata => "Metadata",
            AuditLevel::Request => "Request",
            AuditLevel::RequestResponse => "RequestResponse",
        }
    }

    pub fn parse(text: &str) -> Option<AuditLevel> {
        AuditLevel::ALL.into_iter().find(|l| l.as_str() == text)
    }
}
