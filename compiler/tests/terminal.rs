//! Colour follows the terminal: the real binary, run under a pseudo-terminal by
//! util-linux's `script`, colours its reports unless `NO_COLOR` is set, and never
//! colours output going to a pipe.

use std::path::Path;
use std::process::Command;

const INPUT: &str = "../tests/cli-inputs/unicode-error.hac";

/// Runs `hac check INPUT` with stdout and stderr on a pseudo-terminal; returns what it printed.
fn under_pty(no_color: Option<&str>) -> String {
    let hac = env!("CARGO_BIN_EXE_hac");
    assert!(Path::new(INPUT).exists(), "test input missing");
    let mut command = Command::new("script");
    command
        .args(["--quiet", "--return", "--command"])
        .arg(format!("{hac} check {INPUT}"))
        .arg("/dev/null")
        .env_remove("NO_COLOR");
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let output = command.output().expect("util-linux `script` is installed");
    assert_eq!(output.status.code(), Some(1), "hac check reports the error");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn colours_on_a_terminal() {
    assert!(
        under_pty(None).contains("\u{1b}["),
        "expected ANSI colour codes"
    );
}

#[test]
fn no_color_turns_colour_off() {
    let text = under_pty(Some("1"));
    assert!(text.contains("hac::eval::type_mismatch"), "{text}");
    assert!(
        !text.contains("\u{1b}["),
        "NO_COLOR must disable colour: {text:?}"
    );
}

#[test]
fn pipes_get_plain_text() {
    let output = Command::new(env!("CARGO_BIN_EXE_hac"))
        .args(["check", INPUT])
        .env_remove("NO_COLOR")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("hac::eval::type_mismatch"), "{stderr}");
    assert!(!stderr.contains("\u{1b}["), "{stderr:?}");
}
