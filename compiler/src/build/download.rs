//! Fetching a file at boot. Every release file a host downloads is a [`Download`]:
//! what it is, the URL it comes from (the upstream one, or its copy under
//! `packages.releases`), the sha256 hac knows for it at build time and where it is
//! put. The boot plan lists them (`hac plan --format json`); the emitter renders
//! each as a retried, bounded `curl` into a temporary file that is checked against
//! the digest before it takes its place, so a flaky mirror costs a retry and a
//! changed file stops the host.

use serde::Serialize;

use crate::emit::SpecError;
use crate::emit::shell::quote;
use crate::model::{Cluster, Cni, Located, VersionOverride};

use super::paths;
use super::versions::Artefact;

/// The plan step that downloads a file.
pub const PACKAGES_STEP: &str = "install-packages";
pub const CNI_STEP: &str = "install-cni";

/// From this minor on the kubelet needs containerd 2.x (Kubernetes 1.35 was the
/// last release supporting containerd 1.x: it lacks the CRI `RuntimeConfig` call
/// the kubelet reads the cgroup driver from).
pub const CONTAINERD_2_REQUIRED_FROM_MINOR: u32 = 36;

/// One file a host may download at boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Download {
    pub artefact: Artefact,
    pub version: String,
    /// `amd64`, `arm64`, `manifest`, `crds`, `operator`.
    pub part: String,
    /// For per-architecture files: only hosts of this `dpkg --print-architecture` fetch it.
    pub architecture: Option<String>,
    /// What the host fetches.
    pub url: String,
    /// Where the project publishes it (equal to `url` without a release mirror).
    pub upstream: String,
    /// The digest the host checks; `None` only where the source opted out with
    /// `versions.NAME.unverified = true`.
    pub sha256: Option<String>,
    /// Where the file is written on the host.
    pub path: String,
    /// The plan step that fetches it.
    pub step: &'static str,
    /// The hosts that fetch it (a containerd tarball only where the OS packages 1.x).
    pub hosts: Hosts,
}

/// Host names in plan order, with a sorted copy: every host of a build asks whether
/// it is among thousands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hosts {
    names: Vec<String>,
    sorted: Vec<String>,
}

impl Hosts {
    pub fn new(names: Vec<String>) -> Self {
        let mut sorted = names.clone();
        sorted.sort_unstable();
        Hosts { names, sorted }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.sorted
            .binary_search_by(|probe| probe.as_str().cmp(name))
            .is_ok()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The names, in plan order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl From<Vec<String>> for Hosts {
    fn from(names: Vec<String>) -> Self {
        Hosts::new(names)
    }
}

impl Serialize for Hosts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.names.serialize(serializer)
    }
}

/// One file of a release as the cluster resolves it (before hosts are known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFile {
    pub artefact: Artefact,
    pub version: String,
    pub part: &'static str,
    pub upstream: String,
    pub url: String,
    pub sha256: Option<String>,
    /// The source said `unverified = true`.
    pub unverified: bool,
}

/// Whether the cluster's Kubernetes needs containerd 2.x.
pub fn needs_containerd_2(cluster: &Cluster) -> bool {
    cluster.kubernetes.value.minor >= CONTAINERD_2_REQUIRED_FROM_MINOR
}

/// The artefacts a cluster downloads, with the step that fetches each.
pub fn artefacts(cluster: &Cluster) -> Vec<(Artefact, &'static str)> {
    let mut out = Vec::new();
    if needs_containerd_2(cluster) {
        out.push((Artefact::Containerd, PACKAGES_STEP));
    }
    match cluster.network.cni.value {
        Cni::Flannel => out.push((Artefact::Flannel, CNI_STEP)),
        Cni::Calico => out.push((Artefact::Calico, CNI_STEP)),
        Cni::Cilium => out.push((Artefact::CiliumCli, CNI_STEP)),
        Cni::None => {}
    }
    out
}

/// The override the source gives for `artefact`, if any.
pub fn override_of(cluster: &Cluster, artefact: Artefact) -> Option<&VersionOverride> {
    cluster.versions.overrides.get(artefact.name())
}

/// The version of `artefact` hac installs on this cluster when the source names none:
/// the table's for the cluster's Kubernetes minor.
pub fn default_version(cluster: &Cluster, artefact: Artefact) -> &'static str {
    artefact.default_version(cluster.kubernetes.value.minor)
}

/// Every file of `artefact` as this cluster gets it: the source's version or the
/// table's for the cluster's Kubernetes minor, the source's digest or the one the
/// table records for that version and file, fetched from the release mirror when
/// there is one.
pub fn release_files(cluster: &Cluster, artefact: Artefact) -> Vec<ReleaseFile> {
    let chosen = override_of(cluster, artefact);
    let version = chosen
        .and_then(|o| o.version.as_ref())
        .map_or(default_version(cluster, artefact), |v| v.value.as_str());
    let unverified = chosen
        .and_then(|o| o.unverified.as_ref())
        .is_some_and(|u| u.value);
    artefact
        .parts()
        .into_iter()
        .map(|part| {
            let upstream = artefact.url(version, part).unwrap_or_default();
            let sha256 = chosen
                .and_then(|o| o.sha256.get(part))
                .map(|d| d.value.clone())
                .or_else(|| artefact.pinned_sha256(version, part).map(str::to_owned));
            ReleaseFile {
                artefact,
                version: version.to_owned(),
                part,
                url: mirrored(cluster.packages.releases.as_ref(), &upstream),
                upstream,
                sha256,
                unverified,
            }
        })
        .collect()
}

