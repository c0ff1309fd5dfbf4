//! External etcd members, as kubeadm's "Set up a High Availability etcd cluster with
//! kubeadm" builds them: the member's certificates from the secrets bundle, a kubelet
//! in standalone mode (no API server; its own KubeletConfiguration through a systemd
//! drop-in), and the etcd static pod, generated here with the static-bootstrap flags
//! (every member starts with the same `--initial-cluster` and state `new`).
//!
//! The flags are the ones kubeadm writes for a local member, less the two whose
//! spelling changed between etcd 3.5 and 3.6 (`--experimental-initial-corrupt-check`
//! became a feature gate, `--experimental-watch-progress-notify-interval` lost its
//! prefix): a manifest without them runs unchanged on every etcd 3.4 to 3.6. Clients
//! listen on the member's address only, as the kubeadm document's `extraArgs` set it:
//! nothing on an etcd host talks to etcd through the loopback address.

use serde_json::{Value, json};

use crate::emit::SpecError;
use crate::emit::shell::{command, quote};
use crate::emit::yaml::to_yaml;
use crate::model::Host;
use crate::model::version::KubernetesVersion;
use crate::plan::ETCD_CLIENT_PORT;
use crate::secrets::{CertificateAndKey, EtcdMemberPki, EtcdPki};

use super::{Context, HostFile, Rendered, paths};

/// Port etcd members talk to each other on.
pub const ETCD_PEER_PORT: u16 = 2380;
/// kubeadm's `EtcdMetricsPort`: plain HTTP on the loopback address, for the probes.
pub const ETCD_METRICS_PORT: u16 = 2381;

/// The etcd image kubeadm runs for each Kubernetes minor: kubeadm's
/// `SupportedEtcdVersion` (kubernetes/kubernetes `cmd/kubeadm/app/constants/constants.go`;
/// 1.34 to 1.36 at `3.6.9-0` since kubernetes/kubernetes#137956, 1.31 to 1.33 at
/// `3.5.24-0` on their release branches). A minor outside the table gets its nearest
/// entry, as kubeadm does.
const ETCD_IMAGE_TAGS: &[(u32, &str)] = &[
    (31, "3.5.24-0"),
    (32, "3.5.24-0"),
    (33, "3.5.24-0"),
    (34, "3.6.9-0"),
    (35, "3.6.9-0"),
    (36, "3.6.9-0"),
];
const ETCD_IMAGE_REPOSITORY: &str = "registry.k8s.io/etcd";

/// The etcd image of the cluster: from `packages.imageRepository` when set (where
/// kubeadm takes etcd from too), else [`etcd_image`].
pub fn cluster_etcd_image(cluster: &crate::model::Cluster) -> String {
    let image = etcd_image(cluster.kubernetes.value);
    match &cluster.packages.image_repository {
        Some(repository) => {
            image.replacen("registry.k8s.io", repository.value.trim_end_matches('/'), 1)
        }
        None => image,
    }
}

/// `registry.k8s.io/etcd:<tag>` for the cluster's Kubernetes version.
pub fn etcd_image(kubernetes: KubernetesVersion) -> String {
    let nearest = ETCD_IMAGE_TAGS
        .iter()
        .min_by_key(|(minor, _)| minor.abs_diff(kubernetes.minor))
        .map_or("3.6.9-0", |(_, tag)| tag);
    format!("{ETCD_IMAGE_REPOSITORY}:{nearest}")
}

/// `--initial-cluster-token`: one per cluster, so members of two clusters that once
/// shared peer addresses never take each other for peers.
pub fn initial_cluster_token(cluster_name: &str) -> String {
    format!("{cluster_name}-etcd")
}

/// Where one member is reached: its URL host (`10.0.0.31`, `[fd00::31]`).
struct Member<'a> {
    name: &'a str,
    url_host: String,
}

