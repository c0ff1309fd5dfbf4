//! Golden snapshots of every example's outputs: each host's user-data and the
//! manifest, built with the example's fixed TEST-ONLY secrets bundle
//! (tests/fixtures/secrets/), so that a change of the output shows as a
//! reviewable diff (`cargo insta review`).

#[path = "build_common.rs"]
mod build_common;

use build_common::{build, examples};
use hac::build::output;

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
