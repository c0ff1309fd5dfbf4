//! Shell quoting: every string comes back verbatim from bash and from dash (the
//! `/bin/sh` that runs cloud-init's runcmd on Debian), whatever it contains.

#[path = "emit_common.rs"]
mod emit_common;

use emit_common::{require, run_with_input, text};
use hac::emit::shell::{Script, command, quote};
use proptest::prelude::*;

/// Runs `printf '%s\0' WORD…` with every word quoted, under `shell`, and returns
/// what each word expanded to.
fn echo_through(shell: &str, words: &[String]) -> Vec<String> {
    let quoted: Vec<String> = words
        .iter()
        .map(|word| quote(word).expect("quotable"))
        .collect();
    let script = format!("printf '%s\\0' {}", quoted.join(" "));
    let output = std::process::Command::new(shell)
        .args(["-c", &script])
        .output()
        .unwrap_or_else(|error| panic!("cannot run {shell}: {error}"));
    assert!(
        output.status.success(),
        "{shell} failed on:\n{script}\n{}",
        text(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 out");
    let mut words: Vec<String> = stdout.split('\0').map(str::to_string).collect();
    assert_eq!(
        words.pop().as_deref(),
        Some(""),
        "output ends with the last separator"
    );
    words
}

fn hostile() -> Vec<String> {
    [
        "",
        " ",
        "'",
        "''",
        "\"",
        "'\\''",
        "$(touch /tmp/hac-pwned)",
        "`touch /tmp/hac-pwned`",
        "$HOME",
        "${HOME}",
        "$((1+1))",
        "; rm -rf /",
        "&& echo pwned",
        "| cat",
        "> /tmp/x",
        "< /etc/passwd",
        "a\nb",
        "\n",
        "trailing newline\n",
        "\r\n",
        "\t",
        "*",
        "?",
        "[a-z]",
        "{a,b}",
        "~",
        "~root",
        "!",
        "!!",
        "#not a comment",
        "-rf",
        "--help",
        "a=b",
        "\\",
        "\\n",
        "\\'",
        "ünïcödé ✓",
        "日本語",
        "🦀",
        "\u{1}\u{7f}\u{1b}[31m",
        "it's \"quoted\"",
        "%s %d",
        "$'\\x41'",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn hostile_strings_come_back_verbatim_from_bash_and_dash() {
    let words = hostile();
    for shell in [require("bash", "bash"), require("dash", "dash")] {
        assert_eq!(echo_through(&shell, &words), words, "through {shell}");
    }
    assert!(
        !std::path::Path::new("/tmp/hac-pwned").exists(),
        "a quoted word ran a command"
    );
}

#[test]
fn plain_words_stay_readable_and_others_are_single_quoted() {
    assert_eq!(quote("apt-get").unwrap(), "apt-get");
    assert_eq!(
        quote("/etc/kubernetes/admin.conf").unwrap(),
        "/etc/kubernetes/admin.conf"
    );
    assert_eq!(quote("10.0.0.1:6443").unwrap(), "10.0.0.1:6443");
    assert_eq!(quote("").unwrap(), "''");
    assert_eq!(quote("a b").unwrap(), "'a b'");
    assert_eq!(quote("it's").unwrap(), "it\\'s");
    assert_eq!(quote("it's a test").unwrap(), r"it\''s a test'");
    assert_eq!(quote("pa$$ word").unwrap(), "pa\\$\\$' word'");
    assert_eq!(quote("C:\\dir\\").unwrap(), "C:\\\\dir\\\\");
    assert_eq!(
        quote("a=b").unwrap(),
        "'a=b'",
        "would be an assignment as the first word"
    );
    assert_eq!(
        quote("~").unwrap(),
        "'~'",
        "would expand to a home directory"
    );
    assert_eq!(quote("$x").unwrap(), "\\$x");
    assert_eq!(quote("`id`").unwrap(), "\\`id\\`");
}

#[test]
fn a_nul_byte_is_refused_with_a_clear_message() {
    let error = quote("before\0after").expect_err("NUL cannot be quoted");
    assert!(error.message.contains("NUL byte"), "{error}");
    assert!(error.message.contains("before\\0after"), "{error}");
    assert!(error.help.is_some());
    assert!(command(&["echo", "a\0b"]).is_err());
}

#[test]
fn command_quotes_every_word() {
    assert_eq!(
        command(&["kubeadm", "join", "--config", "/etc/hac/join config.yaml"]).unwrap(),
        "kubeadm join --config '/etc/hac/join config.yaml'"
    );
}

#[test]
fn the_script_builder_renders_lines() {
    let mut script = Script::new();
    script
        .line("set -euo pipefail")
        .comment("install\nthe key")
        .blank();
    script
        .command(&["printf", "%s\\n", "a'b"])
        .expect("quotable");
    script.line("echo one\necho two");
    let mut tail = Script::new();
    tail.line("exit 0");
    script.append(&tail);
    assert_eq!(
        script.render(),
        "set -euo pipefail\n# install\n# the key\n\nprintf '%s'\\\\n a\\'b\necho one\necho two\nexit 0\n"
    );
    assert_eq!(script.lines().len(), 8);
    assert!(!script.is_empty());
    let output = run_with_input(&require("bash", "bash"), &[], script.render().as_bytes());
    assert_eq!(text(&output.stdout), "a'b\none\ntwo\n");
}

/// shellcheck's findings for a script.
fn shellcheck(script: &str) -> (bool, String) {
    let output = run_with_input(
        &require("shellcheck", "shellcheck"),
        &["--shell=bash", "--severity=style", "--format=gcc", "-"],
        script.as_bytes(),
    );
    (
        output.status.success(),
        format!("{}{}", text(&output.stdout), text(&output.stderr)),
    )
}

#[test]
fn quoted_hostile_strings_raise_no_shellcheck_findings() {
    let quoted: Vec<String> = hostile().iter().map(|word| quote(word).unwrap()).collect();
    let script = format!("#!/bin/bash\nprintf '%s\\0' {}\n", quoted.join(" "));
    let (clean, findings) = shellcheck(&script);
    assert!(clean, "{findings}\n{script}");
    // and the check can fail: the same words quoted naively are flagged
    let (clean, findings) = shellcheck("#!/bin/bash\nprintf '%s' '$HOME'\n");
    assert!(!clean && findings.contains("SC2016"), "{findings}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn quoted_random_strings_raise_no_shellcheck_findings(
        words in prop::collection::vec(
            prop::collection::vec(prop::sample::select(vec![
                "'", "\"", "$", "$x", "${x}", "$(id)", "(", ")", "`", "`id`", "\\", "\n", " ", ";", "&", "|",
                "<", ">", "*", "?", "[", "]", "{", "}", "~", "!", "#", "=", "%", "a", "-", "é", "\t",
            ]), 0..12).prop_map(|parts| parts.concat()),
            1..12,
        )
    ) {
        let quoted: Vec<String> = words.iter().map(|word| quote(word).unwrap()).collect();
        let script = format!("#!/bin/bash\nprintf '%s\\0' {}\n", quoted.join(" "));
        let (clean, findings) = shellcheck(&script);
        prop_assert!(clean, "{}\n{}", findings, script);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_string_without_nul_comes_back_verbatim(
        words in prop::collection::vec(
            prop_oneof![
                any::<String>(),
                prop::collection::vec(prop::sample::select(vec![
                    "'", "\"", "$", "(", ")", "`", "\\", "\n", " ", ";", "&", "|", "<", ">", "*", "?", "[",
                    "]", "{", "}", "~", "!", "#", "=", "%", "rm -rf /", "$(id)", "é", "🦀", "\t", "\r",
                ]), 0..16).prop_map(|parts| parts.concat()),
            ]
            .prop_map(|word: String| word.replace('\0', "")),
            1..16,
        )
    ) {
        let bash = require("bash", "bash");
        prop_assert_eq!(echo_through(&bash, &words), words.clone());
        let dash = require("dash", "dash");
        prop_assert_eq!(echo_through(&dash, &words), words);
    }
}