impl Member<'_> {
    fn client_url(&self) -> String {
        format!("https://{}:{ETCD_CLIENT_PORT}", self.url_host)
    }

    fn peer_url(&self) -> String {
        format!("https://{}:{ETCD_PEER_PORT}", self.url_host)
    }
}

/// The member's files (certificates, kubelet drop-in and configuration, the static
/// pod), and the commands that start the kubelet with them.
pub fn start_member(
    context: &Context<'_>,
    host: &Host,
    member: &str,
    initial_cluster: &[String],
) -> Result<Rendered, SpecError> {
    let pki = etcd_pki(context)?;
    let member_pki = pki.member(member).ok_or_else(|| {
        SpecError::new(format!(
            "the secrets bundle has no certificates for etcd member `{member}`"
        ))
        .with_help("give the member an address; `hac build` then issues its certificates")
    })?;
    let this = member_of(host, member)?;
    check_certificates_match(host, member_pki)?;
    let own_entry = format!("{member}={}", this.peer_url());
    if !initial_cluster.contains(&own_entry) {
        return Err(SpecError::new(format!(
            "etcd member `{member}` is not in the initial cluster as `{own_entry}`"
        )));
    }

    let mut files = vec![HostFile::public(
        paths::ETCD_CA_CERT,
        pki.ca().certificate_pem(),
    )];
    files.extend(pair(
        member_pki.server(),
        paths::ETCD_SERVER_CERT,
        paths::ETCD_SERVER_KEY,
    ));
    files.extend(pair(
        member_pki.peer(),
        paths::ETCD_PEER_CERT,
        paths::ETCD_PEER_KEY,
    ));
    files.extend(pair(
        pki.healthcheck_client(),
        paths::ETCD_HEALTHCHECK_CLIENT_CERT,
        paths::ETCD_HEALTHCHECK_CLIENT_KEY,
    ));
    files.push(HostFile::public(
        paths::ETCD_KUBELET_CONFIG,
        to_yaml(&kubelet_configuration())?,
    ));
    files.push(HostFile::public(
        paths::ETCD_KUBELET_DROP_IN,
        kubelet_drop_in(),
    ));
    let manifest = static_pod_manifest(context, host, member, initial_cluster)?;
    // kubeadm writes static pod manifests readable by root only.
    files.push(HostFile::private(paths::ETCD_MANIFEST, to_yaml(&manifest)?));

    let body = vec![
        format!(
            "log {}",
            quote(&format!(
                "etcd member {member}: starting the standalone kubelet with the etcd static pod"
            ))?
        ),
        // etcd warns about a data directory others can read; the pod's hostPath
        // would create it 0755.
        command(&["install", "-d", "-m", "0700", paths::ETCD_DATA_DIR])?,
        "systemctl daemon-reload".to_owned(),
        "systemctl enable kubelet".to_owned(),
        "systemctl restart kubelet".to_owned(),
    ];
    Ok(Rendered::new(files, body))
}

/// The etcd static pod of `member` as data: what its
/// `/etc/kubernetes/manifests/etcd.yaml` must read back as.
pub fn static_pod_manifest(
    context: &Context<'_>,
    host: &Host,
    member: &str,
    initial_cluster: &[String],
) -> Result<Value, SpecError> {
    let this = member_of(host, member)?;
    Ok(static_pod(
        &this,
        initial_cluster,
        &initial_cluster_token(&context.cluster.name.value),
        &cluster_etcd_image(context.cluster),
    ))
}

