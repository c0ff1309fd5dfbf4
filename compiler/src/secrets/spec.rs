//! What the cluster description asks of the secrets bundle.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::algorithm::KeyAlgorithm;
use super::error::SecretsError;

/// The part of a cluster description the secrets depend on. Workers are deliberately
/// absent: adding or removing one never changes the bundle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretsSpec {
    /// The cluster's name. A bundle records it and is then refused for any other
    /// cluster; `None` (a caller that knows no cluster) neither records nor checks it.
    pub cluster: Option<String>,
    /// The key algorithm the cluster description asks for. `None` accepts whatever an
    /// existing bundle uses and gives a new bundle the default ([`KeyAlgorithm::EcdsaP256`]),
    /// so that a bundle made with `hac secrets init --key-algorithm RSA-2048` keeps
    /// working with a description that does not mention the algorithm.
    pub key_algorithm: Option<KeyAlgorithm>,
    /// The members of an external etcd cluster; empty when etcd is stacked on the
    /// control planes (kubeadm then makes the etcd certificates itself).
    pub etcd_members: Vec<EtcdMember>,
    /// The cluster encrypts Secrets at rest: the bundle holds the key. A bundle keeps
    /// its keys when this turns off, since Secrets written with them still need them.
    pub encrypt_secrets: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdMember {
    /// The member's node name; the certificates' common name and first DNS SAN.
    pub name: String,
    /// Where the member is reached: an IP address or a DNS name.
    pub address: String,
}

impl SecretsSpec {
    pub(crate) fn check(&self) -> Result<(), SecretsError> {
        if let Some(name) = &self.cluster
            && !is_dns_label(name)
        {
            return Err(SecretsError::InvalidSpec {
                message: format!(
                    "cluster name `{}` is not a lowercase DNS-1123 label",
                    name.escape_debug()
                ),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for member in &self.etcd_members {
            check_member(member).map_err(|message| SecretsError::InvalidSpec { message })?;
            if !seen.insert(member.name.as_str()) {
                return Err(SecretsError::InvalidSpec {
                    message: format!("etcd member `{}` is listed twice", member.name),
                });
            }
        }
        Ok(())
    }
}

pub(crate) fn check_member(member: &EtcdMember) -> Result<(), String> {
    if !is_dns_name(&member.name) {
        return Err(format!(
            "etcd member name `{}` is not a valid DNS name (letters, digits, `-` and `.`, labels of at most 63 characters)",
            member.name.escape_debug()
        ));
    }
    if member.address.parse::<IpAddr>().is_err() && !is_dns_name(&member.address) {
        return Err(format!(
            "address `{}` of etcd member `{}` is neither an IP address nor a DNS name",
            member.address.escape_debug(),
            member.name
        ));
    }
    Ok(())
}

/// A lowercase DNS-1123 label, the form of a cluster name.
pub(crate) fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The SANs of a member's server and peer certificates, as kubeadm's `getAltNames`
/// makes them: the node name, `localhost`, the address, `127.0.0.1` and `::1`.
pub(crate) fn member_alt_names(member: &EtcdMember) -> (Vec<String>, Vec<IpAddr>) {
    let mut dns_names: Vec<String> = Vec::new();
    let mut ip_addresses: Vec<IpAddr> = Vec::new();
    for name in [member.name.as_str(), "localhost", member.address.as_str()] {
        match name.parse::<IpAddr>() {
            Ok(ip) => push_unique(&mut ip_addresses, ip),
            Err(_) => push_unique(&mut dns_names, name.to_owned()),
        }
    }
    push_unique(&mut ip_addresses, IpAddr::V4(Ipv4Addr::LOCALHOST));
    push_unique(&mut ip_addresses, IpAddr::V6(Ipv6Addr::LOCALHOST));
    (dns_names, ip_addresses)
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, address: &str) -> EtcdMember {
        EtcdMember {
            name: name.into(),
            address: address.into(),
        }
    }

    #[test]
    fn alt_names_follow_kubeadm() {
        let (dns, ips) = member_alt_names(&member("etcd-1", "10.0.0.11"));
        assert_eq!(dns, ["etcd-1", "localhost"]);
        assert_eq!(
            ips,
            ["10.0.0.11", "127.0.0.1", "::1"].map(|s| s.parse::<IpAddr>().unwrap())
        );
        let (dns, ips) = member_alt_names(&member("etcd-1", "etcd-1.example.org"));
        assert_eq!(dns, ["etcd-1", "localhost", "etcd-1.example.org"]);
        assert_eq!(ips.len(), 2);
    }

    #[test]
    fn bad_members_are_refused() {
        assert!(check_member(&member("etcd_1", "10.0.0.1")).is_err());
        assert!(check_member(&member("", "10.0.0.1")).is_err());
        assert!(check_member(&member("etcd-1", "10.0.0.1:2379")).is_err());
        assert!(check_member(&member("etcd-1", "fd00::1")).is_ok());
        let twice = SecretsSpec {
            cluster: None,
            key_algorithm: None,
            etcd_members: vec![member("a", "10.0.0.1"), member("a", "10.0.0.2")],
            encrypt_secrets: false,
        };
        assert!(
            twice
                .check()
                .unwrap_err()
                .to_string()
                .contains("`a` is listed twice")
        );
    }
}
