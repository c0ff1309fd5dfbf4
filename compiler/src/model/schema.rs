//! The cluster schema as data: every attribute with its type, default and
//! documentation. The model reader takes the allowed names from here, `docs/cluster.md`
//! embeds [`markdown_reference`], and the editor's hover text comes from [`lookup`], so
//! the three cannot drift apart.

/// One attribute set of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetDoc {
    /// Identifier used by [`Attribute::set`].
    pub id: &'static str,
    /// How messages and the docs refer to it ("the cluster", "a host"…).
    pub title: &'static str,
    /// Where it appears in a `.hac` file.
    pub path: &'static str,
    pub doc: &'static str,
}

/// One attribute of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    pub set: &'static str,
    pub name: &'static str,
    pub ty: &'static str,
    /// `required`, or the default as it would be written.
    pub default: &'static str,
    pub doc: &'static str,
}

pub const SETS: &[SetDoc] = &[
    SetDoc {
        id: "cluster",
        title: "the cluster",
        path: "the file's value",
        doc: "The attribute set a `.hac` file evaluates to.",
    },
    SetDoc {
        id: "host",
        title: "a host",
        path: "elements of `controlplanes`, `workers`, `etcd.external`, `loadbalancer.hosts`",
        doc: "One machine. Every host gets its own cloud-init user-data.",
    },
    SetDoc {
        id: "network",
        title: "`network`",
        path: "`network`",
        doc: "Cluster networking. Every attribute is optional.",
    },
    SetDoc {
        id: "etcd",
        title: "`etcd`",
        path: "`etcd` (the set form)",
        doc: "`etcd = \"stacked\";` (the default) runs one etcd member on every control plane. The set form `{ external = [ host… ]; }` runs etcd on its own hosts.",
    },
    SetDoc {
        id: "loadbalancer",
        title: "`loadbalancer`",
        path: "`loadbalancer` (the set form)",
        doc: "The load balancer in front of the API servers. Three forms: `{ hosts = [ host… ]; }` runs haproxy on dedicated hosts; `{ colocated = true; }` runs haproxy on every control plane; `\"external\"` (or `{ external = true; }`) means a load balancer outside hac already serves `endpoint`. Without `loadbalancer`, hac generates none and the endpoint is used as written. With `vip`, keepalived moves that address between the haproxy hosts.",
    },
    SetDoc {
        id: "file",
        title: "a file",
        path: "elements of `files` (cluster or host)",
        doc: "A file written before anything else runs on the host.",
    },
    SetDoc {
        id: "commands",
        title: "`commands`",
        path: "`commands` (cluster or host)",
        doc: "Shell commands run as root, each as one line of a script; a failing command stops the boot. The cluster's commands run on every host, before the host's own.",
    },
    SetDoc {
        id: "ssh",
        title: "`ssh`",
        path: "`ssh`",
        doc: "Remote access for people. The cluster assembles itself without it.",
    },
    SetDoc {
        id: "bootstrap",
        title: "`bootstrap`",
        path: "`bootstrap`",
        doc: "How hosts authenticate when they join.",
    },
    SetDoc {
        id: "containerd",
        title: "`containerd`",
        path: "`containerd`",
        doc: "The container runtime on every Kubernetes node.",
    },
    SetDoc {
        id: "packages",
        title: "`packages`",
        path: "`packages`",
        doc: "Where Kubernetes packages come from.",
    },
    SetDoc {
        id: "kubelet",
        title: "`kubelet`",
        path: "`kubelet` (cluster or host)",
        doc: "Extra kubelet settings. A host's entries override the cluster's.",
    },
    SetDoc {
        id: "controlplane",
        title: "`controlplane`",
        path: "`controlplane`",
        doc: "Settings of the control-plane components on every control plane: extra flags, the API server's audit log and the encryption of Secrets at rest.",
    },
    SetDoc {
        id: "apiserver",
        title: "`controlplane.apiserver`",
        path: "`controlplane.apiserver`",
        doc: "kube-apiserver settings.",
    },
    SetDoc {
        id: "controllermanager",
        title: "`controlplane.controllermanager`",
        path: "`controlplane.controllermanager`",
        doc: "kube-controller-manager settings.",
    },
    SetDoc {
        id: "scheduler",
        title: "`controlplane.scheduler`",
        path: "`controlplane.scheduler`",
        doc: "kube-scheduler settings.",
    },
    SetDoc {
        id: "audit",
        title: "`controlplane.audit`",
        path: "`controlplane.audit`",
        doc: "The API server's audit log, `/var/log/kubernetes/audit/audit.log` on every control plane, under the policy hac writes to `/etc/kubernetes/audit-policy.yaml` (see [secrets.md](secrets.md#audit-log-and-encryption-at-rest)).",
    },
    SetDoc {
        id: "auditrule",
        title: "an audit rule",
        path: "elements of `controlplane.audit.rules`",
        doc: "One rule of the audit policy (audit.k8s.io/v1 `PolicyRule`).",
    },
    SetDoc {
        id: "auditresources",
        title: "an audit resource group",
        path: "elements of an audit rule's `resources`",
        doc: "The resources a rule applies to (audit.k8s.io/v1 `GroupResources`).",
    },
    SetDoc {
        id: "versions",
        title: "`versions`",
        path: "`versions`",
        doc: "Releases of the files hosts download, instead of the ones hac pins (see [versions.md](versions.md)). Each attribute is a `release` set: `containerd` (the 2.x tarball, only where the OS packages 1.x and Kubernetes needs 2.x), `flannel` (`kube-flannel.yml`), `calico` (the operator and its CRDs), `ciliumCli` (the cilium CLI).",
    },
    SetDoc {
        id: "release",
        title: "a release",
        path: "`versions.containerd`, `versions.flannel`, `versions.calico`, `versions.ciliumCli`",
        doc: "One release of a downloaded artefact. Every file a host downloads is checked against a sha256 hac knows at build time: the one in hac's table for the pinned version, or the one given here.",
    },
    SetDoc {
        id: "proxy",
        title: "`proxy`",
        path: "`proxy`",
        doc: "An HTTP(S) proxy that apt, the bootstrap's downloads, containerd (image pulls) and the kubelet use. `no_proxy` always holds `localhost`, `127.0.0.1`, `::1`, the pod and service ranges, the cluster domain, every host's address and the endpoint's host.",
    },
];

