//! The path the latency benchmark (`benches/lsp_recheck.rs`) measures, checked for
//! correctness without timing it: a 1,000-line file is clean, and an edit that
//! introduces a typo is reported at the right place.

use std::collections::HashMap;
use std::path::PathBuf;

use hac::analysis::Depth;
use hac::lsp::worker::{self, Job};

#[path = "support/large_cluster.rs"]
mod large_cluster;

#[test]
fn a_thousand_line_file_rechecks_after_an_edit() {
    let text = large_cluster::large_cluster(1000);
    assert!((1000..1010).contains(&text.lines().count()));
    let root = PathBuf::from("/editor/large.hac");
    let check = |text: &str| {
        worker::check(Job {
            root: root.clone(),
            generation: 1,
            depth: Depth::Cluster,
            overlay: HashMap::from([(root.clone(), text.to_owned())]),
            cancel: Default::default(),
        })
    };
    let clean = check(&text);
    assert!(
        clean.analysis.diagnostics.is_empty(),
        "{:?}",
        clean.analysis.diagnostics
    );
    assert_eq!(
        clean
            .analysis
            .value
            .as_ref()
            .and_then(|v| v.as_attrs())
            .map(|a| a.len()),
        // name, kubernetes, os, endpoint, network, loadbalancer, controlplanes,
        // workers, versions
        Some(9)
    );

    let edited = text.replacen("taints = [", "tains = [", 1);
    let outcome = check(&edited);
    let messages = messages(&outcome);
    assert_eq!(messages, ["unknown attribute `tains` in `workers[0]`"]);
    let span = outcome.analysis.diagnostics[0]
        .primary()
        .unwrap()
        .origin
        .span;
    assert_eq!(&edited[span.range()], "tains");
}

/// The messages of a check's diagnostics, in order.
fn messages(outcome: &worker::Outcome) -> Vec<&str> {
    outcome
        .analysis
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect()
}

/// Ten billion steps: only the step budget (or cancellation) ends it.
pub const RUNAWAY: &str = "let l = builtins.genList (i: i) 100000; in builtins.foldl' (a: x: a + builtins.foldl' (s: y: s + y) 0 l) 0 l\n";

#[test]
fn a_cancelled_check_stops_instead_of_running_to_its_budget() {
    let root = PathBuf::from("/editor/runaway.hac");
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let outcome = worker::check(Job {
        root: root.clone(),
        generation: 1,
        depth: Depth::Cluster,
        overlay: HashMap::from([(root.clone(), RUNAWAY.to_owned())]),
        cancel,
    });
    let messages = messages(&outcome);
    assert_eq!(messages, ["evaluation was cancelled"]);
}
