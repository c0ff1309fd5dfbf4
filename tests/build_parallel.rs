//! `hac build` renders hosts in parallel, compresses each taking what it can from a
//! similar host's compression, and writes from several threads; its output
//! directory must hold exactly the bytes the straightforward path makes: every host
//! rendered one after another in plan order (`hac::build::build_sequentially`),
//! each compressed by a new flate2 encoder at the best level.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use flate2::{Compression, GzBuilder};

use hac::build::output::{self, Manifest, ManifestHost};
use sha2::{Digest, Sha256};

use hac_tests::{hac, repo_root};

/// Both builds happen at this time, which picks the join token every host carries.
const BUILT_AT: &str = "2026-12-07T12:00:00Z";

/// The files of a build by name, computed the straightforward way.
fn sequential_build(
    description: &Path,
    bundle: &Path,
    with_gzip: bool,
) -> BTreeMap<String, Vec<u8>> {
    let analysis = hac::analysis::analyze(
        &hac_lang::FsLoader,
        description,
        &hac_lang::Limits::default(),
        hac::analysis::Depth::Cluster,
    );
    assert!(!analysis.has_errors(), "{:#?}", analysis.diagnostics);
    let cluster = analysis.cluster.expect("a cluster");
    let plan = hac::plan::plan(&cluster);
    let secrets = hac::secrets::load(bundle).expect("the bundle the build made");
    let context = hac::build::Context {
        cluster: &cluster,
        plan: &plan,
        secrets: &secrets,
        built_at: time::OffsetDateTime::parse(
            BUILT_AT,
            &time::format_description::well_known::Rfc3339,
        )
        .expect("an RFC 3339 time"),
    };
    let hosts = hac::build::build_sequentially(&context).expect("the fixture builds");
    let mut files = BTreeMap::new();
    let mut entries = Vec::new();
    // The manifest lists the files in the order they are made: each host's, in plan order.
    let mut names = Vec::new();
    for host in hosts {
        let bytes = host.user_data.into_bytes();
        let mut encoder = GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), Compression::best());
        encoder.write_all(&bytes).expect("writing to memory");
        let compressed = encoder.finish().expect("writing to memory");
        let file = format!("{}.yaml", host.name);
        let gzip_file = with_gzip.then(|| format!("{file}.gz"));
        entries.push(ManifestHost {
            name: host.name,
            roles: host.roles,
            file: file.clone(),
            size: bytes.len(),
            sha256: Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            gzip_file: gzip_file.clone(),
            gzip_size: compressed.len(),
            stage: host.stage,
            steps: host.steps,
        });
        names.push(file.clone());
        files.insert(file, bytes);
        if let Some(name) = gzip_file {
            names.push(name.clone());
            files.insert(name, compressed);
        }
    }
    let manifest = Manifest {
        generator: output::GENERATOR.to_owned(),
        cluster: plan.cluster.clone(),
        cluster_id: secrets.cluster_id().map(str::to_owned),
        kubernetes: plan.kubernetes.clone(),
        endpoint: plan.endpoint.clone(),
        hosts: entries,
        files: names,
    };
    let mut json = serde_json::to_string_pretty(&manifest).expect("a manifest");
    json.push('\n');
    files.insert(output::MANIFEST.to_owned(), json.into_bytes());
    files
}

fn directory(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("the output directory")
        .map(|entry| {
            let entry = entry.expect("an entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(entry.path()).expect("a readable file"))
        })
        .collect()
}

#[test]
fn a_parallel_build_of_hundreds_of_workers_writes_what_the_sequential_one_does() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let description = dir.path().join("workers.hac");
    std::fs::copy(
        repo_root().join("tests/fixtures/scale/workers.hac"),
        &description,
    )
    .expect("the fixture");
    let bundle = dir.path().join("workers.secrets");
    for with_gzip in [false, true] {
        let out = dir.path().join(format!("out-{with_gzip}"));
        let mut args = vec![
            "build",
            description.to_str().expect("a UTF-8 path"),
            "-o",
            out.to_str().expect("a UTF-8 path"),
            "--at",
            BUILT_AT,
        ];
        if with_gzip {
            args.push("--gzip");
        }
        let run = hac(&args);
        assert_eq!(run.status, 0, "{}", run.stderr);
        let written = directory(&out);
        let expected = sequential_build(&description, &bundle, with_gzip);
        assert_eq!(
            written.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        );
        // 304 hosts, their manifest entries in plan order.
        assert_eq!(written.len(), 304 * if with_gzip { 2 } else { 1 } + 1);
        for (name, bytes) in &expected {
            assert!(written[name] == *bytes, "{name} differs");
        }
    }
}