pub const ATTRIBUTES: &[Attribute] = &[
    // cluster
    Attribute {
        set: "cluster",
        name: "name",
        ty: "string",
        default: "required",
        doc: "The cluster's name, a lowercase DNS-1123 label; becomes kubeadm's `clusterName`.",
    },
    Attribute {
        set: "cluster",
        name: "kubernetes",
        ty: "string",
        default: "required",
        doc: "The Kubernetes release, `X.Y.Z` without a leading `v` (1.24 or newer): the minor picks the pkgs.k8s.io repository, the patch is pinned on every host.",
    },
    Attribute {
        set: "cluster",
        name: "os",
        ty: "string",
        default: "\"ubuntu-24.04\"",
        doc: "The hosts' operating system: `ubuntu-22.04`, `ubuntu-24.04`, `debian-12` or `debian-13`.",
    },
    Attribute {
        set: "cluster",
        name: "endpoint",
        ty: "string",
        default: "required",
        doc: "kubeadm's `controlPlaneEndpoint`, `host:port`: the address every node and client reaches the API through (the VIP, the load balancer's DNS name, or a DNS name for it). IPv6 hosts go in brackets.",
    },
    Attribute {
        set: "cluster",
        name: "cloud",
        ty: "string",
        default: "none",
        doc: "Where the hosts run: `aws`, `gcp`, `azure`, `openstack`, `hetzner`, `digitalocean` or `bare-metal`. It decides what hac may assume about the network: a keepalived `vip` is refused where the cloud, not ARP, decides which instance owns an address, and pod traffic is always VXLAN-encapsulated except on `bare-metal`. `hac check`/`hac build --provider NAME` set it when the source does not, and must agree with it when it does. Unset, hac assumes nothing (a VIP is allowed, pod traffic is always encapsulated). See [networking.md](networking.md#clouds).",
    },
    Attribute {
        set: "cluster",
        name: "network",
        ty: "set",
        default: "{ }",
        doc: "Pod and service networking; see `network`.",
    },
    Attribute {
        set: "cluster",
        name: "etcd",
        ty: "\"stacked\" or set",
        default: "\"stacked\"",
        doc: "Where etcd runs: `\"stacked\"` (on the control planes) or `{ external = [ host… ]; }`.",
    },
    Attribute {
        set: "cluster",
        name: "loadbalancer",
        ty: "\"external\", \"none\" or set",
        default: "\"none\"",
        doc: "The API load balancer; see `loadbalancer`.",
    },
    Attribute {
        set: "cluster",
        name: "controlplanes",
        ty: "list of hosts",
        default: "required",
        doc: "The control-plane hosts; the first one runs `kubeadm init`, the others join one at a time. Use an odd number, three for high availability.",
    },
    Attribute {
        set: "cluster",
        name: "workers",
        ty: "list of hosts",
        default: "[ ]",
        doc: "The worker hosts; they join in parallel once the API answers.",
    },
    Attribute {
        set: "cluster",
        name: "ssh",
        ty: "set",
        default: "{ }",
        doc: "SSH access for people; see `ssh`.",
    },
    Attribute {
        set: "cluster",
        name: "files",
        ty: "list of files",
        default: "[ ]",
        doc: "Extra files written on every host.",
    },
    Attribute {
        set: "cluster",
        name: "commands",
        ty: "set",
        default: "{ }",
        doc: "Extra shell commands run on every host; see `commands`.",
    },
    Attribute {
        set: "cluster",
        name: "bootstrap",
        ty: "set",
        default: "{ }",
        doc: "Join-token settings; see `bootstrap`.",
    },
    Attribute {
        set: "cluster",
        name: "containerd",
        ty: "set",
        default: "{ }",
        doc: "Container runtime settings; see `containerd`.",
    },
    Attribute {
        set: "cluster",
        name: "packages",
        ty: "set",
        default: "{ }",
        doc: "Package source settings; see `packages`.",
    },
    Attribute {
        set: "cluster",
        name: "kubelet",
        ty: "set",
        default: "{ }",
        doc: "Kubelet settings for every node; see `kubelet`.",
    },
    Attribute {
        set: "cluster",
        name: "controlplane",
        ty: "set",
        default: "{ }",
        doc: "Control-plane component settings; see `controlplane`.",
    },
    Attribute {
        set: "cluster",
        name: "versions",
        ty: "set",
        default: "{ }",
        doc: "Releases of downloaded artefacts other than hac's pinned ones; see `versions`.",
    },
    Attribute {
        set: "cluster",
        name: "proxy",
        ty: "set",
        default: "none",
        doc: "HTTP(S) proxy settings; see `proxy`.",
    },
    // host
    Attribute {
        set: "host",
        name: "name",
        ty: "string",
        default: "required",
        doc: "The host name and Kubernetes node name, a lowercase DNS-1123 label, unique in the cluster.",
    },
    Attribute {
        set: "host",
        name: "address",
        ty: "string",
        default: "none",
        doc: "The IPv4/IPv6 address or DNS name other hosts reach this one at; also the node IP and the API server's advertise address. Required for control planes, etcd members and load-balancer hosts.",
    },
    Attribute {
        set: "host",
        name: "labels",
        ty: "set of strings",
        default: "{ }",
        doc: "Kubernetes node labels, applied by the kubelet when the node registers. Keys in the `kubernetes.io` and `k8s.io` namespaces are refused by the kubelet, except `node.kubernetes.io/`, `kubelet.kubernetes.io/`, `topology.kubernetes.io/zone` and `topology.kubernetes.io/region`.",
    },
    Attribute {
        set: "host",
        name: "taints",
        ty: "list of strings",
        default: "[ ]",
        doc: "Node taints, each `key=value:Effect` or `key:Effect` (Effect `NoSchedule`, `PreferNoSchedule`, `NoExecute`). On a control plane they replace kubeadm's default `node-role.kubernetes.io/control-plane:NoSchedule`.",
    },
    Attribute {
        set: "host",
        name: "files",
        ty: "list of files",
        default: "[ ]",
        doc: "Extra files written on this host, after the cluster's.",
    },
    Attribute {
        set: "host",
        name: "commands",
        ty: "set",
        default: "{ }",
        doc: "Extra shell commands run on this host, after the cluster's; see `commands`.",
    },
    Attribute {
        set: "host",
        name: "kubelet",
        ty: "set",
        default: "{ }",
        doc: "Kubelet settings for this node, merged over the cluster's; see `kubelet`.",
    },
    // network
    Attribute {
        set: "network",
        name: "cni",
        ty: "string",
        default: "\"flannel\"",
        doc: "The pod network plugin: `flannel`, `calico`, `cilium`, or `none` (install your own after boot). hac configures each to use `pods`: flannel's `net-conf.json` network is rewritten to it, calico's default IP pool is set to it, cilium runs with `ipam.mode=kubernetes` so it uses the per-node ranges kubeadm allocates from it.",
    },
    Attribute {
        set: "network",
        name: "pods",
        ty: "string",
        default: "\"10.244.0.0/16\"",
        doc: "The pod CIDR (kubeadm `podSubnet`); each node gets a /24 (IPv4) or /64 (IPv6) of it. Must not overlap `services` or contain a host address, and must be of the hosts' IP family. One range: dual-stack lists are refused (see [networking.md](networking.md#dual-stack)).",
    },
    Attribute {
        set: "network",
        name: "services",
        ty: "string",
        default: "\"10.96.0.0/12\"",
        doc: "The service CIDR (kubeadm `serviceSubnet`); at most 20 host bits (/12 for IPv4, /108 for IPv6). Cluster DNS gets its 10th address, so it needs at least 4 host bits (/28 or /124).",
    },
    Attribute {
        set: "network",
        name: "encapsulation",
        ty: "string",
        default: "from `cloud`",
        doc: "How pod traffic between nodes travels: `\"vxlan\"` (always encapsulated; the default unless `cloud = \"bare-metal\"`) or `\"vxlan-cross-subnet\"` (plain routed packets between nodes of one subnet, VXLAN across subnets; the default on bare metal). Calico's IP pool takes it as written; flannel's VXLAN backend gets `DirectRouting` for `vxlan-cross-subnet`; cilium always tunnels and refuses `vxlan-cross-subnet`.",
    },
    Attribute {
        set: "network",
        name: "mtu",
        ty: "int",
        default: "none",
        doc: "The MTU of the hosts' network interfaces (576 to 9216). Calico's pods then get this minus the VXLAN header (50 bytes for IPv4, 70 for IPv6), and the check refuses an MTU that leaves IPv6 pods less than 1280. Without it each CNI detects the MTU itself.",
    },
    Attribute {
        set: "network",
        name: "resolveEndpoint",
        ty: "string",
        default: "\"dns\"",
        doc: "How the nodes find `endpoint`'s name: `\"dns\"` (a record you create; `hac check` names it) or `\"hosts\"` (hac writes the name into every control plane's and worker's `/etc/hosts`, pointing at the VIP, else at the load-balancer hosts, else at the control planes, at every boot).",
    },
    Attribute {
        set: "network",
        name: "domain",
        ty: "string",
        default: "\"cluster.local\"",
        doc: "The cluster DNS domain (kubeadm `dnsDomain`).",
    },
    // etcd
    Attribute {
        set: "etcd",
        name: "external",
        ty: "list of hosts",
        default: "required",
        doc: "The etcd members. They start together and form quorum before the first control plane initialises. Use an odd number, three or five.",
    },
    // loadbalancer
    Attribute {
        set: "loadbalancer",
        name: "hosts",
        ty: "list of hosts",
        default: "required for dedicated",
        doc: "Dedicated haproxy hosts; they balance TCP across the control planes' API servers, checking `/healthz`.",
    },
    Attribute {
        set: "loadbalancer",
        name: "colocated",
        ty: "bool",
        default: "false",
        doc: "Run haproxy (and keepalived, with `vip`) on every control plane instead of dedicated hosts. Its port must not be 6443, which kube-apiserver binds.",
    },
    Attribute {
        set: "loadbalancer",
        name: "external",
        ty: "bool",
        default: "false",
        doc: "A load balancer outside hac serves `endpoint`; the same as `loadbalancer = \"external\";`.",
    },
    Attribute {
        set: "loadbalancer",
        name: "vip",
        ty: "string",
        default: "none",
        doc: "A virtual IP that keepalived (VRRP) keeps on one healthy haproxy host. Needs two or more haproxy hosts to fail over.",
    },
    Attribute {
        set: "loadbalancer",
        name: "interface",
        ty: "string",
        default: "found at boot",
        doc: "The network interface keepalived puts `vip` on, the same name on every haproxy host (e.g. `\"eth0\"`). Without it, each host finds at boot the interface that carries its own `address`. Needs `vip`.",
    },
    Attribute {
        set: "loadbalancer",
        name: "port",
        ty: "int",
        default: "the endpoint's port",
        doc: "The port haproxy listens on.",
    },
    // file
    Attribute {
        set: "file",
        name: "path",
        ty: "string",
        default: "required",
        doc: "Absolute path of `A-Z a-z 0-9 . _ - + @` components, without `.` or `..`. Not where hac or kubeadm write their own files (`/etc/hac`, `/var/lib/hac`, `/etc/kubernetes/manifests`, `/etc/kubernetes/pki`, the kubeconfigs, `/etc/containerd/config.toml`, `/etc/haproxy/haproxy.cfg`, …): the check names the place and why.",
    },
    Attribute {
        set: "file",
        name: "content",
        ty: "string",
        default: "required",
        doc: "The file's text (use `builtins.readFile` to take it from a file).",
    },
    Attribute {
        set: "file",
        name: "permissions",
        ty: "string",
        default: "\"0644\"",
        doc: "Octal mode, four digits.",
    },
    Attribute {
        set: "file",
        name: "owner",
        ty: "string",
        default: "\"root:root\"",
        doc: "`user` or `user:group`.",
    },
    // commands
    Attribute {
        set: "commands",
        name: "before",
        ty: "list of strings",
        default: "[ ]",
        doc: "Run after packages are installed and before the host's main step (`kubeadm init`/`join`, starting haproxy or etcd).",
    },
    Attribute {
        set: "commands",
        name: "after",
        ty: "list of strings",
        default: "[ ]",
        doc: "Run after the host's main step succeeded.",
    },
    // ssh
    Attribute {
        set: "ssh",
        name: "authorizedKeys",
        ty: "list of strings",
        default: "[ ]",
        doc: "OpenSSH public keys (`ssh-ed25519 AAAA… comment`) authorised for the default user on every host.",
    },
    // bootstrap
    Attribute {
        set: "bootstrap",
        name: "tokenTTL",
        ty: "string",
        default: "\"24h\"",
        doc: "Lifetime of the join token the first control plane seeds, like `24h` or `1h30m`, counted from `kubeadm init`, at most 13 days; after it the keepers on the control planes keep each week's token (see [secrets.md](secrets.md#join-tokens)), so hosts booting later still join. `\"0\"` gives the 13 days (with a warning: no token hac makes lives longer).",
    },
    // containerd
    Attribute {
        set: "containerd",
        name: "systemdCgroup",
        ty: "bool",
        default: "true",
        doc: "Use the systemd cgroup driver in containerd and the kubelet (recommended with cgroup v2). Both sides are always set to the same driver.",
    },
    Attribute {
        set: "containerd",
        name: "registryMirrors",
        ty: "set of lists of strings",
        default: "{ }",
        doc: "Registry host (e.g. `\"docker.io\"`) → mirror URLs, tried in order before the registry itself.",
    },
    Attribute {
        set: "containerd",
        name: "registryLogins",
        ty: "set of strings",
        default: "{ }",
        doc: "Registry host containerd contacts (an `imageRepository` host, a mirror's `host:port`) → the name of a login kept in the secrets bundle, never in the source: `hac secrets set-registry-login NAME --username USER FILE` stores it (password on standard input). Every Kubernetes host's containerd then authenticates there for every pull (kubeadm's, the kubelet's, the sandbox image); see [versions.md](versions.md#registry-logins).",
    },
    Attribute {
        set: "containerd",
        name: "insecure",
        ty: "bool",
        default: "false",
        doc: "Allow plain `http://` registry mirrors. Anyone on the network path can then replace the images every node runs; every build warns while one is in use.",
    },
    // packages
    Attribute {
        set: "packages",
        name: "mirror",
        ty: "string",
        default: "\"https://pkgs.k8s.io\"",
        doc: "Base URL that serves the pkgs.k8s.io layout (`/core:/stable:/v1.X/deb/`): the Kubernetes packages come from there instead.",
    },
    Attribute {
        set: "packages",
        name: "releases",
        ty: "string",
        default: "none: each project's site",
        doc: "Base URL of a mirror of the release files (containerd, the CNI manifests, the cilium CLI): `https://HOST/PATH` upstream is fetched as `RELEASES/HOST/PATH`. `hac plan --format json` lists every file (`downloads`) with its upstream URL and sha256, to fill the mirror.",
    },
    Attribute {
        set: "packages",
        name: "imageRepository",
        ty: "string",
        default: "none: `registry.k8s.io`",
        doc: "kubeadm's `imageRepository`: a registry path (`registry.example.com/k8s`) serving the Kubernetes control-plane images, the pause image, CoreDNS and kube-proxy. Other images (the CNI's) come through `containerd.registryMirrors`.",
    },
    Attribute {
        set: "packages",
        name: "offline",
        ty: "bool",
        default: "false",
        doc: "The hosts reach nothing but the mirrors: every URL the cluster would fetch from elsewhere (packages, release files, images of a registry without a mirror) is an error naming it.",
    },
    Attribute {
        set: "packages",
        name: "insecure",
        ty: "bool",
        default: "false",
        doc: "Allow a plain `http://` `mirror`. The repository key is then fetched over plain HTTP too, so anyone on the network path can install packages as root on every node; every build warns while it is in use.",
    },
    // kubelet
    Attribute {
        set: "kubelet",
        name: "extraArgs",
        ty: "set of strings",
        default: "{ }",
        doc: "Extra kubelet flags, name (without `--`) → value, passed through kubeadm's `kubeletExtraArgs`. `node-ip`, `node-labels` and `register-with-taints` are set by hac.",
    },
    // controlplane
    Attribute {
        set: "controlplane",
        name: "apiserver",
        ty: "set",
        default: "{ }",
        doc: "kube-apiserver settings; see `controlplane.apiserver`.",
    },
    Attribute {
        set: "controlplane",
        name: "controllermanager",
        ty: "set",
        default: "{ }",
        doc: "kube-controller-manager settings; see `controlplane.controllermanager`.",
    },
    Attribute {
        set: "controlplane",
        name: "scheduler",
        ty: "set",
        default: "{ }",
        doc: "kube-scheduler settings; see `controlplane.scheduler`.",
    },
    Attribute {
        set: "controlplane",
        name: "audit",
        ty: "set",
        default: "{ }",
        doc: "The API server's audit log; see `controlplane.audit`.",
    },
    Attribute {
        set: "controlplane",
        name: "encryptSecrets",
        ty: "bool",
        default: "false",
        doc: "Encrypt Secrets at rest in etcd (`secretbox`, with a key hac generates into the secrets bundle and writes, mode 0600, to `/etc/kubernetes/encryption-config.yaml` on every control plane). Turn it on before the first control plane boots, or follow [secrets.md](secrets.md#encryption-of-secrets-at-rest) for a running cluster; `hac secrets rotate encryption-key` rotates the key.",
    },
    Attribute {
        set: "apiserver",
        name: "extraArgs",
        ty: "set of strings",
        default: "{ }",
        doc: "Extra kube-apiserver flags, name (without `--`) → value, passed through kubeadm's `apiServer.extraArgs`. Flags kubeadm sets from the PKI and the model (`etcd-servers`, `tls-cert-file`, `service-cluster-ip-range`, `secure-port`, …) and the ones hac sets (`audit-*`, `encryption-provider-config`) are refused, as are `anonymous-auth=false` and an `authorization-mode` without `Node` and `RBAC`, which break joining and health checks.",
    },
    Attribute {
        set: "controllermanager",
        name: "extraArgs",
        ty: "set of strings",
        default: "{ }",
        doc: "Extra kube-controller-manager flags, passed through kubeadm's `controllerManager.extraArgs`. Flags kubeadm sets (`cluster-cidr`, `allocate-node-cidrs`, the kubeconfigs and certificates, …) are refused, as are `leader-elect=false` and a `controllers` list without `bootstrapsigner` and `tokencleaner`.",
    },
    Attribute {
        set: "scheduler",
        name: "extraArgs",
        ty: "set of strings",
        default: "{ }",
        doc: "Extra kube-scheduler flags, passed through kubeadm's `scheduler.extraArgs`. The kubeconfigs, `secure-port` and `leader-elect=false` are refused.",
    },
    Attribute {
        set: "audit",
        name: "level",
        ty: "string",
        default: "\"Metadata\"",
        doc: "What is recorded of each request: `None` (no audit log), `Metadata`, `Request` or `RequestResponse`. Secrets, ConfigMaps and token reviews are recorded at `Metadata` whatever the level, so their contents never reach the log; health checks are not recorded.",
    },
    Attribute {
        set: "audit",
        name: "rules",
        ty: "list of sets",
        default: "hac's",
        doc: "The rules of an audit policy of your own instead of hac's (`level` then does not apply): audit.k8s.io/v1 `PolicyRule`s, the first that matches a request applies, e.g. `[ { level = \"None\"; nonResourceURLs = [ \"/healthz*\" ]; } { level = \"Metadata\"; resources = [ { group = \"\"; resources = [ \"secrets\" ]; } ]; } { level = \"Request\"; } ]`. Each rule takes `level` (required), `users`, `userGroups`, `verbs`, `namespaces`, `nonResourceURLs`, `omitStages`, `omitManagedFields` and `resources` (sets of `group`, `resources`, `resourceNames`). Keep Secrets at `Metadata`: above it, their contents reach the log.",
    },
    Attribute {
        set: "audit",
        name: "maxAge",
        ty: "int",
        default: "30",
        doc: "Days a rotated audit file is kept (`--audit-log-maxage`).",
    },
    Attribute {
        set: "audit",
        name: "maxBackups",
        ty: "int",
        default: "10",
        doc: "Rotated audit files kept (`--audit-log-maxbackup`).",
    },
    Attribute {
        set: "audit",
        name: "maxSize",
        ty: "int",
        default: "100",
        doc: "Megabytes an audit file grows to before it is rotated (`--audit-log-maxsize`).",
    },
    Attribute {
        set: "auditrule",
        name: "level",
        ty: "string",
        default: "required",
        doc: "`None`, `Metadata`, `Request` or `RequestResponse`.",
    },
    Attribute {
        set: "auditrule",
        name: "users",
        ty: "list of strings",
        default: "all",
        doc: "The user names the rule applies to.",
    },
    Attribute {
        set: "auditrule",
        name: "userGroups",
        ty: "list of strings",
        default: "all",
        doc: "The groups the rule applies to.",
    },
    Attribute {
        set: "auditrule",
        name: "verbs",
        ty: "list of strings",
        default: "all",
        doc: "The verbs (`get`, `list`, `watch`, `create`, …) the rule applies to.",
    },
    Attribute {
        set: "auditrule",
        name: "namespaces",
        ty: "list of strings",
        default: "all",
        doc: "The namespaces the rule applies to (`\"\"` for cluster-scoped objects).",
    },
    Attribute {
        set: "auditrule",
        name: "nonResourceURLs",
        ty: "list of strings",
        default: "none",
        doc: "URL paths that are not resources, `*` at the end as a wildcard (`/healthz*`).",
    },
    Attribute {
        set: "auditrule",
        name: "omitStages",
        ty: "list of strings",
        default: "[ ]",
        doc: "Stages not logged for these requests (`RequestReceived`, `ResponseStarted`, `ResponseComplete`, `Panic`).",
    },
    Attribute {
        set: "auditrule",
        name: "omitManagedFields",
        ty: "bool",
        default: "false",
        doc: "Leave `managedFields` out of the logged request and response bodies.",
    },
    Attribute {
        set: "auditrule",
        name: "resources",
        ty: "list of sets",
        default: "all",
        doc: "The resources the rule applies to; see an audit resource group.",
    },
    Attribute {
        set: "auditresources",
        name: "group",
        ty: "string",
        default: "\"\"",
        doc: "The API group, `\"\"` for the core group.",
    },
    Attribute {
        set: "auditresources",
        name: "resources",
        ty: "list of strings",
        default: "all",
        doc: "Resources of the group (`secrets`, `pods/log`, …).",
    },
    Attribute {
        set: "auditresources",
        name: "resourceNames",
        ty: "list of strings",
        default: "all",
        doc: "Names of the objects.",
    },
    // versions
    Attribute {
        set: "versions",
        name: "containerd",
        ty: "release",
        default: "hac's pinned release",
        doc: "The containerd 2.x release; parts `amd64`, `arm64` (a plain `sha256` string is the `amd64` digest).",
    },
    Attribute {
        set: "versions",
        name: "flannel",
        ty: "release",
        default: "hac's pinned release",
        doc: "The flannel release; part `manifest` (`kube-flannel.yml`).",
    },
    Attribute {
        set: "versions",
        name: "calico",
        ty: "release",
        default: "hac's pinned release",
        doc: "The Calico release; parts `crds` (`v1_crd_projectcalico_org.yaml`, `operator-crds.yaml` before 3.32) and `operator` (`tigera-operator.yaml`).",
    },
    Attribute {
        set: "versions",
        name: "ciliumCli",
        ty: "release",
        default: "hac's pinned release",
        doc: "The cilium CLI release; parts `amd64`, `arm64` (a plain `sha256` string is the `amd64` digest).",
    },
    // release
    Attribute {
        set: "release",
        name: "version",
        ty: "string",
        default: "hac's pinned version",
        doc: "The release without a leading `v`, like `\"2.2.1\"` or `\"1.0.0-rc.1\"`.",
    },
    Attribute {
        set: "release",
        name: "sha256",
        ty: "string or set of strings",
        default: "hac's table, for its pinned version",
        doc: "The sha256 of each file, 64 hexadecimal digits: a set keyed by part (`{ amd64 = \"…\"; arm64 = \"…\"; }`), or one string for the only (or `amd64`) file. Needed for a version other than the pinned one and for files hac's table has no digest of; a host refuses a file whose digest differs.",
    },
    Attribute {
        set: "release",
        name: "unverified",
        ty: "bool",
        default: "false",
        doc: "Download the files without a digest to check them against (every build warns). Only for files no digest is known of; prefer `sha256`.",
    },
    // proxy
    Attribute {
        set: "proxy",
        name: "http",
        ty: "string",
        default: "none",
        doc: "Proxy URL for `http://` requests (`http_proxy`).",
    },
    Attribute {
        set: "proxy",
        name: "https",
        ty: "string",
        default: "none",
        doc: "Proxy URL for `https://` requests (`https_proxy`).",
    },
    Attribute {
        set: "proxy",
        name: "noProxy",
        ty: "list of strings",
        default: "[ ]",
        doc: "More hosts, `.domain` suffixes and CIDRs reached directly (added to the ones hac puts in `no_proxy`).",
    },
];

