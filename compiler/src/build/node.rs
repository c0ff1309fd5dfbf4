//! Node preparation: packages (Kubernetes ones pinned and held), kernel modules,
//! sysctls, swap, containerd's configuration.
//!
//! Load balancers only get their packages. Kubernetes hosts (control planes,
//! workers and external etcd members, which run etcd as a static pod under a
//! kubelet) are prepared the way kubeadm expects: swap off, `overlay` and
//! `br_netfilter`, forwarding sysctls, containerd with the systemd cgroup driver,
//! and kubelet, kubeadm and kubectl at exactly the cluster's version from the
//! pkgs.k8s.io repository of its minor.

use crate::emit::SpecError;
use crate::emit::shell::{command, quote};
use crate::model::version::KubernetesVersion;
use crate::model::{Address, Host, Os};
use crate::plan::HostPlan;

use super::download::{self, Download, curl_download};
use super::versions::Artefact;
use super::{Context, HostFile, Rendered, containerd, paths};

/// The packages pinned to the cluster's version; the plan writes them `name=X.Y.Z`.
const KUBERNETES_PACKAGES: [&str; 3] = ["kubelet", "kubeadm", "kubectl"];

/// What every Kubernetes host installs besides the plan's packages: the key fetch
/// and the API probes use curl; gpg dearmors the repository key.
const BASE_PACKAGES: [&str; 3] = ["ca-certificates", "curl", "gpg"];

pub use super::download::CONTAINERD_2_REQUIRED_FROM_MINOR;

fn needs_containerd_2(version: KubernetesVersion) -> bool {
    version.minor >= CONTAINERD_2_REQUIRED_FROM_MINOR
}

/// apt attempts and the first pause between them (mirrors and locks are flaky at boot).
const APT_ATTEMPTS: u32 = 5;
const APT_BACKOFF_SECONDS: u32 = 10;

/// The plan's package list, sorted into what is done with each entry.
#[derive(Debug, Default, PartialEq, Eq)]
struct Packages {
    /// Installed as the OS has them (`haproxy`, `keepalived`, `containerd`).
    plain: Vec<String>,
    /// `(name, X.Y.Z)`, resolved to the repository's revision at boot.
    pinned: Vec<(String, String)>,
}

impl Packages {
    fn parse(list: &[String], version: KubernetesVersion) -> Result<Packages, SpecError> {
        let mut packages = Packages::default();
        for entry in list {
            match entry.split_once('=') {
                Some((name, pinned)) => {
                    if !KUBERNETES_PACKAGES.contains(&name) {
                        return Err(SpecError::new(format!(
                            "package `{}` cannot be pinned: only {} come from the Kubernetes repository",
                            entry.escape_debug(),
                            KUBERNETES_PACKAGES.map(|p| format!("`{p}`")).join(", ")
                        )));
                    }
                    if pinned != version.to_string() {
                        return Err(SpecError::new(format!(
                            "package `{}` is pinned to another version than the cluster's `{version}`",
                            entry.escape_debug()
                        )));
                    }
                    packages.pinned.push((name.to_owned(), pinned.to_owned()));
                }
                None => {
                    if !is_debian_package_name(entry) {
                        return Err(SpecError::new(format!(
                            "`{}` is not a Debian package name",
                            entry.escape_debug()
                        )));
                    }
                    packages.plain.push(entry.clone());
                }
            }
        }
        Ok(packages)
    }

    /// A host that runs a kubelet (and so needs the node preparation).
    fn is_kubernetes(&self) -> bool {
        !self.pinned.is_empty()
    }
}

/// Debian policy: lower-case letters, digits, `+ - .`, at least two characters,
/// starting with a letter or digit.
fn is_debian_package_name(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
}

