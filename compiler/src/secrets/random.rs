//! Random values from the operating system's CSPRNG.

use super::error::SecretsError;
use super::secret::Secret;

pub(crate) fn fill(bytes: &mut [u8]) -> Result<(), SecretsError> {
    getrandom::fill(bytes)
        .map_err(|e| SecretsError::crypto("cannot read the operating system's random source", e))
}

/// kubeadm's certificate key, and the join seed: 32 random bytes as 64 lowercase hex
/// characters.
pub(crate) fn certificate_key() -> Result<Secret, SecretsError> {
    let mut bytes = [0u8; 32];
    fill(&mut bytes)?;
    let hex = lower_hex(&bytes);
    bytes.fill(0);
    Ok(Secret::new(hex))
}

/// A positive, non-zero 128-bit certificate serial number, as RFC 5280 asks.
pub(crate) fn serial_number() -> Result<rcgen::SerialNumber, SecretsError> {
    let mut bytes = [0u8; 16];
    fill(&mut bytes)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}

pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_key_is_64_lowercase_hex() {
        let a = certificate_key().unwrap();
        let b = certificate_key().unwrap();
        assert_eq!(a.expose().len(), 64);
        assert!(
            a.expose()
                .chars()
                .all(|c| matches!(c, '0'..='9' | 'a'..='f'))
        );
        assert_ne!(a, b);
    }
}