/// The attributes of one set, in table order.
pub fn attributes(set: &str) -> impl Iterator<Item = &'static Attribute> + '_ {
    ATTRIBUTES.iter().filter(move |a| a.set == set)
}

pub fn set(id: &str) -> &'static SetDoc {
    SETS.iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("schema set `{id}` is not in SETS"))
}

/// The documentation of `name` in `set`, for hover text.
pub fn lookup(set: &str, name: &str) -> Option<&'static Attribute> {
    ATTRIBUTES.iter().find(|a| a.set == set && a.name == name)
}

/// The reference section of `docs/cluster.md`, generated from the tables above.
pub fn markdown_reference() -> String {
    let mut out = String::new();
    for set in SETS {
        out.push_str(&format!("### {}\n\n", capitalise(set.title)));
        out.push_str(&format!("Where: {}.\n\n{}\n\n", set.path, set.doc));
        out.push_str("| Attribute | Type | Default | Description |\n|---|---|---|---|\n");
        for attribute in attributes(set.id) {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                attribute.name,
                attribute.ty,
                if attribute.default.starts_with(['"', '{', '['])
                    || attribute.default == "true"
                    || attribute.default == "false"
                {
                    format!("`{}`", attribute.default)
                } else {
                    attribute.default.to_owned()
                },
                attribute.doc.replace('|', "\\|"),
            ));
        }
        out.push('\n');
    }
    out
}