/// `https://HOST/PATH` as found under the release mirror `BASE/HOST/PATH`.
pub fn mirrored(mirror: Option<&Located<String>>, upstream: &str) -> String {
    match (mirror, upstream.strip_prefix("https://")) {
        (Some(base), Some(rest)) => format!("{}/{rest}", base.value.trim_end_matches('/')),
        _ => upstream.to_owned(),
    }
}

/// Where a release file is written on the host.
pub fn host_path(artefact: Artefact, version: &str, part: &str) -> String {
    match artefact {
        Artefact::Containerd => format!(
            "{}/containerd-{version}-linux-{part}.tar.gz",
            paths::CONTAINERD_DOWNLOAD_DIR
        ),
        Artefact::Flannel => format!("{}/flannel/kube-flannel.yml", paths::CNI_MANIFESTS_DIR),
        Artefact::Calico => {
            let file = if part == "crds" {
                "operator-crds.yaml"
            } else {
                "tigera-operator.yaml"
            };
            format!("{}/calico/{file}", paths::CNI_MANIFESTS_DIR)
        }
        Artefact::CiliumCli => format!(
            "{}/cilium/cilium-linux-{part}.tar.gz",
            paths::CNI_MANIFESTS_DIR
        ),
    }
}

/// The downloads of `artefact` for the hosts that fetch it.
pub fn downloads(
    cluster: &Cluster,
    artefact: Artefact,
    step: &'static str,
    hosts: Vec<String>,
) -> Vec<Download> {
    release_files(cluster, artefact)
        .into_iter()
        .map(|file| Download {
            artefact,
            path: host_path(artefact, &file.version, file.part),
            architecture: artefact.is_per_architecture().then(|| file.part.to_owned()),
            version: file.version,
            part: file.part.to_owned(),
            url: file.url,
            upstream: file.upstream,
            sha256: file.sha256,
            step,
            hosts: Hosts::new(hosts.clone()),
        })
        .collect()
}

/// `hac_download SECONDS URL SHA256 OUTPUT`: fetch into `OUTPUT.part`, check the
/// digest, then move it into place. A wrong digest is not retried: the mirror or the
/// release changed, and a person must look. An empty SHA256 (the source opted out)
/// is logged.
pub const FUNCTION: &str = r#"hac_download() {
  local seconds=$1 url=$2 sha256=$3 output=$4
  retry 5 10 curl --fail --silent --show-error --location --max-time "$seconds" --create-dirs --output "$output.part" "$url"
  if [[ -z $sha256 ]]; then
    log "$url is not checked against a digest (the cluster sets unverified = true for it)"
  elif ! printf '%s  %s\n' "$sha256" "$output.part" | sha256sum --check --strict --quiet; then
    rm -f "$output.part"
    hac_fail download-digest "$url does not have the sha256 this user-data was built with ($sha256): the mirror or the release changed; check the file, fix the mirror or the cluster's versions, rebuild"
  fi
  mv -f "$output.part" "$output"
}"#;

/// Lines fetching `downloads` (all of one artefact, for this host): one call per
/// file, or, for per-architecture files, the host's own after a `case` on
/// `dpkg --print-architecture`. Sets `${prefix}_file` to the fetched path.
pub fn fetch(
    prefix: &str,
    what: &str,
    seconds: u32,
    downloads: &[&Download],
) -> Result<Vec<String>, SpecError> {
    let call = |d: &Download| -> Result<String, SpecError> {
        Ok(format!(
            "hac_download {seconds} {} {} {}",
            quote(&d.url)?,
            quote(d.sha256.as_deref().unwrap_or(""))?,
            quote(&d.path)?
        ))
    };
    let per_arch: Vec<&&Download> = downloads
        .iter()
        .filter(|d| d.architecture.is_some())
        .collect();
    if per_arch.is_empty() {
        return downloads.iter().map(|d| call(d)).collect();
    }
    let mut lines = vec![
        format!("{prefix}_arch=$(dpkg --print-architecture)"),
        format!("case ${prefix}_arch in"),
    ];
    for download in &per_arch {
        let arch = download.architecture.as_deref().unwrap_or_default();
        lines.push(format!("  {arch})"));
        lines.push(format!("    {prefix}_file={}", quote(&download.path)?));
        lines.push(format!("    {}", call(download)?));
        lines.push("    ;;".to_owned());
    }
    let known: Vec<&str> = per_arch
        .iter()
        .filter_map(|d| d.architecture.as_deref())
        .collect();
    lines.extend([
        "  *)".to_owned(),
        format!(
            "    hac_fail unsupported-architecture \"{} has no download for $(printf %s \"${prefix}_arch\") in this user-data (it has {}): use a host of those architectures\"",
            what.replace(['"', '\\', '$', '`'], ""),
            known.join(", ")
        ),
        "    ;;".to_owned(),
        "esac".to_owned(),
    ]);
    Ok(lines)
}

