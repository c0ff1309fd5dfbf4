//! Parsing and evaluation speed on large generated programs. The inputs are built
//! deterministically so runs are comparable.

use std::hint::black_box;
use std::io;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hac_lang::{FileId, Limits, Loader, analyze, format, syntax};

#[path = "support/inputs.rs"]
mod inputs;
use inputs::inputs;

const ROOT: &str = "/bench/main.hac";

/// Serves the one generated file from memory.
struct OneFile<'a>(&'a str);

impl Loader for OneFile<'_> {
    fn read(&self, path: &Path) -> io::Result<String> {
        if path == Path::new(ROOT) {
            Ok(self.0.to_string())
        } else {
            Err(io::Error::new(io::ErrorKind::NotFound, "not generated"))
        }
    }

    fn exists(&self, path: &Path) -> bool {
        path == Path::new(ROOT)
    }
}

/// A 1,000-line description laid out carelessly, with comments in many places: what
/// `hac fmt` and the editor's format-on-save work on.
fn messy_hosts(lines: usize) -> String {
    let mut text = String::from("# generated hosts\nlet\n  base = { cpu = 2; };\nin\n{\n");
    let mut i = 0;
    while text.lines().count() < lines - 1 {
        text.push_str(&format!(
            "  # host {i}\n  host{i} = base // {{ name=\"host-{i}\"; # its name\n    labels = {{ zone = \"z{}\"; }};\n    ports=[ {i} {} ]; }};\n",
            i % 3,
            i + 1
        ));
        i += 1;
    }
    text.push_str("}\n");
    text
}

fn parse_only(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, text) in inputs() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &text, |b, text| {
            b.iter(|| {
                let parse = syntax::parse(FileId(0), black_box(text));
                assert!(
                    parse.diagnostics.is_empty(),
                    "{name}: {:?}",
                    parse.diagnostics
                );
                parse
            });
        });
    }
    group.finish();
}

fn parse_and_evaluate(c: &mut Criterion) {
    let mut group = c.benchmark_group("analyze");
    group.sample_size(20);
    for (name, text) in inputs() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &text, |b, text| {
            b.iter(|| {
                let analysis = analyze(
                    &OneFile(black_box(text)),
                    Path::new(ROOT),
                    &Limits::default(),
                );
                assert!(!analysis.has_errors(), "{name}: {:?}", analysis.diagnostics);
                analysis
            });
        });
    }
    group.finish();
}

fn format_file(c: &mut Criterion) {
    let mut group = c.benchmark_group("format");
    let text = messy_hosts(1000);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_with_input(
        BenchmarkId::from_parameter("messy_1000_lines"),
        &text,
        |b, text| {
            b.iter(|| {
                format::format(FileId(0), black_box(text)).expect("the generated file parses")
            });
        },
    );
    group.finish();
}

criterion_group!(benches, parse_only, parse_and_evaluate, format_file);
criterion_main!(benches);
