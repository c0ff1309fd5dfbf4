//! The boot plan of every example: its order and waits as `hac plan` prints them
//! (snapshots under `tests/snapshots/`), the DOT graph as Graphviz's `dot` reads it,
//! and the Mermaid graph with exactly the plan's edges.

use std::io::Write as _;
use std::process::{Command, Stdio};

use hac_tests::{hac, repo_root};

#[path = "build_common.rs"]
mod build_common;

/// The examples, all seven the model issue names (and any added since).
fn examples() -> Vec<String> {
    let names = build_common::examples();
    assert!(names.len() >= 7, "{names:?}");
    names
}

fn plan(example: &str, format: &str) -> String {
    let path = repo_root().join("examples").join(format!("{example}.hac"));
    let output = hac(&["plan", "--format", format, path.to_str().unwrap()]);
    assert_eq!(output.status, 0, "{example}: {}", output.stderr);
    output.stdout
}

#[test]
fn every_example_plans_its_order_and_waits() {
    for example in examples() {
        insta::assert_snapshot!(format!("plan_{example}"), plan(&example, "text"));
    }
}

#[test]
fn every_example_graph_parses_with_graphviz() {
    for example in examples() {
        let mut dot = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("`dot` is missing: install the Debian package `graphviz` (scripts/test installs it)");
        dot.stdin
            .take()
            .unwrap()
            .write_all(plan(&example, "dot").as_bytes())
            .unwrap();
        let output = dot.wait_with_output().unwrap();
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "{example}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn every_example_mermaid_graph_has_the_plan_edges() {
    for example in examples() {
        let json: serde_json::Value =
            serde_json::from_str(&plan(&example, "json")).expect("the JSON plan parses");
        let mut expected: Vec<String> = json["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|edge| {
                format!(
                    "h_{} -->|{}| h_{}",
                    edge["from"].as_str().unwrap(),
                    edge["reason"].as_str().unwrap(),
                    edge["to"].as_str().unwrap()
                )
            })
            .collect();
        let mermaid = plan(&example, "mermaid");
        let mut found: Vec<String> = mermaid
            .lines()
            .map(str::trim)
            .filter(|line| line.contains("-->"))
            .map(str::to_owned)
            .collect();
        expected.sort();
        found.sort();
        assert!(!expected.is_empty(), "{example}: a plan without edges");
        assert_eq!(found, expected, "{example}");
    }
}
