//! Validators for the strings the model accepts. Every string that later reaches a
//! shell script or configuration file is restricted here to a safe character set
//! where its meaning allows; each error is a reason phrased to follow "expected …".

use std::net::IpAddr;

use super::types::{Address, Endpoint, Taint, TaintEffect};

/// A lowercase RFC 1123 label: what Kubernetes requires of node names and kubeadm of
/// `clusterName`.
pub fn dns_label(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a DNS-1123 label: 1 to 63 characters from `a-z`, `0-9` and `-`, starting and ending with a letter or digit",
            text.escape_debug()
        ))
    }
}

/// A lowercase RFC 1123 subdomain (dot-separated labels, at most 253 characters).
pub fn dns_name(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| dns_label(label).is_ok());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a DNS name: lowercase labels of `a-z`, `0-9` and `-` separated by dots",
            text.escape_debug()
        ))
    }
}

/// A Linux network interface name as keepalived and the generated scripts take it:
/// the kernel allows 1 to 15 bytes (IFNAMSIZ - 1) without `/`, whitespace or `:`,
/// and not `.` or `..`; hac further keeps to letters, digits, `-`, `_` and `.`, so
/// the name is safe in a configuration file without quoting.
pub fn interface_name(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 15
        && text != "."
        && text != ".."
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a network interface name: 1 to 15 characters from `A-Z`, `a-z`, `0-9`, `-`, `_` and `.`, not `.` or `..`",
            text.escape_debug()
        ))
    }
}

/// A host's address: an IPv4 or IPv6 address a host can have and others can reach it
/// at, or a DNS name.
pub fn address(text: &str) -> Result<Address, String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return match unusable_host_ip(ip) {
            Some(why) => Err(format!("`{ip}` is {why}, not a host's address")),
            None => Ok(Address::Ip(ip)),
        };
    }
    // A dotted quad that did not parse is a typo, not a DNS name.
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') || text.contains(':') {
        return Err(format!(
            "`{}` is not a valid IP address",
            text.escape_debug()
        ));
    }
    dns_name(text)
        .map(|()| Address::Dns(text.to_owned()))
        .map_err(|_| {
            format!(
                "`{}` is neither an IP address nor a lowercase DNS name",
                text.escape_debug()
            )
        })
}

/// Why `ip` cannot be a host's address, if it cannot: no host has the unspecified,
/// broadcast or a multicast address, an IPv6 link-local address needs a zone the
/// generated configuration cannot know, and `127.0.0.1` and `::1` are where every host
/// (etcd, the kubelet) listens for itself. (Other `127.x` addresses stay usable: they
/// let the whole cluster's configuration run on one machine in tests.)
pub fn unusable_host_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => Some("the unspecified address"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast address"),
        IpAddr::V4(v4) if v4.is_multicast() => Some("a multicast address"),
        IpAddr::V4(v4) if v4 == std::net::Ipv4Addr::LOCALHOST => {
            Some("the loopback address every host listens on for itself")
        }
        IpAddr::V6(v6) if v6.is_unspecified() => Some("the unspecified address"),
        IpAddr::V6(v6) if v6.is_multicast() => Some("a multicast address"),
        IpAddr::V6(v6) if v6.is_loopback() => {
            Some("the loopback address every host listens on for itself")
        }
        IpAddr::V6(v6) if v6.is_unicast_link_local() => {
            Some("a link-local address (it needs a zone such as `%eth0`)")
        }
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .and_then(|v4| unusable_host_ip(IpAddr::V4(v4))),
        IpAddr::V4(_) => None,
    }
}

/// `host:port`, with IPv6 hosts in brackets.
pub fn endpoint(text: &str) -> Result<Endpoint, String> {
    let form = || {
        format!(
            "`{}` is not `host:port`: write it like `api.example.com:6443`, `10.0.0.100:6443` or `[fd00::100]:6443`",
            text.escape_debug()
        )
    };
    if let Some((scheme, rest)) = text.split_once("://") {
        let host_port = rest.split('/').next().unwrap_or_default();
        let host_port =
            if host_port.is_empty() || host_port.ends_with(']') || !host_port.contains(':') {
                format!("{host_port}:6443")
            } else {
                host_port.to_owned()
            };
        return Err(format!(
            "`{}` is not `host:port`: drop the `{scheme}://`; `endpoint` is `host:port`, not a URL: write `{}`",
            text.escape_debug(),
            host_port.escape_debug()
        ));
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, port) = rest.split_once("]:").ok_or_else(form)?;
        let ip: std::net::Ipv6Addr = host.parse().map_err(|_| form())?;
        (Address::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = text.rsplit_once(':').ok_or_else(form)?;
        if host.contains(':') {
            return Err(format!(
                "`{}` is not `host:port`: put an IPv6 address in brackets, like `[fd00::100]:6443`",
                text.escape_debug()
            ));
        }
        (
            address(host).map_err(|reason| {
                format!("`{}` is not `host:port`: {reason}", text.escape_debug())
            })?,
            port,
        )
    };
    let port = port_number(port).map_err(|reason| {
        if port.is_empty() {
            form()
        } else {
            format!("`{}` is not `host:port`: {reason}", text.escape_debug())
        }
    })?;
    Ok(Endpoint { host, port })
}

