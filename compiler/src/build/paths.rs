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
/// The kubelet binary of the pkgs.k8s.io packages, and containerd's CRI socket.
pub const KUBELET_BINARY: &str = "/usr/bin/kubelet";
pub const CONTAINERD_SOCKET: &str = "unix:///var/run/containerd/containerd.sock";
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
