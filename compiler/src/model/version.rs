//! Kubernetes releases: the `X.Y.Z` form, and what hac knows about each minor.

use std::fmt;

/// The newest three minors, the ones the Kubernetes project still patches; others
/// get a warning. Update when a minor is released.
pub const KNOWN_MINORS: [u32; 3] = [35, 36, 37];

/// pkgs.k8s.io publishes packages from this minor on; older ones cannot be installed.
pub const OLDEST_PACKAGED_MINOR: u32 = 24;

/// kubeadm's `v1beta4` configuration API exists from this minor on (`v1beta3` before;
/// `v1beta3` is gone from 1.36).
pub const V1BETA4_SINCE_MINOR: u32 = 31;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubernetesVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// Why a version string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    /// Not three dot-separated decimal numbers.
    Syntax,
    /// Not a 1.x release.
    UnknownMajor(u32),
    /// Older than pkgs.k8s.io serves.
    TooOld(KubernetesVersion),
    /// A release written with a leading `v` (`v1.36.1`), as tags spell it; the package
    /// versions hac pins have none.
    LeadingV,
}

impl KubernetesVersion {
    pub fn parse(text: &str) -> Result<KubernetesVersion, VersionError> {
        if let Some(rest) = text.strip_prefix('v') {
            return Err(match KubernetesVersion::parse(rest) {
                Ok(_) | Err(VersionError::UnknownMajor(_) | VersionError::TooOld(_)) => {
                    VersionError::LeadingV
                }
                Err(_) => VersionError::Syntax,
            });
        }
        let mut parts = text.split('.');
        let mut number = || -> Result<u32, VersionError> {
            let part = parts.next().ok_or(VersionError::Syntax)?;
            let canonical = !part.is_empty()
                && part.len() <= 6
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part == "0" || !part.starts_with('0'));
            if !canonical {
                return Err(VersionError::Syntax);
            }
            part.parse().map_err(|_| VersionError::Syntax)
        };
        let version = KubernetesVersion {
            major: number()?,
            minor: number()?,
            patch: number()?,
        };
        if parts.next().is_some() {
            return Err(VersionError::Syntax);
        }
        if version.major != 1 {
            return Err(VersionError::UnknownMajor(version.major));
        }
        if version.minor < OLDEST_PACKAGED_MINOR {
            return Err(VersionError::TooOld(version));
        }
        Ok(version)
    }

    /// Whether the minor is one of [`KNOWN_MINORS`].
    pub fn is_known_minor(self) -> bool {
        KNOWN_MINORS.contains(&self.minor)
    }

    /// `v1.36`, as the pkgs.k8s.io repository path spells it.
    pub fn minor_tag(self) -> String {
        format!("v{}.{}", self.major, self.minor)
    }

    /// The kubeadm configuration API this release reads.
    pub fn kubeadm_api_version(self) -> &'static str {
        if self.minor >= V1BETA4_SINCE_MINOR {
            "kubeadm.k8s.io/v1beta4"
        } else {
            "kubeadm.k8s.io/v1beta3"
        }
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// `1.35, 1.36 and 1.37`, for messages.
pub fn known_minors_text() -> String {
    let names: Vec<String> = KNOWN_MINORS.iter().map(|m| format!("1.{m}")).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_releases_only() {
        let v = KubernetesVersion::parse("1.36.1").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 36, 1));
        assert_eq!(
            KubernetesVersion::parse("v1.35.0"),
            Err(VersionError::LeadingV)
        );
        assert_eq!(KubernetesVersion::parse("v1.35"), Err(VersionError::Syntax));
        assert_eq!(
            KubernetesVersion::parse("vv1.35.0"),
            Err(VersionError::Syntax)
        );
        for bad in [
            "1.36",
            "1.36.1.2",
            "1.36.x",
            "",
            "1..1",
            "1.036.1",
            "1.36.1-rc.0",
            " 1.36.1",
        ] {
            assert_eq!(
                KubernetesVersion::parse(bad),
                Err(VersionError::Syntax),
                "{bad}"
            );
        }
        assert_eq!(
            KubernetesVersion::parse("2.0.0"),
            Err(VersionError::UnknownMajor(2))
        );
        assert!(matches!(
            KubernetesVersion::parse("1.23.17"),
            Err(VersionError::TooOld(_))
        ));
        assert!(KubernetesVersion::parse("1.24.0").is_ok());
    }

    #[test]
    fn knows_the_newest_minors_and_the_api_switch() {
        let known = KubernetesVersion::parse("1.36.1").unwrap();
        assert!(known.is_known_minor());
        assert!(!KubernetesVersion::parse("1.30.4").unwrap().is_known_minor());
        assert_eq!(known.kubeadm_api_version(), "kubeadm.k8s.io/v1beta4");
        assert_eq!(
            KubernetesVersion::parse("1.30.4")
                .unwrap()
                .kubeadm_api_version(),
            "kubeadm.k8s.io/v1beta3"
        );
        assert_eq!(known.minor_tag(), "v1.36");
        assert_eq!(known_minors_text(), "1.35, 1.36 and 1.37");
    }
}
