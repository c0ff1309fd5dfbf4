//! The pod network plugin, installed from the first control plane as the cluster
//! admin once its API server is ready. Every plugin is pinned to a release (below)
//! and configured for the cluster's pod CIDR through structured documents, never
//! by editing downloaded text; the step ends when the node is `Ready`, which needs
//! a working pod network.

use serde_json::{Value, json};

use crate::emit::SpecError;
use crate::emit::shell::{command, quote};
use crate::emit::yaml::{to_yaml, to_yaml_stream};
use crate::model::Encapsulation;
use crate::model::cidr::Cidr;

use super::download::curl_download;
use super::{Context, HostFile, Rendered, paths};

// The releases are pinned in `versions.rs`.
pub use super::versions::{
    CALICO as CALICO_VERSION, CILIUM as CILIUM_VERSION, CILIUM_CLI as CILIUM_CLI_VERSION,
    FLANNEL as FLANNEL_VERSION,
};

/// How long the first control plane may take to become `Ready` once the plugin is applied.
const NODE_READY_SECONDS: u32 = 15 * 60;

pub fn flannel_manifest_url() -> String {
    format!(
        "https://github.com/flannel-io/flannel/releases/download/{FLANNEL_VERSION}/kube-flannel.yml"
    )
}

pub fn calico_manifest_urls() -> [String; 2] {
    let base = format!(
        "https://raw.githubusercontent.com/projectcalico/calico/{CALICO_VERSION}/manifests"
    );
    [
        format!("{base}/operator-crds.yaml"),
        format!("{base}/tigera-operator.yaml"),
    ]
}

pub fn install(context: &Context<'_>, cni: &str, pods: &str) -> Result<Rendered, SpecError> {
    let cidr: Cidr = pods
        .parse()
        .map_err(|_| SpecError::new(format!("`{}` is not a pod CIDR", pods.escape_debug())))?;
    if cidr != context.cluster.network.pods.value {
        return Err(SpecError::new(format!(
            "the plan's pod CIDR `{pods}` is not the cluster's `{}`",
            context.cluster.network.pods.value
        )));
    }
    let node = context
        .cluster
        .controlplanes
        .first()
        .map(|cp| cp.name.value.clone())
        .ok_or_else(|| {
            SpecError::new("the cluster has no control plane to install the network from")
        })?;
    let cluster = context.cluster;
    let encapsulation = cluster.encapsulation();
    let mut rendered = match cni {
        "flannel" => flannel(cidr, encapsulation)?,
        "calico" => calico(calico_installation(
            cidr,
            encapsulation,
            cluster
                .network
                .mtu
                .as_ref()
                .map(|mtu| crate::lints::pod_mtu(cluster, mtu.value)),
        ))?,
        "cilium" => cilium()?,
        other => {
            return Err(SpecError::new(format!(
                "hac cannot install the network plugin `{}`",
                other.escape_debug()
            ))
            .with_help("use `flannel`, `calico`, `cilium` or `none`"));
        }
    };
    let mut body = vec![format!(
        "export KUBECONFIG={}",
        quote(paths::ADMIN_KUBECONFIG)?
    )];
    body.append(&mut rendered.body);
    body.extend([
        "hac_node_ready() {".to_owned(),
        "  local ready".to_owned(),
        "  ready=$(kubectl get node \"$1\" -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}') || return 1".to_owned(),
        "  [[ $ready == True ]]".to_owned(),
        "}".to_owned(),
        format!(
            "wait_until {} {NODE_READY_SECONDS} 5 hac_node_ready {}",
            quote(&format!("node {node} to be Ready on the {cni} pod network"))?,
            quote(&node)?
        ),
    ]);
    rendered.body = body;
    Ok(rendered)
}

/// A download of a manifest into FILE.
fn download(url: &str, file: &str) -> Result<String, SpecError> {
    Ok(curl_download(120, &quote(file)?, &quote(url)?))
}

fn dir(name: &str) -> String {
    format!("{}/{name}", paths::CNI_MANIFESTS_DIR)
}

/// flannel's `net-conf.json` for the pod CIDR, with the release's other defaults.
/// `DirectRouting` sends traffic between nodes of one subnet unencapsulated: what
/// `vxlan-cross-subnet` means.
pub fn flannel_net_conf(pods: Cidr, encapsulation: Encapsulation) -> String {
    let backend = match encapsulation {
        Encapsulation::Vxlan => json!({ "Type": "vxlan" }),
        Encapsulation::VxlanCrossSubnet => json!({ "Type": "vxlan", "DirectRouting": true }),
    };
    let conf = if pods.is_ipv4() {
        json!({
            "Network": pods.to_string(),
            "EnableNFTables": false,
            "Backend": backend,
        })
    } else {
        json!({
            "EnableIPv4": false,
            "EnableIPv6": true,
            "IPv6Network": pods.to_string(),
            "EnableNFTables": false,
            "Backend": backend,
        })
    };
    // serde_json keeps insertion order only with `preserve_order`; the order does not matter to flannel.
    let mut text = serde_json::to_string_pretty(&conf).unwrap_or_default();
    text.push('\n');
    text
}