pub fn install_packages(
    context: &Context<'_>,
    host: &Host,
    plan_host: &HostPlan,
    packages: &[String],
) -> Result<Rendered, SpecError> {
    let cluster = context.cluster;
    let version = cluster.kubernetes.value;
    let packages = Packages::parse(packages, version)?;
    let mut rendered = Rendered::default();
    rendered
        .files
        .extend(super::proxy::files(cluster, packages.is_kubernetes())?);
    let body = &mut rendered.body;
    body.extend(super::proxy::export(cluster)?);
    body.extend(check_os(cluster.os.value)?);
    body.push(APT_FUNCTION.to_owned());
    body.push(format!(
        "retry {APT_ATTEMPTS} {APT_BACKOFF_SECONDS} hac_apt_update"
    ));
    if !packages.is_kubernetes() {
        if packages.plain.is_empty() {
            return Err(SpecError::new(format!(
                "host `{}` has nothing to install",
                plan_host.name
            )));
        }
        // The load balancer's health checks use curl.
        let mut list = vec!["ca-certificates".to_owned(), "curl".to_owned()];
        list.extend(packages.plain.iter().cloned());
        body.push(apt_install(&list)?);
        return Ok(rendered);
    }

    let ipv6 = uses_ipv6(context, host);
    rendered.files.push(HostFile::public(
        paths::KERNEL_MODULES_CONFIG,
        "# Loaded at boot for containerd (overlay) and pod networking (br_netfilter). Generated by hac.\noverlay\nbr_netfilter\n",
    ));
    rendered
        .files
        .push(HostFile::public(paths::SYSCTL_CONFIG, sysctl_config(ipv6)));
    let offline = cluster.packages.offline.as_ref().is_some_and(|o| o.value);
    let auths = registry_auths(context)?;
    rendered.files.extend(containerd::files(
        &cluster.containerd,
        &auths,
        needs_containerd_2(version),
        offline,
    )?);
    if needs_containerd_2(version) && packages.plain.iter().any(|p| p == "containerd") {
        rendered.files.push(HostFile::public(
            paths::CONTAINERD_UNIT_SOURCE,
            CONTAINERD_UNIT,
        ));
    }

    let body = &mut rendered.body;
    body.extend(prepare_kernel(ipv6)?);
    let mut first: Vec<String> = BASE_PACKAGES.iter().map(|p| (*p).to_owned()).collect();
    first.extend(
        packages
            .plain
            .iter()
            .filter(|p| *p != "containerd")
            .cloned(),
    );
    body.push(apt_install(&first)?);
    if packages.plain.iter().any(|p| p == "containerd") {
        let downloads: Vec<&Download> = context
            .plan
            .downloads
            .iter()
            .filter(|d| d.artefact == Artefact::Containerd && d.hosts.contains(&plan_host.name))
            .collect();
        body.extend(install_containerd(version, &downloads)?);
        body.extend(configure_containerd(needs_containerd_2(version))?);
    }
    body.extend(kubernetes_repository(&cluster.packages.mirror, version)?);
    body.extend(install_pinned(&packages.pinned)?);
    body.extend(cni_plugins()?);
    Ok(rendered)
}

/// Every `containerd.registryLogins` entry with its login from the bundle. The CLI
/// reports a missing login at its place in the source before building; this is the
/// same check for every other caller.
fn registry_auths<'a>(
    context: &Context<'a>,
) -> Result<Vec<containerd::RegistryAuth<'a>>, SpecError> {
    context
        .cluster
        .containerd
        .registry_logins
        .iter()
        .map(
            |(host, name)| match context.secrets.registry_login(&name.value) {
                Some(login) => Ok(containerd::RegistryAuth { host, login }),
                None => Err(SpecError::new(format!(
                    "the secrets bundle has no registry login `{}` (for `{host}`)",
                    name.value
                ))
                .with_help(super::registry_logins::HELP)),
            },
        )
        .collect()
}

