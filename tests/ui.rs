//! UI tests: every `tests/ui/<phase>/*.hac` is checked with `hac check` and the rendered
//! diagnostics (plain text, as a terminal without colour shows them) are compared
//! with the snapshot under `tests/snapshots/`. Review changes with `cargo insta review`
//! or accept them with `INSTA_UPDATE=always cargo test -p hac-tests --test ui`.
//!
//! Only files directly in a phase directory are cases: helpers that cases import live
//! in `tests/ui/<phase>/lib/`, one level deeper, where the glob does not reach.

use std::collections::BTreeSet;

use hac_tests::{files_with_suffix, hac, repo_root};

#[test]
fn ui_snapshots() {
    insta::glob!("ui/*/*.hac", |path| {
        let relative = path
            .strip_prefix(repo_root().join("tests"))
            .expect("UI inputs live under tests/");
        let relative = relative.to_str().expect("UTF-8 path");
        let output = hac(&["check", relative]);
        let rendered = format!("exit status: {}\n\n{}", output.status, output.stderr);
        insta::assert_snapshot!(rendered);
    });
}

/// Every snapshot's text, concatenated.
fn all_snapshots() -> String {
    files_with_suffix(&repo_root().join("tests/snapshots"), ".snap")
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable snapshot"))
        .collect()
}

/// `--provider` naming another cloud than the source: the one cluster code a file
/// alone cannot produce.
#[test]
fn provider_conflict_snapshot() {
    let output = hac(&[
        "check",
        "--provider",
        "gcp",
        "ui/lint/lib/cloud_conflict.hac",
    ]);
    let rendered = format!("exit status: {}\n\n{}", output.status, output.stderr);
    insta::assert_snapshot!("cloud_conflict", rendered);
}

/// The codes of `table` that no snapshot shows, and those `doc` (under `docs/`) does
/// not mention in backticks.
fn untested_and_undocumented(
    table: &[(&'static str, &str)],
    doc: &str,
) -> (BTreeSet<&'static str>, BTreeSet<&'static str>) {
    let snapshots = all_snapshots();
    let docs = std::fs::read_to_string(repo_root().join("docs").join(doc))
        .unwrap_or_else(|err| panic!("docs/{doc}: {err}"));
    let mut untested = BTreeSet::new();
    let mut undocumented = BTreeSet::new();
    for (code, _) in table {
        if !snapshots.contains(code) {
            untested.insert(*code);
        }
        if !docs.contains(&format!("`{code}`")) {
            undocumented.insert(*code);
        }
    }
    (untested, undocumented)
}

/// Every language diagnostic code is exercised by at least one UI test and documented.
#[test]
fn every_code_is_tested_and_documented() {
    let (untested, undocumented) =
        untested_and_undocumented(hac_lang::codes::ALL, "diagnostics.md");
    assert!(untested.is_empty(), "codes without a UI test: {untested:?}");
    assert!(
        undocumented.is_empty(),
        "codes missing from docs/diagnostics.md: {undocumented:?}"
    );
}

/// Every cluster model and lint code is exercised by at least one UI test and
/// documented with the schema.
#[test]
fn every_cluster_code_is_tested_and_documented() {
    let (untested, undocumented) = untested_and_undocumented(hac::model::codes::ALL, "cluster.md");
    assert!(untested.is_empty(), "codes without a UI test: {untested:?}");
    assert!(
        undocumented.is_empty(),
        "codes missing from docs/cluster.md: {undocumented:?}"
    );
}

/// No input makes the evaluator panic, so the diagnostic that would report it is
/// rendered directly, as `hac check` would show it.
#[test]
fn internal_error_snapshot() {
    let diagnostic = hac_lang::eval::internal_error("the evaluator crashed: example");
    assert_eq!(diagnostic.code, hac_lang::codes::INTERNAL_ERROR);
    let rendered = hac::report::render_human(
        &[diagnostic],
        &hac_lang::SourceMap::new(),
        hac::report::Style::plain(),
    );
    insta::assert_snapshot!("internal_error", rendered);
}
