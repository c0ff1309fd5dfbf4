//! Where hac puts things on the hosts. Every module that writes or reads a file on a
//! host takes its path from here, so the steps of different modules agree.

/// hac's own configuration directory (kubeadm configuration, public CA copy).
pub const HAC_DIR: &str = "/etc/hac";
/// The cluster CA certificate (public) on every host, for verifying the API before
/// joining. Not under `/etc/kubernetes/pki`: `kubeadm join` refuses to start on a
/// worker when `/etc/kubernetes/pki/ca.crt` already exists.
pub const CLUSTER_CA_PUBLIC: &str = "/etc/hac/ca.crt";
/// The kubeadm configuration of `kubeadm init` or `kubeadm join` (holds the token
/// and, on control planes, the certificate key: mode 0600).
pub const KUBEADM_CONFIG: &str = "/etc/hac/kubeadm.yaml";
/// `Authorization: Bearer <bootstrap token>` (mode 0600) for `curl -H @FILE`: probes
/// that ask the API as the token never put it on a command line.
pub const BOOTSTRAP_TOKEN_HEADER: &str = "/etc/hac/bootstrap-token.header";

/// kubeadm's PKI directory on control planes.
pub const PKI_DIR: &str = "/etc/kubernetes/pki";
/// The cluster CA on the first control plane; `kubeadm init` uses an existing CA.
pub const CLUSTER_CA_CERT: &str = "/etc/kubernetes/pki/ca.crt";
pub const CLUSTER_CA_KEY: &str = "/etc/kubernetes/pki/ca.key";
/// The etcd CA and the API server's etcd client pair (external etcd).
pub const ETCD_CA_CERT: &str = "/etc/kubernetes/pki/etcd/ca.crt";
pub const ETCD_CA_KEY: &str = "/etc/kubernetes/pki/etcd/ca.key";
pub const APISERVER_ETCD_CLIENT_CERT: &str = "/etc/kubernetes/pki/apiserver-etcd-client.crt";
pub const APISERVER_ETCD_CLIENT_KEY: &str = "/etc/kubernetes/pki/apiserver-etcd-client.key";
/// The etcd certificates' directory (mounted into the etcd static pod).
pub const ETCD_PKI_DIR: &str = "/etc/kubernetes/pki/etcd";
/// Member certificates on external etcd hosts.
pub const ETCD_SERVER_CERT: &str = "/etc/kubernetes/pki/etcd/server.crt";
pub const ETCD_SERVER_KEY: &str = "/etc/kubernetes/pki/etcd/server.key";
pub const ETCD_PEER_CERT: &str = "/etc/kubernetes/pki/etcd/peer.crt";
pub const ETCD_PEER_KEY: &str = "/etc/kubernetes/pki/etcd/peer.key";
pub const ETCD_HEALTHCHECK_CLIENT_CERT: &str = "/etc/kubernetes/pki/etcd/healthcheck-client.crt";
pub const ETCD_HEALTHCHECK_CLIENT_KEY: &str = "/etc/kubernetes/pki/etcd/healthcheck-client.key";
/// The etcd static pod on external etcd hosts, and the member's data.
pub const ETCD_MANIFEST: &str = "/etc/kubernetes/manifests/etcd.yaml";
pub const ETCD_DATA_DIR: &str = "/var/lib/etcd";
/// The standalone kubelet of an external etcd host: a drop-in that replaces the
/// packaged `ExecStart` (it sorts after the package's `10-kubeadm.conf`), and its own
/// KubeletConfiguration, outside the drop-in directory (systemd would read a `.conf`
/// there as a unit drop-in).
pub const ETCD_KUBELET_DROP_IN: &str =
    "/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf";
pub const ETCD_KUBELET_CONFIG: &str = "/etc/hac/etcd-kubelet.yaml";
/// The kubelet binary of the pkgs.k8s.io packages.
pub const KUBELET_BINARY: &str = "/usr/bin/kubelet";
/// Static pods (etcd on external etcd hosts).
pub const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
/// The admin kubeconfig `kubeadm init` writes, used to install the CNI.
pub const ADMIN_KUBECONFIG: &str = "/etc/kubernetes/admin.conf";

/// Load balancer configuration.
pub const HAPROXY_CONFIG: &str = "/etc/haproxy/haproxy.cfg";
pub const KEEPALIVED_CONFIG: &str = "/etc/keepalived/keepalived.conf";
pub const KEEPALIVED_CHECK_SCRIPT: &str = "/etc/keepalived/hac-check-haproxy";

/// The systemd unit that runs the bootstrap script again after a reboot until it
/// has finished (cloud-init runs `runcmd` only once per instance).
pub const BOOTSTRAP_UNIT: &str = "/etc/systemd/system/hac-bootstrap.service";