/// flannel reads every flag from `FLANNELD_<FLAG>` too; this one is `--iface`.
pub const FLANNEL_IFACE_ENV: &str = "FLANNELD_IFACE";

/// The DaemonSet patch that pins flannel to the interface holding the node's IP. hac
/// pins the kubelet's `node-ip` to each host's address, and the node's `status.hostIP`
/// (from the downward API) is that address; without it flannel takes the default
/// route's interface, which on hosts with two NICs is not the one the nodes reach each
/// other on. One entry for every node, so the first control plane's user-data does not
/// grow with the cluster. A strategic merge patch: `env` merges by name, the release's
/// arguments stay as they are, and a renamed container would come out without an image,
/// which the API server refuses.
pub fn flannel_interface_patch() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": { "name": "kube-flannel-ds", "namespace": "kube-flannel" },
        "spec": { "template": { "spec": { "containers": [{
            "name": "kube-flannel",
            "env": [{
                "name": FLANNEL_IFACE_ENV,
                "valueFrom": { "fieldRef": { "fieldPath": "status.hostIP" } },
            }],
        }] } } },
    })
}

/// The release manifest plus kustomize patches: one replaces `net-conf.json` in
/// `kube-flannel-cfg` (kustomize fails if the release no longer has that ConfigMap),
/// one pins the DaemonSet to the node IP's interface.
fn flannel(pods: Cidr, encapsulation: Encapsulation) -> Result<Rendered, SpecError> {
    let dir = dir("flannel");
    let patches = [
        json!({ "path": "net-conf.yaml" }),
        json!({ "path": "interface.yaml" }),
    ];
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["kube-flannel.yml"],
        "patches": patches,
    });
    let patch = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": "kube-flannel-cfg", "namespace": "kube-flannel" },
        "data": { "net-conf.json": flannel_net_conf(pods, encapsulation) },
    });
    let files = vec![
        HostFile::public(
            format!("{dir}/kustomization.yaml"),
            to_yaml(&kustomization)?,
        ),
        HostFile::public(format!("{dir}/net-conf.yaml"), to_yaml(&patch)?),
        HostFile::public(
            format!("{dir}/interface.yaml"),
            to_yaml(&flannel_interface_patch())?,
        ),
    ];
    let network_key = if pods.is_ipv4() {
        "Network"
    } else {
        "IPv6Network"
    };
    let mut body = vec![
        download(&flannel_manifest_url(), &format!("{dir}/kube-flannel.yml"))?,
        format!("retry 5 10 kubectl apply -k {}", quote(&dir)?),
        "net_conf=$(retry 5 5 kubectl -n kube-flannel get configmap kube-flannel-cfg -o jsonpath='{.data.net-conf\\.json}')".to_owned(),
        format!(
            "if [[ $net_conf != *{}* ]]; then",
            quote(&format!("\"{network_key}\": \"{pods}\""))?
        ),
        format!(
            "  log {}",
            quote(&format!("flannel's net-conf.json does not use the pod CIDR {pods}"))?
        ),
        "  return 1".to_owned(),
        "fi".to_owned(),
    ];
    body.extend([
        "flannel_pod=$(retry 5 5 kubectl -n kube-flannel get daemonset kube-flannel-ds -o jsonpath='{.spec.template.spec}')".to_owned(),
        format!("if [[ $flannel_pod != *{}* ]]; then", quote(&format!("\"{FLANNEL_IFACE_ENV}\""))?),
        format!(
            "  log {}",
            quote(&format!("flannel's DaemonSet kube-flannel-ds lacks {FLANNEL_IFACE_ENV}, which pins it to the node IP's interface"))?
        ),
        "  return 1".to_owned(),
        "fi".to_owned(),
    ]);
    Ok(Rendered::new(files, body))
}

