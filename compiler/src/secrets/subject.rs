//! Certificates whose subject holds several organisations. Kubernetes reads a client
//! certificate's `O` attributes as the user's groups, but rcgen keeps one value per
//! attribute type; so the certificate is made by rcgen with one `O`, and its
//! subject is then replaced in the DER and the to-be-signed part signed again with
//! the issuer's key. Only the subject changes: serial, validity, key and extensions
//! stay as rcgen wrote them.

use rcgen::{KeyPair, SigningKey};

/// OIDs of the subject attributes written here (DER content octets).
const OID_COMMON_NAME: [u8; 3] = [0x55, 0x04, 0x03];
const OID_ORGANIZATION: [u8; 3] = [0x55, 0x04, 0x0a];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OBJECT_IDENTIFIER: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;
const BIT_STRING: u8 = 0x03;

/// A DER subject: one RDN per organisation, then the common name, as kubeadm orders
/// them (`O = kubeadm:cluster-admins, CN = kubernetes-admin`).
pub(crate) fn name(common_name: &str, organizations: &[String]) -> Vec<u8> {
    let attribute = |oid: &[u8], value: &str| {
        let mut pair = tlv(OBJECT_IDENTIFIER, oid);
        pair.extend(tlv(UTF8_STRING, value.as_bytes()));
        tlv(SET, &tlv(SEQUENCE, &pair))
    };
    let mut rdns = Vec::new();
    for organization in organizations {
        rdns.extend(attribute(&OID_ORGANIZATION, organization));
    }
    rdns.extend(attribute(&OID_COMMON_NAME, common_name));
    tlv(SEQUENCE, &rdns)
}

/// `certificate` (DER, signed by `issuer_key`) with its subject replaced by `subject`
/// (a DER `Name`) and signed again.
pub(crate) fn replace(
    certificate: &[u8],
    subject: &[u8],
    issuer_key: &KeyPair,
) -> Result<Vec<u8>, String> {
    let malformed = || "the issued certificate is not the DER hac expects".to_owned();
    let outer =
        children(content(certificate, SEQUENCE).ok_or_else(malformed)?).ok_or_else(malformed)?;
    let [tbs, algorithm, _signature] = outer.as_slice() else {
        return Err(malformed());
    };
    let fields = children(content(tbs, SEQUENCE).ok_or_else(malformed)?).ok_or_else(malformed)?;
    // version [0], serial, signature algorithm, issuer, validity, subject, …
    if fields.len() < 7 || fields[0].first() != Some(&0xa0) {
        return Err(malformed());
    }
    let mut new_fields = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        new_fields.extend_from_slice(if index == 5 { subject } else { field });
    }
    let new_tbs = tlv(SEQUENCE, &new_fields);
    let signature = issuer_key
        .sign(&new_tbs)
        .map_err(|e| format!("cannot sign the certificate: {e}"))?;
    let mut bits = vec![0u8];
    bits.extend(signature);
    let mut body = new_tbs;
    body.extend_from_slice(algorithm);
    body.extend(tlv(BIT_STRING, &bits));
    Ok(tlv(SEQUENCE, &body))
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The length of the element starting `der` (header and content), and its header's.
fn element(der: &[u8]) -> Option<(usize, usize)> {
    let first = *der.get(1)?;
    let (header, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let len = der
            .get(2..2 + count)?
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        (2 + count, len)
    };
    let total = header.checked_add(len)?;
    (total <= der.len()).then_some((total, header))
}

/// The content of the single element `der`, which must carry `tag`.
fn content(der: &[u8], tag: u8) -> Option<&[u8]> {
    let (total, header) = element(der)?;
    (der.first() == Some(&tag) && total == der.len()).then(|| &der[header..])
}

/// The consecutive elements of `der`.
fn children(mut der: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let (total, _) = element(der)?;
        out.push(&der[..total]);
        der = &der[total..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_use_the_short_and_long_forms() {
        assert_eq!(tlv(0x04, &[1, 2]), [0x04, 2, 1, 2]);
        let long = tlv(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(element(&long), Some((304, 4)));
        assert_eq!(
            children(&[tlv(1, &[9]), tlv(2, &[])].concat())
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            element(&[0x30, 0x05, 0]),
            None,
            "content shorter than its length"
        );
    }
}
