//! Every third-party release file the hosts download at boot, pinned with the
//! sha256 it must have, in one table: `versions.tsv` next to this file (data, so
//! `scripts/update-versions` can rewrite it; `docs/versions.md` says how and lists
//! where each digest comes from).
//!
//! A cluster may name another version of an artefact (`versions.containerd = {
//! version = "…"; sha256 = "…"; }`); the table's digests only vouch for the table's
//! version. Kubernetes itself is not pinned here: the cluster names its exact
//! version and apt checks its packages against the repository's signing key.

use std::sync::LazyLock;

use serde::Serialize;

/// Cilium, installed by the cilium CLI (the CLI is a download, in the table).
pub const CILIUM: &str = "1.18.2";

/// A release hac downloads, as the source names it under `versions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Artefact {
    /// containerd 2.x, only where the OS packages 1.x and the cluster needs 2.x.
    Containerd,
    /// flannel's release manifest `kube-flannel.yml`.
    Flannel,
    /// The Tigera operator and its CRDs from Calico's `manifests/`.
    Calico,
    /// The cilium CLI, which installs Cilium [`CILIUM`].
    CiliumCli,
}

impl Artefact {
    pub const ALL: [Artefact; 4] = [
        Artefact::Containerd,
        Artefact::Flannel,
        Artefact::Calico,
        Artefact::CiliumCli,
    ];

    /// The attribute under `versions` and the first column of the table.
    pub fn name(self) -> &'static str {
        match self {
            Artefact::Containerd => "containerd",
            Artefact::Flannel => "flannel",
            Artefact::Calico => "calico",
            Artefact::CiliumCli => "ciliumCli",
        }
    }

    pub fn parse(name: &str) -> Option<Artefact> {
        Artefact::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The files of one release, in table order (`amd64`, `arm64`; `crds`, `operator`).
    pub fn parts(self) -> Vec<&'static str> {
        TABLE
            .urls
            .iter()
            .filter(|u| u.artefact == self)
            .map(|u| u.part)
            .collect()
    }

    /// The part a plain `sha256 = "…";` stands for: the only file, or `amd64`.
    /// `None` when the release has several files none of which is the obvious one.
    pub fn default_part(self) -> Option<&'static str> {
        let parts = self.parts();
        match parts.as_slice() {
            [only] => Some(only),
            _ => parts.into_iter().find(|p| *p == "amd64"),
        }
    }

    /// Parts that are CPU architectures (a host downloads only its own).
    pub fn is_per_architecture(self) -> bool {
        matches!(self, Artefact::Containerd | Artefact::CiliumCli)
    }

    /// The upstream URL of `part` of `version`.
    pub fn url(self, version: &str, part: &str) -> Option<String> {
        TABLE
            .urls
            .iter()
            .find(|u| u.artefact == self && u.part == part)
            .map(|u| u.template.replace("{version}", version))
    }

    /// The version hac installs when the source names none.
    pub fn pinned_version(self) -> &'static str {
        TABLE
            .pins
            .iter()
            .find(|p| p.artefact == self)
            .map(|p| p.version)
            .unwrap_or_default()
    }

    /// The recorded digest of `part` of the pinned version, if any.
    pub fn pinned_sha256(self, part: &str) -> Option<&'static str> {
        self.pin(part).and_then(|p| p.sha256)
    }

    /// Where the recorded digest of `part` comes from.
    pub fn pinned_source(self, part: &str) -> Option<&'static str> {
        self.pin(part).map(|p| p.source)
    }

    fn pin(self, part: &str) -> Option<&'static Pin> {
        TABLE
            .pins
            .iter()
            .find(|p| p.artefact == self && p.part == part)
    }
}

#[derive(Debug)]
struct UrlTemplate {
    artefact: Artefact,
    part: &'static str,
    template: &'static str,
}

#[derive(Debug)]
struct Pin {
    artefact: Artefact,
    version: &'static str,
    part: &'static str,
    sha256: Option<&'static str>,
    source: &'static str,
}

#[derive(Debug)]
struct Table {
    urls: Vec<UrlTemplate>,
    pins: Vec<Pin>,
}

const TABLE_TEXT: &str = include_str!("versions.tsv");

/// The table is part of hac, not input: a malformed one fails the tests below.
static TABLE: LazyLock<Table> =
    LazyLock::new(|| parse_table(TABLE_TEXT).unwrap_or_else(|e| panic!("versions.tsv: {e}")));