/// The diagnostics section of `docs/cluster.md`, generated from the code table.
pub fn markdown_codes() -> String {
    let mut out = String::from("| Code | Meaning | Fix |\n|---|---|---|\n");
    for ((code, summary), (_, fix)) in super::codes::ALL.iter().zip(super::codes::FIXES) {
        out.push_str(&format!("| `{code}` | {summary} | {fix} |\n"));
    }
    out
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &str = include_str!("../../../docs/cluster.md");

    fn section_bounds(text: &str, marker: &str) -> (usize, usize) {
        let begin = format!("<!-- BEGIN GENERATED {marker} -->\n");
        let end = format!("<!-- END GENERATED {marker} -->");
        let start = text
            .find(&begin)
            .unwrap_or_else(|| panic!("docs/cluster.md lacks `{begin}`"))
            + begin.len();
        let stop = text[start..]
            .find(&end)
            .unwrap_or_else(|| panic!("docs/cluster.md lacks `{end}`"));
        (start, start + stop)
    }

    /// Compares a generated section of `docs/cluster.md`; with `HAC_BLESS=1` in the
    /// environment, rewrites it instead.
    fn check_section(marker: &str, expected: &str) {
        if std::env::var_os("HAC_BLESS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cluster.md");
            let mut text = std::fs::read_to_string(path).expect("docs/cluster.md");
            let (start, stop) = section_bounds(&text, marker);
            text.replace_range(start..stop, expected);
            std::fs::write(path, text).expect("write docs/cluster.md");
            return;
        }
        let (start, stop) = section_bounds(DOCS, marker);
        assert!(
            DOCS[start..stop] == *expected,
            "the `{marker}` section of docs/cluster.md is out of date; run `HAC_BLESS=1 cargo test -p hac docs_embed` and review the diff"
        );
    }

    #[test]
    fn docs_embed_the_schema_table() {
        check_section("schema", &markdown_reference());
        for attribute in ATTRIBUTES {
            assert!(
                DOCS.contains(&attribute.doc.replace('|', "\\|")),
                "{}.{}",
                attribute.set,
                attribute.name
            );
        }
    }

    #[test]
    fn docs_embed_the_code_table() {
        check_section("codes", &markdown_codes());
    }

    #[test]
    fn every_attribute_belongs_to_a_set_once() {
        let mut seen = std::collections::HashSet::new();
        for attribute in ATTRIBUTES {
            assert!(
                SETS.iter().any(|s| s.id == attribute.set),
                "{}",
                attribute.set
            );
            assert!(
                seen.insert((attribute.set, attribute.name)),
                "{}.{} twice",
                attribute.set,
                attribute.name
            );
            assert!(
                !attribute.doc.ends_with(' ') && attribute.doc.ends_with('.'),
                "{}",
                attribute.name
            );
        }
        assert_eq!(
            lookup("network", "pods").unwrap().default,
            "\"10.244.0.0/16\""
        );
    }
}
