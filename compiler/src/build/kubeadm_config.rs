//! The kubeadm configuration documents of `kubeadm init` and `kubeadm join`, as
//! JSON values (written as YAML by the emitter).
//!
//! Kubernetes 1.31 and later read `kubeadm.k8s.io/v1beta4`; 1.24 to 1.30 read
//! `v1beta3`. The differences hac meets: `kubeletExtraArgs` is a list of
//! `{name, value}` in v1beta4 and a string map in v1beta3; the timeouts live in
//! `timeouts` in v1beta4 and in `apiServer.timeoutForControlPlane` and
//! `discovery.timeout` in v1beta3; `encryptionAlgorithm` exists only in v1beta4.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::emit::SpecError;
use crate::model::{Address, Cluster, Etcd, Host, formats};
use crate::plan::{API_SERVER_PORT, ETCD_CLIENT_PORT};

use super::{Context, control_plane, paths};

pub const KUBELET_API_VERSION: &str = "kubelet.config.k8s.io/v1beta1";
/// kubeadm's default join-token group: it carries the RBAC that lets joiners read
/// `cluster-info`, get nodes and download `kubeadm-certs`.
pub const DEFAULT_NODE_TOKEN_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";

/// Generous bounds for slow first boots (kubeadm's defaults are 4 and 5 minutes).
const CONTROL_PLANE_HEALTH_TIMEOUT: &str = "10m0s";
const DISCOVERY_TIMEOUT: &str = "10m0s";
/// Room for a joining control plane's etcd learner to catch up and be promoted.
const ETCD_API_CALL_TIMEOUT: &str = "5m0s";

/// The configuration API of the cluster's kubeadm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    V1beta3,
    V1beta4,
}

impl Api {
    pub fn of(cluster: &Cluster) -> Api {
        if cluster.kubernetes.value.kubeadm_api_version() == "kubeadm.k8s.io/v1beta4" {
            Api::V1beta4
        } else {
            Api::V1beta3
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            Api::V1beta3 => "kubeadm.k8s.io/v1beta3",
            Api::V1beta4 => "kubeadm.k8s.io/v1beta4",
        }
    }
}

/// `InitConfiguration`, `ClusterConfiguration` and `KubeletConfiguration` of the
/// first control plane.
pub fn init_documents(context: &Context<'_>, host: &Host) -> Result<Vec<Value>, SpecError> {
    let api = Api::of(context.cluster);
    Ok(vec![
        init_configuration(context, host, api)?,
        cluster_configuration(context, api),
        kubelet_configuration(context.cluster),
    ])
}

fn init_configuration(context: &Context<'_>, host: &Host, api: Api) -> Result<Value, SpecError> {
    let secrets = context.secrets;
    let ttl = seeded_token_seconds(context);
    let mut doc = object([
        ("apiVersion", json!(api.api_version())),
        ("kind", json!("InitConfiguration")),
        (
            "bootstrapTokens",
            json!([{
                "token": context.join_token().token().expose(),
                "description": "hac: pre-seeded token the cluster's hosts join with",
                "ttl": formats::format_duration(ttl),
                "usages": ["signing", "authentication"],
                "groups": [DEFAULT_NODE_TOKEN_GROUP],
            }]),
        ),
        ("certificateKey", json!(secrets.certificate_key().expose())),
        (
            "nodeRegistration",
            node_registration(context.cluster, host, api)?,
        ),
        ("localAPIEndpoint", local_api_endpoint(host)),
    ]);
    if api == Api::V1beta4 {
        doc.insert(
            "timeouts".into(),
            json!({ "controlPlaneComponentHealthCheck": CONTROL_PLANE_HEALTH_TIMEOUT }),
        );
    }
    Ok(Value::Object(doc))
}

/// The lifetime of the token the first control plane seeds, counted from `kubeadm
/// init`: `bootstrap.tokenTTL`, but never more than a window and its grace (13 days;
/// `0` no longer means "never"), so no token hac makes outlives 14 days. From then on
/// the keepers make the tokens (see [`crate::secrets::join`]). Not counted from the
/// build time, which would make every build's output differ.
fn seeded_token_seconds(context: &Context<'_>) -> u64 {
    use crate::secrets::join::{GRACE_SECONDS, WINDOW_SECONDS};
    let longest = u64::try_from(WINDOW_SECONDS + GRACE_SECONDS).unwrap_or(u64::MAX);
    match context.cluster.bootstrap.token_ttl.value {
        0 => longest,
        ttl => ttl.min(longest),
    }
}

/// `ClusterConfiguration` alone: what the keeper passes to
/// `kubeadm init phase upload-certs` (external etcd's certificates are uploaded too).
pub fn cluster_document(context: &Context<'_>) -> Value {
    cluster_configuration(context, Api::of(context.cluster))
}

