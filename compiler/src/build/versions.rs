//! Every third-party release the hosts install at boot, in one table: `versions.tsv`
//! next to this file (data, so `scripts/update-versions` can rewrite it;
//! `docs/versions.md` says how, lists where each digest comes from, and embeds the
//! support matrix generated from it). For each artefact: where its files come from,
//! the version hac installs for each Kubernetes minor, the sha256 each file must have,
//! and the sources saying which Kubernetes minors each release series supports.
//!
//! A cluster may name another version of an artefact (`versions.containerd = {
//! version = "…"; sha256 = "…"; }`); the table's digests only vouch for the versions
//! it records. Kubernetes itself is not pinned here: the cluster names its exact
//! version and apt checks its packages against the repository's signing key.

use std::sync::LazyLock;

use serde::Serialize;

/// Cilium's name in the table: installed by the cilium CLI (a download) as images.
pub const CILIUM: &str = "cilium";

/// The Cilium version the cilium CLI installs on clusters of Kubernetes 1.`minor`.
pub fn cilium_version(minor: u32) -> &'static str {
    default_version(CILIUM, minor)
}

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
    /// The cilium CLI, which installs Cilium ([`cilium_version`]).
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
        let mut parts: Vec<&'static str> = Vec::new();
        for url in TABLE.urls.iter().filter(|u| u.artefact == self) {
            if !parts.contains(&url.part) {
                parts.push(url.part);
            }
        }
        parts
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
    /// Projects rename files between releases: the template is the last `url` line of
    /// the part whose `SINCE` is at or below `version`.
    pub fn url(self, version: &str, part: &str) -> Option<String> {
        url_in(&TABLE, self, version, part)
    }

    /// The version hac installs on clusters of Kubernetes 1.`minor` when the source
    /// names none.
    pub fn default_version(self, minor: u32) -> &'static str {
        default_version(self.name(), minor)
    }

    /// The versions the table records digests for (every version a default names).
    pub fn recorded_versions(self) -> Vec<&'static str> {
        let mut versions: Vec<&'static str> = TABLE
            .pins
            .iter()
            .filter(|p| p.artefact == self)
            .map(|p| p.version)
            .collect();
        versions.dedup();
        versions
    }

    /// The recorded digest of `part` of `version`, if any.
    pub fn pinned_sha256(self, version: &str, part: &str) -> Option<&'static str> {
        self.pin(version, part).and_then(|p| p.sha256)
    }

    /// Where the recorded digest of `part` of `version` comes from.
    pub fn pinned_source(self, version: &str, part: &str) -> Option<&'static str> {
        self.pin(version, part).map(|p| p.source)
    }

    fn pin(self, version: &str, part: &str) -> Option<&'static Pin> {
        TABLE
            .pins
            .iter()
            .find(|p| p.artefact == self && p.version == version && p.part == part)
    }
}

/// The version of `name` (an artefact or [`CILIUM`]) for Kubernetes 1.`minor`: the
/// last default line starting at or below the minor, or the first line for older
/// minors. Empty only for a name the table lacks, which its tests refuse.
pub fn default_version(name: &str, minor: u32) -> &'static str {
    default_in(&TABLE, name, minor).unwrap_or_default()
}

fn default_in(table: &Table, name: &str, minor: u32) -> Option<&'static str> {
    let mut lines = table.defaults.iter().filter(|d| d.name == name);
    let first = lines.clone().next();
    lines
        .rfind(|d| d.from_minor <= minor)
        .or(first)
        .map(|d| d.version)
}

/// Whether hac installs a release of `name` on clusters of Kubernetes 1.`minor` at
/// all (containerd's release only from the minor that needs it).
fn has_default(name: &str, minor: u32) -> bool {
    TABLE
        .defaults
        .iter()
        .any(|d| d.name == name && d.from_minor <= minor)
}

fn url_in(table: &Table, artefact: Artefact, version: &str, part: &str) -> Option<String> {
    let wanted = release_numbers(version);
    table
        .urls
        .iter()
        .filter(|u| u.artefact == artefact && u.part == part)
        .filter(|u| match (u.since, wanted) {
            (None, _) => true,
            (Some(since), Some(wanted)) => since <= wanted,
            (Some(_), None) => false,
        })
        .max_by_key(|u| u.since)
        .map(|u| u.template.replace("{version}", version))
}