/// apt with the options a boot-time install needs: no questions, keep configuration
/// files written before the package (cloud-init's `write_files`), wait for the dpkg
/// lock that unattended upgrades may hold at first boot.
///
/// apt 2.x exits 0 from `update` when a source cannot be reached (connection refused,
/// DNS not ready: only HTTP errors count), leaving empty lists behind; every
/// supported OS has apt 2.4 or later, whose `--error-on=any` makes that an error the
/// retry sees. A failed install or lookup marks the lists stale, so the next attempt
/// refreshes them first instead of retrying against the same lists; a retried install
/// also finishes what an interrupted dpkg left (a power cut during an install makes
/// every later `apt-get install` fail until `dpkg --configure -a` runs).
const APT_FUNCTION: &str = r#"export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a
hac_apt() {
  apt-get -q -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
hac_apt_update() {
  hac_apt update --error-on=any
  rm -f "$HAC_STATE_DIR/apt-lists-stale"
}
hac_apt_install() {
  if [[ -e $HAC_STATE_DIR/apt-lists-stale ]]; then
    dpkg --force-confdef --force-confold --configure -a
    hac_apt_update
  fi
  if ! hac_apt install "$@"; then
    touch "$HAC_STATE_DIR/apt-lists-stale"
    return 1
  fi
}"#;

fn apt_install(packages: &[String]) -> Result<String, SpecError> {
    let mut words = vec![
        "retry".to_owned(),
        APT_ATTEMPTS.to_string(),
        APT_BACKOFF_SECONDS.to_string(),
        "hac_apt_install".to_owned(),
        "--no-install-recommends".to_owned(),
    ];
    words.extend(packages.iter().cloned());
    command(&words)
}

/// `(ID, VERSION_ID)` of `/etc/os-release` for each supported OS.
fn os_release(os: Os) -> (&'static str, &'static str) {
    match os {
        Os::Ubuntu2204 => ("ubuntu", "22.04"),
        Os::Ubuntu2404 => ("ubuntu", "24.04"),
        Os::Debian12 => ("debian", "12"),
        Os::Debian13 => ("debian", "13"),
    }
}

/// The host must run the OS the cluster declares: the packages, the containerd
/// choice and the repository were planned for it.
fn check_os(os: Os) -> Result<Vec<String>, SpecError> {
    let (id, version) = os_release(os);
    let expected = format!("{id} {version}");
    Ok(vec![
        "os_release=$(\n# shellcheck source=/dev/null\n. /etc/os-release && printf '%s %s' \"${ID:-}\" \"${VERSION_ID:-}\")".to_owned(),
        format!("if [[ $os_release != {} ]]; then", quote(&expected)?),
        format!(
            "  hac_fail os-mismatch \"this host runs '$os_release' but the cluster declares {}: use an image of that OS or change \\`os\\`, rebuild and re-create the host\"",
            os.as_str()
        ),
        "fi".to_owned(),
    ])
}

fn uses_ipv6(context: &Context<'_>, host: &Host) -> bool {
    let network = &context.cluster.network;
    !network.pods.value.is_ipv4()
        || !network.services.value.is_ipv4()
        || matches!(
            host.address.as_ref().map(|a| &a.value),
            Some(Address::Ip(std::net::IpAddr::V6(_)))
        )
}

fn sysctl_config(ipv6: bool) -> String {
    let mut text = String::from(
        "# Bridged pod traffic through iptables, and routing between pods. Generated by hac.\n\
         net.bridge.bridge-nf-call-iptables = 1\n\
         net.bridge.bridge-nf-call-ip6tables = 1\n\
         net.ipv4.ip_forward = 1\n",
    );
    if ipv6 {
        text.push_str("net.ipv6.conf.all.forwarding = 1\n");
    }
    text
}

/// Swap off now and for good, modules loaded now (the files load them at boot),
/// sysctls applied and checked (a later sysctl file could undo them).
fn prepare_kernel(ipv6: bool) -> Result<Vec<String>, SpecError> {
    let mut lines = vec![
        "# The kubelet refuses to start with swap on.".to_owned(),
        "swapoff -a".to_owned(),
        "if [[ -e /etc/fstab ]]; then".to_owned(),
        r#"  sed -E -i '/^[^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap([[:space:]]|$)/ s/^/# swap disabled by hac for the kubelet: /' /etc/fstab"#.to_owned(),
        "fi".to_owned(),
        "# Swap units systemd generated or found (zram, swap files); failed ones are listed".to_owned(),
        "# with a leading bullet, so the unit is the field ending in `.swap`.".to_owned(),
        "while read -r swap_unit; do".to_owned(),
        r#"  systemctl mask --now "$swap_unit" || log "could not mask swap unit $swap_unit""#.to_owned(),
        r#"done < <(systemctl list-units --type=swap --all --plain --no-legend | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /\.swap$/) { print $i; break } }')"#.to_owned(),
        "modprobe overlay".to_owned(),
        "modprobe br_netfilter".to_owned(),
        "sysctl --system".to_owned(),
    ];
    let mut settings = vec![
        "net.bridge.bridge-nf-call-iptables",
        "net.bridge.bridge-nf-call-ip6tables",
        "net.ipv4.ip_forward",
    ];
    if ipv6 {
        settings.push("net.ipv6.conf.all.forwarding");
    }
    lines.push(format!("for setting in {}; do", settings.join(" ")));
    lines.push(r#"  if [[ $(sysctl -n "$setting") != 1 ]]; then"#.to_owned());
    lines.push(format!(
        "    hac_fail sysctl-overridden \"sysctl $setting is not 1 after sysctl --system: a file after {} overrides it; remove that setting, then run hac-bootstrap again\"",
        quote(paths::SYSCTL_CONFIG)?
    ));
    lines.push("  fi".to_owned());
    lines.push("done".to_owned());
    Ok(lines)
}

/// containerd from the OS packages, unless the OS has only 1.x and this Kubernetes
/// release needs 2.x: then the release tarball of the plan's downloads (checked
/// against the digest hac knows), with hac's systemd unit and the OS's runc.
fn install_containerd(
    version: KubernetesVersion,
    downloads: &[&Download],
) -> Result<Vec<String>, SpecError> {
    let packaged = vec![format!(
        "retry {APT_ATTEMPTS} {APT_BACKOFF_SECONDS} hac_apt_install --no-install-recommends containerd"
    )];
    if !needs_containerd_2(version) {
        return Ok(packaged);
    }
    let release = downloads
        .first()
        .map(|d| d.version.clone())
        .ok_or_else(|| {
            SpecError::new(format!(
                "Kubernetes {version} needs containerd 2.x but the plan has no containerd download"
            ))
        })?;
    let mut lines = vec![
        "containerd_candidate=$(apt-cache madison containerd | awk 'NR == 1 { print $3 }')"
            .to_owned(),
        "if [[ -n $containerd_candidate && ! $containerd_candidate =~ ^([0-9]+:)?1\\. ]]; then"
            .to_owned(),
    ];
    lines.extend(packaged.iter().map(|line| format!("  {line}")));
    lines.extend([
        "else".to_owned(),
        format!(
            "  log \"Kubernetes {version} needs containerd 2.x and this OS packages '${{containerd_candidate:-none}}': installing containerd {release} from its release\""
        ),
        download::FUNCTION.to_owned(),
    ]);
    lines.extend(
        download::fetch(
            "containerd",
            &format!("containerd {release}"),
            300,
            downloads,
        )?
        .into_iter()
        .map(|line| format!("  {line}")),
    );
    lines.extend([
        format!(
            "  tar -xzf \"$containerd_file\" -C {}",
            quote(paths::CONTAINERD_UPSTREAM_PREFIX)?
        ),
        format!(
            "  install -D -m 0644 {} {}",
            quote(paths::CONTAINERD_UNIT_SOURCE)?,
            quote(paths::CONTAINERD_UPSTREAM_UNIT)?
        ),
        format!(
            "  retry {APT_ATTEMPTS} {APT_BACKOFF_SECONDS} hac_apt_install --no-install-recommends runc"
        ),
        "  systemctl daemon-reload".to_owned(),
        "fi".to_owned(),
    ]);
    Ok(lines)
}

/// The systemd unit for a containerd installed from its release under `/usr/local`
/// (the settings of the unit the containerd project publishes), shipped in the
/// user-data rather than downloaded: one file less to fetch and verify.
pub const CONTAINERD_UNIT: &str = "# containerd from its release tarball, installed by hac.
[Unit]
Description=containerd container runtime
After=network.target dbus.service

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
";

/// Installs the generated configuration for the installed containerd's major
/// version (only 2.x when the cluster needs it), and waits until its CRI plugin
/// serves. Mode 0600: it may hold registry credentials.
fn configure_containerd(needs_v2: bool) -> Result<Vec<String>, SpecError> {
    let mut lines = containerd::select_config(needs_v2)?;
    lines.extend([
        format!(
            "install -D -m 0600 \"$containerd_config\" {}",
            quote(paths::CONTAINERD_CONFIG)?
        ),
        "systemctl enable containerd".to_owned(),
        "systemctl restart containerd".to_owned(),
    ]);
    lines.extend(containerd::wait_for_cri());
    Ok(lines)
}

/// The pkgs.k8s.io repository of the cluster's minor, trusting only its own key.
fn kubernetes_repository(
    mirror: &str,
    version: KubernetesVersion,
) -> Result<Vec<String>, SpecError> {
    let repository = format!(
        "{}/core:/stable:/{}/deb/",
        mirror.trim_end_matches('/'),
        version.minor_tag()
    );
    let key_url = format!("{repository}Release.key");
    let keyring = paths::KUBERNETES_APT_KEYRING;
    let download = format!("{keyring}.download");
    let fresh = format!("{keyring}.new");
    let source = format!("deb [signed-by={keyring}] {repository} /");
    Ok(vec![
        format!("install -d -m 0755 {}", quote(paths::APT_KEYRINGS_DIR)?),
        curl_download(60, &quote(&download)?, &quote(&key_url)?),
        format!(
            "if ! gpg --batch --yes --dearmor --output {} {}; then",
            quote(&fresh)?,
            quote(&download)?
        ),
        format!(
            "  log {}",
            quote(&format!(
                "the signing key from {key_url} is not an OpenPGP key: refusing to trust the repository"
            ))?
        ),
        "  return 1".to_owned(),
        "fi".to_owned(),
        format!(
            "if ! gpg --batch --show-keys {} >/dev/null; then",
            quote(&fresh)?
        ),
        format!(
            "  log {}",
            quote(&format!(
                "the dearmored key from {key_url} holds no usable key"
            ))?
        ),
        "  return 1".to_owned(),
        "fi".to_owned(),
        format!("chmod 0644 {}", quote(&fresh)?),
        format!("mv -f {} {}", quote(&fresh)?, quote(keyring)?),
        format!("rm -f {}", quote(&download)?),
        format!(
            "printf '%s\\n' {} >{}",
            quote(&source)?,
            quote(paths::KUBERNETES_APT_SOURCE)?
        ),
        format!("retry {APT_ATTEMPTS} {APT_BACKOFF_SECONDS} hac_apt_update"),
    ])
}

/// The exact patch version: the repository's package revision (`-1.1`) is not
/// known in advance, so it is looked up, on refreshed lists after a miss; a patch
/// release still missing after the retries needs a person.
fn install_pinned(pinned: &[(String, String)]) -> Result<Vec<String>, SpecError> {
    let mut lines = vec![
        "# hac_package_version NAME X.Y.Z: the repository's full version of NAME X.Y.Z.".to_owned(),
        "hac_package_version() {".to_owned(),
        "  local found".to_owned(),
        "  if [[ -e $HAC_STATE_DIR/apt-lists-stale ]]; then".to_owned(),
        "    hac_apt_update >&2".to_owned(),
        "  fi".to_owned(),
        "  found=$(apt-cache madison \"$1\" | awk -v prefix=\"$2-\" 'found == \"\" && index($3, prefix) == 1 { found = $3 } END { print found }')".to_owned(),
        "  if [[ -z $found ]]; then".to_owned(),
        "    log \"$1 $2 is not in the Kubernetes package repository; it has: $(apt-cache madison \"$1\" | awk '{ print $3 }' | tr '\\n' ' ')\"".to_owned(),
        "    touch \"$HAC_STATE_DIR/apt-lists-stale\"".to_owned(),
        "    return 1".to_owned(),
        "  fi".to_owned(),
        "  printf '%s\\n' \"$found\"".to_owned(),
        "}".to_owned(),
    ];
    let install = vec![
        "retry".to_owned(),
        APT_ATTEMPTS.to_string(),
        APT_BACKOFF_SECONDS.to_string(),
        "hac_apt_install".to_owned(),
        "--no-install-recommends".to_owned(),
        "--allow-downgrades".to_owned(),
        "--allow-change-held-packages".to_owned(),
    ];
    let mut install_line = String::new();
    for (name, version) in pinned {
        let variable = format!("{}_version", name.replace('-', "_"));
        lines.push(format!(
            "{variable}=$(retry {APT_ATTEMPTS} {APT_BACKOFF_SECONDS} hac_package_version {} {}) || hac_fail package-missing {}",
            quote(name)?,
            quote(version)?,
            quote(&format!("{name} {version} is not in the Kubernetes package repository (after refreshing the lists {APT_ATTEMPTS} times): build for a Kubernetes version the repository has, or fix the mirror, then run hac-bootstrap again"))?
        ));
        install_line.push_str(&format!(" {}=\"${variable}\"", quote(name)?));
    }
    lines.push(format!("{}{install_line}", command(&install)?));
    let mut hold = vec!["apt-mark".to_owned(), "hold".to_owned()];
    hold.extend(pinned.iter().map(|(name, _)| name.clone()));
    lines.push(command(&hold)?);
    lines.push("systemctl enable kubelet".to_owned());
    Ok(lines)
}

/// The standard CNI plugins (bridge, portmap, loopback, host-local) where
/// containerd looks for them. The kubelet package used to pull in
/// `kubernetes-cni`; when the repository no longer has it, Debian's
/// `containernetworking-plugins` provides them under another directory.
fn cni_plugins() -> Result<Vec<String>, SpecError> {
    Ok(vec![
        "if [[ -n $(apt-cache madison kubernetes-cni) ]]; then".to_owned(),
        format!(
            "  retry {APT_ATTEMPTS} {APT_BACKOFF_SECONDS} hac_apt_install --no-install-recommends kubernetes-cni"
        ),
        "else".to_owned(),
        format!(
            "  retry {APT_ATTEMPTS} {APT_BACKOFF_SECONDS} hac_apt_install --no-install-recommends containernetworking-plugins"
        ),
        format!("  install -d -m 0755 {}", quote(paths::CNI_BIN_DIR)?),
        format!(
            "  for plugin in {}/*; do",
            quote(paths::CNI_DEBIAN_BIN_DIR)?
        ),
        format!(
            "    [[ -e {}/${{plugin##*/}} ]] || ln -s \"$plugin\" {}/",
            quote(paths::CNI_BIN_DIR)?,
            quote(paths::CNI_BIN_DIR)?
        ),
        "  done".to_owned(),
        "fi".to_owned(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version() -> KubernetesVersion {
        KubernetesVersion::parse("1.36.1").unwrap()
    }

    #[test]
    fn plan_packages_sort_into_plain_and_pinned() {
        let list: Vec<String> = ["containerd", "kubelet=1.36.1", "kubeadm=1.36.1", "haproxy"]
            .map(String::from)
            .to_vec();
        let packages = Packages::parse(&list, version()).unwrap();
        assert_eq!(packages.plain, ["containerd", "haproxy"]);
        assert_eq!(
            packages.pinned,
            [
                ("kubelet".to_owned(), "1.36.1".to_owned()),
                ("kubeadm".to_owned(), "1.36.1".to_owned())
            ]
        );
        assert!(packages.is_kubernetes());
    }

    #[test]
    fn foreign_pins_and_odd_names_are_refused() {
        for bad in [
            "kubelet=1.35.0",
            "etcd=3.5.0",
            "Haproxy",
            "a",
            "x; rm -rf /",
            "-o",
        ] {
            assert!(
                Packages::parse(&[bad.to_owned()], version()).is_err(),
                "{bad}"
            );
        }
    }

    /// Runs `lines` as the body of a function in bash with `stubs` defined first;
    /// returns (success, stdout + stderr).
    fn run_body(stubs: &str, lines: &[String], env: &[(&str, &str)]) -> (bool, String) {
        let script = format!(
            "set -Eeuo pipefail\nHAC_STATE_DIR=$(mktemp -d)\nlog() {{ printf 'LOG %s\\n' \"$*\" >&2; }}\nhac_fail() {{ printf 'LOG FAILED(%s) %s\\n' \"$1\" \"$2\" >&2; exit 3; }}\n{stubs}\nbody() {{\n{}\n}}\nbody\n",
            lines.join("\n")
        );
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .envs(env.iter().copied())
            .output()
            .expect("bash runs");
        (
            output.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    }

    const CONFIGURE_STUBS: &str = r#"containerd() { printf '%s\n' "$FAKE_VERSION"; }
install() { printf 'INSTALL %s\n' "$*"; }
systemctl() { :; }
wait_until() { :; }"#;

    #[test]
    fn a_cluster_that_needs_containerd_2_refuses_containerd_1() {
        let lines = configure_containerd(true).unwrap();
        let (ok, out) = run_body(
            CONFIGURE_STUBS,
            &lines,
            &[(
                "FAKE_VERSION",
                "containerd github.com/containerd/containerd 1.7.12",
            )],
        );
        assert!(!ok, "{out}");
        assert!(out.contains("no configuration for containerd"), "{out}");
        let (ok, out) = run_body(
            CONFIGURE_STUBS,
            &lines,
            &[("FAKE_VERSION", "containerd containerd.io 2.0.2 c507a0257")],
        );
        assert!(ok, "{out}");
        assert!(out.contains(paths::CONTAINERD_CONFIG_V2), "{out}");
    }

    #[test]
    fn the_containerd_config_follows_the_installed_major_version() {
        let lines = configure_containerd(false).unwrap();
        for (version, expected) in [
            (
                "containerd github.com/containerd/containerd 1.7.12",
                Some(paths::CONTAINERD_CONFIG_V1),
            ),
            (
                "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1",
                Some(paths::CONTAINERD_CONFIG_V1),
            ),
            (
                "containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376",
                Some(paths::CONTAINERD_CONFIG_V2),
            ),
            (
                "containerd containerd.io 2.0.2 c507a0257",
                Some(paths::CONTAINERD_CONFIG_V2),
            ),
            ("containerd github.com/containerd/containerd v3.0.0", None),
            ("something else", None),
        ] {
            let (ok, out) = run_body(CONFIGURE_STUBS, &lines, &[("FAKE_VERSION", version)]);
            match expected {
                Some(config) => {
                    assert!(ok, "{version}: {out}");
                    assert!(
                        out.contains(&format!(
                            "INSTALL -D -m 0600 {config} {}",
                            paths::CONTAINERD_CONFIG
                        )),
                        "{version}: {out}"
                    );
                }
                None => {
                    assert!(!ok, "{version} was accepted: {out}");
                    assert!(out.contains("LOG "), "{version}: no explanation in {out}");
                }
            }
        }
    }

    #[test]
    fn the_package_revision_is_resolved_for_the_exact_patch_only() {
        let madison = r#"apt-cache() {
  printf '%s\n' \
    '   kubeadm | 1.36.10-1.1 | https://pkgs.k8s.io/core:/stable:/v1.36/deb  Packages' \
    '   kubeadm | 1.36.1-1.2 | https://pkgs.k8s.io/core:/stable:/v1.36/deb  Packages' \
    '   kubeadm | 1.36.1-1.1 | https://pkgs.k8s.io/core:/stable:/v1.36/deb  Packages' \
    '   kubeadm | 1.36.0-1.1 | https://pkgs.k8s.io/core:/stable:/v1.36/deb  Packages'
}
retry() { shift 2; "$@"; }
hac_apt_install() { printf 'APT install %s\n' "$*"; }
apt-mark() { printf 'MARK %s\n' "$*"; }
systemctl() { :; }"#;
        let pinned = |version: &str| vec![("kubeadm".to_owned(), version.to_owned())];
        let (ok, out) = run_body(madison, &install_pinned(&pinned("1.36.1")).unwrap(), &[]);
        assert!(ok, "{out}");
        assert!(out.contains("kubeadm=1.36.1-1.2"), "{out}");
        assert!(out.contains("MARK hold kubeadm"), "{out}");
        let (ok, out) = run_body(madison, &install_pinned(&pinned("1.36.0")).unwrap(), &[]);
        assert!(ok && out.contains("kubeadm=1.36.0-1.1"), "{out}");
        let (ok, out) = run_body(madison, &install_pinned(&pinned("1.36.2")).unwrap(), &[]);
        assert!(!ok, "{out}");
        assert!(
            out.contains("kubeadm 1.36.2 is not in the Kubernetes package repository"),
            "{out}"
        );
        assert!(
            !out.contains("APT"),
            "installed despite the missing version: {out}"
        );
    }

    /// A retry of a failed install or version lookup refreshes the lists first, and a
    /// refresh treats an unreachable source as an error.
    #[test]
    fn retried_installs_and_lookups_refresh_the_lists_first() {
        let stubs = r#"apt-get() {
  printf 'APT-GET %s\n' "$*" >&2
  if [[ " $* " == *" install "* ]]; then
    [[ -e $HAC_STATE_DIR/install-ok ]] || { touch "$HAC_STATE_DIR/install-ok"; return 100; }
  fi
  return 0
}
apt-cache() {
  if [[ -e $HAC_STATE_DIR/lists-ok ]]; then
    printf '   kubeadm | 1.36.1-1.1 | https://pkgs.k8s.io/core:/stable:/v1.36/deb  Packages\n'
  fi
}
retry() {
  local attempts=$1 status=0
  shift 2
  for ((i = 1; i <= attempts; i++)); do
    ("$@") && return 0 || status=$?
    touch "$HAC_STATE_DIR/lists-ok"
  done
  return "$status"
}
apt-mark() { :; }
systemctl() { :; }
dpkg() { printf 'DPKG %s\n' "$*" >&2; }"#;
        let mut lines = vec![APT_FUNCTION.to_owned()];
        lines.push(format!(
            "retry {APT_ATTEMPTS} {APT_BACKOFF_SECONDS} hac_apt_update"
        ));
        lines.extend(install_pinned(&[("kubeadm".to_owned(), "1.36.1".to_owned())]).unwrap());
        let (ok, out) = run_body(stubs, &lines, &[]);
        assert!(ok, "{out}");
        let calls: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("APT-GET "))
            .map(|l| l.rsplit("--force-confold ").next().unwrap())
            .collect();
        assert_eq!(
            calls,
            [
                "update --error-on=any",
                // the lookup missed: the lists are refreshed before the next one
                "update --error-on=any",
                "install --no-install-recommends --allow-downgrades --allow-change-held-packages kubeadm=1.36.1-1.1",
                // the install failed: dpkg finished and lists refreshed before the next one
                "update --error-on=any",
                "install --no-install-recommends --allow-downgrades --allow-change-held-packages kubeadm=1.36.1-1.1",
            ],
            "{out}"
        );
        assert_eq!(
            out.matches("DPKG --force-confdef --force-confold --configure -a")
                .count(),
            1,
            "{out}"
        );
    }

    fn containerd_downloads() -> Vec<Download> {
        let artefact = Artefact::Containerd;
        let version = artefact.default_version(version().minor);
        ["amd64", "arm64"]
            .into_iter()
            .map(|arch| Download {
                artefact,
                version: version.to_owned(),
                part: arch.to_owned(),
                architecture: Some(arch.to_owned()),
                url: artefact.url(version, arch).unwrap(),
                upstream: artefact.url(version, arch).unwrap(),
                sha256: artefact.pinned_sha256(version, arch).map(str::to_owned),
                path: download::host_path(artefact, version, arch),
                step: download::PACKAGES_STEP,
                hosts: vec!["w1".to_owned()].into(),
            })
            .collect()
    }

    #[test]
    fn containerd_2_comes_from_upstream_only_where_the_os_has_1_x() {
        let downloads = containerd_downloads();
        let refs: Vec<&Download> = downloads.iter().collect();
        let lines = install_containerd(version(), &refs).unwrap();
        let stubs = r#"apt-cache() { [[ -z $FAKE_CANDIDATE ]] || printf ' containerd | %s | http://archive Packages\n' "$FAKE_CANDIDATE"; }
retry() { shift 2; "$@"; }
hac_apt_install() { printf 'APT install %s\n' "$*"; }
curl() { printf 'CURL %s\n' "$*"; }
dpkg() { printf 'amd64\n'; }
sha256sum() { cat >/dev/null; printf 'SHA %s\n' "$*"; }
mv() { :; }
tar() { printf 'TAR %s\n' "$*"; }
install() { :; }
cd() { :; }
systemctl() { :; }"#;
        for (candidate, upstream) in [
            ("1.7.24-0ubuntu1~24.04.2", true),
            ("1.6.20~ds1-1+b1", true),
            ("", true),
            ("2.1.3-0ubuntu1", false),
            ("1:2.0.0-1", false),
        ] {
            let (ok, out) = run_body(stubs, &lines, &[("FAKE_CANDIDATE", candidate)]);
            assert!(ok, "{candidate}: {out}");
            assert_eq!(
                out.contains("APT install --no-install-recommends containerd"),
                !upstream,
                "{candidate}: {out}"
            );
            assert_eq!(out.contains("SHA --check"), upstream, "{candidate}: {out}");
            if upstream {
                assert!(
                    out.contains(&format!(
                        "containerd-{}-linux-amd64.tar.gz",
                        Artefact::Containerd.default_version(version().minor)
                    )),
                    "{out}"
                );
                assert!(
                    out.contains("APT install --no-install-recommends runc"),
                    "{out}"
                );
            }
        }
        // Older Kubernetes keeps the OS's containerd without asking.
        let older = KubernetesVersion::parse("1.35.0").unwrap();
        assert!(
            !install_containerd(older, &[])
                .unwrap()
                .join("\n")
                .contains("releases")
        );
    }

    #[test]
    fn an_unusual_package_mirror_reaches_apt_verbatim() {
        let mirror = "https://[fd00::1]:8080/k8s~x%20+y/a_b";
        let lines = kubernetes_repository(mirror, version()).unwrap();
        let source_line = lines
            .iter()
            .find(|l| l.starts_with("printf '%s\\n' "))
            .expect("the source line")
            .replace(&format!(">{}", paths::KUBERNETES_APT_SOURCE), "");
        let (ok, out) = run_body("", &[source_line], &[]);
        assert!(ok, "{out}");
        assert_eq!(
            out,
            format!(
                "deb [signed-by={}] {mirror}/core:/stable:/v1.36/deb/ /\n",
                paths::KUBERNETES_APT_KEYRING
            )
        );
        let key = lines
            .iter()
            .find(|l| l.contains("Release.key"))
            .expect("the key download");
        assert!(
            key.ends_with(&format!("'{mirror}/core:/stable:/v1.36/deb/Release.key'")),
            "{key}"
        );
    }
}
