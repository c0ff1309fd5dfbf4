//! The command line's contract: exit statuses, output streams and the JSON format.

use hac_tests::hac;

#[test]
fn eval_prints_json_and_exits_zero() {
    let out = hac(&["eval", "cli-inputs/clean.hac"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "{\"name\":\"demo\",\"sizes\":[2,4,6]}\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn check_of_a_clean_cluster_is_silent() {
    let out = hac(&["check", "cli-inputs/hosts-entry.hac"]);
    assert_eq!(
        (out.status, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
}

#[test]
fn check_names_the_dns_record_a_named_endpoint_needs() {
    // The reproduction: a name passed silently, and every host then waited for a
    // record nobody was told to create.
    let out = hac(&["check", "cli-inputs/named-endpoint.hac"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("hac::lint::endpoint_dns_record"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("A `api.named.example.com` → `10.0.0.100` (the VIP)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("0 errors, 0 warnings"),
        "{}",
        out.stderr
    );
    // Advice is no warning: --deny-warnings still passes.
    let denied = hac(&["check", "--deny-warnings", "cli-inputs/named-endpoint.hac"]);
    assert_eq!(denied.status, 0, "{}", denied.stderr);
    // The shipped example gets the same advice.
    let out = hac(&["check", "../examples/stacked.hac"]);
    assert!(
        out.stderr
            .contains("A `api.prod.example.com` → `10.0.0.100` (the VIP)"),
        "{}",
        out.stderr
    );
}

#[test]
fn provider_refuses_a_keepalived_vip_on_a_public_cloud() {
    for provider in ["aws", "gcp", "azure"] {
        let out = hac(&[
            "check",
            "--format",
            "json",
            "--provider",
            provider,
            "../examples/stacked.hac",
        ]);
        assert_eq!(out.status, 1, "{provider}: {}", out.stderr);
        let diagnostics: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let codes: Vec<&str> = diagnostics
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        // No DNS note pointing at a VIP that cannot work (the example's other
        // diagnostic is its unchecked CNI manifest, docs/versions.md).
        assert_eq!(
            codes,
            [
                "hac::lint::vip_on_cloud",
                "hac::lint::unverified_download_allowed"
            ],
            "{provider}"
        );
        let help = diagnostics[0]["help"].as_str().unwrap();
        assert!(help.contains("`loadbalancer = \"external\";`"), "{help}");
        assert_eq!(diagnostics[0]["line"], 41);
    }
    let out = hac(&[
        "check",
        "--provider",
        "openstack",
        "../examples/stacked.hac",
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("hac::lint::vip_needs_port_security"),
        "{}",
        out.stderr
    );
    // build reads --provider the same way, and writes nothing.
    let dir = std::env::temp_dir().join(format!("hac-cli-provider-{}", std::process::id()));
    let secrets = dir.with_extension("secrets");
    let out = hac(&[
        "build",
        "--provider",
        "aws",
        "-o",
        dir.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
        "../examples/stacked.hac",
    ]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("hac::lint::vip_on_cloud"),
        "{}",
        out.stderr
    );
    assert!(!dir.exists());
}

#[test]
fn provider_and_cloud_attribute_must_agree() {
    // cloud-lb.hac says `cloud = "aws"`.
    let out = hac(&["check", "--provider", "gcp", "../examples/cloud-lb.hac"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("hac::lint::cloud_conflict"),
        "{}",
        out.stderr
    );
    let out = hac(&["check", "--provider", "aws", "../examples/cloud-lb.hac"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    // Two control planes: not highly available, but it comes up.
    let out = hac(&["check", "../examples/sandbox.hac"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("hac::lint::even_control_planes"),
        "{}",
        out.stderr
    );
    // The second warning: flannel's manifest is downloaded unchecked (docs/versions.md).
    assert!(
        out.stderr.contains("0 errors, 2 warnings"),
        "{}",
        out.stderr
    );
    let denied = hac(&["check", "--deny-warnings", "../examples/sandbox.hac"]);
    assert_eq!(denied.status, 1);
}

#[test]
fn check_applies_the_cluster_schema() {
    // A fine program, but not a cluster description.
    let out = hac(&["check", "cli-inputs/clean.hac"]);
    assert_eq!(out.status, 1);
    assert!(out.stderr.contains("hac::model::"), "{}", out.stderr);
}

#[test]
fn check_reports_errors_with_exit_status_one() {
    let out = hac(&["check", "cli-inputs/unicode-error.hac"]);
    assert_eq!(out.status, 1);
    assert!(
        out.stderr.contains("hac::eval::type_mismatch"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("cli-inputs/unicode-error.hac:2:"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains('\u{1b}'),
        "no colour when not on a terminal"
    );
}

#[test]
fn unreadable_files_and_bad_usage_exit_two() {
    let out = hac(&["check", "cli-inputs/does-not-exist.hac"]);
    assert_eq!(out.status, 2);
    assert!(
        out.stderr
            .contains("cannot read cli-inputs/does-not-exist.hac"),
        "{}",
        out.stderr
    );
    assert_eq!(hac(&["check"]).status, 2);
    assert_eq!(hac(&["frobnicate"]).status, 2);
    assert_eq!(hac(&["--help"]).status, 0);
}

#[test]
fn an_unreadable_file_does_not_hide_the_others() {
    let files = [
        "../examples/stacked.hac",
        "cli-inputs/unicode-error.hac",
        "cli-inputs/does-not-exist.hac",
        "cli-inputs/clean.hac",
    ];
    let json = hac(&[&["check", "--diagnostics", "json"][..], &files[..]].concat());
    assert_eq!(json.status, 2);
    // The unreadable file is one more diagnostic in the array, not a line on stderr.
    assert_eq!(json.stderr, "");
    let array: serde_json::Value = serde_json::from_str(&json.stdout).expect("valid JSON");
    let unreadable = array
        .as_array()
        .expect("an array")
        .iter()
        .find(|d| d["code"] == "hac::cli::unreadable")
        .expect("the unreadable file is reported");
    assert_eq!(unreadable["file"], "cli-inputs/does-not-exist.hac");
    assert!(
        unreadable["message"]
            .as_str()
            .unwrap()
            .contains("cannot read cli-inputs/does-not-exist.hac"),
        "{unreadable}"
    );
    let reported: Vec<&str> = array
        .as_array()
        .expect("an array")
        .iter()
        .map(|d| d["file"].as_str().unwrap())
        .collect();
    // The files before and after the unreadable one are both reported.
    assert!(
        reported.contains(&"cli-inputs/unicode-error.hac"),
        "{reported:?}"
    );
    assert!(reported.contains(&"cli-inputs/clean.hac"), "{reported:?}");

    let human = hac(&[&["check"][..], &files[..]].concat());
    assert_eq!(human.status, 2);
    for summary in [
        "../examples/stacked.hac: 0 errors",
        "cli-inputs/unicode-error.hac: 1 error",
        "cannot read cli-inputs/does-not-exist.hac",
        "cli-inputs/clean.hac: ",
    ] {
        assert!(
            human.stderr.contains(summary),
            "{summary}: {}",
            human.stderr
        );
    }
}

#[test]
fn json_format_gives_one_based_character_positions() {
    let out = hac(&["check", "--format", "json", "cli-inputs/unicode-error.hac"]);
    assert_eq!(out.status, 1);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("valid JSON");
    let first = &json.as_array().expect("an array")[0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["code"], "hac::eval::type_mismatch");
    assert_eq!(first["file"], "cli-inputs/unicode-error.hac");
    assert_eq!(first["line"], 2);
    // `{ greeting = "héllo wörld" + 1; }`: the error is on the string, the `+` or the `1`,
    // and after the multi-byte `é` and `ö` a byte-counting column would be too large.
    let source =
        std::fs::read_to_string(hac_tests::repo_root().join("tests/cli-inputs/unicode-error.hac"))
            .unwrap();
    let line = source.lines().nth(1).unwrap();
    let column_of = |needle: char| line.chars().position(|c| c == needle).unwrap() as u64 + 1;
    let candidates = [column_of('"'), column_of('+'), column_of('1')];
    let column = first["column"].as_u64().unwrap();
    assert!(
        candidates.contains(&column),
        "column {column} not one of {candidates:?}: {first}"
    );
    assert!(
        first["labels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["primary"] == true)
    );
    for field in ["message", "end_line", "end_column", "help"] {
        assert!(first.get(field).is_some(), "missing {field}");
    }
}

#[test]
fn secrets_commands_never_print_secrets_unless_asked() {
    let dir = std::env::temp_dir().join(format!("hac-cli-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("cluster.hac");
    std::fs::copy(hac_tests::repo_root().join("examples/stacked.hac"), &source).unwrap();
    let source = source.to_str().unwrap();

    let init = hac(&["secrets", "init", source]);
    assert_eq!(init.status, 0, "{}", init.stderr);
    let bundle = hac::secrets::load(&dir.join("cluster.secrets")).expect("a valid bundle");
    let token = bundle.join_token_now().token().expose().to_string();
    let key = bundle.certificate_key().expose().to_string();

    let shown = hac(&["secrets", "show", source]);
    assert_eq!(shown.status, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains(&bundle.discovery_hash()),
        "{}",
        shown.stdout
    );
    for secret in [&token, &key] {
        assert!(!shown.stdout.contains(secret.as_str()) && !shown.stderr.contains(secret.as_str()));
    }
    let revealed = hac(&["secrets", "show", "--reveal", source]);
    assert!(revealed.stdout.contains(&token) && revealed.stdout.contains(&key));

    assert_eq!(
        hac(&["secrets", "init", source]).status,
        2,
        "no silent overwrite"
    );
    let rotated = hac(&["secrets", "rotate", "token", source]);
    assert_eq!(rotated.status, 0, "{}", rotated.stderr);
    assert!(!rotated.stdout.contains(&token));
    let after = hac::secrets::load(&dir.join("cluster.secrets")).unwrap();
    assert_ne!(after.join_token_now().token().expose(), token.as_str());
    assert_eq!(after.token_generation(), bundle.token_generation() + 1);
    assert_eq!(after.certificate_key().expose(), key.as_str());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `scripts/update-versions` needs the internet to do its work, so only what it does
/// before fetching is tested here: it passes shellcheck and refuses bad arguments.
#[test]
fn update_versions_script_is_sound_and_checks_its_arguments() {
    let script = hac_tests::repo_root().join("scripts/update-versions");
    let lint = std::process::Command::new("shellcheck")
        .arg(&script)
        .output()
        .expect("shellcheck runs (scripts/test installs it)");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );
    for (args, expected) in [
        (&["nosuch", "1.0.0", "1.0.1"][..], "no artefact 'nosuch'"),
        (
            &["containerd", "1.9.9", "2.2.2"][..],
            "installs no containerd 1.9.9",
        ),
        (&["containerd", "2.2.1", "v2.2.2"][..], "no leading v"),
        (&["containerd", "2.2.1"][..], "usage:"),
    ] {
        let out = std::process::Command::new(&script)
            .args(args)
            .output()
            .expect("the script runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
