//! The conventions every command follows, checked on the real binary: `-` reads
//! standard input, `--color` beside NO_COLOR, one `--diagnostics` flag, JSON for
//! files that cannot be read, help for every argument, and `--provider` choosing gzip.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const HAC: &str = env!("CARGO_BIN_EXE_hac");
const EXAMPLES: &str = "../examples";
const TYPE_ERROR: &str = "{ a = 1 + \"x\"; }\n";

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

/// Runs `hac ARGS` with `stdin` as its standard input, in `dir`, without NO_COLOR.
fn hac_in(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(HAC)
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hac runs");
    // hac may exit before reading (a usage error): a broken pipe is not a failure.
    let _ = child
        .stdin
        .take()
        .expect("a pipe")
        .write_all(stdin.as_bytes());
    let output = child.wait_with_output().expect("hac exits");
    Run {
        status: output.status.code().expect("an exit status"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8"),
    }
}

fn hac(args: &[&str], stdin: &str) -> Run {
    hac_in(Path::new("."), args, stdin)
}

fn example(name: &str) -> String {
    std::fs::read_to_string(Path::new(EXAMPLES).join(name)).expect("the example exists")
}

#[test]
fn check_reads_standard_input() {
    let clean = hac(&["check", "-"], &example("stacked.hac"));
    assert_eq!(clean.status, 0, "{}", clean.stderr);
    assert!(
        clean.stderr.contains("<stdin>: 0 errors, 1 warning"),
        "the example's one warning, its unchecked CNI manifest: {}",
        clean.stderr
    );
    let broken = hac(&["check", "-"], TYPE_ERROR);
    assert_eq!(broken.status, 1, "{}", broken.stderr);
    assert!(broken.stderr.contains("<stdin>:1:"), "{}", broken.stderr);
    assert!(
        broken.stderr.contains("<stdin>: 1 error"),
        "{}",
        broken.stderr
    );
    let twice = hac(&["check", "-", "-"], TYPE_ERROR);
    assert_eq!(twice.status, 2, "{}", twice.stderr);
}

#[test]
fn eval_and_plan_read_standard_input() {
    let eval = hac(&["eval", "-"], "{ a = 1 + 2; }");
    assert_eq!((eval.status, eval.stdout.as_str()), (0, "{\"a\":3}\n"));
    let plan = hac(&["plan", "-"], &example("stacked.hac"));
    assert_eq!(plan.status, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("cp1"), "{}", plan.stdout);
}

#[test]
fn imports_from_standard_input_are_relative_to_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sizes.hac"), "[ 2 4 ]").unwrap();
    let out = hac_in(dir.path(), &["eval", "-"], "{ s = import ./sizes.hac; }");
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "{\"s\":[2,4]}\n");
}

#[test]
fn build_from_standard_input_needs_a_named_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let refused = hac_in(dir.path(), &["build", "-"], &example("stacked.hac"));
    assert_eq!(refused.status, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--secrets"), "{}", refused.stderr);
    let built = hac_in(
        dir.path(),
        &["build", "-", "--secrets", "c.secrets", "-o", "out"],
        &example("stacked.hac"),
    );
    assert_eq!(built.status, 0, "{}", built.stderr);
    assert!(dir.path().join("out/cp1.yaml").is_file());
}

#[test]
fn json_diagnostics_report_an_unreadable_file_as_json() {
    // The reproduction used the flag's earlier name.
    for flag in ["--format", "--diagnostics"] {
        let out = hac(&["check", flag, "json", "missing.hac"], "");
        assert_eq!(out.status, 2);
        assert_eq!(out.stderr, "", "nothing but the JSON");
        let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
        let only = &json.as_array().expect("an array")[..];
        assert_eq!(only.len(), 1, "{json}");
        assert_eq!(only[0]["code"], "hac::cli::unreadable");
        assert_eq!(only[0]["severity"], "error");
        assert_eq!(only[0]["file"], "missing.hac");
    }
    // Commands whose stdout is their result print it on stderr.
    let eval = hac(&["eval", "--diagnostics", "json", "missing.hac"], "");
    assert_eq!(eval.status, 2);
    let json: serde_json::Value = serde_json::from_str(&eval.stderr).expect("JSON");
    assert_eq!(json[0]["code"], "hac::cli::unreadable");
}

