//! A real editor as the client: Debian's Neovim, headless, set up with exactly the
//! Neovim 0.7 snippet of docs/editors.md, opens a file with a typo'd attribute (the
//! snippet starts `hac lsp`), prints the diagnostics it receives, fixes the typo in
//! the buffer and waits for them to clear, then formats the buffer through the server.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NVIM: &str = "/usr/bin/nvim";
const DEADLINE: Duration = Duration::from_secs(90);

#[test]
fn neovim_shows_the_typo_at_its_line_clears_it_when_fixed_and_formats() {
    assert!(
        Path::new(NVIM).is_file(),
        "`{NVIM}` is missing: install the Debian package `neovim` (scripts/test installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let original = std::fs::read_to_string(examples.join("stacked.hac")).unwrap();
    let text = original
        .replacen("  network = {", "  netwrok = {", 1)
        .replacen("  name = \"prod\";", "  name   =    \"prod\"  ;", 1);
    assert_ne!(text, original);
    let typo_line = text.lines().position(|l| l.contains("netwrok")).unwrap() + 1;
    let file = dir.path().join("stacked.hac");
    std::fs::write(&file, &text).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/neovim/check.lua");
    let init = dir.path().join("init.lua");
    std::fs::write(&init, documented_snippet()).unwrap();
    // The snippet runs `hac` from PATH: this build's.
    let bin = Path::new(env!("CARGO_BIN_EXE_hac")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();

    let mut child = Command::new(NVIM)
        .args(["--headless", "--noplugin", "-i", "NONE", "-n", "-u"])
        .arg(&init)
        .arg("-c")
        .arg(format!("luafile {}", script.display()))
        .env("PATH", path)
        .env("HAC_FILE", &file)
        .env("HAC_OUT", dir.path().join("formatted.hac"))
        .env("XDG_STATE_HOME", dir.path())
        .env("XDG_CACHE_HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nvim");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nvim did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().unwrap();
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    println!("{out}");
    assert!(status.success(), "nvim failed: {status}\n{out}\n{err}");

    let diagnostics: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("DIAGNOSTIC "))
        .collect();
    assert_eq!(diagnostics.len(), 1, "{out}\n{err}");
    let expected = format!("DIAGNOSTIC {typo_line}:3 unknown attribute `netwrok` in the cluster");
    assert!(diagnostics[0].starts_with(&expected), "{}", diagnostics[0]);
    assert!(
        diagnostics[0].contains("did you mean `network`?"),
        "{}",
        diagnostics[0]
    );
    assert!(out.lines().any(|l| l == "CLEARED"), "{out}\n{err}");

    assert!(out.lines().any(|l| l == "FORMATTED"), "{out}\n{err}");
    let fixed = text.replace("netwrok", "network");
    let expected = hac_lang::format::format(hac_lang::FileId(0), &fixed).unwrap();
    assert_ne!(expected, fixed, "the test file must need formatting");
    let formatted = std::fs::read_to_string(dir.path().join("formatted.hac")).unwrap();
    assert_eq!(formatted, expected);
}

/// The Lua block docs/editors.md marks as the one this test runs.
fn documented_snippet() -> String {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/editors.md");
    let docs = std::fs::read_to_string(docs).unwrap();
    let marker = "<!-- compiler/tests/lsp_neovim.rs runs this snippet as Neovim's init.lua. -->";
    let after = &docs[docs.find(marker).expect("the marker in docs/editors.md") + marker.len()..];
    let body = after
        .trim_start()
        .strip_prefix("```lua\n")
        .expect("a Lua block right after the marker");
    body[..body.find("\n```").expect("the end of the block") + 1].to_owned()
}
