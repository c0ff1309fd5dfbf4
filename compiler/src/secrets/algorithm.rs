//! The key algorithm of every key in the bundle, named as kubeadm's
//! `ClusterConfiguration.encryptionAlgorithm` names it.

use std::fmt;
use std::str::FromStr;

/// ECDSA P-256 is the default: kubeadm supports it (`encryptionAlgorithm: ECDSA-P256`),
/// its keys and certificates are a fraction of the size of RSA ones (which matters
/// because they travel inside size-limited cloud-init user-data) and generating them is
/// instantaneous. RSA-2048 is kubeadm's own default and stays available for
/// environments that require RSA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    #[default]
    EcdsaP256,
    Rsa2048,
}

impl KeyAlgorithm {
    pub const ALL: [KeyAlgorithm; 2] = [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048];

    /// The value for kubeadm's `encryptionAlgorithm` and for the bundle's `key-algorithm`.
    pub fn kubeadm_name(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ECDSA-P256",
            Self::Rsa2048 => "RSA-2048",
        }
    }

    pub(crate) fn signature_algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Self::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kubeadm_name())
    }
}

/// The name is not one of [`KeyAlgorithm::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKeyAlgorithm(pub String);

impl fmt::Display for UnknownKeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<String> = KeyAlgorithm::ALL.iter().map(|a| format!("`{a}`")).collect();
        write!(
            f,
            "unknown key algorithm `{}` (expected {})",
            self.0,
            known.join(" or ")
        )
    }
}

impl std::error::Error for UnknownKeyAlgorithm {}

impl FromStr for KeyAlgorithm {
    type Err = UnknownKeyAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyAlgorithm::ALL
            .into_iter()
            .find(|a| a.kubeadm_name() == s)
            .ok_or_else(|| UnknownKeyAlgorithm(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_kubeadm() {
        assert_eq!(KeyAlgorithm::default(), KeyAlgorithm::EcdsaP256);
        for algorithm in KeyAlgorithm::ALL {
            assert_eq!(algorithm.to_string().parse::<KeyAlgorithm>(), Ok(algorithm));
        }
        assert_eq!(KeyAlgorithm::Rsa2048.kubeadm_name(), "RSA-2048");
        let err = "rsa-2048".parse::<KeyAlgorithm>().unwrap_err().to_string();
        assert!(err.contains("`ECDSA-P256` or `RSA-2048`"), "{err}");
    }
}
