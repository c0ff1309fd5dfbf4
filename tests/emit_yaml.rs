//! The cloud-config YAML emitter against PyYAML, the YAML 1.1 loader cloud-init
//! uses: what hac means is exactly what cloud-init reads.

#[path = "emit_common.rs"]
mod emit_common;

use emit_common::pyyaml_load;
use hac::emit::yaml::{to_cloud_config, to_yaml, to_yaml_stream};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Strings that a YAML 1.1 reader takes for something else when unquoted, or
/// that break YAML syntax.
fn hazards() -> Vec<String> {
    let mut hazards: Vec<String> = [
        "on",
        "off",
        "On",
        "OFF",
        "yes",
        "no",
        "Yes",
        "NO",
        "y",
        "n",
        "Y",
        "N",
        "true",
        "false",
        "True",
        "FALSE",
        "null",
        "Null",
        "NULL",
        "~",
        "0644",
        "0o644",
        "0x1F",
        "0b101",
        "1e3",
        "1.5",
        "-1",
        "+1",
        ".5",
        "1_000",
        "12:30",
        "190:20:30",
        "2024-01-01",
        "2024-01-01 12:30:00",
        "2001-12-14t21:59:43.10-05:00",
        ".inf",
        "-.inf",
        ".Inf",
        ".nan",
        ".NaN",
        "",
        " ",
        " leading space",
        "trailing space ",
        "trailing: colon",
        "trailing:",
        "#comment",
        "a #b",
        "- dash",
        "-",
        "--",
        "---",
        "...",
        "a: b",
        "*alias",
        "&anchor",
        "!tag",
        "!!str",
        "%",
        "%YAML",
        "@",
        "`",
        "|",
        ">",
        "?",
        "? x",
        "[x]",
        "{y}",
        "[",
        "]",
        "{",
        "}",
        ",",
        "'",
        "\"",
        "<<",
        "=",
        "multi\nline",
        "line with trailing space \n",
        "tab\there",
        "\ttab",
        "tab\t",
        "\n",
        "\n\n",
        "x\n\n",
        "\nx",
        "  \n  x",
        " x\ny",
        "a\r\nb",
        "a\rb",
        "\\",
        "C:\\path",
        "back\\slash\n",
        "ünïcödé ✓",
        "日本語",
        "emoji 🦀",
        "\u{85}nel",
        "\u{2028}ls",
        "\u{feff}bom",
        "\u{7f}del",
        "\u{1}ctl",
        "\u{a0}nbsp",
        "it's",
        "say \"hi\"",
        "'single'",
        "\"double\"",
        "mixed 'single' and \"double\"",
        "key: 'value'",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    hazards.push("word ".repeat(400));
    hazards.push("x".repeat(5000));
    hazards.push(format!("{}\n{}", "long line ".repeat(50), "second"));
    hazards
}

#[test]
fn hazardous_strings_round_trip_through_pyyaml() {
    let hazards = hazards();
    let as_keys: serde_json::Map<String, Value> = hazards
        .iter()
        .enumerate()
        .map(|(index, hazard)| (hazard.clone(), json!(index)))
        .collect();
    let doc = json!({
        "values": hazards,
        "keys": as_keys,
        "nested": [{"list": [hazards[0], [hazards[1], {"deep": hazards[2]}]]}],
        "numbers": [0, -1, 420, 1.5, 1e-7, 123_456_789_012_i64],
        "booleans": [true, false],
        "nothing": null,
        "empty_map": {},
        "empty_list": [],
    });
    let yaml = to_cloud_config(&doc).expect("emits");
    let loaded = pyyaml_load(std::slice::from_ref(&yaml));
    assert_eq!(
        loaded[0], doc,
        "PyYAML read something else than was written:\n{yaml}"
    );
}

#[test]
fn every_hazard_alone_round_trips() {
    // One document per hazard, so each is also tested as the top-level value of
    // a mapping entry without neighbours.
    let hazards = hazards();
    let yamls: Vec<String> = hazards
        .iter()
        .map(|hazard| to_cloud_config(&json!({ "value": hazard })).expect("emits"))
        .collect();
    for ((hazard, yaml), loaded) in hazards.iter().zip(&yamls).zip(pyyaml_load(&yamls)) {
        assert_eq!(
            loaded,
            json!({ "value": hazard }),
            "hazard {hazard:?} came back different from:\n{yaml}"
        );
    }
}

#[test]
fn output_starts_with_the_cloud_config_header() {
    let yaml = to_cloud_config(&json!({"packages": ["haproxy"]})).expect("emits");
    assert_eq!(yaml, "#cloud-config\npackages:\n- haproxy\n");
}

#[test]
fn ambiguous_scalars_are_quoted_and_plain_ones_are_not() {
    let yaml = to_cloud_config(&json!({
        "permissions": "0644",
        "flag": "on",
        "time": "12:30",
        "plain": "haproxy",
        "path": "/etc/haproxy/haproxy.cfg",
    }))
    .expect("emits");
    assert!(yaml.contains("permissions: \"0644\"\n"), "{yaml}");
    assert!(yaml.contains("flag: \"on\"\n"), "{yaml}");
    assert!(yaml.contains("time: \"12:30\"\n"), "{yaml}");
    assert!(yaml.contains("plain: haproxy\n"), "{yaml}");
    assert!(yaml.contains("path: /etc/haproxy/haproxy.cfg\n"), "{yaml}");
}

#[test]
fn scripts_are_block_literals_that_read_like_the_script() {
    let script = "#!/bin/bash\nset -euo pipefail\necho 'it works' \"$HOME\"\n\nexit 0\n";
    let doc = json!({"write_files": [{"path": "/usr/local/sbin/x", "permissions": "0755", "content": script}]});
    let yaml = to_cloud_config(&doc).expect("emits");
    let expected = "  content: |\n    #!/bin/bash\n    set -euo pipefail\n    echo 'it works' \"$HOME\"\n\n    exit 0\n";
    assert!(
        yaml.contains(expected),
        "the script is not a readable block literal:\n{yaml}"
    );
    assert_eq!(pyyaml_load(std::slice::from_ref(&yaml))[0], doc);
}

#[test]
fn long_lines_are_never_folded() {
    let line = "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] https://pkgs.k8s.io/core:/stable:/v1.35/deb/ / and some more words to pass eighty columns";
    let yaml = to_cloud_config(&json!({"source": line})).expect("emits");
    assert_eq!(
        yaml.lines().count(),
        2,
        "the long line was wrapped:\n{yaml}"
    );
    assert!(!yaml.contains(">"), "folded scalar used:\n{yaml}");
}

#[test]
fn keys_follow_boot_order_then_alphabet_with_content_last() {
    let doc = json!({
        "runcmd": [["/usr/local/sbin/hac-bootstrap"]],
        "packages": ["haproxy"],
        "write_files": [{"content": "x\n", "permissions": "0600", "path": "/x", "defer": true, "owner": "root:root"}],
        "apt": {"sources": {"k.list": {"key": "KEY\n", "source": "deb x"}}},
        "zeta": 1,
        "alpha": 2,
    });
    let yaml = to_cloud_config(&doc).expect("emits");
    let order = |needles: &[&str]| {
        let positions: Vec<usize> = needles
            .iter()
            .map(|needle| {
                yaml.find(needle)
                    .unwrap_or_else(|| panic!("{needle} missing in:\n{yaml}"))
            })
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "order {needles:?} not kept in:\n{yaml}"
        );
    };
    order(&[
        "write_files:",
        "apt:",
        "packages:",
        "runcmd:",
        "alpha:",
        "zeta:",
    ]);
    order(&["- path: /x", "owner:", "permissions:", "defer:", "content:"]);
    order(&["source: deb x", "key: |"]);
}