fn parse_table(text: &'static str) -> Result<Table, String> {
    let mut table = Table {
        urls: Vec::new(),
        pins: Vec::new(),
    };
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |what: &str| format!("line {}: {what}: {line}", number + 1);
        let mut words = line.splitn(6, ' ');
        let kind = words.next().unwrap_or_default();
        let artefact = words
            .next()
            .and_then(Artefact::parse)
            .ok_or_else(|| at("unknown artefact"))?;
        match kind {
            "url" => {
                let part = words.next().ok_or_else(|| at("no part"))?;
                let template = words.next().ok_or_else(|| at("no template"))?;
                if !template.starts_with("https://") || !template.contains("{version}") {
                    return Err(at("not an https:// template with {version}"));
                }
                table.urls.push(UrlTemplate {
                    artefact,
                    part,
                    template,
                });
            }
            "pin" => {
                let version = words.next().ok_or_else(|| at("no version"))?;
                let part = words.next().ok_or_else(|| at("no part"))?;
                let sha256 = words.next().ok_or_else(|| at("no sha256"))?;
                let source = words
                    .next()
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| at("no source"))?;
                let sha256 = match sha256 {
                    "-" => None,
                    digest if is_sha256(digest) => Some(digest),
                    _ => return Err(at("not 64 lowercase hexadecimal digits or `-`")),
                };
                table.pins.push(Pin {
                    artefact,
                    version,
                    part,
                    sha256,
                    source,
                });
            }
            _ => return Err(at("neither `url` nor `pin`")),
        }
    }
    Ok(table)
}

/// 64 lowercase hexadecimal digits.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A release version as projects tag them without the `v`: `2.2.1`, `1.0.0-rc.1`.
pub fn check_release_version(text: &str) -> Result<(), String> {
    let (core, pre) = match text.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (text, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let core_ok = numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.len() <= 6 && n.bytes().all(|b| b.is_ascii_digit()));
    let pre_ok = pre.is_none_or(|pre| {
        !pre.is_empty() && pre.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
    });
    if core_ok && pre_ok {
        return Ok(());
    }
    if text.starts_with('v') && check_release_version(&text[1..]).is_ok() {
        return Err(format!(
            "`{}` has a leading `v`: write the version without it (`{}`)",
            text.escape_debug(),
            &text[1..]
        ));
    }
    Err(format!(
        "`{}` is not a release version like `2.2.1` or `1.0.0-rc.1`",
        text.escape_debug()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_pins_every_part_of_every_artefact() {
        parse_table(TABLE_TEXT).unwrap();
        for artefact in Artefact::ALL {
            let parts = artefact.parts();
            assert!(!parts.is_empty(), "{artefact:?} has no url lines");
            let version = artefact.pinned_version();
            check_release_version(version).unwrap();
            for part in parts {
                let pins: Vec<_> = TABLE
                    .pins
                    .iter()
                    .filter(|p| p.artefact == artefact && p.part == part)
                    .collect();
                assert_eq!(pins.len(), 1, "{artefact:?} {part}: one pin line");
                assert_eq!(pins[0].version, version, "{artefact:?}: one version");
                assert!(!pins[0].source.trim().is_empty());
                let url = artefact.url(version, part).unwrap();
                assert!(url.contains(version) && !url.contains("{version}"), "{url}");
            }
        }
    }

    #[test]
    fn recorded_digests_say_where_they_come_from() {
        for pin in &TABLE.pins {
            if pin.sha256.is_some() {
                assert!(
                    pin.source.contains("commit") || pin.source.contains("fetched"),
                    "{pin:?}: a digest without the commit or date it was read from"
                );
            }
        }
        // The containerd and cilium CLI digests are recorded (kubespray publishes them).
        for artefact in [Artefact::Containerd, Artefact::CiliumCli] {
            for part in ["amd64", "arm64"] {
                assert!(
                    artefact.pinned_sha256(part).is_some(),
                    "{artefact:?} {part}"
                );
            }
        }
    }

    #[test]
    fn malformed_tables_are_refused() {
        for bad in [
            "url nosuch amd64 https://x/{version}",
            "url containerd amd64 http://x/{version}",
            "url containerd amd64 https://x/fixed",
            "pin containerd 2.2.1 amd64 ABC source",
            "pin containerd 2.2.1 amd64 - ",
            "zap containerd",
        ] {
            assert!(parse_table(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn release_versions_are_checked() {
        for good in ["2.2.1", "0.18.9", "1.0.0-rc.1", "3.30.3"] {
            check_release_version(good).unwrap();
        }
        for bad in [
            "2.2",
            "2.2.1.1",
            "",
            "2.x.1",
            "2.2.1-",
            "2.2.1-a/b",
            "2.2.1 ",
        ] {
            assert!(check_release_version(bad).is_err(), "{bad:?}");
        }
        assert!(
            check_release_version("v2.2.1")
                .unwrap_err()
                .contains("leading `v`")
        );
    }

    #[test]
    fn digests_are_64_lowercase_hex_digits() {
        assert!(is_sha256(&"a".repeat(64)));
        assert!(!is_sha256(&"A".repeat(64)));
        assert!(!is_sha256(&"a".repeat(63)));
        assert!(!is_sha256(&"g".repeat(64)));
    }
}