/// `2.2.1` as numbers (a pre-release counts as its release).
fn release_numbers(version: &str) -> Option<(u32, u32, u32)> {
    let core = version.split('-').next()?;
    let mut numbers = core.split('.').map(|n| n.parse::<u32>().ok());
    let parsed = (numbers.next()??, numbers.next()??, numbers.next()??);
    numbers.next().is_none().then_some(parsed)
}

#[derive(Debug)]
struct UrlTemplate {
    artefact: Artefact,
    part: &'static str,
    /// The first release this template applies to; `None`: every release.
    since: Option<(u32, u32, u32)>,
    template: &'static str,
}

#[derive(Debug)]
struct Default {
    name: &'static str,
    from_minor: u32,
    version: &'static str,
}

#[derive(Debug)]
struct Pin {
    artefact: Artefact,
    version: &'static str,
    part: &'static str,
    sha256: Option<&'static str>,
    source: &'static str,
}

/// A source saying a release series supports a range of Kubernetes minors.
#[derive(Debug)]
struct Support {
    id: &'static str,
    name: &'static str,
    series: &'static str,
    minors: (u32, u32),
    vendor: bool,
    source: &'static str,
}

impl Support {
    fn covers(&self, version: &str, minor: u32) -> bool {
        version
            .strip_prefix(self.series)
            .is_some_and(|rest| rest.starts_with('.'))
            && (self.minors.0..=self.minors.1).contains(&minor)
    }
}

#[derive(Debug)]
struct Table {
    urls: Vec<UrlTemplate>,
    defaults: Vec<Default>,
    pins: Vec<Pin>,
    supports: Vec<Support>,
}

const TABLE_TEXT: &str = include_str!("versions.tsv");

/// The table is part of hac, not input: a malformed one fails the tests below.
static TABLE: LazyLock<Table> =
    LazyLock::new(|| parse_table(TABLE_TEXT).unwrap_or_else(|e| panic!("versions.tsv: {e}")));

fn is_component(name: &str) -> bool {
    name == CILIUM || Artefact::parse(name).is_some()
}

fn parse_table(text: &'static str) -> Result<Table, String> {
    let mut table = Table {
        urls: Vec::new(),
        defaults: Vec::new(),
        pins: Vec::new(),
        supports: Vec::new(),
    };
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |what: &str| format!("line {}: {what}: {line}", number + 1);
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "url" => {
                let mut words = rest.split(' ');
                let artefact = words
                    .next()
                    .and_then(Artefact::parse)
                    .ok_or_else(|| at("unknown artefact"))?;
                let part = words.next().ok_or_else(|| at("no part"))?;
                let template = words.next().ok_or_else(|| at("no template"))?;
                if !template.starts_with("https://") || !template.contains("{version}") {
                    return Err(at("not an https:// template with {version}"));
                }
                let since = match words.next() {
                    None => None,
                    Some(since) => {
                        check_release_version(since).map_err(|e| at(&e))?;
                        Some(release_numbers(since).ok_or_else(|| at("not a release"))?)
                    }
                };
                if words.next().is_some() {
                    return Err(at("not `url ARTEFACT PART TEMPLATE [SINCE]`"));
                }
                if table
                    .urls
                    .iter()
                    .any(|u| u.artefact == artefact && u.part == part && u.since == since)
                {
                    return Err(at("a second template for the same part and releases"));
                }
                table.urls.push(UrlTemplate {
                    artefact,
                    part,
                    since,
                    template,
                });
            }
            "default" => {
                let words: Vec<&str> = rest.split(' ').collect();
                let [name, from_minor, version] = words[..] else {
                    return Err(at("not `default NAME FROM_MINOR VERSION`"));
                };
                if !is_component(name) {
                    return Err(at("unknown artefact"));
                }
                check_release_version(version).map_err(|e| at(&e))?;
                let from_minor = minor(from_minor).ok_or_else(|| at("not a minor"))?;
                if let Some(previous) = table.defaults.iter().rev().find(|d| d.name == name)
                    && previous.from_minor >= from_minor
                {
                    return Err(at(
                        "default lines of one name go from older to newer minors",
                    ));
                }
                table.defaults.push(Default {
                    name,
                    from_minor,
                    version,
                });
            }
            "pin" => {
                let mut words = rest.splitn(5, ' ');
                let artefact = words
                    .next()
                    .and_then(Artefact::parse)
                    .ok_or_else(|| at("unknown artefact"))?;
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
            "support" => {
                let mut words = rest.splitn(7, ' ');
                let mut next = |what: &str| words.next().ok_or_else(|| at(what));
                let id = next("no id")?;
                let name = next("no name")?;
                let series = next("no series")?;
                let first = next("no first minor")?;
                let last = next("no last minor")?;
                let by = next("no `vendor` or `third-party`")?;
                let source = next("no source")?;
                if !is_component(name) {
                    return Err(at("unknown artefact"));
                }
                let minors = (
                    minor(first).ok_or_else(|| at("not a minor"))?,
                    minor(last).ok_or_else(|| at("not a minor"))?,
                );
                if minors.0 > minors.1 {
                    return Err(at("the first minor is after the last"));
                }
                let vendor = match by {
                    "vendor" => true,
                    "third-party" => false,
                    _ => return Err(at("neither `vendor` nor `third-party`")),
                };
                table.supports.push(Support {
                    id,
                    name,
                    series,
                    minors,
                    vendor,
                    source,
                });
            }
            _ => return Err(at("neither `url`, `default`, `pin` nor `support`")),
        }
    }
    Ok(table)
}

