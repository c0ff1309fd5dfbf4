//! Every diagnostic code the cluster model and its lints can produce, in one table.
//!
//! Codes are stable: tools and editors match on them. Each entry carries a one-line
//! summary and the fix, which `docs/cluster.md` lists (a test keeps the two in step).

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal : $summary:literal => $fix:literal; )*) => {
        $( $(#[$doc])* pub const $name: &str = $code; )*
        /// `(code, one-line summary)` for every code above, in declaration order.
        pub const ALL: &[(&str, &str)] = &[ $( ($code, $summary) ),* ];
        /// `(code, how to fix it)` for every code above, in declaration order.
        pub const FIXES: &[(&str, &str)] = &[ $( ($code, $fix) ),* ];
    };
}

codes! {
    // The shape of the value: reported while reading it into the cluster model.
    UNKNOWN_ATTRIBUTE = "hac::model::unknown_attribute": "an attribute the cluster schema does not define"
        => "Remove it or correct its spelling; `docs/cluster.md` lists every attribute.";
    MISSING_ATTRIBUTE = "hac::model::missing_attribute": "a required attribute is absent"
        => "Add the attribute to the set the label points at.";
    WRONG_TYPE = "hac::model::wrong_type": "a value of the wrong type for its attribute"
        => "Give the attribute a value of the type `docs/cluster.md` lists for it.";
    INVALID_VALUE = "hac::model::invalid_value": "a value of the right type but the wrong form (label, taint, path, permissions, address…)"
        => "Write the value in the form the message describes.";

    // Errors: the cluster would not come up, or not as written.
    INVALID_NAME = "hac::lint::invalid_name": "a cluster or host name that is not a lowercase DNS-1123 label"
        => "Use 1 to 63 characters from `a-z`, `0-9` and `-`, starting and ending with a letter or digit.";
    DUPLICATE_HOST_NAME = "hac::lint::duplicate_host_name": "two hosts with the same name"
        => "Give every host (control plane, worker, etcd member, load balancer) a unique name.";
    DUPLICATE_ADDRESS = "hac::lint::duplicate_address": "two hosts with the same address"
        => "Give every host its own address.";
    NO_CONTROL_PLANES = "hac::lint::no_control_planes": "`controlplanes` is empty"
        => "Add at least one control plane; three for high availability.";
    NO_ETCD_MEMBERS = "hac::lint::no_etcd_members": "`etcd.external` is empty"
        => "List the etcd hosts (three for high availability), or use `etcd = \"stacked\";`.";
    MISSING_ADDRESS = "hac::lint::missing_address": "a control plane, etcd member or load-balancer host without `address`"
        => "Add `address`: the other hosts reach this one through it.";
    INVALID_VERSION = "hac::lint::invalid_version": "`kubernetes` is not `X.Y.Z`, or older than pkgs.k8s.io serves (1.24)"
        => "Write a full release such as `\"1.36.1\"`, 1.24 or newer.";
    INVALID_CIDR = "hac::lint::invalid_cidr": "a CIDR that does not parse, has host bits set, or is too large or too small for its use"
        => "Write the network address and prefix length, e.g. `10.244.0.0/16`.";
    CIDR_OVERLAP = "hac::lint::cidr_overlap": "the pods and services CIDRs overlap"
        => "Choose disjoint ranges, e.g. pods `10.244.0.0/16` and services `10.96.0.0/12`.";
    ADDRESS_IN_CLUSTER_CIDR = "hac::lint::address_in_cluster_cidr": "a host address or VIP inside the pods or services CIDR"
        => "Move the pod or service range away from the host network.";
    POD_CIDR_TOO_SMALL = "hac::lint::pod_cidr_too_small": "the pods CIDR has fewer per-node subnets than the cluster has nodes"
        => "Use a shorter prefix for `network.pods` (each node takes a /24 for IPv4, a /64 for IPv6).";
    INVALID_ENDPOINT = "hac::lint::invalid_endpoint": "`endpoint` is not `host:port`"
        => "Write the address clients use for the API, e.g. `\"api.example.com:6443\"`.";
    NO_LOAD_BALANCER_HOSTS = "hac::lint::no_load_balancer_hosts": "`loadbalancer.hosts` is empty: nothing serves the endpoint"
        => "List the haproxy hosts, or use `loadbalancer = \"external\"` or `colocated = true`.";
    COLOCATED_PORT_6443 = "hac::lint::colocated_port_6443": "a colocated load balancer on port 6443, which kube-apiserver already binds"
        => "Set `loadbalancer.port = 8443;` and use that port in `endpoint`.";
    VIP_IS_HOST_ADDRESS = "hac::lint::vip_is_host_address": "the VIP equals a host's address"
        => "Choose a free address in the hosts' subnet for the VIP.";
    VIP_WITH_EXTERNAL_LB = "hac::lint::vip_with_external_lb": "a `vip` with an external load balancer, which hac does not configure"
        => "Remove `vip`, or let hac run the load balancer (`hosts` or `colocated`).";
    ENDPOINT_NOT_LOAD_BALANCED = "hac::lint::endpoint_not_load_balanced": "the endpoint does not point at the load balancer hac generates"
        => "Point `endpoint` at the VIP (or a load-balancer host) and the load balancer's port, or at a DNS name for it.";
    CNI_POD_CIDR = "hac::lint::cni_pod_cidr": "a CNI that cannot use the pods CIDR as written"
        => "Use an IPv4 pods CIDR with flannel, or choose another CNI.";
    ADDRESS_NEEDS_IP = "hac::lint::address_needs_ip": "a host named by DNS where the generated load balancer needs an IP (control planes behind hac's haproxy, load-balancer hosts sharing a VIP)"
        => "Give the host an IP `address`: haproxy resolves no names at start, and VRRP adverts go to IP addresses.";
    INSECURE_MIRROR = "hac::lint::insecure_mirror": "a plain `http://` package or registry mirror without `insecure = true`"
        => "Use an `https://` mirror; if the network really offers no TLS, set `insecure = true;` in the same set (`packages` or `containerd`) and accept the warning.";
    DUAL_STACK_UNSUPPORTED = "hac::model::dual_stack_unsupported": "`network.pods` or `network.services` is a list of ranges (dual-stack)"
        => "Give one range of the hosts' family; `docs/networking.md` says what dual-stack support would take.";
    CLOUD_CONFLICT = "hac::lint::cloud_conflict": "`--provider` names another cloud than the `cloud` attribute"
        => "Build for the cloud the source names, or change `cloud`.";
    MIXED_FAMILIES = "hac::lint::mixed_families": "IPv6 pod or service ranges with IPv4 host addresses (or the reverse)"
        => "Use ranges of the hosts' family: kube-apiserver and the node IPs must share one family.";
    VIP_ON_CLOUD = "hac::lint::vip_on_cloud": "a keepalived VIP on a cloud that routes addresses through its API (AWS, GCP, Azure, Hetzner, DigitalOcean)"
        => "Use the cloud's load balancer: `loadbalancer = \"external\";` with `endpoint` at its address or DNS name.";
    CNI_ENCAPSULATION = "hac::lint::cni_encapsulation": "an `encapsulation` the chosen CNI cannot run"
        => "Remove `network.encapsulation` or choose `\"vxlan\"`.";
    MTU_TOO_SMALL = "hac::lint::mtu_too_small": "`network.mtu` leaves pods less than their family's minimum MTU after the VXLAN header"
        => "Raise the hosts' MTU (and `network.mtu`): VXLAN takes 50 bytes (IPv4) or 70 (IPv6).";
    PORT_IN_USE = "hac::lint::port_in_use": "a load-balancer port another component already binds on the same host"
        => "Choose a free port for `loadbalancer.port` (8443 is usual) and use it in `endpoint`.";
    HOSTS_ENTRY_WITHOUT_ADDRESS = "hac::lint::hosts_entry_without_address": "`resolveEndpoint = \"hosts\"` where hac knows no address for the endpoint"
        => "Create a DNS record for the endpoint (`resolveEndpoint = \"dns\"`), or let hac run the load balancer.";
    UNVERIFIED_DOWNLOAD = "hac::lint::unverified_download": "a file the hosts would download with no sha256 known at build time"
        => "Give the digest (`versions.NAME.sha256`, from the project's release page or `sha256sum` of the file you checked), or use the version hac pins; `versions.NAME.unverified = true;` downloads it unchecked, with a warning.";
    OFFLINE_FETCH = "hac::lint::offline_fetch": "`packages.offline = true` and the cluster would still fetch from outside its mirrors"
        => "Set the mirror the message names: `packages.mirror` (packages), `packages.releases` (release files), `packages.imageRepository` or `containerd.registryMirrors` (images).";
    UNSUPPORTED_OS = "hac::lint::unsupported_os": "an `os` hac does not generate setup for"
        => "Use one of `ubuntu-22.04`, `ubuntu-24.04`, `debian-12`, `debian-13`.";

    // Warnings: it comes up, but not highly available, or risky.
    INSECURE_MIRROR_ALLOWED = "hac::lint::insecure_mirror_allowed": "a plain `http://` mirror allowed with `insecure = true`"
        => "Move the mirror to `https://` and remove `insecure = true;`; until then anyone on the network path can change what the nodes install.";
    UNVERIFIED_DOWNLOAD_ALLOWED = "hac::lint::unverified_download_allowed": "a file downloaded unchecked because the source says `unverified = true`"
        => "Give `sha256` for the file and remove `unverified = true;`: until then whoever serves the file decides what the hosts run.";
    EVEN_CONTROL_PLANES = "hac::lint::even_control_planes": "an even number of control planes (stacked etcd members)"
        => "Use an odd number: 3 or 5. An even count adds a member without adding failure tolerance.";
    EVEN_ETCD_MEMBERS = "hac::lint::even_etcd_members": "an even number of external etcd members"
        => "Use an odd number: 3 or 5. An even count adds a member without adding failure tolerance.";
    SINGLE_CONTROL_PLANE = "hac::lint::single_control_plane": "one control plane: not highly available"
        => "Use three control planes for high availability.";
    SINGLE_ETCD_MEMBER = "hac::lint::single_etcd_member": "one external etcd member: not highly available"
        => "Use three etcd members for high availability.";
    ENDPOINT_IS_IP = "hac::lint::endpoint_is_ip": "the endpoint host is a bare IP address"
        => "Prefer a DNS name, so the load balancer can be replaced without reissuing certificates and kubeconfigs.";
    ENDPOINT_SINGLE_POINT = "hac::lint::endpoint_single_point": "no load balancer, and the endpoint is one control plane's address"
        => "Add a load balancer (`loadbalancer`), or point `endpoint` at a DNS name that fails over.";
    VIP_WITHOUT_FAILOVER = "hac::lint::vip_without_failover": "a VIP with fewer than two load-balancer hosts"
        => "Add a second load-balancer host, or drop the VIP and use the host's address.";
    COLOCATED_WITHOUT_VIP = "hac::lint::colocated_without_vip": "a colocated load balancer without a VIP"
        => "Add `vip` (a free address in the control planes' subnet) and point `endpoint` at it, or at a DNS name for it.";
    UNKNOWN_KUBERNETES_MINOR = "hac::lint::unknown_kubernetes_minor": "a Kubernetes minor outside the three newest hac knows"
        => "Use one of the supported minors; older ones get no patches, newer ones are untested with hac.";
    TOKEN_NEVER_EXPIRES = "hac::lint::token_never_expires": "a bootstrap token that never expires is asked for (hac makes it 13 days)"
        => "Set `bootstrap.tokenTTL` to the duration you mean.";
    TOKEN_EXPIRES_BEFORE_JOIN = "hac::lint::token_expires_before_join": "the join token may expire before a host's join starts"
        => "Make `bootstrap.tokenTTL` longer than the longest join wait `hac plan` shows (the default, 24h, is).";
    CERTIFICATES_EXPIRE_BEFORE_JOIN = "hac::lint::certificates_expire_before_join": "a control plane may start joining after the uploaded certificates expire (2 h)"
        => "Nothing, if the control planes run their keepers (a late control plane asks them to upload the certificates again); or boot fewer control planes at once.";
    VIP_NEEDS_PORT_SECURITY = "hac::lint::vip_needs_port_security": "a keepalived VIP on OpenStack, whose port security drops it unless every load-balancer port allows it"
        => "Add the VIP to every load-balancer port's allowed-address-pairs (or disable port security on them).";
    CROSS_SUBNET_ON_CLOUD = "hac::lint::cross_subnet_on_cloud": "`encapsulation = \"vxlan-cross-subnet\"` on a cloud that drops unencapsulated pod traffic"
        => "Use `encapsulation = \"vxlan\"` (the default there), or make the cloud accept pod addresses first.";
    HOSTS_ENTRY_FOR_IP = "hac::lint::hosts_entry_for_ip": "`resolveEndpoint = \"hosts\"` with an IP endpoint: there is no name to resolve"
        => "Remove `resolveEndpoint`, or give `endpoint` a name.";
    NO_WORKERS = "hac::lint::no_workers": "no workers: control planes keep their NoSchedule taint"
        => "Add workers, or remove the control-plane taint yourself after boot.";
    UNKNOWN_ALLOW = "hac::lint::unknown_allow": "a `# hac: allow` comment names a lint hac does not have"
        => "Name a lint from this table without its `hac::lint::` prefix, e.g. `# hac: allow endpoint_is_ip` (see Allowing a warning in one place).";

    // Advice: nothing is wrong in the file, but something outside it must be done.
    ENDPOINT_DNS_RECORD = "hac::lint::endpoint_dns_record": "the endpoint is a name: the DNS record someone must create before the hosts boot"
        => "Create the record the note names, or set `network.resolveEndpoint = \"hosts\";`.";
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique_well_formed_and_have_fixes() {
        let mut seen = std::collections::HashSet::new();
        for ((code, summary), (fix_code, fix)) in super::ALL.iter().zip(super::FIXES) {
            assert_eq!(code, fix_code);
            assert!(seen.insert(code), "{code} twice");
            assert!(
                code.starts_with("hac::model::") || code.starts_with("hac::lint::"),
                "{code}"
            );
            assert!(!summary.is_empty() && !fix.is_empty());
        }
    }
}