/// The Tigera operator's `Installation` with one pool: the cluster's pod CIDR, in the
/// encapsulation the environment allows. Always-VXLAN needs no BGP (Felix programs the
/// VXLAN routes), so BGP is off and port 179 need not be open; cross-subnet keeps it
/// for the routes inside a subnet. `pod_mtu`, when the source gives the hosts' MTU.
pub fn calico_installation(
    pods: Cidr,
    encapsulation: Encapsulation,
    pod_mtu: Option<u32>,
) -> Value {
    let (name, smallest_block) = if pods.is_ipv4() {
        ("default-ipv4-ippool", 26)
    } else {
        ("default-ipv6-ippool", 122)
    };
    let mut installation = json!({
        "apiVersion": "operator.tigera.io/v1",
        "kind": "Installation",
        "metadata": { "name": "default" },
        "spec": {
            "calicoNetwork": {
                "ipPools": [{
                    "name": name,
                    "cidr": pods.to_string(),
                    // A block cannot be larger than the pool.
                    "blockSize": pods.prefix().max(smallest_block),
                    "encapsulation": match encapsulation {
                        Encapsulation::Vxlan => "VXLAN",
                        Encapsulation::VxlanCrossSubnet => "VXLANCrossSubnet",
                    },
                    "natOutgoing": "Enabled",
                    "nodeSelector": "all()",
                }]
            }
        }
    });
    let network = &mut installation["spec"]["calicoNetwork"];
    // The operator's default takes the first interface it finds; the node's InternalIP
    // is the kubelet's node IP, which hac pins to the host's address.
    let autodetection = if pods.is_ipv4() {
        "nodeAddressAutodetectionV4"
    } else {
        "nodeAddressAutodetectionV6"
    };
    network[autodetection] = json!({ "kubernetes": "NodeInternalIP" });
    network["bgp"] = json!(match encapsulation {
        Encapsulation::Vxlan => "Disabled",
        Encapsulation::VxlanCrossSubnet => "Enabled",
    });
    if let Some(mtu) = pod_mtu {
        network["mtu"] = json!(mtu);
    }
    installation
}

fn calico(installation_document: Value) -> Result<Rendered, SpecError> {
    let dir = dir("calico");
    let installation = format!("{dir}/installation.yaml");
    let files = vec![HostFile::public(
        installation.clone(),
        to_yaml_stream(&[installation_document])?,
    )];
    let [crds_url, operator_url] = calico_manifest_urls();
    let crds = format!("{dir}/operator-crds.yaml");
    let operator = format!("{dir}/tigera-operator.yaml");
    let body = vec![
        download(&crds_url, &crds)?,
        download(&operator_url, &operator)?,
        "# Server-side: the CRDs are too large for client-side apply's annotation.".to_owned(),
        format!(
            "retry 5 10 kubectl apply --server-side --force-conflicts -f {}",
            quote(&crds)?
        ),
        format!(
            "retry 5 10 kubectl apply --server-side --force-conflicts -f {}",
            quote(&operator)?
        ),
        "wait_until 'the Installation resource type to be established' 300 5 kubectl wait --for=condition=established --timeout=10s crd/installations.operator.tigera.io".to_owned(),
        format!("retry 5 10 kubectl apply -f {}", quote(&installation)?),
    ];
    Ok(Rendered::new(files, body))
}

/// The cilium CLI (checked against its release checksum) installs the pinned
/// cilium with Kubernetes IPAM: pods get addresses from each node's `podCIDR`,
/// which kubeadm's controller manager assigns from the pod CIDR.
fn cilium() -> Result<Rendered, SpecError> {
    let dir = dir("cilium");
    let base =
        format!("https://github.com/cilium/cilium-cli/releases/download/{CILIUM_CLI_VERSION}");
    let body = vec![
        "cilium_arch=$(dpkg --print-architecture)".to_owned(),
        "case $cilium_arch in".to_owned(),
        "  amd64 | arm64) ;;".to_owned(),
        "  *)".to_owned(),
        "    log \"the cilium CLI has no build for $cilium_arch\"".to_owned(),
        "    return 1".to_owned(),
        "    ;;".to_owned(),
        "esac".to_owned(),
        format!("install -d -m 0755 {}", quote(&dir)?),
        format!(
            "cilium_tarball={}/cilium-linux-$cilium_arch.tar.gz",
            quote(&dir)?
        ),
        curl_download(
            300,
            "\"$cilium_tarball\"",
            &format!("{}/cilium-linux-\"$cilium_arch\".tar.gz", quote(&base)?),
        ),
        curl_download(
            60,
            "\"$cilium_tarball.sha256sum\"",
            &format!(
                "{}/cilium-linux-\"$cilium_arch\".tar.gz.sha256sum",
                quote(&base)?
            ),
        ),
        format!(
            "(cd {} && sha256sum --check --strict \"${{cilium_tarball##*/}}.sha256sum\")",
            quote(&dir)?
        ),
        "tar -xzf \"$cilium_tarball\" -C /usr/local/bin cilium".to_owned(),
        "hac_cilium_install() {".to_owned(),
        format!(
            "  if ! {}; then",
            command(&[
                "cilium",
                "install",
                "--version",
                CILIUM_VERSION,
                "--set",
                "ipam.mode=kubernetes"
            ])?
        ),
        "    cilium uninstall --wait || log 'cilium uninstall failed as well'".to_owned(),
        "    return 1".to_owned(),
        "  fi".to_owned(),
        "}".to_owned(),
        "retry 3 30 hac_cilium_install".to_owned(),
        "cilium status --wait --wait-duration 10m".to_owned(),
    ];
    Ok(Rendered::new(Vec::new(), body))
}