#[test]
fn output_is_deterministic() {
    let doc = json!({"b": [1, 2, {"y": "z", "x": "w"}], "a": "on"});
    assert_eq!(to_cloud_config(&doc), to_cloud_config(&doc.clone()));
}

#[test]
fn a_cloud_config_must_be_a_mapping() {
    for doc in [json!([1, 2]), json!("text"), json!(null), json!(3)] {
        let error = to_cloud_config(&doc).expect_err("not a mapping");
        assert!(
            error
                .message
                .starts_with("a cloud-config document must be a mapping"),
            "{error}"
        );
    }
}

#[test]
fn absurdly_deep_documents_are_refused_not_overflowed() {
    let mut doc = json!("leaf");
    for _ in 0..200 {
        doc = json!([doc]);
    }
    let error = to_cloud_config(&json!({ "deep": doc })).expect_err("too deep");
    assert!(error.message.contains("levels deep"), "{error}");
}

#[test]
fn a_yaml_stream_holds_several_documents() {
    let docs = [
        json!({"kind": "InitConfiguration"}),
        json!({"kind": "ClusterConfiguration", "on": "no"}),
    ];
    let stream = to_yaml_stream(&docs).expect("emits");
    assert_eq!(stream.matches("\n---\n").count(), 1, "{stream}");
    let parts: Vec<String> = stream.split("---\n").map(str::to_string).collect();
    assert_eq!(pyyaml_load(&parts), docs.to_vec());
    assert_eq!(
        to_yaml(&docs[1]).expect("emits"),
        "kind: ClusterConfiguration\n\"on\": \"no\"\n"
    );
}

/// Characters that matter to YAML, with letters and spaces, to build strings
/// that look like YAML syntax more often than uniform random strings do.
fn yaml_ish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![
                ":", ": ", "#", " #", "-", "- ", "'", "\"", "\\", "\n", "\t", " ", "  ", "\r", "!", "&", "*",
                "?", "|", ">", "%", "@", "`", "{", "}", "[", "]", ",", "~", "0", "1", "x", "on", "yes",
                "null", ".", "e", "_", "+", "\u{85}", "\u{a0}", "\u{feff}", "\u{2028}", "é", "🦀", "\u{0}",
                "\u{1b}", "\u{7f}", "\u{fffe}", "\u{ffff}",
            ])
            .prop_map(str::to_string),
            1 => any::<char>().prop_map(|c| c.to_string()),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_round_trip_through_pyyaml(
        values in prop::collection::vec(prop_oneof![yaml_ish(), any::<String>()], 1..24),
        keys in prop::collection::vec(yaml_ish(), 1..8),
    ) {
        let map: serde_json::Map<String, Value> =
            keys.iter().enumerate().map(|(index, key)| (key.clone(), json!(values[index % values.len()]))).collect();
        let doc = json!({ "values": values, "map": map });
        let yaml = to_cloud_config(&doc).expect("emits");
        let loaded = pyyaml_load(std::slice::from_ref(&yaml));
        prop_assert_eq!(&loaded[0], &doc, "YAML was:\n{}", yaml);
    }
}
