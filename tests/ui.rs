//! UI tests: every `tests/ui/**/*.hac` is checked with `hac check` and the rendered
//! diagnostics (plain text, as a terminal without colour shows them) are compared
//! with the snapshot under `tests/snapshots/`. Review changes with `cargo insta review`
//! or accept them with `INSTA_UPDATE=always cargo test -p hac-tests --test ui`.

use std::collections::BTreeSet;

use hac_tests::{files_with_suffix, hac, repo_root};

#[test]
fn ui_snapshots() {
    insta::glob!("ui/**/*.hac", |path| {
        let relative = path
            .strip_prefix(repo_root().join("tests"))
            .expect("UI inputs live under tests/");
        let relative = relative.to_str().expect("UTF-8 path");
        let output = hac(&["check", relative]);
        let rendered = format!("exit status: {}\n\n{}", output.status, output.stderr);
        insta::assert_snapshot!(rendered);
    });
}

/// Every language diagnostic code is exercised by at least one UI test and documented.
#[test]
fn every_code_is_tested_and_documented() {
    let snapshots: String = files_with_suffix(&repo_root().join("tests/snapshots"), ".snap")
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable snapshot"))
        .collect();
    let docs = std::fs::read_to_string(repo_root().join("docs/diagnostics.md"))
        .expect("docs/diagnostics.md");
    let mut untested = BTreeSet::new();
    let mut undocumented = BTreeSet::new();
    for (code, _) in hac_lang::codes::ALL {
        if !snapshots.contains(code) {
            untested.insert(*code);
        }
        if !docs.contains(&format!("`{code}`")) {
            undocumented.insert(*code);
        }
    }
    assert!(untested.is_empty(), "codes without a UI test: {untested:?}");
    assert!(
        undocumented.is_empty(),
        "codes missing from docs/diagnostics.md: {undocumented:?}"
    );
}