/// A TCP port 1–65535 written in decimal.
pub fn port_number(text: &str) -> Result<u16, String> {
    let canonical = !text.is_empty()
        && text.len() <= 5
        && text.bytes().all(|b| b.is_ascii_digit())
        && !text.starts_with('0');
    match text.parse::<u16>() {
        Ok(port) if canonical && port > 0 => Ok(port),
        _ => Err(format!(
            "`{}` is not a port number from 1 to 65535",
            text.escape_debug()
        )),
    }
}

/// A port given as an integer.
pub fn port(value: i64) -> Result<u16, String> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{value} is not a port number from 1 to 65535"))
}

fn is_label_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    !text.is_empty()
        && text.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A Kubernetes label (or taint) key: `[prefix/]name`, the prefix a DNS subdomain.
pub fn label_key(text: &str) -> Result<(), String> {
    let (prefix, name) = match text.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, text),
    };
    if !is_label_name(name) || prefix.is_some_and(|p| dns_name(p).is_err()) {
        return Err(format!(
            "`{}` is not a label key: an optional DNS-name prefix and `/`, then 1 to 63 characters from `A-Z a-z 0-9 - _ .` starting and ending with a letter or digit",
            text.escape_debug()
        ));
    }
    Ok(())
}

/// The keys in the `kubernetes.io` namespace that a node may set on itself and that
/// are a person's to choose: the kubelet's own list (`IsKubeletLabel` in
/// k8s.io/kubelet/pkg/apis/well_known_labels.go, which the NodeRestriction admission
/// plugin applies too) less the ones the kubelet sets from the machine (hostname,
/// os, arch) and the deprecated `failure-domain.beta` and `beta.` forms.
const SELF_SET_LABELS: [&str; 2] = [
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
];

/// A label key the kubelet accepts in `--node-labels`: it refuses keys in the
/// `kubernetes.io` and `k8s.io` namespaces except a few it owns.
pub fn node_label_key(text: &str) -> Result<(), String> {
    label_key(text)?;
    if SELF_SET_LABELS.contains(&text) {
        return Ok(());
    }
    let Some((prefix, _)) = text.split_once('/') else {
        return Ok(());
    };
    let reserved = |domain: &str| prefix == domain || prefix.ends_with(&format!(".{domain}"));
    let allowed_prefix = ["kubelet.kubernetes.io", "node.kubernetes.io"]
        .iter()
        .any(|allowed| prefix == *allowed || prefix.ends_with(&format!(".{allowed}")));
    if (reserved("kubernetes.io") || reserved("k8s.io")) && !allowed_prefix {
        return Err(
            "the kubelet refuses this label: labels in the `kubernetes.io` and `k8s.io` namespaces (other than `node.kubernetes.io/`, `kubelet.kubernetes.io/`, `topology.kubernetes.io/zone` and `topology.kubernetes.io/region`) can only be applied through the API".to_owned(),
        );
    }
    Ok(())
}

/// A Kubernetes label value: empty, or up to 63 characters like a label name.
pub fn label_value(text: &str) -> Result<(), String> {
    if text.is_empty() || is_label_name(text) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a label value: up to 63 characters from `A-Z a-z 0-9 - _ .` starting and ending with a letter or digit",
            text.escape_debug()
        ))
    }
}

/// `key[=value]:Effect`.
pub fn taint(text: &str) -> Result<Taint, String> {
    let form = format!(
        "`{}` is not a taint: write `key=value:Effect` or `key:Effect`, with Effect `NoSchedule`, `PreferNoSchedule` or `NoExecute`",
        text.escape_debug()
    );
    let (key_value, effect) = text.rsplit_once(':').ok_or_else(|| form.clone())?;
    let effect = match effect {
        "NoSchedule" => TaintEffect::NoSchedule,
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        "NoExecute" => TaintEffect::NoExecute,
        _ => return Err(form),
    };
    let (key, value) = match key_value.split_once('=') {
        Some((key, value)) => (key, Some(value)),
        None => (key_value, None),
    };
    label_key(key).map_err(|reason| format!("{form}: {reason}"))?;
    if let Some(value) = value {
        label_value(value).map_err(|reason| format!("{form}: {reason}"))?;
    }
    Ok(Taint {
        key: key.to_owned(),
        value: value.map(str::to_owned),
        effect,
    })
}

