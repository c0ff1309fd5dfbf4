//! Generating keys and certificates the way kubeadm makes them.

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
};
use time::{Duration, OffsetDateTime};

use super::algorithm::KeyAlgorithm;
use super::error::SecretsError;
use super::inspect::CertificateInfo;
use super::random;
use super::secret::Secret;

/// kubeadm's `caCertificateValidityPeriod` default (87600h).
pub const CA_VALIDITY: Duration = Duration::days(3650);
/// kubeadm's `certificateValidityPeriod` default (8760h).
pub const LEAF_VALIDITY: Duration = Duration::days(365);
/// Certificates start slightly in the past so that hosts whose clock lags accept them.
const BACKDATE: Duration = Duration::minutes(5);

pub const CLUSTER_CA_COMMON_NAME: &str = "kubernetes";
pub const ETCD_CA_COMMON_NAME: &str = "etcd-ca";
pub const HEALTHCHECK_CLIENT_COMMON_NAME: &str = "kube-etcd-healthcheck-client";
pub const APISERVER_ETCD_CLIENT_COMMON_NAME: &str = "kube-apiserver-etcd-client";

/// A certificate (PEM, public) and its private key (PKCS#8 PEM, secret), known to
/// belong together.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateAndKey {
    certificate_pem: String,
    private_key_pem: Secret,
    info: CertificateInfo,
}

impl CertificateAndKey {
    /// Checks that `certificate_pem` holds exactly one certificate, that `private_key_pem`
    /// is a PKCS#8 key for `algorithm` and that the two belong together. Both PEM texts
    /// are re-encoded canonically (64-column base64, `\n` line ends). Error texts never
    /// quote the key.
    pub(crate) fn from_pem(
        certificate_pem: &str,
        private_key_pem: &Secret,
        algorithm: KeyAlgorithm,
    ) -> Result<Self, String> {
        let blocks = pem::parse_many(certificate_pem)
            .map_err(|_| "the certificate is not valid PEM".to_owned())?;
        let [block] = blocks.as_slice() else {
            return Err(format!(
                "expected exactly one PEM block, found {}",
                blocks.len()
            ));
        };
        if block.tag() != "CERTIFICATE" {
            return Err(format!(
                "expected a `CERTIFICATE` PEM block, found `{}`",
                block.tag()
            ));
        }
        let info = CertificateInfo::from_der(block.contents())?;
        let key = load_key(private_key_pem, algorithm)?;
        if key.der_bytes() != info.public_key_bits.as_slice() {
            return Err("the private key does not belong to the certificate".to_owned());
        }
        Ok(Self {
            certificate_pem: encode_pem("CERTIFICATE", block.contents()),
            private_key_pem: Secret::new(key.serialize_pem()),
            info,
        })
    }

    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn private_key_pem(&self) -> &Secret {
        &self.private_key_pem
    }

    /// Facts read back from the certificate.
    pub fn info(&self) -> &CertificateInfo {
        &self.info
    }
}

impl std::fmt::Debug for CertificateAndKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAndKey")
            .field("subject", &self.info.subject)
            .field("not_after", &self.info.not_after)
            .field("private_key_pem", &self.private_key_pem)
            .finish_non_exhaustive()
    }
}

/// What a leaf certificate is for, as kubeadm's certificate list sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafUsage {
    /// etcd `server` and `peer`: serverAuth + clientAuth.
    ServerAndClient,
    /// `etcd/healthcheck-client`, `apiserver-etcd-client`: clientAuth.
    Client,
}

pub struct LeafRequest<'a> {
    pub common_name: &'a str,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    pub usage: LeafUsage,
}

fn generate_key(algorithm: KeyAlgorithm) -> Result<KeyPair, SecretsError> {
    let context = "cannot generate a private key";
    match algorithm {
        KeyAlgorithm::EcdsaP256 => KeyPair::generate_for(algorithm.signature_algorithm())
            .map_err(|e| SecretsError::crypto(context, e)),
        KeyAlgorithm::Rsa2048 => {
            use rsa::pkcs8::EncodePrivateKey;
            // rcgen's ring backend cannot generate RSA keys, so `rsa` makes the key and
            // rcgen signs with it.
            let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
                .map_err(|e| SecretsError::crypto(context, e))?;
            let der = key
                .to_pkcs8_der()
                .map_err(|e| SecretsError::crypto(context, e))?;
            let pem = Secret::new(encode_pem("PRIVATE KEY", der.as_bytes()));
            load_key(&pem, algorithm).map_err(|detail| SecretsError::crypto(context, detail))
        }
    }
}

/// Parses a PKCS#8 PEM private key for `algorithm`. The error text never quotes the key.
pub(crate) fn load_key(pem: &Secret, algorithm: KeyAlgorithm) -> Result<KeyPair, String> {
    KeyPair::from_pem_and_sign_algo(pem.expose(), algorithm.signature_algorithm())
        .map_err(|_| format!("not a PKCS#8 `PRIVATE KEY` in PEM for {algorithm}"))
}

pub(crate) fn encode_pem(tag: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(tag, der), config)
}