/// `retry 5 10 curl … --output OUTPUT URL`, bounded to `max_seconds` per attempt,
/// for what is not a release file (the apt repository's signing key, checked by gpg).
/// `output` and `url` are shell words, already quoted (they may hold a variable).
pub fn curl_download(max_seconds: u32, output: &str, url: &str) -> String {
    format!(
        "retry 5 10 curl --fail --silent --show-error --location --max-time {max_seconds} --create-dirs --output {output} {url}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn download(arch: Option<&str>, sha256: Option<&str>) -> Download {
        Download {
            artefact: Artefact::Containerd,
            version: "2.2.1".to_owned(),
            part: arch.unwrap_or("manifest").to_owned(),
            architecture: arch.map(str::to_owned),
            url: format!("https://mirror/{}", arch.unwrap_or("file")),
            upstream: "https://upstream".to_owned(),
            sha256: sha256.map(str::to_owned),
            path: format!("/tmp/out-{}", arch.unwrap_or("file")),
            step: PACKAGES_STEP,
            hosts: vec!["cp1".to_owned()].into(),
        }
    }

    /// Runs `lines` in bash with a fake curl writing `$CONTENT`; returns
    /// (success, output, the fetched file's content).
    fn run(lines: &[String], content: &str, arch: &str) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            "set -Eeuo pipefail\nlog() {{ printf 'LOG %s\\n' \"$*\" >&2; }}\nhac_fail() {{ printf 'FAILED(%s) %s\\n' \"$1\" \"$2\" >&2; exit 3; }}\nretry() {{ shift 2; \"$@\"; }}\ncurl() {{ local out; while [[ $# -gt 0 ]]; do [[ $1 == --output ]] && out=$2; shift; done; printf '%s' \"$CONTENT\" >\"$out\"; }}\ndpkg() {{ printf '%s\\n' \"$ARCH\"; }}\n{FUNCTION}\n{}\nprintf 'FILE=%s\\n' \"$(cat {}/out-*)\"\n",
            lines
                .join("\n")
                .replace("/tmp/", &format!("{}/", dir.path().display())),
            dir.path().display()
        );
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("CONTENT", content)
            .env("ARCH", arch)
            .output()
            .unwrap();
        (
            output.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    }

    // sha256("hello\n"), as `printf 'hello\n' | sha256sum` prints it.
    const HELLO: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    #[test]
    fn a_file_with_the_known_digest_takes_its_place() {
        let d = download(None, Some(HELLO));
        let (ok, out) = run(&fetch("x", "thing", 60, &[&d]).unwrap(), "hello\n", "amd64");
        assert!(ok, "{out}");
        assert!(out.contains("FILE=hello"), "{out}");
    }

    #[test]
    fn a_file_with_another_digest_stops_the_host_and_is_removed() {
        let d = download(None, Some(HELLO));
        let (ok, out) = run(&fetch("x", "thing", 60, &[&d]).unwrap(), "hellO\n", "amd64");
        assert!(!ok, "{out}");
        assert!(out.contains("FAILED(download-digest)"), "{out}");
        assert!(!out.contains("FILE=hellO"), "{out}");
    }

    #[test]
    fn an_unverified_file_is_logged() {
        let d = download(None, None);
        let (ok, out) = run(
            &fetch("x", "thing", 60, &[&d]).unwrap(),
            "anything",
            "amd64",
        );
        assert!(ok, "{out}");
        assert!(out.contains("is not checked against a digest"), "{out}");
    }

    #[test]
    fn a_host_fetches_its_own_architecture_only() {
        let amd = download(Some("amd64"), Some(HELLO));
        let arm = download(Some("arm64"), Some(&"0".repeat(64)));
        let lines = fetch("x", "containerd 2.2.1", 60, &[&amd, &arm]).unwrap();
        let (ok, out) = run(&lines, "hello\n", "amd64");
        assert!(ok, "{out}");
        let (ok, out) = run(&lines, "hello\n", "arm64");
        assert!(!ok && out.contains("download-digest"), "{out}");
        let (ok, out) = run(&lines, "hello\n", "riscv64");
        assert!(!ok, "{out}");
        assert!(
            out.contains(
                "FAILED(unsupported-architecture) containerd 2.2.1 has no download for riscv64"
            ),
            "{out}"
        );
    }

    #[test]
    fn the_release_mirror_keeps_the_upstream_host_and_path() {
        let base = Located::new(
            "https://mirror.lan/files/".to_owned(),
            hac_lang::Origin::default(),
        );
        assert_eq!(
            mirrored(Some(&base), "https://github.com/a/b.tar.gz"),
            "https://mirror.lan/files/github.com/a/b.tar.gz"
        );
        assert_eq!(
            mirrored(None, "https://github.com/a"),
            "https://github.com/a"
        );
    }
}
