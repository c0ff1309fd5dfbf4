//! Reading certificates back: the facts `show` prints and the checks `load` makes.

use std::net::IpAddr;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use super::random::lower_hex;

/// Public facts of one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateInfo {
    /// RFC 4514 form, e.g. `CN=kubernetes`.
    pub subject: String,
    pub issuer: String,
    pub common_name: Option<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub is_ca: bool,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    /// DER SubjectPublicKeyInfo.
    pub subject_public_key_info: Vec<u8>,
    /// The subjectPublicKey BIT STRING contents (what a private key's public half encodes to).
    pub(crate) public_key_bits: Vec<u8>,
    pub(crate) der: Vec<u8>,
}

impl CertificateInfo {
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, String> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|_| "the certificate is not valid X.509 DER".to_owned())?;
        if !rest.is_empty() {
            return Err("trailing data after the certificate".to_owned());
        }
        let time = |t: x509_parser::time::ASN1Time| {
            OffsetDateTime::from_unix_timestamp(t.timestamp())
                .map_err(|_| "the certificate has an out-of-range validity date".to_owned())
        };
        let mut dns_names = Vec::new();
        let mut ip_addresses = Vec::new();
        let sans = cert
            .subject_alternative_name()
            .map_err(|_| "the certificate has a malformed subjectAltName".to_owned())?;
        for name in sans.iter().flat_map(|ext| &ext.value.general_names) {
            match name {
                GeneralName::DNSName(dns) => dns_names.push((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => ip_addresses.push(IpAddr::from(
                        <[u8; 4]>::try_from(*bytes).unwrap_or_default(),
                    )),
                    16 => ip_addresses.push(IpAddr::from(
                        <[u8; 16]>::try_from(*bytes).unwrap_or_default(),
                    )),
                    _ => return Err("the certificate has a malformed IP address SAN".to_owned()),
                },
                _ => {}
            }
        }
        let common_name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned);
        Ok(Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            common_name,
            not_before: time(cert.validity().not_before)?,
            not_after: time(cert.validity().not_after)?,
            is_ca: cert.is_ca(),
            dns_names,
            ip_addresses,
            subject_public_key_info: cert.public_key().raw.to_vec(),
            public_key_bits: cert.public_key().subject_public_key.data.to_vec(),
            der: der.to_vec(),
        })
    }

    /// kubeadm's `discovery-token-ca-cert-hash`: SHA-256 of the DER SubjectPublicKeyInfo.
    pub fn public_key_pin(&self) -> String {
        format!(
            "sha256:{}",
            lower_hex(&Sha256::digest(&self.subject_public_key_info))
        )
    }

    /// Whether `issuer`'s key signed this certificate and the names chain.
    pub(crate) fn is_issued_by(&self, issuer: &CertificateInfo) -> bool {
        let (Ok((_, cert)), Ok((_, ca))) = (
            X509Certificate::from_der(&self.der),
            X509Certificate::from_der(&issuer.der),
        ) else {
            return false;
        };
        cert.issuer() == ca.subject() && cert.verify_signature(Some(ca.public_key())).is_ok()
    }
}

/// `2036-05-01T12:00:00Z`
pub fn format_time(time: OffsetDateTime) -> String {
    let t = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