fn minor(text: &str) -> Option<u32> {
    (!text.is_empty() && text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// The support matrix of `docs/versions.md`: for each Kubernetes minor hac knows, the
/// version of each component it installs and the sources saying that version's series
/// supports the minor, vendors' first; then the sources.
pub fn support_matrix_markdown() -> String {
    use crate::model::version::KNOWN_MINORS;
    let columns = ["containerd", "flannel", "calico", CILIUM];
    let mut out = String::from(
        "| Kubernetes | containerd (release) | flannel | Calico | Cilium (cilium CLI) |\n| --- | --- | --- | --- | --- |\n",
    );
    for minor in KNOWN_MINORS {
        let mut cells = vec![format!("1.{minor}")];
        for name in columns {
            if !has_default(name, minor) && name == "containerd" {
                cells.push("the OS's package (1.x or 2.x)".to_owned());
                continue;
            }
            let version = default_version(name, minor);
            let mut cell = format!("`{version}`");
            if name == CILIUM {
                cell.push_str(&format!(
                    " (CLI `{}`)",
                    Artefact::CiliumCli.default_version(minor)
                ));
            }
            let mut sources: Vec<&Support> = TABLE
                .supports
                .iter()
                .filter(|s| s.name == name && s.covers(version, minor))
                .collect();
            sources.sort_by_key(|s| !s.vendor);
            match sources.first() {
                Some(best) if best.vendor => cell.push_str(": tested, vendor"),
                Some(_) => cell.push_str(": tested per a third party only"),
                None => cell.push_str(": **not confirmed**"),
            }
            for source in &sources {
                cell.push_str(&format!(" [{}]", source.id));
            }
            cells.push(cell);
        }
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push('\n');
    for support in &TABLE.supports {
        let by = if support.vendor {
            "vendor"
        } else {
            "third party"
        };
        let (first, last) = support.minors;
        let minors = if first == last {
            format!("1.{first}")
        } else {
            format!("1.{first} to 1.{last}")
        };
        out.push_str(&format!(
            "- [{}] ({by}) {} {}.x supports Kubernetes {minors}: {}\n",
            support.id, support.name, support.series, support.source
        ));
    }
    out
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

    use crate::model::version::KNOWN_MINORS;

    #[test]
    fn the_table_parses_and_pins_every_part_of_every_default_version() {
        parse_table(TABLE_TEXT).unwrap();
        for artefact in Artefact::ALL {
            let parts = artefact.parts();
            assert!(!parts.is_empty(), "{artefact:?} has no url lines");
            let defaults: Vec<&Default> = TABLE
                .defaults
                .iter()
                .filter(|d| d.name == artefact.name())
                .collect();
            assert!(!defaults.is_empty(), "{artefact:?} has no default line");
            for default in defaults {
                let version = default.version;
                for part in &parts {
                    let pins: Vec<_> = TABLE
                        .pins
                        .iter()
                        .filter(|p| {
                            p.artefact == artefact && p.version == version && p.part == *part
                        })
                        .collect();
                    assert_eq!(pins.len(), 1, "{artefact:?} {version} {part}: one pin line");
                    assert!(!pins[0].source.trim().is_empty());
                    let url = artefact.url(version, part).unwrap();
                    assert!(url.contains(version) && !url.contains("{version}"), "{url}");
                }
            }
        }
        // No pin for a version nothing installs by default: the script re-records them all.
        for pin in &TABLE.pins {
            assert!(
                TABLE
                    .defaults
                    .iter()
                    .any(|d| d.name == pin.artefact.name() && d.version == pin.version),
                "{pin:?} pins a version no default line names"
            );
        }
        assert!(!default_version(CILIUM, 36).is_empty());
    }

    #[test]
    fn the_default_follows_the_kubernetes_minor() {
        let table = parse_table(
            "default calico 0 3.30.3\ndefault calico 36 3.32.4\ndefault calico 37 3.33.1\ndefault containerd 36 2.2.1",
        )
        .unwrap();
        let pick = |name: &str, minor: u32| default_in(&table, name, minor);
        assert_eq!(pick("calico", 30), Some("3.30.3"));
        assert_eq!(pick("calico", 35), Some("3.30.3"));
        assert_eq!(pick("calico", 36), Some("3.32.4"));
        assert_eq!(pick("calico", 37), Some("3.33.1"));
        assert_eq!(pick("calico", 40), Some("3.33.1"));
        assert_eq!(pick("containerd", 35), Some("2.2.1"));
        // The real table: Calico 3.32 is the newest series hac's manifests fit (3.33
        // installs its CRDs from other files), vendor-tested up to 1.36.
        assert_eq!(Artefact::Calico.default_version(36), "3.32.4");
        assert_eq!(Artefact::Calico.default_version(37), "3.32.4");
        assert!(has_default("containerd", 36) && !has_default("containerd", 35));
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
            for minor in KNOWN_MINORS {
                let version = artefact.default_version(minor);
                for part in ["amd64", "arm64"] {
                    assert!(
                        artefact.pinned_sha256(version, part).is_some(),
                        "{artefact:?} {version} {part}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_renamed_file_has_its_template_from_the_release_that_renamed_it() {
        let table = parse_table(
            "url calico crds https://x/v{version}/operator-crds.yaml\nurl calico crds https://x/v{version}/v1_crd.yaml 3.32.0\nurl calico operator https://x/v{version}/tigera-operator.yaml",
        )
        .unwrap();
        let url = |version: &str, part: &str| url_in(&table, Artefact::Calico, version, part);
        assert_eq!(
            url("3.30.3", "crds").unwrap(),
            "https://x/v3.30.3/operator-crds.yaml"
        );
        assert_eq!(
            url("3.32.0", "crds").unwrap(),
            "https://x/v3.32.0/v1_crd.yaml"
        );
        assert_eq!(
            url("3.33.1", "crds").unwrap(),
            "https://x/v3.33.1/v1_crd.yaml"
        );
        assert_eq!(
            url("3.32.0-rc.1", "crds").unwrap(),
            "https://x/v3.32.0-rc.1/v1_crd.yaml"
        );
        assert_eq!(
            url("3.32.4", "operator").unwrap(),
            "https://x/v3.32.4/tigera-operator.yaml"
        );
        // The real table: Calico 3.32 ships its CRDs as v1_crd_projectcalico_org.yaml.
        assert!(
            Artefact::Calico
                .url("3.32.4", "crds")
                .unwrap()
                .ends_with("/v3.32.4/manifests/v1_crd_projectcalico_org.yaml")
        );
        assert!(
            Artefact::Calico
                .url("3.30.3", "crds")
                .unwrap()
                .ends_with("/v3.30.3/manifests/operator-crds.yaml")
        );
        assert_eq!(Artefact::Calico.parts(), ["crds", "operator"]);
    }

    #[test]
    fn support_lines_name_a_source_and_say_who_states_it() {
        assert!(!TABLE.supports.is_empty());
        for support in &TABLE.supports {
            assert!(
                support.source.contains("commit")
                    || support.source.contains("tag")
                    || support.source.contains("release"),
                "{support:?}: a support claim without the version of its source"
            );
            assert!(
                TABLE.supports.iter().filter(|s| s.id == support.id).count() == 1,
                "{support:?}: ids are unique"
            );
        }
        let three_two = TABLE
            .supports
            .iter()
            .find(|s| s.id == "calico-3.32")
            .unwrap();
        assert!(three_two.vendor && three_two.covers("3.32.4", 36));
        assert!(!three_two.covers("3.33.1", 36) && !three_two.covers("3.32.4", 37));
        assert!(!three_two.covers("3.320.0", 36));
    }

    #[test]
    fn the_matrix_says_what_is_tested_and_by_whom() {
        let matrix = support_matrix_markdown();
        assert!(
            matrix.contains("| 1.36 | `2.2.1`: **not confirmed** | `0.27.4`: **not confirmed** | `3.32.4`: tested, vendor [calico-3.32] |"),
            "{matrix}"
        );
        assert!(matrix.contains("| 1.35 | the OS's package"), "{matrix}");
        assert!(
            matrix.contains("| 1.37 | `2.2.1`: **not confirmed** | `0.27.4`: **not confirmed** | `3.32.4`: **not confirmed** |"),
            "{matrix}"
        );
        assert!(
            matrix.contains("- [kupre-calico] (third party)"),
            "{matrix}"
        );
        assert!(matrix.contains("- [cilium-1.18] (vendor)"), "{matrix}");
    }

    const DOCS: &str = include_str!("../../../docs/versions.md");
    const DOCS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/versions.md");
    const BEGIN: &str = "<!-- BEGIN GENERATED matrix -->\n";
    const END: &str = "<!-- END GENERATED matrix -->";

    fn bounds(text: &str) -> (usize, usize) {
        let start = text
            .find(BEGIN)
            .expect("docs/versions.md lacks the matrix marker")
            + BEGIN.len();
        let stop = text[start..]
            .find(END)
            .expect("docs/versions.md lacks the matrix end marker");
        (start, start + stop)
    }

    /// docs/versions.md embeds the matrix generated from the table; with `HAC_BLESS=1`
    /// the test rewrites it instead.
    #[test]
    fn docs_embed_the_support_matrix() {
        let expected = support_matrix_markdown();
        if std::env::var_os("HAC_BLESS").is_some() {
            let mut text = std::fs::read_to_string(DOCS_PATH).expect("docs/versions.md");
            let (start, stop) = bounds(&text);
            text.replace_range(start..stop, &expected);
            std::fs::write(DOCS_PATH, text).expect("write docs/versions.md");
            return;
        }
        let (start, stop) = bounds(DOCS);
        assert!(
            DOCS[start..stop] == *expected,
            "the support matrix in docs/versions.md is out of date; run `HAC_BLESS=1 cargo test -p hac --lib docs_embed -- --test-threads=1` and review the diff"
        );
    }

    #[test]
    fn malformed_tables_are_refused() {
        for bad in [
            "default calico 36 3.32.4\ndefault calico 35 3.30.3",
            "default calico x 3.32.4",
            "default calico 36 v3.32.4",
            "default nosuch 0 1.0.0",
            "support a calico 3.32 36 32 vendor src",
            "support a calico 3.32 32 36 maybe src",
            "url nosuch amd64 https://x/{version}",
            "url containerd amd64 http://x/{version}",
            "url containerd amd64 https://x/fixed",
            "url calico crds https://x/{version} 3.32",
            "url calico crds https://x/{version} 3.32.0 extra",
            "url calico crds https://x/{version}\nurl calico crds https://y/{version}",
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
