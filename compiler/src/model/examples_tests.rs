//! The shipped examples, evaluated by the real language: each checks with exactly the
//! expected warnings and has a plan; broken variants report at the user's source text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hac_lang::loader::OverlayLoader;
use hac_lang::{Analysis, FsLoader, Limits, analyze};

use super::{check_cluster, codes};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn evaluate(path: &Path, replace: Option<(&str, &str)>) -> Analysis {
    let mut overlay = HashMap::new();
    if let Some((from, to)) = replace {
        let text = std::fs::read_to_string(path).expect("example");
        assert!(text.contains(from), "`{from}` not in {}", path.display());
        overlay.insert(
            hac_lang::loader::normalize(path),
            text.replacen(from, to, 1),
        );
    }
    let loader = OverlayLoader {
        overlay,
        fallback: &FsLoader,
    };
    analyze(
        &loader,
        &hac_lang::loader::normalize(path),
        &Limits::default(),
    )
}

#[test]
fn every_example_checks_with_the_expected_warnings_and_plans() {
    let expected: &[(&str, &[&str])] = &[
        // hac knows no published digest of the flannel and Calico manifests: every
        // example downloads its CNI's unchecked, and says so (docs/versions.md).
        (
            "stacked.hac",
            &[
                codes::ENDPOINT_DNS_RECORD,
                codes::UNVERIFIED_DOWNLOAD_ALLOWED,
            ],
        ),
        (
            "airgapped.hac",
            &[
                codes::ENDPOINT_DNS_RECORD,
                codes::UNVERIFIED_DOWNLOAD_ALLOWED,
            ],
        ),
        (
            "external-etcd.hac",
            &[
                codes::ENDPOINT_DNS_RECORD,
                codes::UNVERIFIED_DOWNLOAD_ALLOWED,
            ],
        ),
        (
            "cloud-lb.hac",
            &[
                codes::ENDPOINT_DNS_RECORD,
                codes::UNVERIFIED_DOWNLOAD_ALLOWED,
            ],
        ),
        (
            "colocated-lb.hac",
            &[
                codes::ENDPOINT_DNS_RECORD,
                codes::UNVERIFIED_DOWNLOAD_ALLOWED,
            ],
        ),
        (
            "sandbox.hac",
            &[
                codes::EVEN_CONTROL_PLANES,
                codes::UNVERIFIED_DOWNLOAD_ALLOWED,
            ],
        ),
        (
            "loopback.hac",
            &[codes::ENDPOINT_IS_IP, codes::UNVERIFIED_DOWNLOAD_ALLOWED],
        ),
        (
            "loopback-external-etcd.hac",
            &[codes::ENDPOINT_IS_IP, codes::UNVERIFIED_DOWNLOAD_ALLOWED],
        ),
    ];
    let mut found: Vec<String> = std::fs::read_dir(examples_dir())
        .expect("examples/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".hac"))
        .collect();
    found.sort();
    let mut listed: Vec<String> = expected
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    listed.sort();
    assert_eq!(found, listed, "every example has an expectation here");
    for (name, warnings) in expected {
        let analysis = evaluate(&examples_dir().join(name), None);
        assert!(
            !analysis.has_errors(),
            "{name}: {:#?}",
            analysis.diagnostics
        );
        let value = analysis
            .value
            .unwrap_or_else(|| panic!("{name} has a value"));
        let (cluster, diagnostics) = check_cluster(&value);
        let codes_found: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(&codes_found, warnings, "{name}: {diagnostics:#?}");
        let plan = crate::plan::plan(&cluster.unwrap_or_else(|| panic!("{name} is valid")));
        assert!(!plan.hosts.is_empty());
    }
}

#[test]
fn the_docs_graph_is_the_stacked_example() {
    let analysis = evaluate(&examples_dir().join("stacked.hac"), None);
    let cluster = check_cluster(&analysis.value.expect("a value"))
        .0
        .expect("valid");
    let docs = include_str!("../../../docs/plan.md");
    let start = docs.find("```mermaid\n").expect("mermaid block") + "```mermaid\n".len();
    let end = start + docs[start..].find("```").expect("block end");
    assert_eq!(
        &docs[start..end],
        crate::plan::render::mermaid(&crate::plan::plan(&cluster))
    );
}

/// Mistakes in values built by functions and `genList` are reported at the text the
/// user wrote.
#[test]
fn broken_variants_point_at_the_users_text() {
    let cases = [
        // (example, replace this, with this, expected code, text under the primary label)
        (
            "stacked.hac",
            "(host \"cp2\" 12)",
            "(host \"cp1\" 12)",
            codes::DUPLICATE_HOST_NAME,
            "\"cp1\"",
        ),
        (
            "stacked.hac",
            "vip = \"10.0.0.100\";",
            "vip = \"10.0.0.11\";",
            codes::VIP_IS_HOST_ADDRESS,
            "\"10.0.0.11\"",
        ),
        (
            "stacked.hac",
            "kubernetes = \"1.36.1\";",
            "kubernetes = \"1.36\";",
            codes::INVALID_VERSION,
            "\"1.36\"",
        ),
        (
            "stacked.hac",
            "    hosts = [",
            "    hostz = [",
            codes::UNKNOWN_ATTRIBUTE,
            "hostz",
        ),
        (
            "external-etcd.hac",
            "numbered \"etcd\" 31 3",
            "numbered \"etcd\" 31 2",
            codes::EVEN_ETCD_MEMBERS,
            "",
        ),
        (
            "colocated-lb.hac",
            "port = 8443;",
            "port = 6443;",
            codes::COLOCATED_PORT_6443,
            "6443",
        ),
    ];
    for (example, from, to, code, text) in cases {
        let path = examples_dir().join(example);
        let analysis = evaluate(&path, Some((from, to)));
        let value = analysis
            .value
            .unwrap_or_else(|| panic!("{example}: {:#?}", analysis.diagnostics));
        let (_, diagnostics) = check_cluster(&value);
        let d = diagnostics
            .iter()
            .find(|d| d.code == code)
            .unwrap_or_else(|| panic!("{example} {to}: no {code} in {diagnostics:#?}"));
        let origin = d.primary().expect("primary").origin;
        let file = analysis.sources.get(origin.file);
        assert_eq!(
            file.path,
            hac_lang::loader::normalize(&path),
            "{code} is in the example file"
        );
        if !text.is_empty() {
            assert_eq!(
                file.slice(origin.span),
                text,
                "{example}: {code} points at the wrong text"
            );
        }
    }
}

/// Every example as a checked cluster, by file name.
fn example_clusters() -> Vec<(String, super::Cluster)> {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .expect("examples/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".hac"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let analysis = evaluate(&examples_dir().join(&name), None);
            let value = analysis.value.expect("a value");
            let cluster = check_cluster(&value).0.expect("a valid example");
            (name, cluster)
        })
        .collect()
}

