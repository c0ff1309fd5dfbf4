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

use super::download::{self, Download};
use super::versions::{self, Artefact};
use super::{Context, HostFile, Rendered, paths};

/// How long the first control plane may take to become `Ready` once the plugin is applied.
const NODE_READY_SECONDS: u32 = 15 * 60;

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
    let downloads_of = |artefact: Artefact| -> Result<Vec<&Download>, SpecError> {
        let found: Vec<&Download> = context
            .plan
            .downloads
            .iter()
            .filter(|d| d.artefact == artefact && d.step == download::CNI_STEP)
            .collect();
        if found.is_empty() {
            return Err(SpecError::new(format!(
                "the plan has no {} download for the `{cni}` network plugin",
                artefact.name()
            )));
        }
        Ok(found)
    };
    let mut rendered = match cni {
        "flannel" => flannel(cidr, encapsulation, &downloads_of(Artefact::Flannel)?)?,
        "calico" => calico(
            calico_installation(
                cidr,
                encapsulation,
                cluster
                    .network
                    .mtu
                    .as_ref()
                    .map(|mtu| crate::lints::pod_mtu(cluster, mtu.value)),
            ),
            &downloads_of(Artefact::Calico)?,
        )?,
        "cilium" => cilium(
            versions::cilium_version(cluster.kubernetes.value.minor),
            &downloads_of(Artefact::CiliumCli)?,
        )?,
        other => {
            return Err(SpecError::new(format!(
                "hac cannot install the network plugin `{}`",
                other.escape_debug()
            ))
            .with_help("use `flannel`, `calico`, `cilium` or `none`"));
        }
    };
    let mut body: Vec<String> = super::proxy::export(context.cluster)?.into_iter().collect();
    body.push(format!(
        "export KUBECONFIG={}",
        quote(paths::ADMIN_KUBECONFIG)?
    ));
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

/// The one download of `part` among an artefact's.
fn part<'d>(downloads: &[&'d Download], part: &str) -> Result<&'d Download, SpecError> {
    downloads
        .iter()
        .copied()
        .find(|d| d.part == part)
        .ok_or_else(|| SpecError::new(format!("the plan has no `{part}` download")))
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
fn flannel(
    pods: Cidr,
    encapsulation: Encapsulation,
    downloads: &[&Download],
) -> Result<Rendered, SpecError> {
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
    let manifest = part(downloads, "manifest")?;
    if manifest.path != format!("{dir}/kube-flannel.yml") {
        return Err(SpecError::new(format!(
            "flannel's manifest is downloaded to {}, not next to its kustomization",
            manifest.path
        )));
    }
    let mut body = vec![download::FUNCTION.to_owned()];
    body.extend(download::fetch("flannel", "flannel", 120, &[manifest])?);
    body.extend([
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

fn calico(installation_document: Value, downloads: &[&Download]) -> Result<Rendered, SpecError> {
    let dir = dir("calico");
    let installation = format!("{dir}/installation.yaml");
    let files = vec![HostFile::public(
        installation.clone(),
        to_yaml_stream(&[installation_document])?,
    )];
    let crds_download = part(downloads, "crds")?;
    let operator_download = part(downloads, "operator")?;
    let crds = crds_download.path.clone();
    let operator = operator_download.path.clone();
    let mut body = vec![download::FUNCTION.to_owned()];
    body.extend(download::fetch(
        "calico",
        "calico",
        120,
        &[crds_download, operator_download],
    )?);
    body.extend([
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
    ]);
    Ok(Rendered::new(files, body))
}

/// The cilium CLI (checked against the digest hac knows) installs Cilium
/// `cilium_version` (named explicitly: the CLI's own default moves with the CLI) with
/// Kubernetes IPAM: pods get addresses from each node's `podCIDR`, which kubeadm's
/// controller manager assigns from the pod CIDR.
fn cilium(cilium_version: &str, downloads: &[&Download]) -> Result<Rendered, SpecError> {
    let version = downloads.first().map_or("", |d| d.version.as_str());
    let mut body = vec![download::FUNCTION.to_owned()];
    body.extend(download::fetch(
        "cilium",
        &format!("the cilium CLI {version}"),
        300,
        downloads,
    )?);
    body.extend([
        "tar -xzf \"$cilium_file\" -C /usr/local/bin cilium".to_owned(),
        "hac_cilium_install() {".to_owned(),
        format!(
            "  if ! {}; then",
            command(&[
                "cilium",
                "install",
                "--version",
                cilium_version,
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
    ]);
    Ok(Rendered::new(Vec::new(), body))
}
