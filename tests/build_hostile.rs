//! No user string breaks out: hostile strings (quotes, `$()`, backticks,
//! newlines, `; rm -rf /`, heredoc markers…) fed through every user field that
//! can reach a script or a configuration file either arrive verbatim or are
//! rejected with a diagnostic.
//!
//! "Verbatim" is checked where the string lands: commands as the one quoted word
//! after `bash -c`, read back through bash; file contents byte for byte in
//! `write_files`; labels, taints and kubelet flags inside the kubeadm
//! configuration as PyYAML reads it. The whole user-data must also read back
//! through PyYAML as hac meant it, and every script must still parse (`bash -n`).

#[path = "build_common.rs"]
mod build_common;
#[path = "emit_common.rs"]
mod emit_common;

use std::process::Command;

use build_common::{bootstrap_script, cluster_and_plan_or_errors, pyyaml_load_all};
use emit_common::pyyaml_load;
use hac::build::HostOutput;
use hac::emit::shell::quote;
use proptest::prelude::*;
use serde_json::Value;

/// Pieces that break naive quoting in shell, YAML, Nix or kubeadm flags.
const HAZARDS: &[&str] = &[
    "'",
    "\"",
    "$(touch /tmp/hac-pwned)",
    "`touch /tmp/hac-pwned`",
    "\n",
    "; rm -rf /",
    "\\",
    "${HOME}",
    "$HOME",
    "'\\''",
    "|| true &&",
    " # ",
    "*",
    "~",
    "\t",
    "!",
    "{a,b}",
    "$'x'",
    "%s%n",
    "\nEOF\n",
    "\nHAC_EOF\n",
    ": ",
    "- ",
    "yes",
    "0644",
    "é✓",
    "=",
    ",",
];

fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(HAZARDS).prop_map(str::to_owned),
            1 => "[a-z0-9 ./=-]{1,6}",
        ],
        1..6,
    )
    .prop_map(|parts| parts.concat())
}

/// `text` as a Nix (hac) string literal.
fn nix_string(text: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A small stacked cluster; `worker` and `cluster` are extra attributes for the
/// worker and the cluster.
fn source(cluster: &str, worker: &str) -> String {
    format!(
        r#"{{
  name = "hostile";
  kubernetes = "1.36.1";
  endpoint = "api.hostile.example.com:6443";
  loadbalancer.hosts = [ {{ name = "lb1"; address = "10.0.0.5"; }} ];
  controlplanes = [ {{ name = "cp1"; address = "10.0.0.11"; }} ];
  workers = [ {{ name = "worker1"; address = "10.0.0.21"; {worker} }} ];
  versions.flannel.unverified = true;
  {cluster}
}}
"#
    )
}

enum Outcome {
    Rejected,
    Built(Vec<HostOutput>),
}

fn build_source(text: &str) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hostile.hac");
    std::fs::write(&path, text).expect("write");
    let Some((cluster, plan)) = cluster_and_plan_or_errors(&path) else {
        return Outcome::Rejected;
    };
    let bundle = build_common::fixture_bundle("stacked");
    let context = hac::build::Context {
        cluster: &cluster,
        plan: &plan,
        secrets: &bundle,
        built_at: hac_tests::build_time(),
    };
    match hac::build::build(&context) {
        Ok(hosts) => Outcome::Built(hosts),
        // A generator's refusal names the problem; it is a rejection too.
        Err(err) => {
            assert!(!err.message.is_empty());
            Outcome::Rejected
        }
    }
}

fn host<'a>(hosts: &'a [HostOutput], name: &str) -> &'a HostOutput {
    hosts.iter().find(|h| h.name == name).expect("host")
}

