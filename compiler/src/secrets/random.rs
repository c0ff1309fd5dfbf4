//! Random values from the operating system's CSPRNG.

use super::error::SecretsError;
use super::secret::Secret;

const TOKEN_ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

pub(crate) fn fill(bytes: &mut [u8]) -> Result<(), SecretsError> {
    getrandom::fill(bytes)
        .map_err(|e| SecretsError::crypto("cannot read the operating system's random source", e))
}

/// `len` characters drawn uniformly from `[a-z0-9]`. Bytes of 252 and above are
/// rejected so that every character is equally likely (252 = 7 × 36).
fn token_chars(len: usize) -> Result<String, SecretsError> {
    let mut out = String::with_capacity(len);
    let mut buffer = [0u8; 64];
    while out.len() < len {
        fill(&mut buffer)?;
        for &byte in &buffer {
            if out.len() == len {
                break;
            }
            if byte < 252 {
                out.push(TOKEN_ALPHABET[usize::from(byte % 36)] as char);
            }
        }
    }
    Ok(out)
}

/// A bootstrap token id (6 characters) and secret (16 characters).
pub(crate) fn bootstrap_token_parts() -> Result<(String, Secret), SecretsError> {
    let id = token_chars(6)?;
    let secret = Secret::new(token_chars(16)?);
    Ok((id, secret))
}

/// kubeadm's certificate key: 32 random bytes as 64 lowercase hex characters.
pub(crate) fn certificate_key() -> Result<Secret, SecretsError> {
    let mut bytes = [0u8; 32];
    fill(&mut bytes)?;
    let hex = lower_hex(&bytes);
    bytes.fill(0);
    Ok(Secret::new(hex))
}

/// A bundle's cluster id: 16 random bytes as 32 lowercase hex characters.
pub(crate) fn cluster_id() -> Result<String, SecretsError> {
    let mut bytes = [0u8; 16];
    fill(&mut bytes)?;
    Ok(lower_hex(&bytes))
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
    fn token_parts_have_kubeadm_format() {
        for _ in 0..200 {
            let (id, secret) = bootstrap_token_parts().unwrap();
            assert_eq!(id.len(), 6);
            assert_eq!(secret.expose().len(), 16);
            assert!(
                id.chars()
                    .chain(secret.expose().chars())
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            );
        }
    }

    #[test]
    fn token_characters_cover_the_whole_alphabet() {
        let sample = token_chars(36 * 200).unwrap();
        for &c in TOKEN_ALPHABET {
            let count = sample.bytes().filter(|&b| b == c).count();
            // expected 200 each; a biased or truncated alphabet falls far outside this
            assert!(
                (100..=320).contains(&count),
                "`{}` appeared {count} times",
                c as char
            );
        }
    }

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