/// An absolute file path without `.`/`..` components, from `A-Z a-z 0-9 . _ - + @ /`.
pub fn file_path(text: &str) -> Result<(), String> {
    let safe = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'@' | b'/'));
    let components_ok = text.strip_prefix('/').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..")
    });
    if safe && components_ok && text.len() <= 4096 {
        match reserved_file(text) {
            Some(why) => Err(format!(
                "`{text}` is reserved: {why}; put the file somewhere else"
            )),
            None => Ok(()),
        }
    } else {
        Err(format!(
            "`{}` is not an absolute file path of `A-Z a-z 0-9 . _ - + @` components without `.`, `..` or empty parts",
            text.escape_debug()
        ))
    }
}

/// Places a user's file must not go, each with the reason: hac writes them itself
/// (a user file would replace its own or be overwritten), the bootstrap keeps its
/// progress there, or kubeadm must create them and refuses to run when they exist
/// (`join` preflight: `DirAvailable--etc-kubernetes-manifests`, `FileAvailable` on the
/// kubeconfigs and `pki/ca.crt`). An entry covers itself and everything under it.
const RESERVED_FILES: &[(&str, &str)] = &[
    (
        "/etc/kubernetes/audit-policy.yaml",
        "hac writes the API server's audit policy there (`controlplane.audit`)",
    ),
    (
        "/etc/kubernetes/encryption-config.yaml",
        "hac writes the API server's encryption configuration there (`controlplane.encryptSecrets`)",
    ),
    (
        "/etc/hac",
        "hac writes the host's kubeadm, containerd and network configuration there",
    ),
    (
        "/var/lib/hac",
        "the bootstrap script records its progress there, so a file would mark steps as finished",
    ),
    (
        "/usr/local/sbin/hac-bootstrap",
        "it is hac's bootstrap script",
    ),
    (
        "/etc/systemd/system/hac-bootstrap.service",
        "it is the unit that resumes the bootstrap after a reboot",
    ),
    (
        "/usr/local/sbin/hac-keeper",
        "it is hac's keeper, which keeps the join tokens on control planes",
    ),
    (
        "/etc/systemd/system/hac-keeper.service",
        "it is the unit that runs hac's keeper",
    ),
    (
        "/etc/systemd/system/hac-keeper.timer",
        "it is the timer that runs hac's keeper every minute",
    ),
    (
        "/etc/kubernetes/manifests",
        "kubeadm join refuses to run when that directory is not empty",
    ),
    (
        "/etc/kubernetes/pki",
        "kubeadm keeps the cluster's certificates there, seeded by hac from the secrets bundle",
    ),
    (
        "/etc/kubernetes/admin.conf",
        "kubeadm writes it and refuses to run when it exists",
    ),
    (
        "/etc/kubernetes/super-admin.conf",
        "kubeadm writes it and refuses to run when it exists",
    ),
    (
        "/etc/kubernetes/kubelet.conf",
        "kubeadm writes it and refuses to run when it exists",
    ),
    (
        "/etc/kubernetes/bootstrap-kubelet.conf",
        "kubeadm writes it and refuses to run when it exists",
    ),
    (
        "/etc/kubernetes/controller-manager.conf",
        "kubeadm writes it and refuses to run when it exists",
    ),
    (
        "/etc/kubernetes/scheduler.conf",
        "kubeadm writes it and refuses to run when it exists",
    ),
    (
        "/var/lib/kubelet",
        "kubeadm writes the kubelet's configuration there",
    ),
    ("/var/lib/etcd", "it is etcd's data directory"),
    (
        "/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf",
        "it runs the kubelet of an etcd member on its own, written by hac",
    ),
    (
        "/usr/local/lib/systemd/system/containerd.service",
        "hac installs containerd's unit there when it installs containerd itself",
    ),
    (
        "/etc/containerd/config.toml",
        "hac generates containerd's configuration",
    ),
    (
        "/etc/haproxy/haproxy.cfg",
        "hac generates haproxy's configuration",
    ),
    (
        "/etc/keepalived/keepalived.conf",
        "hac generates keepalived's configuration",
    ),
    (
        "/etc/keepalived/hac-check-haproxy",
        "it is keepalived's health check, written by hac",
    ),
    (
        "/etc/modules-load.d/hac-kubernetes.conf",
        "hac loads the kernel modules Kubernetes needs with it",
    ),
    (
        "/etc/sysctl.d/99-hac-kubernetes.conf",
        "hac sets the kernel parameters Kubernetes needs with it",
    ),
    (
        "/etc/apt/keyrings/kubernetes-apt-keyring.gpg",
        "hac installs the Kubernetes package key there",
    ),
    (
        "/etc/apt/sources.list.d/kubernetes.list",
        "hac configures the Kubernetes package repository with it",
    ),
    (
        "/root/.kube/config",
        "hac gives root the cluster's admin kubeconfig there",
    ),
];

