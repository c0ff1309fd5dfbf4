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
        ("stacked.hac", &[codes::UNVERIFIED_DOWNLOAD_ALLOWED]),
        ("external-etcd.hac", &[codes::UNVERIFIED_DOWNLOAD_ALLOWED]),
        ("cloud-lb.hac", &[codes::UNVERIFIED_DOWNLOAD_ALLOWED]),
        ("colocated-lb.hac", &[codes::UNVERIFIED_DOWNLOAD_ALLOWED]),
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
