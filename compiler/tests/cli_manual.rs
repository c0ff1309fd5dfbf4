//! Completions and man pages, checked by the programs that use them: bash loads the
//! completion script and completes with it; groff renders every page without a
//! warning (scripts/test installs groff-base).

use std::path::Path;
use std::process::Command;

const HAC: &str = env!("CARGO_BIN_EXE_hac");

fn stdout_of(command: &mut Command) -> String {
    let output = command.output().expect("the program runs");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// What bash completes for the words of `line` (the last one being completed), with
/// hac's completion script loaded.
fn bash_completes(line: &[&str]) -> Vec<String> {
    let words = line
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let script = format!(
        r#"source <("$HAC" completions bash) || exit 3
complete -p hac >&2 || exit 4
COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
_hac hac "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    stdout_of(Command::new("bash").args(["-c", &script]).env("HAC", HAC))
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_and_options() {
    let commands = bash_completes(&["hac", ""]);
    for command in [
        "check",
        "build",
        "plan",
        "fmt",
        "secrets",
        "completions",
        "man",
    ] {
        assert!(
            commands.iter().any(|c| c == command),
            "{command}: {commands:?}"
        );
    }
    assert_eq!(bash_completes(&["hac", "bu"]), ["build"]);
    assert_eq!(
        bash_completes(&["hac", "check", "--deny"]),
        ["--deny-warnings"]
    );
    let colors = bash_completes(&["hac", "build", "--color", ""]);
    assert_eq!(colors, ["auto", "always", "never"]);
    let rotatable = bash_completes(&["hac", "secrets", "rotate", ""]);
    assert!(rotatable.iter().any(|c| c == "token"), "{rotatable:?}");
}

#[test]
fn zsh_and_fish_scripts_name_every_command() {
    for shell in ["zsh", "fish"] {
        let script = stdout_of(Command::new(HAC).args(["completions", shell]));
        for command in ["check", "build", "plan", "secrets", "completions"] {
            assert!(script.contains(command), "{shell}: {command}");
        }
    }
    let refused = Command::new(HAC)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}

fn groff(page: &Path, args: &[&str]) -> (String, String) {
    let output = Command::new("groff")
        // Plain text: no bold or underline by overstriking or escape sequences.
        .args(["-man", "-Tutf8", "-ww", "-P-bcou"])
        .args(args)
        .arg(page)
        .output()
        .expect("groff is installed (Debian: groff-base)");
    assert!(output.status.success(), "{}", page.display());
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn man_pages_render_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let listed = stdout_of(Command::new(HAC).arg("man").arg("--dir").arg(dir.path()));
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    pages.sort();
    let names: Vec<_> = pages
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    for name in ["hac.1", "hac-check.1", "hac-build.1", "hac-secrets-init.1"] {
        assert!(names.iter().any(|n| n == name), "{name}: {names:?}");
        assert!(listed.contains(name), "{listed}");
    }
    for page in &pages {
        let (_, warnings) = groff(page, &["-z"]);
        assert_eq!(warnings, "", "{}", page.display());
    }
    let (top, _) = groff(&dir.path().join("hac.1"), &[]);
    for section in ["NAME", "SYNOPSIS", "EXIT STATUS", "ENVIRONMENT", "NO_COLOR"] {
        assert!(top.contains(section), "{section}: {top}");
    }
    assert!(top.contains("hac-build(1)"), "{top}");
    // `hac man` alone prints the top page.
    let printed = stdout_of(Command::new(HAC).arg("man"));
    assert_eq!(
        printed,
        std::fs::read_to_string(dir.path().join("hac.1")).unwrap()
    );
}