/// Why `path` is reserved, if it is (see [`RESERVED_FILES`]).
pub fn reserved_file(path: &str) -> Option<&'static str> {
    RESERVED_FILES.iter().find_map(|(reserved, why)| {
        let inside = path
            .strip_prefix(reserved)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        inside.then_some(*why)
    })
}

/// Octal permissions written as four digits, e.g. `0644`.
pub fn permissions(text: &str) -> Result<u32, String> {
    let ok = text.len() == 4
        && text.starts_with('0')
        && text.bytes().all(|b| (b'0'..=b'7').contains(&b));
    if ok {
        Ok(u32::from_str_radix(text, 8).expect("octal digits"))
    } else {
        Err(format!(
            "`{}` is not octal permissions like `0644` or `0600`",
            text.escape_debug()
        ))
    }
}

/// `user` or `user:group`, POSIX-portable names.
pub fn owner(text: &str) -> Result<(), String> {
    let name = |n: &str| {
        !n.is_empty()
            && n.len() <= 32
            && n.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    let ok = match text.split_once(':') {
        Some((user, group)) => name(user) && name(group),
        None => name(text),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not `user` or `user:group`",
            text.escape_debug()
        ))
    }
}

/// A duration like `24h`, `1h30m`, `90s`, or `0`; returns seconds.
pub fn duration(text: &str) -> Result<u64, String> {
    let form = || {
        format!(
            "`{}` is not a duration like `24h`, `1h30m` or `0`",
            text.escape_debug()
        )
    };
    if text == "0" {
        return Ok(0);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut last_unit = u64::MAX;
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit = match ch {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(form()),
        };
        // Units must be given once each, largest first, each with a number.
        if digits.is_empty() || unit >= last_unit || digits.len() > 9 {
            return Err(form());
        }
        last_unit = unit;
        total = total
            .checked_add(digits.parse::<u64>().map_err(|_| form())? * unit)
            .ok_or_else(form)?;
        digits.clear();
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(form());
    }
    Ok(total)
}

/// Go-style duration for kubeadm, e.g. `24h0m0s`.
pub fn format_duration(seconds: u64) -> String {
    format!("{}h{}m{}s", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// An `http`/`https` URL from a conservative character set.
pub fn url(text: &str) -> Result<(), String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let ok = rest.is_some_and(|rest| {
        let host = rest.split(['/', ':']).next().unwrap_or("");
        !host.is_empty()
            && rest.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'.' | b'_' | b'-' | b'~' | b'/' | b':' | b'%' | b'+' | b'[' | b']'
                    )
            })
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an `http://` or `https://` URL of `A-Z a-z 0-9 . _ - ~ / : % +` characters",
            text.escape_debug()
        ))
    }
}

/// kubeadm's `imageRepository`: a registry host (with an optional port) and path,
/// without a scheme (`registry.example.com/k8s`).
pub fn image_repository(text: &str) -> Result<(), String> {
    let form = || {
        format!(
            "`{}` is not an image repository like `registry.example.com/k8s` (a registry host and path, without `https://`)",
            text.escape_debug()
        )
    };
    let trimmed = text.trim_end_matches('/');
    let (host, path) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    registry_host(host).map_err(|_| form())?;
    let path_ok = path.split('/').all(|component| {
        path.is_empty()
            || (!component.is_empty()
                && component.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                }))
    });
    if path_ok { Ok(()) } else { Err(form()) }
}

/// One `no_proxy` entry: a host name, `.domain` suffix, IP address or CIDR.
pub fn no_proxy_entry(text: &str) -> Result<(), String> {
    let name = text.strip_prefix('.').unwrap_or(text);
    let ok = dns_name(&name.to_ascii_lowercase()).is_ok()
        || text.parse::<IpAddr>().is_ok()
        || text.parse::<super::cidr::Cidr>().is_ok();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a host, `.domain`, IP address or CIDR for `no_proxy`",
            text.escape_debug()
        ))
    }
}

/// A container registry host, optionally with a port (`docker.io`, `registry.local:5000`).
pub fn registry_host(text: &str) -> Result<(), String> {
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    let host_ok = dns_name(host).is_ok() || host.parse::<IpAddr>().is_ok();
    if host_ok && port.is_none_or(|p| port_number(p).is_ok()) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a registry host like `docker.io` or `registry.local:5000`",
            text.escape_debug()
        ))
    }
}