fn subject(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

fn finish(
    key: &KeyPair,
    der: &[u8],
    algorithm: KeyAlgorithm,
    context: &str,
) -> Result<CertificateAndKey, SecretsError> {
    let key_pem = Secret::new(key.serialize_pem());
    CertificateAndKey::from_pem(&encode_pem("CERTIFICATE", der), &key_pem, algorithm)
        .map_err(|detail| SecretsError::crypto(context, detail))
}

fn seconds(time: OffsetDateTime) -> OffsetDateTime {
    time.replace_nanosecond(0).unwrap_or(time)
}

/// A self-signed CA: CA:TRUE, key usage keyCertSign + cRLSign + digitalSignature.
pub fn new_ca(
    algorithm: KeyAlgorithm,
    common_name: &str,
    now: OffsetDateTime,
) -> Result<CertificateAndKey, SecretsError> {
    let key = generate_key(algorithm)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params.not_before = seconds(now - BACKDATE);
    params.not_after = seconds(now + CA_VALIDITY);
    params.serial_number = Some(random::serial_number()?);
    let context = format!("cannot create the `{common_name}` CA");
    let certificate = params
        .self_signed(&key)
        .map_err(|e| SecretsError::crypto(context.as_str(), e))?;
    finish(&key, certificate.der(), algorithm, &context)
}

/// When a leaf issued by `ca` at `now` expires: a year on, but never beyond the CA
/// (a certificate cannot be trusted longer than its issuer).
pub(crate) fn leaf_not_after(ca: &CertificateAndKey, now: OffsetDateTime) -> OffsetDateTime {
    seconds((now + LEAF_VALIDITY).min(ca.info.not_after))
}

/// A leaf signed by `ca`, valid for a year but never beyond the CA.
pub fn new_leaf(
    ca: &CertificateAndKey,
    algorithm: KeyAlgorithm,
    request: &LeafRequest<'_>,
    now: OffsetDateTime,
) -> Result<CertificateAndKey, SecretsError> {
    sign_leaf(ca, algorithm, request, leaf_not_after(ca, now), now)
}

/// A client certificate for a Kubernetes user: CN `user`, one O per group (what the
/// API server reads as the user's groups), signed by the cluster CA `ca`, valid from
/// now (backdated a little for lagging clocks) until `not_after`, which must not be
/// after the CA's own expiry.
pub fn new_client_certificate(
    ca: &CertificateAndKey,
    algorithm: KeyAlgorithm,
    user: &str,
    groups: &[String],
    not_after: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<CertificateAndKey, SecretsError> {
    if not_after > ca.info.not_after {
        return Err(SecretsError::InvalidSpec {
            message: format!(
                "the certificate cannot outlive the cluster CA, which expires at {}",
                super::inspect::format_time(ca.info.not_after)
            ),
        });
    }
    let request = LeafRequest {
        common_name: user,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        usage: LeafUsage::Client,
    };
    let context = format!("cannot issue a certificate for `{user}`");
    let leaf = sign_leaf(ca, algorithm, &request, seconds(not_after), now)?;
    if groups.is_empty() {
        return Ok(leaf);
    }
    subject_with(ca, algorithm, leaf, user, groups, &context)
}

/// `leaf` with the subject `O = group…, CN = user`, signed again by `ca`.
fn subject_with(
    ca: &CertificateAndKey,
    algorithm: KeyAlgorithm,
    leaf: CertificateAndKey,
    user: &str,
    groups: &[String],
    context: &str,
) -> Result<CertificateAndKey, SecretsError> {
    let ca_key = load_key(&ca.private_key_pem, algorithm)
        .map_err(|detail| SecretsError::crypto(context, detail))?;
    let der = pem::parse(&leaf.certificate_pem)
        .map_err(|e| SecretsError::crypto(context, e))?
        .into_contents();
    let der = super::subject::replace(&der, &super::subject::name(user, groups), &ca_key)
        .map_err(|detail| SecretsError::crypto(context, detail))?;
    CertificateAndKey::from_pem(
        &encode_pem("CERTIFICATE", &der),
        &leaf.private_key_pem,
        algorithm,
    )
    .map_err(|detail| SecretsError::crypto(context, detail))
}

fn sign_leaf(
    ca: &CertificateAndKey,
    algorithm: KeyAlgorithm,
    request: &LeafRequest<'_>,
    not_after: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<CertificateAndKey, SecretsError> {
    let context = format!("cannot issue the `{}` certificate", request.common_name);
    let ca_key = load_key(&ca.private_key_pem, algorithm)
        .map_err(|detail| SecretsError::crypto(context.as_str(), detail))?;
    let issuer = Issuer::from_ca_cert_pem(&ca.certificate_pem, ca_key)
        .map_err(|e| SecretsError::crypto(context.as_str(), e))?;

    let key = generate_key(algorithm)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(request.common_name);
    params.is_ca = IsCa::ExplicitNoCa;
    // kubeadm adds keyEncipherment only for RSA keys (ECDSA keys cannot encipher).
    params.key_usages = match algorithm {
        KeyAlgorithm::EcdsaP256 => vec![KeyUsagePurpose::DigitalSignature],
        KeyAlgorithm::Rsa2048 => vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ],
    };
    params.extended_key_usages = match request.usage {
        LeafUsage::ServerAndClient => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
        LeafUsage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
    };
    for name in &request.dns_names {
        let name = name
            .clone()
            .try_into()
            .map_err(|_| SecretsError::InvalidSpec {
                message: format!("`{name}` cannot be used as a DNS name in a certificate"),
            })?;
        params.subject_alt_names.push(SanType::DnsName(name));
    }
    for address in &request.ip_addresses {
        params.subject_alt_names.push(SanType::IpAddress(*address));
    }
    params.use_authority_key_identifier_extension = true;
    params.not_before = seconds(now - BACKDATE);
    params.not_after = not_after;
    params.serial_number = Some(random::serial_number()?);
    let certificate = params
        .signed_by(&key, &issuer)
        .map_err(|e| SecretsError::crypto(context.as_str(), e))?;
    finish(&key, certificate.der(), algorithm, &context)
}
