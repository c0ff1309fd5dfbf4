//! Where the hosts fetch from: every release file needs a digest known at build
//! time, and an offline cluster (`packages.offline = true`) fetches nothing from
//! outside its mirrors.

use hac_lang::{Diagnostic, Origin};

use super::{error, warning};
use crate::build::download::{self, ReleaseFile};
use crate::build::versions::Artefact;
use crate::model::{Cluster, Cni, DEFAULT_PACKAGE_MIRROR, codes};

pub(super) fn check(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    for (artefact, _) in download::artefacts(cluster) {
        digests(cluster, artefact, out);
    }
    offline(cluster, out);
}

/// Where a release is chosen: its `versions` entry, else what makes the cluster
/// need it (`network.cni`, `kubernetes`).
fn chosen_at(cluster: &Cluster, artefact: Artefact) -> (Origin, String) {
    if let Some(chosen) = download::override_of(cluster, artefact) {
        let origin = chosen.version.as_ref().map_or(chosen.origin, |v| v.origin);
        return (origin, format!("versions.{}", artefact.name()));
    }
    match artefact {
        Artefact::Containerd => (
            cluster.kubernetes.origin,
            "this Kubernetes needs containerd 2.x".to_owned(),
        ),
        _ => (
            cluster.network.cni.origin,
            format!(
                "the network plugin, {}, needs it",
                cluster.network.cni.value.as_str()
            ),
        ),
    }
}

fn digests(cluster: &Cluster, artefact: Artefact, out: &mut Vec<Diagnostic>) {
    let files = download::release_files(cluster, artefact);
    let missing: Vec<&ReleaseFile> = files.iter().filter(|f| f.sha256.is_none()).collect();
    let Some(first) = missing.first() else {
        return;
    };
    let name = artefact.name();
    let parts = missing
        .iter()
        .map(|f| f.part)
        .collect::<Vec<_>>()
        .join(", ");
    let urls = missing
        .iter()
        .map(|f| f.upstream.as_str())
        .collect::<Vec<_>>()
        .join(" and ");
    let fetched = missing
        .iter()
        .map(|f| f.url.as_str())
        .collect::<Vec<_>>()
        .join(" and ");
    let version = &first.version;
    let opted_out = download::override_of(cluster, artefact)
        .and_then(|o| o.unverified.as_ref())
        .filter(|u| u.value);
    if let Some(unverified) = opted_out {
        let mut diagnostic = warning(
            codes::UNVERIFIED_DOWNLOAD_ALLOWED,
            unverified.origin,
            format!("{name} {version} ({parts}) is downloaded without a digest check: {fetched}"),
            "unchecked download allowed here",
        );
        diagnostic.help = Some(format!(
            "give `versions.{name}.sha256` and remove `unverified = true;`"
        ));
        out.push(diagnostic);
        return;
    }
    let (origin, label) = chosen_at(cluster, artefact);
    let recorded = artefact.recorded_versions();
    let why = if recorded.contains(&version.as_str()) {
        "hac's version table has no published digest for it".to_owned()
    } else {
        format!(
            "hac's table only vouches for {name} {}",
            recorded.join(", ")
        )
    };
    let example = if missing.len() == 1 && artefact.default_part() == Some(first.part) {
        format!("versions.{name} = {{ version = \"{version}\"; sha256 = \"…\"; }};")
    } else {
        format!(
            "versions.{name} = {{ version = \"{version}\"; sha256 = {{ {} }}; }};",
            missing
                .iter()
                .map(|f| format!("{} = \"…\";", f.part))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    let mut diagnostic = error(
        codes::UNVERIFIED_DOWNLOAD,
        origin,
        format!("the hosts would download {name} {version} ({parts}) unchecked: {why}"),
        label,
    );
    diagnostic.help = Some(format!(
        "set the sha256 of {urls} (from the project's release page, or `sha256sum` of a copy you checked): `{example}`; or accept it unchecked with `versions.{name}.unverified = true;`"
    ));
    out.push(diagnostic);
}

/// The registries a network plugin's images come from (read from the pinned
/// manifests and charts; docs/versions.md).
pub fn cni_registries(cni: Cni) -> &'static [&'static str] {
    match cni {
        Cni::Flannel => &["ghcr.io"],
        Cni::Calico => &["quay.io", "docker.io"],
        Cni::Cilium => &["quay.io"],
        Cni::None => &[],
    }
}

/// A span short enough to be one value rather than a whole attribute set.
const SHORT_SPAN: u32 = 120;

fn offline(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let packages = &cluster.packages;
    let Some(offline) = packages.offline.as_ref().filter(|o| o.value) else {
        return;
    };
    let mut fetches: Vec<(Origin, String, String)> = Vec::new();
    if packages.mirror == DEFAULT_PACKAGE_MIRROR {
        fetches.push((
            packages.mirror_origin,
            format!(
                "the Kubernetes packages and their signing key from {DEFAULT_PACKAGE_MIRROR}/core:/stable:/{}/deb/",
                cluster.kubernetes.value.minor_tag()
            ),
            "set `packages.mirror` to a mirror of pkgs.k8s.io".to_owned(),
        ));
    }
    if packages.releases.is_none() {
        for (artefact, _) in download::artefacts(cluster) {
            let (origin, _) = chosen_at(cluster, artefact);
            for file in download::release_files(cluster, artefact) {
                fetches.push((
                    origin,
                    format!("{} {} ({}) from {}", artefact.name(), file.version, file.part, file.url),
                    "set `packages.releases` to a mirror holding it at RELEASES/HOST/PATH (`hac plan --format json` lists every file)".to_owned(),
                ));
            }
        }
    }
    let mirrored = |registry: &str| cluster.containerd.registry_mirrors.contains_key(registry);
    // With imageRepository, the sandbox (pause) image comes from there too: the hosts
    // pin containerd's sandbox image to the one kubeadm lists (`pin-sandbox-image`).
    if !mirrored("registry.k8s.io") && packages.image_repository.is_none() {
        fetches.push((
            packages.origin,
            "the Kubernetes images (kube-apiserver, etcd, CoreDNS, pause…) from registry.k8s.io"
                .to_owned(),
            "set `packages.imageRepository`, or `containerd.registryMirrors.\"registry.k8s.io\"`"
                .to_owned(),
        ));
    }
    let cni = cluster.network.cni.value;
    for registry in cni_registries(cni) {
        if !mirrored(registry) {
            fetches.push((
                cluster.network.cni.origin,
                format!("{}'s images from {registry}", cni.as_str()),
                format!("set `containerd.registryMirrors.\"{registry}\"`"),
            ));
        }
    }
    for (origin, what, help) in fetches {
        let mut diagnostic = error(
            codes::OFFLINE_FETCH,
            offline.origin,
            format!("the cluster is offline but would fetch {what}"),
            "offline here",
        );
        // What makes the cluster fetch it, unless that is a whole set (a default).
        if origin.span.end.saturating_sub(origin.span.start) <= SHORT_SPAN
            && origin != offline.origin
        {
            diagnostic =
                diagnostic.with_label(origin, "fetched from outside the mirrors because of this");
        }
        diagnostic.help = Some(help);
        out.push(diagnostic);
    }
}