#[test]
fn diagnostics_is_one_flag_on_every_command_and_format_still_works() {
    for args in [
        &["check", "--diagnostics", "json", "-"][..],
        &["check", "--format", "json", "-"][..],
        &["eval", "--diagnostics", "json", "-"][..],
        &["eval", "--format", "json", "-"][..],
        &["plan", "--diagnostics", "json", "-"][..],
    ] {
        let out = hac(args, TYPE_ERROR);
        assert_eq!(out.status, 1, "{args:?}: {}", out.stderr);
        let printed = if args[0] == "check" {
            &out.stdout
        } else {
            &out.stderr
        };
        let json: serde_json::Value =
            serde_json::from_str(printed).unwrap_or_else(|e| panic!("{args:?}: {e}: {printed}"));
        assert_eq!(json[0]["code"], "hac::eval::type_mismatch", "{args:?}");
    }
    // `build` reads nothing from stdin before its diagnostics.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.hac"), TYPE_ERROR).unwrap();
    let build = hac_in(
        dir.path(),
        &["build", "--diagnostics", "json", "bad.hac"],
        "",
    );
    assert_eq!(build.status, 1);
    let json: serde_json::Value = serde_json::from_str(&build.stderr).expect("JSON");
    assert_eq!(json[0]["code"], "hac::eval::type_mismatch");
    // The old name is hidden: help shows one flag.
    let help = hac(&["check", "--help"], "");
    assert!(
        help.stdout.contains("--diagnostics <FORMAT>"),
        "{}",
        help.stdout
    );
    assert!(!help.stdout.contains("--format"), "{}", help.stdout);
}

