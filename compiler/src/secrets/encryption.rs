//! The key that encrypts Secrets at rest (kube-apiserver's `EncryptionConfiguration`,
//! provider `secretbox`), and its rotation in the steps the API servers of an HA
//! cluster need: a new key is first added for reading only, then made the key that
//! writes, and the old one is dropped once every Secret was rewritten with the new.
//!
//! Why `secretbox` (XSalsa20-Poly1305): it is authenticated encryption with a 24-byte
//! random nonce, so, unlike `aesgcm`, a key does not have to be rotated after a few
//! hundred thousand writes to stay clear of nonce reuse, and, unlike `aescbc`, it is
//! not malleable and open to padding-oracle attacks (the Kubernetes documentation
//! recommends neither for new set-ups). KMS v2 would keep the key off the control
//! planes, but needs a KMS that hac cannot assume.

use super::error::SecretsError;
use super::random;
use super::secret::Secret;

/// The bytes of a `secretbox` key.
pub const KEY_BYTES: usize = 32;

/// One key: its number (names it in the configuration, `hac-<number>`) and its 32
/// bytes in standard base64, as `EncryptionConfiguration` takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptionKey {
    pub(crate) number: u32,
    pub(crate) secret: Secret,
}

impl EncryptionKey {
    pub(crate) fn generate(number: u32) -> Result<EncryptionKey, SecretsError> {
        let mut bytes = [0u8; KEY_BYTES];
        random::fill(&mut bytes)?;
        let secret = Secret::new(base64(&bytes));
        bytes.fill(0);
        Ok(EncryptionKey { number, secret })
    }

    /// The key's name in the `EncryptionConfiguration`.
    pub fn name(&self) -> String {
        format!("hac-{}", self.number)
    }

    /// The key, base64 (standard alphabet, padded) of 32 bytes.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Whether `text` is the base64 of exactly [`KEY_BYTES`] bytes.
    pub(crate) fn is_valid_secret(text: &str) -> bool {
        text.len() == 44
            && text.ends_with('=')
            && !text.ends_with("==")
            && text[..43]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    }
}

/// The bundle's encryption keys: the one that writes, and at most one other that the
/// API servers only read with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptionKeys {
    pub(crate) write: EncryptionKey,
    pub(crate) other: Option<EncryptionKey>,
}

/// Where a key rotation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationPhase {
    /// One key.
    Settled,
    /// A newer key is listed for reading; it writes after the next rotation step.
    Staged,
    /// An older key is still listed for reading Secrets written before the rotation.
    Retiring,
}

impl EncryptionKeys {
    pub(crate) fn new() -> Result<EncryptionKeys, SecretsError> {
        Ok(EncryptionKeys {
            write: EncryptionKey::generate(1)?,
            other: None,
        })
    }

    /// The keys in the order the provider lists them: the first encrypts, every one
    /// decrypts.
    pub fn in_provider_order(&self) -> Vec<&EncryptionKey> {
        std::iter::once(&self.write)
            .chain(self.other.as_ref())
            .collect()
    }

    pub fn phase(&self) -> RotationPhase {
        match &self.other {
            None => RotationPhase::Settled,
            Some(other) if other.number > self.write.number => RotationPhase::Staged,
            Some(_) => RotationPhase::Retiring,
        }
    }

    /// The next step of a rotation: stage a new key, make the staged key write, or
    /// drop the retiring one.
    pub(crate) fn rotated(&self) -> Result<EncryptionKeys, SecretsError> {
        Ok(match (&self.other, self.phase()) {
            (_, RotationPhase::Settled) => {
                let next =
                    self.write
                        .number
                        .checked_add(1)
                        .ok_or_else(|| SecretsError::InvalidSpec {
                            message: "the encryption key number cannot go higher".to_owned(),
                        })?;
                EncryptionKeys {
                    write: self.write.clone(),
                    other: Some(EncryptionKey::generate(next)?),
                }
            }
            (Some(staged), RotationPhase::Staged) => EncryptionKeys {
                write: staged.clone(),
                other: Some(self.write.clone()),
            },
            _ => EncryptionKeys {
                write: self.write.clone(),
                other: None,
            },
        })
    }
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn keys_are_32_random_bytes() {
        let a = EncryptionKey::generate(1).unwrap();
        let b = EncryptionKey::generate(1).unwrap();
        assert_ne!(a.secret, b.secret);
        assert!(EncryptionKey::is_valid_secret(a.secret.expose()));
        assert!(!EncryptionKey::is_valid_secret(&base64(&[0; 31])));
        assert!(!EncryptionKey::is_valid_secret(&base64(&[0; 33])));
    }

    #[test]
    fn rotation_stages_promotes_then_drops() {
        let first = EncryptionKeys::new().unwrap();
        assert_eq!(first.phase(), RotationPhase::Settled);
        let staged = first.rotated().unwrap();
        assert_eq!(staged.phase(), RotationPhase::Staged);
        assert_eq!(staged.write, first.write, "the old key still writes");
        let promoted = staged.rotated().unwrap();
        assert_eq!(promoted.phase(), RotationPhase::Retiring);
        assert_eq!(Some(&promoted.write), staged.other.as_ref());
        assert_eq!(promoted.other.as_ref(), Some(&first.write));
        let settled = promoted.rotated().unwrap();
        assert_eq!(settled.phase(), RotationPhase::Settled);
        assert_eq!(settled.write, promoted.write);
        assert_eq!(settled.write.name(), "hac-2");
    }
}