/// Every download of every example is checked against a digest: the table's for the
/// pinned version (recomputed here from the table, not from the plan), or the one the
/// example gives; only an explicit `unverified = true` leaves one unchecked.
#[test]
fn every_download_of_every_example_has_a_digest_or_says_it_has_none() {
    use crate::build::download;
    for (name, cluster) in example_clusters() {
        let plan = crate::plan::plan(&cluster);
        for d in &plan.downloads {
            let chosen = download::override_of(&cluster, d.artefact);
            let expected = chosen
                .and_then(|o| o.sha256.get(&d.part))
                .map(|s| s.value.clone())
                .or_else(|| {
                    d.artefact
                        .pinned_sha256(&d.version, &d.part)
                        .map(str::to_owned)
                });
            assert_eq!(d.sha256, expected, "{name}: {d:?}");
            if d.sha256.is_none() {
                assert!(
                    chosen
                        .and_then(|o| o.unverified.as_ref())
                        .is_some_and(|u| u.value),
                    "{name}: {d:?} has no digest and no opt-out"
                );
            }
            assert!(!d.hosts.is_empty(), "{name}: {d:?}");
        }
    }
}

/// Every `http://` or `https://` URL in `text`.
fn urls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (start, _) in text.match_indices("http") {
        let rest = &text[start..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '\\' | ',' | ')' | '>'))
            .unwrap_or(rest.len());
        out.push(rest[..end].to_owned());
    }
    out
}

