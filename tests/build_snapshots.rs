//! Golden snapshots of every example's outputs: each host's user-data and the
//! manifest, built with the example's fixed TEST-ONLY secrets bundle
//! (tests/fixtures/secrets/), so that a change of the output shows as a
//! reviewable diff (`cargo insta review`).

#[path = "build_common.rs"]
mod build_common;

use build_common::{build, cluster_and_plan, examples, fixture_bundle};
use hac::build::output;
use hac_tests::repo_root;

#[test]
fn every_example_matches_its_snapshots() {
    for example in examples() {
        let built = build(&example);
        for host in &built.hosts {
            insta::assert_snapshot!(format!("{example}__{}", host.name), host.user_data);
        }
        let (_, files) = output::artefacts(&built.plan, &built.hosts, true, None);
        let manifest = files
            .iter()
            .find(|f| f.name == output::MANIFEST)
            .expect("a manifest");
        insta::assert_snapshot!(
            format!("{example}__manifest"),
            String::from_utf8(manifest.bytes.clone()).expect("UTF-8")
        );
    }
}

/// `hac build` copies the bulk of each document (the files' contents) line by line
/// instead of passing it through the YAML serializer: every host of every example
/// must come out exactly as the serializer writes it.
#[test]
fn every_example_builds_the_serializers_text() {
    for example in examples() {
        let path = repo_root().join("examples").join(format!("{example}.hac"));
        let (cluster, plan) = cluster_and_plan(&path);
        let bundle = fixture_bundle(&example);
        let context = hac::build::Context {
            cluster: &cluster,
            plan: &plan,
            secrets: &bundle,
            built_at: hac_tests::build_time(),
        };
        let spliced = hac::build::build(&context).expect("the example builds");
        let serialized = hac::build::build_sequentially(&context).expect("the example builds");
        assert_eq!(spliced.len(), serialized.len());
        for (spliced, serialized) in spliced.iter().zip(&serialized) {
            assert!(
                spliced.user_data == serialized.user_data,
                "{example}: host {} differs",
                spliced.name
            );
        }
    }
}