/// The plan's wait (a majority of members healthy) is the point of this step; it then
/// asks this member for the member list, logs it, and fails unless this member is in
/// it.
pub fn confirm_quorum(context: &Context<'_>, host: &Host) -> Result<Rendered, SpecError> {
    etcd_pki(context)?;
    let this = member_of(host, &host.name.value)?;
    let list_url = format!("{}/v3/cluster/member/list", this.client_url());
    let curl = command(&[
        "curl",
        "--silent",
        "--show-error",
        "--fail",
        "--max-time",
        "10",
        "--cacert",
        paths::ETCD_CA_CERT,
        "--cert",
        paths::ETCD_HEALTHCHECK_CLIENT_CERT,
        "--key",
        paths::ETCD_HEALTHCHECK_CLIENT_KEY,
        "--data",
        "{}",
        list_url.as_str(),
    ])?;
    let own_name = quote(&format!("\"name\":\"{}\"", this.name))?;
    let body = vec![
        format!("members=$(retry 5 2 {curl})"),
        "log \"etcd members: $members\"".to_owned(),
        format!("if [[ $members != *{own_name}* ]]; then"),
        format!(
            "  log {}",
            quote(&format!(
                "etcd member {} is not in the cluster's member list",
                this.name
            ))?
        ),
        "  return 1".to_owned(),
        "fi".to_owned(),
    ];
    Ok(Rendered::new(Vec::new(), body))
}

fn etcd_pki<'a>(context: &Context<'a>) -> Result<&'a EtcdPki, SpecError> {
    context.secrets.etcd().ok_or_else(|| {
        SpecError::new("the secrets bundle has no etcd PKI for the external etcd members")
            .with_help("run `hac build` again: it adds the etcd PKI to the bundle")
    })
}

fn member_of<'a>(host: &Host, name: &'a str) -> Result<Member<'a>, SpecError> {
    let address = host.address.as_ref().ok_or_else(|| {
        SpecError::new(format!("etcd member `{name}` has no address"))
            .with_help("give every external etcd member an `address`")
    })?;
    Ok(Member {
        name,
        url_host: address.value.url_host(),
    })
}

/// Certificates issued for another address would make every peer refuse the member.
fn check_certificates_match(host: &Host, member_pki: &EtcdMemberPki) -> Result<(), SpecError> {
    let address = host
        .address
        .as_ref()
        .map(|a| a.value.to_string())
        .unwrap_or_default();
    if member_pki.address() != address {
        return Err(SpecError::new(format!(
            "the certificates of etcd member `{}` were issued for `{}`, not `{address}`",
            member_pki.name(),
            member_pki.address()
        ))
        .with_help("run `hac build` again: it re-issues the certificates of a moved member"));
    }
    Ok(())
}

/// A certificate (readable by all) and its key (root only).
fn pair(pair: &CertificateAndKey, cert: &str, key: &str) -> [HostFile; 2] {
    [
        HostFile::public(cert, pair.certificate_pem()),
        HostFile::private(key, pair.private_key_pem().expose()),
    ]
}

/// The standalone kubelet's configuration, as in the kubeadm document: no API
/// server, no authentication (it listens on the loopback address only), static
/// pods from the manifests directory.
pub fn kubelet_configuration() -> Value {
    json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": "127.0.0.1",
        "authentication": {
            "anonymous": { "enabled": false },
            "webhook": { "enabled": false },
        },
        "authorization": { "mode": "AlwaysAllow" },
        "cgroupDriver": "systemd",
        "containerRuntimeEndpoint": paths::CONTAINERD_SOCKET,
        "staticPodPath": paths::MANIFESTS_DIR,
    })
}

/// Replaces the packaged kubelet command line (which waits for a kubeadm
/// bootstrap that never comes on an etcd host) with the standalone one.
pub fn kubelet_drop_in() -> String {
    format!(
        "# Generated by hac: this kubelet only runs the etcd static pod (no API server).\n\
         [Service]\n\
         ExecStart=\n\
         ExecStart={} --config={}\n\
         Restart=always\n",
        paths::KUBELET_BINARY,
        paths::ETCD_KUBELET_CONFIG
    )
}

