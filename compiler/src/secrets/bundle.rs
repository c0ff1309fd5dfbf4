//! The contents of a secrets bundle.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::algorithm::KeyAlgorithm;
use super::encryption::EncryptionKeys;
use super::pki::CertificateAndKey;
use super::secret::Secret;

/// Everything the hosts of one cluster must agree on before any of them boots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// The name of the cluster the bundle belongs to; `None` in a bundle written before
    /// bundles recorded it (the next build adopts it for its cluster).
    pub(crate) cluster: Option<String>,
    /// A random id (32 lowercase hex characters) that tells apart clusters sharing a
    /// name; the build writes it into the output manifest.
    pub(crate) cluster_id: Option<String>,
    pub(crate) key_algorithm: KeyAlgorithm,
    /// 32 random bytes as 64 lowercase hex characters: the key join tokens derive from.
    pub(crate) join_seed: Secret,
    /// Bumped by `hac secrets rotate token`; part of every derived token.
    pub(crate) token_generation: u32,
    /// The file had no join seed (it predates them): the one read is new and must be
    /// written back.
    pub(crate) join_seed_added: bool,
    pub(crate) certificate_key: Secret,
    pub(crate) cluster_ca: CertificateAndKey,
    pub(crate) etcd: Option<EtcdPki>,
    /// The keys that encrypt Secrets at rest, when the cluster asks for them.
    pub(crate) encryption: Option<EncryptionKeys>,
    /// Registry logins by name (`hac secrets set-registry-login`); the cluster
    /// description names which registry host uses which.
    pub(crate) registry_logins: BTreeMap<String, RegistryLogin>,
}

impl Bundle {
    /// The cluster the bundle belongs to, when recorded.
    pub fn cluster(&self) -> Option<&str> {
        self.cluster.as_deref()
    }

    /// The bundle's random cluster id, when recorded.
    pub fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }

    /// The algorithm of every key in the bundle; kubeadm's `encryptionAlgorithm` must be
    /// set to [`KeyAlgorithm::kubeadm_name`] of it.
    pub fn key_algorithm(&self) -> KeyAlgorithm {
        self.key_algorithm
    }

    /// The join token of the window `at` falls in (see [`super::join`]).
    pub fn join_token(&self, at: OffsetDateTime) -> BootstrapToken {
        super::join::token(
            &self.join_seed,
            self.token_generation,
            super::join::window_of(at),
        )
    }

    /// The join token of the window the present moment falls in.
    pub fn join_token_now(&self) -> BootstrapToken {
        self.join_token(OffsetDateTime::now_utc())
    }

    /// The key join tokens derive from; only the control planes' keepers get it.
    pub fn join_seed(&self) -> &Secret {
        &self.join_seed
    }

    /// The token generation, bumped by `hac secrets rotate token`.
    pub fn token_generation(&self) -> u32 {
        self.token_generation
    }

    /// kubeadm's `certificateKey` (64 lowercase hex characters).
    pub fn certificate_key(&self) -> &Secret {
        &self.certificate_key
    }

    /// The cluster CA (`/etc/kubernetes/pki/ca.{crt,key}`).
    pub fn cluster_ca(&self) -> &CertificateAndKey {
        &self.cluster_ca
    }

    /// `discovery-token-ca-cert-hash`: `sha256:<64 hex>` over the cluster CA's DER
    /// SubjectPublicKeyInfo.
    pub fn discovery_hash(&self) -> String {
        self.cluster_ca.info().public_key_pin()
    }

    /// The external etcd PKI, present when the cluster uses external etcd.
    pub fn etcd(&self) -> Option<&EtcdPki> {
        self.etcd.as_ref()
    }

    /// The keys that encrypt Secrets at rest, present once the cluster asked for them.
    pub fn encryption_keys(&self) -> Option<&EncryptionKeys> {
        self.encryption.as_ref()
    }

    /// The registry login called `name`, if the bundle has one.
    pub fn registry_login(&self, name: &str) -> Option<&RegistryLogin> {
        self.registry_logins.get(name)
    }

    /// Every registry login, by name.
    pub fn registry_logins(&self) -> &BTreeMap<String, RegistryLogin> {
        &self.registry_logins
    }
}