fn cluster_configuration(context: &Context<'_>, api: Api) -> Value {
    let cluster = context.cluster;
    let network = &cluster.network;
    let mut api_server = Map::new();
    api_server.insert("certSANs".into(), json!(cert_sans(cluster)));
    if api == Api::V1beta3 {
        api_server.insert(
            "timeoutForControlPlane".into(),
            json!(CONTROL_PLANE_HEALTH_TIMEOUT),
        );
    }
    let args = control_plane::apiserver_args(cluster);
    if !args.is_empty() {
        api_server.insert("extraArgs".into(), extra_args(api, &args));
    }
    let volumes = control_plane::apiserver_volumes(cluster);
    if !volumes.is_empty() {
        api_server.insert("extraVolumes".into(), Value::Array(volumes));
    }
    let mut doc = object([
        ("apiVersion", json!(api.api_version())),
        ("kind", json!("ClusterConfiguration")),
        ("clusterName", json!(cluster.name.value)),
        (
            "kubernetesVersion",
            json!(format!("v{}", cluster.kubernetes.value)),
        ),
        ("controlPlaneEndpoint", json!(context.plan.endpoint)),
        (
            "networking",
            json!({
                "podSubnet": network.pods.value.to_string(),
                "serviceSubnet": network.services.value.to_string(),
                "dnsDomain": network.domain.value,
            }),
        ),
        ("apiServer", Value::Object(api_server)),
    ]);
    for (key, args) in [
        (
            "controllerManager",
            control_plane::controller_manager_args(cluster),
        ),
        ("scheduler", control_plane::scheduler_args(cluster)),
    ] {
        if !args.is_empty() {
            doc.insert(key.into(), json!({ "extraArgs": extra_args(api, &args) }));
        }
    }
    if api == Api::V1beta4 {
        doc.insert(
            "encryptionAlgorithm".into(),
            json!(context.secrets.key_algorithm().kubeadm_name()),
        );
    }
    if let Some(repository) = &cluster.packages.image_repository {
        doc.insert("imageRepository".into(), json!(repository.value));
    }
    if let Etcd::External { members, .. } = &cluster.etcd {
        doc.insert(
            "etcd".into(),
            json!({
                "external": {
                    "endpoints": members.iter().map(etcd_endpoint).collect::<Vec<_>>(),
                    "caFile": paths::ETCD_CA_CERT,
                    "certFile": paths::APISERVER_ETCD_CLIENT_CERT,
                    "keyFile": paths::APISERVER_ETCD_CLIENT_KEY,
                }
            }),
        );
    }
    Value::Object(doc)
}

/// The client URL of an external etcd member (as the plan's quorum probe uses it).
pub fn etcd_endpoint(member: &Host) -> String {
    format!("https://{}:{ETCD_CLIENT_PORT}", url_host(member))
}

pub fn url_host(host: &Host) -> String {
    host.address
        .as_ref()
        .map_or_else(|| host.name.value.clone(), |a| a.value.url_host())
}

/// Names the API server certificate must also carry: the endpoint's host, the VIP,
/// and every control plane's address (probes reach each API server by it; kubeadm
/// adds only the advertise IP, which a DNS-named host does not have).
pub fn cert_sans(cluster: &Cluster) -> Vec<String> {
    let mut sans: Vec<String> = vec![cluster.endpoint.value.host.to_string()];
    if let Some(vip) = cluster.loadbalancer.vip() {
        sans.push(vip.value.to_string());
    }
    for cp in &cluster.controlplanes {
        if let Some(address) = &cp.address {
            sans.push(address.value.to_string());
        }
    }
    let mut unique = Vec::with_capacity(sans.len());
    for san in sans {
        if !unique.contains(&san) {
            unique.push(san);
        }
    }
    unique
}

fn kubelet_configuration(cluster: &Cluster) -> Value {
    json!({
        "apiVersion": KUBELET_API_VERSION,
        "kind": "KubeletConfiguration",
        "cgroupDriver": if cluster.containerd.systemd_cgroup { "systemd" } else { "cgroupfs" },
    })
}