/// The name of a registry login in the secrets bundle: a lowercase DNS-1123 label.
pub fn registry_login(text: &str) -> Result<(), String> {
    if crate::secrets::is_registry_login_name(text) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a registry login name: use a lowercase DNS-1123 label (`a-z`, `0-9`, `-`), as `hac secrets set-registry-login NAME` stores it",
            text.escape_debug()
        ))
    }
}

const SSH_KEY_TYPES: [&str; 7] = [
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// One OpenSSH public key line: `type base64 [comment]`.
pub fn ssh_public_key(text: &str) -> Result<(), String> {
    let mut parts = text.splitn(3, ' ');
    let kind = parts.next().unwrap_or("");
    let key = parts.next().unwrap_or("");
    let comment = parts.next().unwrap_or("");
    let base64 = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    };
    let printable = |s: &str| s.chars().all(|c| !c.is_control());
    if SSH_KEY_TYPES.contains(&kind) && base64(key) && printable(comment) {
        Ok(())
    } else {
        Err(format!(
            "not an OpenSSH public key line (`{} AAAA… comment`); the type must be one of {}",
            SSH_KEY_TYPES[0],
            SSH_KEY_TYPES.map(|t| format!("`{t}`")).join(", ")
        ))
    }
}

/// Flags hac sets itself from the model; overriding them would break the cluster.
pub const KUBELET_FLAGS_SET_BY_HAC: [&str; 3] = ["node-ip", "node-labels", "register-with-taints"];

/// A command-line flag's name as the Kubernetes components spell them, without the
/// leading `--`: a lower-case letter, then lower-case letters, digits and `-`.
fn is_flag_name(text: &str) -> bool {
    text.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A kubelet flag name without the leading `--`.
pub fn kubelet_flag(text: &str) -> Result<(), String> {
    if !is_flag_name(text) {
        return Err(format!(
            "`{}` is not a kubelet flag name like `max-pods` (no leading `--`)",
            text.escape_debug()
        ));
    }
    if KUBELET_FLAGS_SET_BY_HAC.contains(&text) {
        return Err(format!(
            "hac sets `--{text}` itself (from the host's `address`, `labels` and `taints`)"
        ));
    }
    Ok(())
}

/// A single-line printable string (kubelet flag values, commands): the emitter quotes it.
pub fn single_line(text: &str) -> Result<(), String> {
    if text.chars().any(|c| c.is_control()) {
        Err("the value must be one line without control characters".to_owned())
    } else {
        Ok(())
    }
}

/// A `kubelet.extraArgs` value kubeadm passes through verbatim. kubeadm joins the
/// kubelet's flags with spaces into `KUBELET_KUBEADM_ARGS`, which systemd splits on
/// whitespace, unquotes and expands `$` in: a space would start a new flag, a quote,
/// backslash or `$` would be rewritten.
pub fn kubelet_arg_value(text: &str) -> Result<(), String> {
    let Some((index, c)) = text.chars().enumerate().find(|(_, c)| {
        c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '`' | '$' | '\\')
    }) else {
        return Ok(());
    };
    let what = match c {
        ' ' => "a space".to_owned(),
        '"' | '\'' | '`' => format!("a quote (`{c}`)"),
        '$' => "`$`".to_owned(),
        '\\' => "a backslash".to_owned(),
        c if c.is_whitespace() => format!("whitespace (U+{:04X})", u32::from(c)),
        c => format!("a control character (U+{:04X})", u32::from(c)),
    };
    Err(format!(
        "`{}` contains {what} at character {}: kubeadm joins the kubelet's flags with spaces and systemd splits, unquotes and expands them, so it would not reach the kubelet as written",
        text.escape_debug(),
        index + 1
    ))
}

/// Free text for a file or a script: anything but NUL, which no file system or shell keeps.
pub fn text(text: &str) -> Result<(), String> {
    if text.contains('\0') {
        Err("the text must not contain NUL characters".to_owned())
    } else {
        Ok(())
    }
}

/// A control-plane component whose flags `controlplane.<component>.extraArgs` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    ApiServer,
    ControllerManager,
    Scheduler,
}