/// Node preparation on Kubernetes hosts (control planes, workers, etcd members).
pub const KERNEL_MODULES_CONFIG: &str = "/etc/modules-load.d/hac-kubernetes.conf";
pub const SYSCTL_CONFIG: &str = "/etc/sysctl.d/99-hac-kubernetes.conf";
/// The pkgs.k8s.io signing key (binary keyring) and the repository that trusts only it.
pub const APT_KEYRINGS_DIR: &str = "/etc/apt/keyrings";
pub const KUBERNETES_APT_KEYRING: &str = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";
pub const KUBERNETES_APT_SOURCE: &str = "/etc/apt/sources.list.d/kubernetes.list";
/// Where the standard CNI plugins are looked up by containerd and installed by
/// `kubernetes-cni`; the Debian package `containernetworking-plugins` uses the other.
pub const CNI_BIN_DIR: &str = "/opt/cni/bin";
pub const CNI_DEBIAN_BIN_DIR: &str = "/usr/lib/cni";
pub const CNI_CONF_DIR: &str = "/etc/cni/net.d";
/// containerd: the live configuration, the two generated candidates (the one for the
/// installed major version is copied over it at boot) and the registry host files.
pub const CONTAINERD_CONFIG: &str = "/etc/containerd/config.toml";
pub const CONTAINERD_CONFIG_V1: &str = "/etc/hac/containerd/config-containerd1.toml";
pub const CONTAINERD_CONFIG_V2: &str = "/etc/hac/containerd/config-containerd2.toml";
pub const CONTAINERD_CERTS_DIR: &str = "/etc/containerd/certs.d";
pub const CONTAINERD_SOCKET: &str = "unix:///var/run/containerd/containerd.sock";

/// The JoinConfiguration the first control plane uses instead of `kubeadm init` when
/// the cluster already runs (the machine was re-created); mode 0600.
pub const KUBEADM_JOIN_CONFIG: &str = "/etc/hac/kubeadm-join.yaml";
/// Copies of the pre-seeded PKI, taken before the first `kubeadm init` attempt:
/// `kubeadm reset` empties `/etc/kubernetes/pki`, and a retry must reuse the same CA.
pub const PKI_SEED_DIR: &str = "/var/lib/hac/pki-seed";
/// Written once `kubeadm init` (or the replacing join) succeeded: a re-run of the
/// step never initialises the cluster a second time.
pub const KUBEADM_DONE_MARKER: &str = "/var/lib/hac/kubeadm.done";
/// Written by `kubeadm init` and `kubeadm join --control-plane`.
pub const MANIFEST_KUBE_APISERVER: &str = "/etc/kubernetes/manifests/kube-apiserver.yaml";
pub const KUBELET_KUBECONFIG: &str = "/etc/kubernetes/kubelet.conf";
/// root's kubectl configuration on control planes.
pub const ROOT_KUBECONFIG_DIR: &str = "/root/.kube";
pub const ROOT_KUBECONFIG: &str = "/root/.kube/config";
/// The API server's audit policy, its log directory and log (control planes).
pub const AUDIT_POLICY: &str = "/etc/kubernetes/audit-policy.yaml";
pub const AUDIT_LOG_DIR: &str = "/var/log/kubernetes/audit";
pub const AUDIT_LOG: &str = "/var/log/kubernetes/audit/audit.log";
/// The API server's `EncryptionConfiguration` (holds the keys: mode 0600).
pub const ENCRYPTION_CONFIG: &str = "/etc/kubernetes/encryption-config.yaml";
/// Manifests and kustomizations of the pod network plugin, on the first control plane.
pub const CNI_MANIFESTS_DIR: &str = "/etc/hac/cni";
/// containerd 2 from its upstream release, where the OS packages only 1.x and the
/// Kubernetes release needs 2.x: the downloads, and the unit that starts
/// `/usr/local/bin/containerd`.
pub const CONTAINERD_DOWNLOAD_DIR: &str = "/var/lib/hac/containerd";
pub const CONTAINERD_UPSTREAM_PREFIX: &str = "/usr/local";
/// hac's unit for the release containerd, installed as [`CONTAINERD_UPSTREAM_UNIT`]
/// only when the release is (a packaged containerd has its own).
pub const CONTAINERD_UNIT_SOURCE: &str = "/etc/hac/containerd/containerd.service";
pub const CONTAINERD_UPSTREAM_UNIT: &str = "/usr/local/lib/systemd/system/containerd.service";
/// The keeper on control planes (see `keeper.rs`): its script, units and log, the join
/// seed and token generation it derives tokens from (mode 0600), and the kubeadm
/// configuration it uploads the certificates with (holds the certificate key: 0600).
pub const KEEPER_SCRIPT: &str = "/usr/local/sbin/hac-keeper";
pub const KEEPER_SERVICE: &str = "/etc/systemd/system/hac-keeper.service";
pub const KEEPER_TIMER: &str = "/etc/systemd/system/hac-keeper.timer";
pub const KEEPER_LOG: &str = "/var/log/hac-keeper.log";
pub const KEEPER_JOIN_FILE: &str = "/etc/hac/join";
pub const KEEPER_KUBEADM_CONFIG: &str = "/etc/hac/keeper-kubeadm.yaml";
/// Written when `kubeadm init` failed after other nodes had joined: the cluster is in
/// use, so hac stops resetting and retrying and leaves the repair to a person.
pub const KUBEADM_INIT_IN_USE_MARKER: &str = "/var/lib/hac/kubeadm-init-failed-in-use";

/// The cluster's proxy as environment variables (bash and systemd read it).
pub const PROXY_ENV: &str = "/etc/hac/proxy.env";
pub const APT_PROXY_CONFIG: &str = "/etc/apt/apt.conf.d/90hac-proxy";
pub const CONTAINERD_PROXY_DROP_IN: &str =
    "/etc/systemd/system/containerd.service.d/90-hac-proxy.conf";
pub const KUBELET_PROXY_DROP_IN: &str = "/etc/systemd/system/kubelet.service.d/90-hac-proxy.conf";