/// A user name and password (or token) for an image registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryLogin {
    pub(crate) username: String,
    pub(crate) password: Secret,
}

impl RegistryLogin {
    /// A login, if both parts are usable: a user name of printable characters without
    /// `:` (the basic-auth separator), and a password that is not empty and holds no
    /// control character (no line break a paste or `echo` left behind).
    pub fn new(username: &str, password: Secret) -> Result<RegistryLogin, &'static str> {
        if !is_registry_username(username) {
            return Err("the user name must be 1 to 256 printable characters without `:`");
        }
        if !is_registry_password(password.expose()) {
            return Err(
                "the password must be 1 to 4096 characters with no control character (no line break inside)",
            );
        }
        Ok(RegistryLogin {
            username: username.to_owned(),
            password,
        })
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn password(&self) -> &Secret {
        &self.password
    }
}

pub(crate) fn is_registry_username(name: &str) -> bool {
    (1..=256).contains(&name.len()) && !name.chars().any(|c| c.is_control() || c == ':')
}

pub(crate) fn is_registry_password(password: &str) -> bool {
    (1..=4096).contains(&password.len()) && !password.chars().any(char::is_control)
}

/// A registry login's name: a lowercase DNS-1123 label, like cluster names.
pub fn is_registry_login_name(name: &str) -> bool {
    super::spec::is_dns_label(name)
}

/// A kubeadm bootstrap token `<id>.<secret>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapToken {
    pub(crate) id: String,
    pub(crate) secret: Secret,
}

impl BootstrapToken {
    /// The public half (6 characters); it names the token's Secret in `kube-system`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The secret half (16 characters).
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The whole token, `<id>.<secret>`, as kubeadm's `bootstrapTokens[].token` and
    /// `discovery.bootstrapToken.token` take it.
    pub fn token(&self) -> Secret {
        Secret::new(format!("{}.{}", self.id, self.secret.expose()))
    }
}

/// The PKI of an external etcd cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdPki {
    pub(crate) ca: CertificateAndKey,
    pub(crate) healthcheck_client: CertificateAndKey,
    pub(crate) apiserver_etcd_client: CertificateAndKey,
    /// Sorted by name, names unique.
    pub(crate) members: Vec<EtcdMemberPki>,
}

impl EtcdPki {
    /// `etcd/ca.{crt,key}`; only `ca.crt` needs to reach the hosts.
    pub fn ca(&self) -> &CertificateAndKey {
        &self.ca
    }

    /// `etcd/healthcheck-client.{crt,key}` (CN `kube-etcd-healthcheck-client`).
    pub fn healthcheck_client(&self) -> &CertificateAndKey {
        &self.healthcheck_client
    }

    /// `apiserver-etcd-client.{crt,key}` (CN `kube-apiserver-etcd-client`) for the
    /// control planes.
    pub fn apiserver_etcd_client(&self) -> &CertificateAndKey {
        &self.apiserver_etcd_client
    }

    /// Every member, sorted by name.
    pub fn members(&self) -> &[EtcdMemberPki] {
        &self.members
    }

    pub fn member(&self, name: &str) -> Option<&EtcdMemberPki> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// One etcd member's certificates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdMemberPki {
    pub(crate) name: String,
    pub(crate) address: String,
    pub(crate) server: CertificateAndKey,
    pub(crate) peer: CertificateAndKey,
}

impl EtcdMemberPki {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address the certificates were issued for (an IP address or a DNS name).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// `etcd/server.{crt,key}`.
    pub fn server(&self) -> &CertificateAndKey {
        &self.server
    }

    /// `etcd/peer.{crt,key}`.
    pub fn peer(&self) -> &CertificateAndKey {
        &self.peer
    }
}