impl Component {
    pub fn binary(self) -> &'static str {
        match self {
            Component::ApiServer => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
        }
    }

    /// Flags hac or kubeadm set from the model or the PKI, with why another value
    /// would break the cluster.
    fn reserved(self) -> &'static [(&'static str, &'static str)] {
        const AUDIT: &str = "hac sets it from `controlplane.audit`";
        const KUBEADM_PKI: &str = "kubeadm points it at the certificates hac seeds";
        const KUBEADM_CONF: &str =
            "kubeadm points it at the component's kubeconfig, which it writes";
        const PORT: &str = "the static pod's probes and hac's load balancer use kubeadm's port";
        match self {
            Component::ApiServer => &[
                ("audit-policy-file", AUDIT),
                ("audit-log-path", AUDIT),
                ("audit-log-maxage", AUDIT),
                ("audit-log-maxbackup", AUDIT),
                ("audit-log-maxsize", AUDIT),
                (
                    "encryption-provider-config",
                    "hac sets it from `controlplane.encryptSecrets` with the key of the secrets bundle",
                ),
                (
                    "advertise-address",
                    "kubeadm sets it from the host's `address`",
                ),
                ("secure-port", PORT),
                (
                    "etcd-servers",
                    "kubeadm sets it from `etcd` (the stacked member or `etcd.external`)",
                ),
                ("etcd-cafile", KUBEADM_PKI),
                ("etcd-certfile", KUBEADM_PKI),
                ("etcd-keyfile", KUBEADM_PKI),
                ("client-ca-file", KUBEADM_PKI),
                ("tls-cert-file", KUBEADM_PKI),
                ("tls-private-key-file", KUBEADM_PKI),
                ("kubelet-client-certificate", KUBEADM_PKI),
                ("kubelet-client-key", KUBEADM_PKI),
                ("requestheader-client-ca-file", KUBEADM_PKI),
                ("proxy-client-cert-file", KUBEADM_PKI),
                ("proxy-client-key-file", KUBEADM_PKI),
                ("service-account-key-file", KUBEADM_PKI),
                ("service-account-signing-key-file", KUBEADM_PKI),
                (
                    "service-cluster-ip-range",
                    "kubeadm sets it from `network.services`",
                ),
                (
                    "enable-bootstrap-token-auth",
                    "hosts join with bootstrap tokens, which this flag turns on",
                ),
            ],
            Component::ControllerManager => &[
                ("cluster-cidr", "kubeadm sets it from `network.pods`"),
                (
                    "service-cluster-ip-range",
                    "kubeadm sets it from `network.services`",
                ),
                (
                    "allocate-node-cidrs",
                    "the CNIs hac installs take each node's range from the ones it allocates",
                ),
                (
                    "node-cidr-mask-size",
                    "hac checks that `network.pods` holds a /24 (IPv4) or /64 (IPv6) per node",
                ),
                (
                    "node-cidr-mask-size-ipv4",
                    "hac checks that `network.pods` holds a /24 per node",
                ),
                (
                    "node-cidr-mask-size-ipv6",
                    "hac checks that `network.pods` holds a /64 per node",
                ),
                ("cluster-signing-cert-file", KUBEADM_PKI),
                ("cluster-signing-key-file", KUBEADM_PKI),
                ("root-ca-file", KUBEADM_PKI),
                ("service-account-private-key-file", KUBEADM_PKI),
                ("client-ca-file", KUBEADM_PKI),
                ("requestheader-client-ca-file", KUBEADM_PKI),
                ("kubeconfig", KUBEADM_CONF),
                ("authentication-kubeconfig", KUBEADM_CONF),
                ("authorization-kubeconfig", KUBEADM_CONF),
                ("secure-port", PORT),
            ],
            Component::Scheduler => &[
                ("kubeconfig", KUBEADM_CONF),
                ("authentication-kubeconfig", KUBEADM_CONF),
                ("authorization-kubeconfig", KUBEADM_CONF),
                ("secure-port", PORT),
            ],
        }
    }
}

/// A flag name of `component` without the leading `--`, not one hac or kubeadm set.
pub fn component_flag(component: Component, text: &str) -> Result<(), String> {
    if !is_flag_name(text) {
        return Err(format!(
            "`{}` is not a {} flag name like `v` or `profiling` (no leading `--`)",
            text.escape_debug(),
            component.binary()
        ));
    }
    if let Some((_, why)) = component.reserved().iter().find(|(flag, _)| *flag == text) {
        return Err(format!("`--{text}` is set for you: {why}"));
    }
    Ok(())
}

