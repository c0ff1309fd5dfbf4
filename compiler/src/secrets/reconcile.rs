//! Bringing a bundle in line with the cluster description while keeping everything that
//! is still valid, so that hosts already built keep working.

use std::fmt;

use time::{Duration, OffsetDateTime};

use super::algorithm::KeyAlgorithm;
use super::bundle::{Bundle, EtcdMemberPki, EtcdPki};
use super::encryption::EncryptionKeys;
use super::error::SecretsError;
use super::pki::{self, CertificateAndKey, LeafRequest, LeafUsage};
use super::random;
use super::spec::{self, EtcdMember, SecretsSpec};

/// Leaf certificates closer than this to their expiry are re-issued by `reconcile`.
pub const RENEW_BEFORE: Duration = Duration::days(30);

/// What `reconcile` changed; empty when the bundle was already right.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes(pub Vec<Change>);

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Change> {
        self.0.iter()
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for change in &self.0 {
            writeln!(f, "{change}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A new bundle: token, certificate key and cluster CA.
    Created,
    /// A bundle written before bundles named their cluster now names this one.
    RecordedCluster {
        name: String,
    },
    /// A join seed for a bundle made before join seeds (its bootstrap token is dropped).
    AddedJoinSeed,
    /// The key that encrypts Secrets at rest.
    CreatedEncryptionKey,
    /// The etcd CA and the two etcd client certificates.
    CreatedEtcdPki,
    /// External etcd is no longer used.
    RemovedEtcdPki,
    AddedEtcdMember {
        name: String,
    },
    ReissuedEtcdMember {
        name: String,
        reason: ReissueReason,
    },
    RemovedEtcdMember {
        name: String,
    },
    /// A client certificate (`healthcheck-client`, `apiserver-etcd-client`) near expiry.
    RenewedCertificate {
        name: &'static str,
    },
}

impl Change {
    /// Whether the change drops a private key that hosts built earlier may still use:
    /// the etcd PKI, a member's certificates, or a member's certificates re-issued for
    /// a new address. Renewals of certificates about to expire are not counted: they
    /// keep every identity, and refusing them would fail a build at a time nobody
    /// chose (the old bundle is still kept as a copy, see `secrets::ensure_with`).
    pub fn removes_key_material(&self) -> bool {
        matches!(
            self,
            Self::RemovedEtcdPki
                | Self::RemovedEtcdMember { .. }
                | Self::ReissuedEtcdMember {
                    reason: ReissueReason::AddressChanged { .. },
                    ..
                }
        )
    }

    /// Whether the change replaces or drops any private key of the bundle.
    pub fn discards_a_key(&self) -> bool {
        self.removes_key_material()
            || matches!(
                self,
                Self::ReissuedEtcdMember { .. } | Self::RenewedCertificate { .. }
            )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReissueReason {
    AddressChanged { from: String, to: String },
    Expiring { not_after: OffsetDateTime },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Created => {
                f.write_str("created a join seed, a certificate key and the cluster CA")
            }
            Self::RecordedCluster { name } => write!(
                f,
                "recorded that the bundle belongs to cluster `{name}` (it was written by a hac that did not record it)"
            ),
            Self::AddedJoinSeed => f.write_str(
                "added a join seed (join tokens now derive from it; the old bootstrap token is no longer used)",
            ),
            Self::CreatedEncryptionKey => {
                f.write_str("created the key that encrypts Secrets at rest")
            }
            Self::CreatedEtcdPki => {
                f.write_str("created the etcd CA and the etcd client certificates")
            }
            Self::RemovedEtcdPki => f.write_str("removed the etcd PKI (no external etcd members)"),
            Self::AddedEtcdMember { name } => {
                write!(f, "issued certificates for etcd member `{name}`")
            }
            Self::ReissuedEtcdMember { name, reason } => match reason {
                ReissueReason::AddressChanged { from, to } => write!(
                    f,
                    "re-issued certificates for etcd member `{name}` (address changed from `{from}` to `{to}`)"
                ),
                ReissueReason::Expiring { not_after } => write!(
                    f,
                    "re-issued certificates for etcd member `{name}` (they expire at {})",
                    super::inspect::format_time(*not_after)
                ),
            },
            Self::RemovedEtcdMember { name } => {
                write!(f, "removed the certificates of etcd member `{name}`")
            }
            Self::RenewedCertificate { name } => {
                write!(
                    f,
                    "renewed the `{name}` certificate, which was about to expire"
                )
            }
        }
    }
}

/// Makes `bundle` (or a new bundle when there is none) match `spec`.
///
/// Member certificates are issued when a member first appears and kept afterwards; a
/// member whose address changed gets new certificates, and only that member; removed
/// members are dropped. Leaf certificates within [`RENEW_BEFORE`] of their expiry are
/// re-issued when the new ones would last longer (not when the CA's own expiry caps
/// them). The key algorithm of an existing bundle cannot change: asking for another
/// one is an error.
pub fn reconcile(
    bundle: Option<Bundle>,
    spec: &SecretsSpec,
) -> Result<(Bundle, Changes), SecretsError> {
    reconcile_at(bundle, spec, OffsetDateTime::now_utc())
}

pub(crate) fn reconcile_at(
    bundle: Option<Bundle>,
    spec: &SecretsSpec,
    now: OffsetDateTime,
) -> Result<(Bundle, Changes), SecretsError> {
    spec.check()?;
    let mut changes = Vec::new();
    if let Some(bundle) = &bundle {
        check_cluster(None, bundle, spec)?;
    }
    let mut bundle = match bundle {
        Some(bundle) => match spec.key_algorithm {
            Some(requested) if requested != bundle.key_algorithm => {
                return Err(SecretsError::AlgorithmChange {
                    existing: bundle.key_algorithm,
                    requested,
                });
            }
            _ => bundle,
        },
        None => {
            changes.push(Change::Created);
            new_bundle(
                spec.key_algorithm.unwrap_or_default(),
                spec.cluster.clone(),
                now,
            )?
        }
    };
    if bundle.cluster.is_none()
        && let Some(name) = &spec.cluster
    {
        bundle.cluster = Some(name.clone());
        if bundle.cluster_id.is_none() {
            bundle.cluster_id = Some(random::cluster_id()?);
        }
        changes.push(Change::RecordedCluster { name: name.clone() });
    }
    if bundle.join_seed_added {
        bundle.join_seed_added = false;
        changes.push(Change::AddedJoinSeed);
    }
    if spec.encrypt_secrets && bundle.encryption.is_none() {
        bundle.encryption = Some(EncryptionKeys::new()?);
        changes.push(Change::CreatedEncryptionKey);
    }
    let algorithm = bundle.key_algorithm;
    if spec.etcd_members.is_empty() {
        if bundle.etcd.take().is_some() {
            changes.push(Change::RemovedEtcdPki);
        }
    } else {
        let etcd = match bundle.etcd.take() {
            Some(etcd) => etcd,
            None => {
                changes.push(Change::CreatedEtcdPki);
                new_etcd_pki(algorithm, now)?
            }
        };
        bundle.etcd = Some(reconcile_etcd(
            etcd,
            &spec.etcd_members,
            algorithm,
            now,
            &mut changes,
        )?);
    }
    Ok((bundle, Changes(changes)))
}

/// Refuses a bundle that records another cluster than the one `spec` names.
pub(crate) fn check_cluster(
    path: Option<&std::path::Path>,
    bundle: &Bundle,
    spec: &SecretsSpec,
) -> Result<(), SecretsError> {
    match (&bundle.cluster, &spec.cluster) {
        (Some(recorded), Some(wanted)) if recorded != wanted => Err(SecretsError::OtherCluster {
            path: path.map(std::path::Path::to_path_buf),
            recorded: recorded.clone(),
            wanted: wanted.clone(),
        }),
        _ => Ok(()),
    }
}

pub(crate) fn new_bundle(
    algorithm: KeyAlgorithm,
    cluster: Option<String>,
    now: OffsetDateTime,
) -> Result<Bundle, SecretsError> {
    Ok(Bundle {
        cluster,
        cluster_id: Some(random::cluster_id()?),
        key_algorithm: algorithm,
        join_seed: random::certificate_key()?,
        token_generation: 0,
        join_seed_added: false,
        certificate_key: random::certificate_key()?,
        cluster_ca: pki::new_ca(algorithm, pki::CLUSTER_CA_COMMON_NAME, now)?,
        etcd: None,
        encryption: None,
        registry_logins: std::collections::BTreeMap::new(),
    })
}

fn client_request(common_name: &str) -> LeafRequest<'_> {
    LeafRequest {
        common_name,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        usage: LeafUsage::Client,
    }
}

fn new_etcd_pki(algorithm: KeyAlgorithm, now: OffsetDateTime) -> Result<EtcdPki, SecretsError> {
    let ca = pki::new_ca(algorithm, pki::ETCD_CA_COMMON_NAME, now)?;
    let healthcheck_client = pki::new_leaf(
        &ca,
        algorithm,
        &client_request(pki::HEALTHCHECK_CLIENT_COMMON_NAME),
        now,
    )?;
    let apiserver_etcd_client = pki::new_leaf(
        &ca,
        algorithm,
        &client_request(pki::APISERVER_ETCD_CLIENT_COMMON_NAME),
        now,
    )?;
    Ok(EtcdPki {
        ca,
        healthcheck_client,
        apiserver_etcd_client,
        members: Vec::new(),
    })
}

fn new_member(
    ca: &CertificateAndKey,
    algorithm: KeyAlgorithm,
    member: &EtcdMember,
    now: OffsetDateTime,
) -> Result<EtcdMemberPki, SecretsError> {
    let (dns_names, ip_addresses) = spec::member_alt_names(member);
    let request = LeafRequest {
        common_name: &member.name,
        dns_names,
        ip_addresses,
        usage: LeafUsage::ServerAndClient,
    };
    Ok(EtcdMemberPki {
        name: member.name.clone(),
        address: member.address.clone(),
        server: pki::new_leaf(ca, algorithm, &request, now)?,
        peer: pki::new_leaf(ca, algorithm, &request, now)?,
    })
}

/// Whether `pair`, issued by `ca`, should be re-issued: it is within [`RENEW_BEFORE`]
/// of its expiry and a new one would last longer. Near the end of the CA's life a new
/// leaf is capped at the CA's expiry just like the old one, so re-issuing it would gain
/// nothing and, done on every build, would change every host's output each time.
fn needs_renewal(pair: &CertificateAndKey, ca: &CertificateAndKey, now: OffsetDateTime) -> bool {
    let not_after = pair.info().not_after;
    not_after - now < RENEW_BEFORE && pki::leaf_not_after(ca, now) > not_after
}

fn reconcile_etcd(
    mut etcd: EtcdPki,
    wanted: &[EtcdMember],
    algorithm: KeyAlgorithm,
    now: OffsetDateTime,
    changes: &mut Vec<Change>,
) -> Result<EtcdPki, SecretsError> {
    if needs_renewal(&etcd.healthcheck_client, &etcd.ca, now) {
        etcd.healthcheck_client = pki::new_leaf(
            &etcd.ca,
            algorithm,
            &client_request(pki::HEALTHCHECK_CLIENT_COMMON_NAME),
            now,
        )?;
        changes.push(Change::RenewedCertificate {
            name: "healthcheck-client",
        });
    }
    if needs_renewal(&etcd.apiserver_etcd_client, &etcd.ca, now) {
        etcd.apiserver_etcd_client = pki::new_leaf(
            &etcd.ca,
            algorithm,
            &client_request(pki::APISERVER_ETCD_CLIENT_COMMON_NAME),
            now,
        )?;
        changes.push(Change::RenewedCertificate {
            name: "apiserver-etcd-client",
        });
    }

    let mut existing = std::mem::take(&mut etcd.members);
    for gone in existing
        .iter()
        .filter(|m| !wanted.iter().any(|w| w.name == m.name))
    {
        changes.push(Change::RemovedEtcdMember {
            name: gone.name.clone(),
        });
    }
    let mut wanted: Vec<&EtcdMember> = wanted.iter().collect();
    wanted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut members = Vec::with_capacity(wanted.len());
    for member in wanted {
        let previous = existing
            .iter()
            .position(|m| m.name == member.name)
            .map(|i| existing.swap_remove(i));
        let reissue = match &previous {
            None => {
                changes.push(Change::AddedEtcdMember {
                    name: member.name.clone(),
                });
                true
            }
            Some(previous) if previous.address != member.address => {
                changes.push(Change::ReissuedEtcdMember {
                    name: member.name.clone(),
                    reason: ReissueReason::AddressChanged {
                        from: previous.address.clone(),
                        to: member.address.clone(),
                    },
                });
                true
            }
            Some(previous)
                if needs_renewal(&previous.server, &etcd.ca, now)
                    || needs_renewal(&previous.peer, &etcd.ca, now) =>
            {
                let not_after = previous
                    .server
                    .info()
                    .not_after
                    .min(previous.peer.info().not_after);
                changes.push(Change::ReissuedEtcdMember {
                    name: member.name.clone(),
                    reason: ReissueReason::Expiring { not_after },
                });
                true
            }
            Some(_) => false,
        };
        match previous {
            Some(previous) if !reissue => members.push(previous),
            _ => members.push(new_member(&etcd.ca, algorithm, member, now)?),
        }
    }
    etcd.members = members;
    Ok(etcd)
}