/// `word` (a shell word) as bash reads it.
fn through_bash(word: &str) -> String {
    let output = Command::new("bash")
        .args(["-c", &format!("printf %s {word}")])
        .output()
        .expect("bash");
    assert!(output.status.success(), "bash rejected the word {word}");
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn bash_parses(script: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("script");
    std::fs::write(&path, script).expect("write");
    let output = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash");
    assert!(
        output.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The user-data reads back as hac meant it, and the script still parses.
fn sound(host: &HostOutput) {
    let loaded = pyyaml_load(std::slice::from_ref(&host.user_data));
    assert!(
        loaded[0] == host.document,
        "{}: PyYAML reads other data",
        host.name
    );
    bash_parses(bootstrap_script(host));
}

/// Every string in the YAML configuration files of `host` (as PyYAML reads them).
fn config_strings(host: &HostOutput) -> Vec<String> {
    let texts: Vec<String> = host
        .files
        .iter()
        .filter(|f| f.content.contains("apiVersion:"))
        .map(|f| f.content.clone())
        .collect();
    let mut strings = Vec::new();
    let mut pending: Vec<Value> = pyyaml_load_all(&texts).into_iter().flatten().collect();
    while let Some(value) = pending.pop() {
        match value {
            Value::String(s) => strings.push(s),
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                for (key, value) in map {
                    strings.push(key);
                    pending.push(value);
                }
            }
            _ => {}
        }
    }
    strings
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn commands_arrive_verbatim(text in hostile()) {
        let cluster = format!("commands.before = [ {} ];", nix_string(&text));
        let worker = format!("commands.after = [ {} ];", nix_string(&text));
        match build_source(&source(&cluster, &worker)) {
            Outcome::Rejected => {}
            Outcome::Built(hosts) => {
                let word = quote(&text).expect("no NUL");
                prop_assert_eq!(through_bash(&word), text.clone());
                for name in ["lb1", "cp1", "worker1"] {
                    let h = host(&hosts, name);
                    let script = bootstrap_script(h);
                    prop_assert!(script.contains(&format!("bash -c {word}\n")), "{name}");
                }
                sound(host(&hosts, "worker1"));
            }
        }
    }

    #[test]
    fn file_contents_arrive_verbatim(text in hostile()) {
        let cluster = format!(
            "files = [ {{ path = \"/etc/hac-test/cluster\"; content = {}; }} ];",
            nix_string(&text)
        );
        let worker = format!(
            "files = [ {{ path = \"/etc/hac-test/worker\"; content = {}; permissions = \"0600\"; }} ];",
            nix_string(&text)
        );
        match build_source(&source(&cluster, &worker)) {
            Outcome::Rejected => {}
            Outcome::Built(hosts) => {
                let worker = host(&hosts, "worker1");
                for path in ["/etc/hac-test/cluster", "/etc/hac-test/worker"] {
                    let file = worker.files.iter().find(|f| f.path == path).expect("the user's file");
                    prop_assert_eq!(&file.content, &text);
                }
                sound(worker);
            }
        }
    }

    #[test]
    fn file_paths_are_safe_or_rejected(text in hostile()) {
        let path = format!("/etc/{text}");
        let worker = format!(
            "files = [ {{ path = {}; content = \"x\"; }} ];",
            nix_string(&path)
        );
        match build_source(&source("", &worker)) {
            Outcome::Rejected => {}
            Outcome::Built(hosts) => {
                let worker = host(&hosts, "worker1");
                prop_assert!(worker.files.iter().any(|f| f.path == path));
                let word = quote(&path).expect("no NUL");
                prop_assert_eq!(through_bash(&word), path.clone());
                prop_assert!(bootstrap_script(worker).contains(&word));
                sound(worker);
            }
        }
    }

    #[test]
    fn labels_arrive_verbatim_or_are_rejected(text in hostile()) {
        let worker = format!("labels = {{ \"example.com/x\" = {}; }};", nix_string(&text));
        match build_source(&source("", &worker)) {
            Outcome::Rejected => {}
            Outcome::Built(hosts) => {
                let worker = host(&hosts, "worker1");
                prop_assert!(config_strings(worker).iter().any(|s| s.contains(&text)));
                sound(worker);
            }
        }
    }

    #[test]
    fn taints_arrive_verbatim_or_are_rejected(text in hostile()) {
        let taint = format!("example.com/t={text}:NoSchedule");
        let worker = format!("taints = [ {} ];", nix_string(&taint));
        match build_source(&source("", &worker)) {
            Outcome::Rejected => {}
            Outcome::Built(hosts) => {
                let worker = host(&hosts, "worker1");
                prop_assert!(config_strings(worker).iter().any(|s| s.contains(&text)));
                sound(worker);
            }
        }
    }

    #[test]
    fn kubelet_flags_arrive_verbatim_or_are_rejected(text in hostile()) {
        let worker = format!("kubelet.extraArgs = {{ v = {}; }};", nix_string(&text));
        let cluster = format!("kubelet.extraArgs = {{ max-pods = {}; }};", nix_string(&text));
        match build_source(&source(&cluster, &worker)) {
            Outcome::Rejected => {}
            Outcome::Built(hosts) => {
                for name in ["cp1", "worker1"] {
                    let h = host(&hosts, name);
                    prop_assert!(config_strings(h).iter().any(|s| s.contains(&text)), "{name}");
                    sound(h);
                }
            }
        }
    }

    #[test]
    fn restricted_fields_are_safe_or_rejected(text in hostile()) {
        // Fields the model restricts to a safe alphabet: whatever gets through must
        // appear as written in a file or as one quoted word in the script.
        let cases = [
            (
                format!("files = [ {{ path = \"/etc/hac-test/o\"; content = \"x\"; owner = {}; }} ];", nix_string(&text)),
                text.clone(),
            ),
            (
                format!("packages.mirror = {};", nix_string(&format!("https://mirror.example.com/{text}"))),
                format!("https://mirror.example.com/{text}"),
            ),
            (
                format!("containerd.registryMirrors = {{ \"docker.io\" = [ {} ]; }};", nix_string(&format!("https://cache.example.com/{text}"))),
                format!("https://cache.example.com/{text}"),
            ),
            (
                format!("ssh.authorizedKeys = [ {} ];", nix_string(&format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbVJ2a9d1m3W0m6yQm0r0iYl0nX3Y8s1yq0bP7m9fZk {text}"))),
                format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbVJ2a9d1m3W0m6yQm0r0iYl0nX3Y8s1yq0bP7m9fZk {text}"),
            ),
        ];
        for (cluster, value) in cases {
            match build_source(&source(&cluster, "")) {
                Outcome::Rejected => {}
                Outcome::Built(hosts) => {
                    let worker = host(&hosts, "worker1");
                    let word = quote(&value).expect("no NUL");
                    let in_file = worker.files.iter().any(|f| f.content.contains(&value) || f.owner == value);
                    let in_data = worker.user_data.contains(&value)
                        || pyyaml_load(std::slice::from_ref(&worker.user_data))[0].to_string().contains(&serde_json::to_string(&value).unwrap());
                    prop_assert!(
                        in_file || in_data || bootstrap_script(worker).contains(&word),
                        "{cluster}: the value went missing"
                    );
                    sound(worker);
                }
            }
        }
    }
}

#[test]
fn the_hazards_are_accepted_where_free_text_is_allowed() {
    // Without this, every property above could pass by rejecting everything.
    let all = HAZARDS.concat();
    let cluster = format!(
        "commands.before = [ {} ]; files = [ {{ path = \"/etc/hac-test/f\"; content = {}; }} ];",
        nix_string(&all),
        nix_string(&all)
    );
    let Outcome::Built(hosts) = build_source(&source(&cluster, "")) else {
        panic!("free-text fields must take any text without NUL");
    };
    let worker = host(&hosts, "worker1");
    assert!(bootstrap_script(worker).contains(&format!("bash -c {}\n", quote(&all).unwrap())));
    sound(worker);
    // The user's files and commands pass shellcheck as the rest of the script does.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hac-bootstrap");
    std::fs::write(&path, bootstrap_script(worker)).expect("write");
    let output = Command::new(emit_common::require("shellcheck", "shellcheck"))
        .arg(&path)
        .output()
        .expect("shellcheck");
    assert!(
        output.status.success(),
        "shellcheck: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn valid_labels_and_taints_arrive() {
    // The label and taint properties above mostly see rejections; a valid value
    // shows the checks there would notice a value that went missing.
    let worker = r#"labels = { "example.com/x" = "a.b-c_D9"; }; taints = [ "example.com/t=v-1.x_Y:NoExecute" ];"#;
    let Outcome::Built(hosts) = build_source(&source("", worker)) else {
        panic!("a valid label and taint are accepted");
    };
    let strings = config_strings(host(&hosts, "worker1"));
    assert!(
        strings.iter().any(|s| s.contains("a.b-c_D9")),
        "{strings:?}"
    );
    assert!(strings.iter().any(|s| s.contains("v-1.x_Y")), "{strings:?}");
}

#[test]
fn files_of_other_owners_are_written_last() {
    // cloud-init stops at an owner it cannot resolve: hac's files must come first.
    let cluster = r#"files = [
    { path = "/etc/app/config"; content = "a"; owner = "app:app"; permissions = "0640"; }
    { path = "/etc/hac-test/root"; content = "r"; }
  ];"#;
    let Outcome::Built(hosts) = build_source(&source(cluster, "")) else {
        panic!("valid files are accepted");
    };
    for host in &hosts {
        let paths: Vec<&str> = host.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths.last(),
            Some(&"/etc/app/config"),
            "{}: {paths:?}",
            host.name
        );
        let app = host.files.last().unwrap();
        assert_eq!((app.owner.as_str(), app.permissions), ("app:app", 0o640));
        assert!(
            bootstrap_script(host).contains("chown app:app /etc/app/config"),
            "{}: the step sets the owner again",
            host.name
        );
        sound(host);
    }
}