/// The etcd command line, `--flag=value` as kubeadm writes it.
fn etcd_command(this: &Member<'_>, initial_cluster: &[String], token: &str) -> Vec<String> {
    let flags: [(&str, String); 19] = [
        ("name", this.name.to_owned()),
        ("data-dir", paths::ETCD_DATA_DIR.to_owned()),
        ("initial-cluster", initial_cluster.join(",")),
        ("initial-cluster-state", "new".to_owned()),
        ("initial-cluster-token", token.to_owned()),
        ("listen-client-urls", this.client_url()),
        ("advertise-client-urls", this.client_url()),
        ("listen-peer-urls", this.peer_url()),
        ("initial-advertise-peer-urls", this.peer_url()),
        (
            "listen-metrics-urls",
            format!("http://127.0.0.1:{ETCD_METRICS_PORT}"),
        ),
        ("client-cert-auth", "true".to_owned()),
        ("trusted-ca-file", paths::ETCD_CA_CERT.to_owned()),
        ("cert-file", paths::ETCD_SERVER_CERT.to_owned()),
        ("key-file", paths::ETCD_SERVER_KEY.to_owned()),
        ("peer-client-cert-auth", "true".to_owned()),
        ("peer-trusted-ca-file", paths::ETCD_CA_CERT.to_owned()),
        ("peer-cert-file", paths::ETCD_PEER_CERT.to_owned()),
        ("peer-key-file", paths::ETCD_PEER_KEY.to_owned()),
        ("snapshot-count", "10000".to_owned()),
    ];
    std::iter::once("etcd".to_owned())
        .chain(
            flags
                .into_iter()
                .map(|(flag, value)| format!("--{flag}={value}")),
        )
        .collect()
}

/// An HTTP probe of the metrics listener, with kubeadm's figures
/// (`staticpodutil.createHTTPProbe`: initial delay, timeout, failure threshold, period).
fn probe(path: &str, initial_delay: u32, failure_threshold: u32, period: u32) -> Value {
    json!({
        "httpGet": {
            "host": "127.0.0.1",
            "path": path,
            "port": ETCD_METRICS_PORT,
            "scheme": "HTTP",
        },
        "initialDelaySeconds": initial_delay,
        "timeoutSeconds": 15,
        "failureThreshold": failure_threshold,
        "periodSeconds": period,
    })
}

/// The static pod kubeadm's `kubeadm init phase etcd local` would write for this
/// member, with the static-bootstrap flags.
fn static_pod(this: &Member<'_>, initial_cluster: &[String], token: &str, image: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "etcd",
            "namespace": "kube-system",
            "labels": { "component": "etcd", "tier": "control-plane" },
            "annotations": {
                "kubeadm.kubernetes.io/etcd.advertise-client-urls": this.client_url(),
            },
        },
        "spec": {
            "hostNetwork": true,
            "priority": 2_000_001_000,
            "priorityClassName": "system-node-critical",
            "securityContext": { "seccompProfile": { "type": "RuntimeDefault" } },
            "containers": [{
                "name": "etcd",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": etcd_command(this, initial_cluster, token),
                "resources": { "requests": { "cpu": "100m", "memory": "100Mi" } },
                // kubeadm's probes (kubernetes/kubeadm#3039): /livez and /readyz on the
                // metrics listener; the startup probe allows kubeadm's 4 minutes.
                "livenessProbe": probe("/livez", 10, 8, 10),
                "readinessProbe": probe("/readyz", 0, 3, 1),
                "startupProbe": probe("/readyz", 10, 24, 10),
                "volumeMounts": [
                    { "name": "etcd-data", "mountPath": paths::ETCD_DATA_DIR },
                    { "name": "etcd-certs", "mountPath": paths::ETCD_PKI_DIR },
                ],
            }],
            "volumes": [
                {
                    "name": "etcd-certs",
                    "hostPath": { "path": paths::ETCD_PKI_DIR, "type": "DirectoryOrCreate" },
                },
                {
                    "name": "etcd-data",
                    "hostPath": { "path": paths::ETCD_DATA_DIR, "type": "DirectoryOrCreate" },
                },
            ],
        },
    })
}

#[cfg(test)]
mod tests;