/// The `JoinConfiguration` of a further control plane or a worker.
pub fn join_document(
    context: &Context<'_>,
    host: &Host,
    control_plane: bool,
) -> Result<Value, SpecError> {
    let api = Api::of(context.cluster);
    let secrets = context.secrets;
    let bootstrap_token = object([
        ("apiServerEndpoint", json!(context.plan.endpoint)),
        ("token", json!(context.join_token().token().expose())),
        ("caCertHashes", json!([secrets.discovery_hash()])),
    ]);
    let mut discovery = Map::new();
    if api == Api::V1beta3 {
        discovery.insert("timeout".into(), json!(DISCOVERY_TIMEOUT));
    }
    discovery.insert("bootstrapToken".into(), Value::Object(bootstrap_token));
    let mut doc = object([
        ("apiVersion", json!(api.api_version())),
        ("kind", json!("JoinConfiguration")),
        (
            "nodeRegistration",
            node_registration(context.cluster, host, api)?,
        ),
        ("discovery", Value::Object(discovery)),
    ]);
    if control_plane {
        doc.insert(
            "controlPlane".into(),
            json!({
                "localAPIEndpoint": local_api_endpoint(host),
                "certificateKey": secrets.certificate_key().expose(),
            }),
        );
    }
    if api == Api::V1beta4 {
        let mut timeouts = object([("discovery", json!(DISCOVERY_TIMEOUT))]);
        if control_plane {
            timeouts.insert(
                "controlPlaneComponentHealthCheck".into(),
                json!(CONTROL_PLANE_HEALTH_TIMEOUT),
            );
            timeouts.insert("etcdAPICall".into(), json!(ETCD_API_CALL_TIMEOUT));
        }
        doc.insert("timeouts".into(), Value::Object(timeouts));
    }
    Ok(Value::Object(doc))
}

/// `advertiseAddress` needs an IP; a host known by DNS name lets kubeadm pick the
/// address of its default route.
fn local_api_endpoint(host: &Host) -> Value {
    let mut endpoint = Map::new();
    if let Some(Address::Ip(ip)) = host.address.as_ref().map(|a| &a.value) {
        endpoint.insert("advertiseAddress".into(), json!(ip.to_string()));
    }
    endpoint.insert("bindPort".into(), json!(API_SERVER_PORT));
    Value::Object(endpoint)
}

fn node_registration(cluster: &Cluster, host: &Host, api: Api) -> Result<Value, SpecError> {
    let mut registration = object([
        ("name", json!(host.name.value)),
        ("criSocket", json!(paths::CONTAINERD_SOCKET)),
    ]);
    if let Some(taints) = &host.taints {
        let taints: Vec<Value> = taints
            .iter()
            .map(|taint| {
                let mut entry = object([
                    ("key", json!(taint.key)),
                    ("effect", json!(taint.effect.as_str())),
                ]);
                if let Some(value) = &taint.value {
                    entry.insert("value".into(), json!(value));
                }
                Value::Object(entry)
            })
            .collect();
        // `[]` is meaningful: a control plane without kubeadm's default taint.
        registration.insert("taints".into(), Value::Array(taints));
    }
    let args = kubelet_args(cluster, host)?;
    if !args.is_empty() {
        registration.insert("kubeletExtraArgs".into(), extra_args(api, &args));
    }
    Ok(Value::Object(registration))
}

/// The kubelet's extra flags: the cluster's, then the host's (which win), then the
/// ones hac derives (`node-ip` from an IP address, `node-labels` from the labels).
pub fn kubelet_args(cluster: &Cluster, host: &Host) -> Result<BTreeMap<String, String>, SpecError> {
    let mut args = cluster.kubelet.extra_args.clone();
    args.extend(
        host.kubelet
            .extra_args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    let mut derived = Vec::new();
    if let Some(Address::Ip(ip)) = host.address.as_ref().map(|a| &a.value) {
        derived.push(("node-ip", ip.to_string()));
    }
    if !host.labels.is_empty() {
        let labels: Vec<String> = host
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        derived.push(("node-labels", labels.join(",")));
    }
    for (name, value) in derived {
        if args.contains_key(name) {
            return Err(SpecError::new(format!(
                "host `{}` sets the kubelet flag `--{name}` that hac derives itself",
                host.name.value
            ))
            .with_help("remove it from `kubelet.extraArgs`; hac sets it from the host's address and labels"));
        }
        args.insert(name.to_owned(), value);
    }
    for (name, value) in &args {
        if value.contains('\n') || value.contains('\0') {
            return Err(SpecError::new(format!(
                "the kubelet flag `--{name}` of host `{}` has a value with a line break",
                host.name.value
            )));
        }
    }
    Ok(args)
}

/// Extra flags as the API takes them: a list of `{name, value}` in v1beta4, a string
/// map in v1beta3.
fn extra_args(api: Api, args: &BTreeMap<String, String>) -> Value {
    match api {
        Api::V1beta4 => Value::Array(
            args.iter()
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect(),
        ),
        Api::V1beta3 => json!(args),
    }
}

fn object<const N: usize>(entries: [(&str, Value); N]) -> Map<String, Value> {
    entries
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}