#[test]
fn color_overrides_the_terminal_and_no_color() {
    let always = hac(&["check", "--color", "always", "-"], TYPE_ERROR);
    assert!(always.stderr.contains("\u{1b}["), "{}", always.stderr);
    // `--color` is global: before or after the command, and it beats NO_COLOR.
    let with_no_color = hac(&["eval", "--color=always", "-"], TYPE_ERROR);
    assert!(with_no_color.stderr.contains("\u{1b}["));
    let output = Command::new(HAC)
        .args(["--color=always", "check", "-"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // Empty input is an error with a report, coloured as asked.
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("\u{1b}["),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let never = hac(&["check", "--color", "never", "-"], TYPE_ERROR);
    assert!(!never.stderr.contains('\u{1b}'), "{}", never.stderr);
    let auto = hac(&["check", "--color", "auto", "-"], TYPE_ERROR);
    assert!(!auto.stderr.contains('\u{1b}'), "a pipe is not a terminal");
    let bad = hac(&["check", "--color", "sometimes", "-"], "");
    assert_eq!(bad.status, 2);
}

#[test]
fn aws_gzips_by_itself_when_only_gzip_fits() {
    let dir = tempfile::tempdir().unwrap();
    // Without its VIP, which keepalived cannot move on AWS or GCP.
    let vip = "    vip = \"10.0.0.100\";\n";
    let stacked = example("stacked.hac");
    assert!(stacked.contains(vip), "the example has a VIP line");
    std::fs::write(dir.path().join("c.hac"), stacked.replace(vip, "")).unwrap();
    let aws = hac_in(dir.path(), &["build", "--provider", "aws", "c.hac"], "");
    assert_eq!(aws.status, 0, "{}", aws.stderr);
    assert!(
        aws.stderr
            .contains("only gzipped: writing `<host>.yaml.gz`"),
        "{}",
        aws.stderr
    );
    let out = dir.path().join("out/prod");
    assert!(out.join("cp1.yaml.gz").is_file(), "{}", aws.stdout);
    assert!(aws.stdout.contains("every host fits AWS"), "{}", aws.stdout);

    // GCP takes the plain text: no gzip files, no note.
    let gcp = hac_in(dir.path(), &["build", "--provider", "gcp", "c.hac"], "");
    assert_eq!(gcp.status, 0, "{}", gcp.stderr);
    assert!(!gcp.stderr.contains("gzip"), "{}", gcp.stderr);
    assert!(!out.join("cp1.yaml.gz").exists());
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(!manifest.contains(".yaml.gz"), "{manifest}");
}

#[test]
fn topology_labels_pass_and_node_role_labels_do_not() {
    let stacked = example("stacked.hac");
    let pool = "\"node.kubernetes.io/pool\" = \"general\";";
    assert!(stacked.contains(pool), "the example labels its workers");
    let zoned = stacked.replace(
        pool,
        "\"topology.kubernetes.io/zone\" = \"eu-1a\"; \"topology.kubernetes.io/region\" = \"eu-1\";",
    );
    let check = hac(&["check", "-"], &zoned);
    assert_eq!(check.status, 0, "{}", check.stderr);
    assert!(
        check.stderr.contains("<stdin>: 0 errors, 1 warning"),
        "only the example's own warning: {}",
        check.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let build = hac_in(
        dir.path(),
        &["build", "-", "--secrets", "c.secrets", "-o", "out"],
        &zoned,
    );
    assert_eq!(build.status, 0, "{}", build.stderr);
    let worker = std::fs::read_to_string(dir.path().join("out/worker1.yaml")).unwrap();
    assert!(
        worker.contains("topology.kubernetes.io/region=eu-1")
            && worker.contains("topology.kubernetes.io/zone=eu-1a"),
        "the kubelet gets the labels"
    );

    let role = stacked.replace(pool, "\"node-role.kubernetes.io/worker\" = \"\";");
    let refused = hac(&["check", "-"], &role);
    assert_eq!(refused.status, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("the kubelet refuses this label"),
        "{}",
        refused.stderr
    );
}

/// The loopback example: its endpoint is a bare IP, the one warning it has once its
/// unchecked CNI manifest is allowed too.
fn loopback_with(allow: &str) -> String {
    let unverified = "  versions.flannel.unverified = true;";
    let text = example("loopback.hac");
    assert!(text.contains(unverified), "the example's opt-out");
    let text = text.replace(
        unverified,
        &format!("{unverified} # hac: allow unverified_download_allowed"),
    );
    let endpoint = "  endpoint = \"127.0.0.100:6443\";";
    assert!(text.contains(endpoint), "the example's endpoint");
    text.replace(endpoint, &allow.replace("ENDPOINT", endpoint))
}

#[test]
fn an_allow_comment_silences_one_lint_at_one_place() {
    let plain = hac(
        &["check", "--deny-warnings", "-"],
        &loopback_with("ENDPOINT"),
    );
    assert_eq!(plain.status, 1, "the warning fails --deny-warnings");
    assert!(plain.stderr.contains("hac::lint::endpoint_is_ip"));

    for allow in [
        "  # hac: allow endpoint_is_ip\nENDPOINT",
        "ENDPOINT # hac: allow endpoint_is_ip -- no DNS in a lab",
        "ENDPOINT /* hac: allow hac::lint::endpoint_is_ip */",
        "  # hac: allow even_control_planes, endpoint_is_ip\nENDPOINT",
    ] {
        let out = hac(&["check", "--deny-warnings", "-"], &loopback_with(allow));
        assert_eq!((out.status, out.stderr.as_str()), (0, ""), "{allow}");
        let json = hac(
            &["check", "--diagnostics", "json", "-"],
            &loopback_with(allow),
        );
        let all: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        let all: Vec<&serde_json::Value> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["code"] != "hac::lint::unverified_download_allowed")
            .collect();
        assert_eq!(all.len(), 1, "{allow}: {all:?}");
        assert_eq!(all[0]["code"], "hac::lint::endpoint_is_ip");
        assert_eq!(all[0]["suppressed"], true);
    }

    // Not another place, not another lint, not a string, not two lines above.
    for not_here in [
        "  # hac: allow endpoint_is_ip\n\nENDPOINT",
        "  # hac: allow even_control_planes\nENDPOINT",
        "ENDPOINT\n  # hac: allow endpoint_is_ip",
        "  files = [ { path = \"/etc/x\"; content = \"# hac: allow endpoint_is_ip\"; } ];\nENDPOINT",
    ] {
        let out = hac(&["check", "--deny-warnings", "-"], &loopback_with(not_here));
        assert_eq!(out.status, 1, "{not_here}: {}", out.stderr);
        assert!(
            out.stderr.contains("hac::lint::endpoint_is_ip"),
            "{not_here}"
        );
        let json = hac(
            &["check", "--diagnostics", "json", "-"],
            &loopback_with(not_here),
        );
        let all: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        let endpoint = all
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "hac::lint::endpoint_is_ip")
            .expect("the warning is listed");
        assert!(endpoint.get("suppressed").is_none(), "{not_here}");
    }
}

#[test]
fn an_unknown_code_in_an_allow_comment_is_a_warning() {
    let out = hac(
        &["check", "-"],
        &loopback_with("ENDPOINT # hac: allow endpoint_is_ip, endpoint_is_dns"),
    );
    assert_eq!(out.status, 0, "a warning: {}", out.stderr);
    assert!(
        out.stderr.contains("hac::lint::unknown_allow"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("`endpoint_is_dns` is not a lint hac has"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("(2 allowed by `# hac: allow`)"),
        "{}",
        out.stderr
    );
    // Errors cannot be allowed.
    let broken = loopback_with("ENDPOINT").replace("\"127.0.0.100:6443\"", "\"127.0.0.100\"");
    let allowed = broken.replace(
        "  endpoint =",
        "  # hac: allow invalid_endpoint\n  endpoint =",
    );
    let out = hac(&["check", "-"], &allowed);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("hac::lint::invalid_endpoint"),
        "{}",
        out.stderr
    );
}

#[test]
fn color_applies_to_help_and_usage_errors_too() {
    let help = hac(&["check", "--help", "--color", "always"], "");
    assert_eq!(help.status, 0);
    assert!(help.stdout.contains("\u{1b}["), "{}", help.stdout);
    let wrong = hac(&["--color=always", "check", "--no-such-flag"], "");
    assert_eq!(wrong.status, 2);
    assert!(wrong.stderr.contains("\u{1b}["), "{}", wrong.stderr);
    let plain = hac(&["check", "--help"], "");
    assert!(!plain.stdout.contains('\u{1b}'), "{}", plain.stdout);
}

#[test]
fn secrets_init_reads_standard_input_with_a_named_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let refused = hac_in(
        dir.path(),
        &["secrets", "init", "-"],
        &example("stacked.hac"),
    );
    assert_eq!(refused.status, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("standard input has no bundle beside it")
            && refused.stderr.contains("--secrets PATH"),
        "{}",
        refused.stderr
    );
    let made = hac_in(
        dir.path(),
        &["secrets", "init", "-", "--secrets", "c.secrets"],
        &example("stacked.hac"),
    );
    assert_eq!(made.status, 0, "{}", made.stderr);
    assert!(dir.path().join("c.secrets").is_file());
}