/// The value of flag `name` of `component`: one line, and not a value that turns off
/// what the cluster needs to assemble itself and stay available.
pub fn component_arg_value(component: Component, name: &str, text: &str) -> Result<(), String> {
    single_line(text)?;
    let refused = |why: &str| Err(format!("`--{name}={}` {why}", text.escape_debug()));
    let off = matches!(text.to_ascii_lowercase().as_str(), "false" | "0" | "f");
    match (component, name) {
        (Component::ApiServer, "anonymous-auth") if off => refused(
            "breaks the cluster: the static pod's probes, haproxy's `/healthz` check and hac's joining hosts ask the API server anonymously",
        ),
        (Component::ApiServer, "authorization-mode") => {
            let modes: Vec<&str> = text.split(',').map(str::trim).collect();
            if modes.contains(&"Node") && modes.contains(&"RBAC") {
                Ok(())
            } else {
                refused(
                    "must keep `Node` and `RBAC`: kubeadm's kubelets and join tokens are authorised through them",
                )
            }
        }
        (Component::ControllerManager, "controllers") => {
            let kept = |c: &str| text.split(',').any(|item| item.trim() == c);
            if kept("bootstrapsigner")
                && kept("tokencleaner")
                && !text.contains("-bootstrapsigner")
                && !text.contains("-tokencleaner")
            {
                Ok(())
            } else {
                refused(
                    "must keep `bootstrapsigner` and `tokencleaner` (kubeadm's default is `*,bootstrapsigner,tokencleaner`): joining hosts verify the `cluster-info` signature the first makes",
                )
            }
        }
        (Component::ControllerManager | Component::Scheduler, "leader-elect") if off => refused(
            "would let every control plane's copy act at once: with several control planes they fight over the same objects",
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels_and_names() {
        for good in ["cp1", "a", "worker-10", &"a".repeat(63)] {
            assert!(dns_label(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "Cp1",
            "cp_1",
            "cp.1",
            &"a".repeat(64),
            "cp1\n",
        ] {
            assert!(dns_label(bad).is_err(), "{bad:?}");
        }
        assert!(dns_name("api.prod.example.com").is_ok());
        assert!(dns_name("api..example.com").is_err());
        assert!(dns_name("api.example.com.").is_err());
    }

    #[test]
    fn interface_names() {
        for good in [
            "eth0",
            "enp0s31f6",
            "br-lan",
            "bond0.100",
            "wg_0",
            &"a".repeat(15),
        ] {
            assert!(interface_name(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            ".",
            "..",
            "eth 0",
            "eth0:1",
            "a/b",
            "eth0;",
            &"a".repeat(16),
        ] {
            assert!(interface_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn addresses_and_endpoints() {
        assert_eq!(
            address("10.0.0.1"),
            Ok(Address::Ip("10.0.0.1".parse().unwrap()))
        );
        assert_eq!(
            address("fd00::1"),
            Ok(Address::Ip("fd00::1".parse().unwrap()))
        );
        assert_eq!(
            address("cp1.example.com"),
            Ok(Address::Dns("cp1.example.com".into()))
        );
        for bad in ["10.0.0.256", "10.0.0", "cp1;reboot", "CP1", "fd00::g", ""] {
            assert!(address(bad).is_err(), "{bad}");
        }
        let e = endpoint("api.example.com:6443").unwrap();
        assert_eq!(
            (e.host.to_string(), e.port),
            ("api.example.com".into(), 6443)
        );
        assert_eq!(
            endpoint("[fd00::100]:8443").unwrap().to_string(),
            "[fd00::100]:8443"
        );
        for bad in [
            "api.example.com",
            "api:0",
            "api:65536",
            "api:06443",
            "fd00::1:6443",
            ":6443",
            "a b:1",
            "[fd00::1]6443",
        ] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
        // A URL: drop the scheme (and any path), not "put IPv6 in brackets".
        for (url, written) in [
            ("https://api.example.com:6443", "api.example.com:6443"),
            (
                "https://api.example.com:6443/readyz",
                "api.example.com:6443",
            ),
            ("http://api.example.com", "api.example.com:6443"),
            ("https://[fd00::100]:8443", "[fd00::100]:8443"),
        ] {
            let reason = endpoint(url).unwrap_err();
            assert!(!reason.contains("brackets"), "{reason}");
            let scheme = url.split("://").next().unwrap();
            assert!(
                reason.contains(&format!("drop the `{scheme}://`"))
                    && reason.ends_with(&format!("not a URL: write `{written}`")),
                "{reason}"
            );
        }
        // A port out of range says which range.
        for bad in ["api.example.com:0", "api.example.com:99999"] {
            assert!(
                endpoint(bad)
                    .unwrap_err()
                    .ends_with("is not a port number from 1 to 65535"),
                "{bad}"
            );
        }
    }

    #[test]
    fn labels_and_taints() {
        for good in [
            "zone",
            "topology.kubernetes.io/zone",
            "example.com/tier",
            "a_b.c-d",
            "node.kubernetes.io/exclude-from-external-load-balancers",
        ] {
            assert!(label_key(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a/",
            "/a",
            "Example.com/a",
            "a/b/c",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(label_key(bad).is_err(), "{bad}");
        }
        assert!(node_label_key("node-role.kubernetes.io/infra").is_err());
        assert!(node_label_key("kubernetes.io/arch").is_err());
        assert!(node_label_key("node.kubernetes.io/pool").is_ok());
        // Where the node is: the kubelet sets these on itself (and NodeRestriction
        // lets it), unlike the rest of `topology.kubernetes.io/`.
        assert!(node_label_key("topology.kubernetes.io/zone").is_ok());
        assert!(node_label_key("topology.kubernetes.io/region").is_ok());
        assert!(node_label_key("topology.kubernetes.io/rack").is_err());
        assert!(node_label_key("node-role.kubernetes.io/control-plane").is_err());
        assert!(node_label_key("node-restriction.kubernetes.io/trusted").is_err());
        assert!(node_label_key("example.com/pool").is_ok());
        assert!(label_value("").is_ok());
        assert!(label_value("a b").is_err());
        let t = taint("dedicated=infra:NoSchedule").unwrap();
        assert_eq!(
            (t.key.as_str(), t.value.as_deref(), t.effect),
            ("dedicated", Some("infra"), TaintEffect::NoSchedule)
        );
        assert_eq!(taint("gpu:NoExecute").unwrap().to_string(), "gpu:NoExecute");
        for bad in [
            "dedicated=infra",
            "dedicated=infra:Never",
            "=x:NoSchedule",
            "a=b c:NoSchedule",
            "a;rm:NoSchedule",
        ] {
            assert!(taint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_permissions_owners() {
        assert!(file_path("/etc/sysctl.d/90-hac.conf").is_ok());
        assert!(file_path("/etc/kubernetes/webhook-config.yaml").is_ok());
        assert!(file_path("/etc/hacks").is_ok());
        for reserved in [
            "/var/lib/hac/done",
            "/etc/hac",
            "/usr/local/sbin/hac-bootstrap",
            "/etc/kubernetes/manifests/haproxy.yaml",
            "/etc/kubernetes/pki/ca.crt",
            "/etc/containerd/config.toml",
            "/etc/kubernetes/audit-policy.yaml",
            "/etc/kubernetes/encryption-config.yaml",
        ] {
            let reason = file_path(reserved).unwrap_err();
            assert!(reason.contains("is reserved"), "{reserved}: {reason}");
        }
        for bad in [
            "etc/x",
            "/",
            "/etc/../x",
            "/etc/./x",
            "/etc//x",
            "/etc/x y",
            "/etc/$(x)",
            "/etc/'x",
        ] {
            assert!(file_path(bad).is_err(), "{bad}");
        }
        assert_eq!(permissions("0644"), Ok(0o644));
        assert_eq!(permissions("0600"), Ok(0o600));
        for bad in ["644", "0x644", "0648", "00644", "rw-r--r--"] {
            assert!(permissions(bad).is_err(), "{bad}");
        }
        assert!(owner("root:root").is_ok());
        assert!(owner("root;x").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("24h"), Ok(86_400));
        assert_eq!(duration("1h30m"), Ok(5_400));
        assert_eq!(duration("90s"), Ok(90));
        assert_eq!(duration("0"), Ok(0));
        assert_eq!(duration("0s"), Ok(0));
        for bad in ["", "h", "24", "30m1h", "1h1h", "1d", "-1h", "1.5h"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(86_400), "24h0m0s");
        assert_eq!(format_duration(5_430), "1h30m30s");
    }

    #[test]
    fn urls_registries_keys_flags() {
        assert!(url("https://mirror.example.com/k8s").is_ok());
        assert!(url("http://10.0.0.5:8080/").is_ok());
        for bad in ["ftp://x", "https://", "https://x/$(id)", "https://x/'a'"] {
            assert!(url(bad).is_err(), "{bad}");
        }
        assert!(registry_host("docker.io").is_ok());
        assert!(registry_host("registry.local:5000").is_ok());
        assert!(registry_host("docker.io/library").is_err());
        assert!(ssh_public_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMb admin@example").is_ok());
        assert!(ssh_public_key("ssh-ed25519 AAAAC3Nza").is_ok());
        assert!(ssh_public_key("ssh-dss AAAA").is_err());
        assert!(ssh_public_key("ssh-ed25519 AAAA x\nssh-rsa AAAA").is_err());
        assert!(kubelet_flag("max-pods").is_ok());
        assert!(kubelet_flag("--max-pods").is_err());
        assert!(kubelet_flag("node-ip").is_err());
        assert!(single_line("a\nb").is_err());
        assert!(kubelet_arg_value("110").is_ok());
        assert!(kubelet_arg_value("a=b,c=d:NoSchedule").is_ok());
        assert!(kubelet_arg_value("").is_ok());
        for bad in [
            "110 --node-labels=x",
            "a\tb",
            "$(id)",
            "'x'",
            "\"x\"",
            "a\\b",
            "a\u{1b}b",
            "a\u{a0}b",
        ] {
            assert!(kubelet_arg_value(bad).is_err(), "{bad:?}");
        }
        assert!(text("a\nb").is_ok());
    }
}