#[test]
fn urls_are_found_in_shell_yaml_and_json() {
    assert_eq!(
        urls("curl 'https://a/b' \"http://c:1/d\" x=https://e/f,g\nhttps://[fd00::1]:6443/readyz"),
        [
            "https://a/b",
            "http://c:1/d",
            "https://e/f",
            "https://[fd00::1]:6443/readyz"
        ]
    );
}

/// An offline example's user-data names no URL outside its mirrors and the cluster
/// itself: every URL in every host's rendered user-data (scripts, configuration
/// files, kubeadm documents), not only the plan's downloads.
#[test]
fn offline_examples_fetch_nothing_outside_their_mirrors() {
    let mut offline = 0;
    for (name, cluster) in example_clusters() {
        if !cluster.packages.offline.as_ref().is_some_and(|o| o.value) {
            continue;
        }
        offline += 1;
        let plan = crate::plan::plan(&cluster);
        let spec = crate::cli::secrets_spec(&cluster, None);
        let (bundle, _) = crate::secrets::reconcile(None, &spec).expect("a bundle");
        let context = crate::build::Context {
            cluster: &cluster,
            plan: &plan,
            secrets: &bundle,
            built_at: crate::build::fixture::build_time(),
        };
        let hosts = crate::build::build(&context).expect("the example builds");
        // What the hosts may reach: the mirrors, and the cluster's own hosts,
        // endpoint and VIP (readiness probes, etcd, haproxy's health check).
        let mut allowed: Vec<String> = vec![cluster.packages.mirror.clone()];
        allowed.extend(cluster.packages.releases.iter().map(|r| r.value.clone()));
        for mirrors in cluster.containerd.registry_mirrors.values() {
            allowed.extend(mirrors.iter().cloned());
        }
        let mut own: Vec<String> = vec![
            cluster.endpoint.value.host.url_host(),
            "127.0.0.1".to_owned(),
        ];
        own.extend(cluster.loadbalancer.vip().map(|v| v.value.to_string()));
        for (host, _) in cluster.hosts() {
            own.extend(host.address.as_ref().map(|a| a.value.url_host()));
        }
        let mut seen = 0;
        for host in &hosts {
            for url in urls(&host.user_data) {
                seen += 1;
                let under_mirror = allowed.iter().any(|m| {
                    url == *m || url.starts_with(&format!("{}/", m.trim_end_matches('/')))
                });
                let authority = url
                    .split("://")
                    .nth(1)
                    .unwrap_or("")
                    .split('/')
                    .next()
                    .unwrap_or("");
                let host_part = authority
                    .rsplit_once(':')
                    .filter(|(h, port)| !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(authority, |(h, _)| h);
                let own_host = own.iter().any(|o| o == host_part);
                assert!(
                    under_mirror || own_host,
                    "{name}: {} fetches {url}, outside the mirrors {allowed:?}",
                    host.name
                );
            }
            // Every release file comes from the release mirror, digest and all.
            for d in plan
                .downloads
                .iter()
                .filter(|d| d.hosts.contains(&host.name))
            {
                assert!(host.user_data.contains(&d.url), "{name}: {d:?}");
            }
        }
        assert!(seen > 0, "{name}: no URL found at all");
    }
    assert!(offline > 0, "no example is offline");
}
