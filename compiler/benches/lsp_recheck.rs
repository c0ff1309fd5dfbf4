//! Editor latency: what `hac lsp` does after each edit of a 1,000-line file — the
//! whole `hac check` analysis (parse, check, evaluate, cluster model and lints) over
//! the unsaved text. The budget is 50 ms; docs/performance.md records the figure.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use hac::analysis::Depth;
use hac::lsp::worker::{self, Job};

#[path = "../tests/support/large_cluster.rs"]
mod large_cluster;

fn recheck(c: &mut Criterion) {
    let text = large_cluster::large_cluster(1000);
    let root = PathBuf::from("/editor/large.hac");
    let job = || Job {
        root: root.clone(),
        generation: 1,
        depth: Depth::Cluster,
        overlay: HashMap::from([(root.clone(), text.clone())]),
        cancel: Default::default(),
    };
    let outcome = worker::check(job());
    assert!(
        outcome.analysis.diagnostics.is_empty(),
        "{:?}",
        outcome.analysis.diagnostics
    );
    c.bench_function("lsp_recheck_1000_lines", |b| {
        b.iter(|| black_box(worker::check(black_box(job()))))
    });
}

criterion_group!(benches, recheck);
criterion_main!(benches);
