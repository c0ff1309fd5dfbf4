//! Differential tests against Nix: every program under `tests/nix-compat/accept/` must
//! evaluate to exactly the JSON `nix-instantiate --eval --strict --json` prints, and
//! every program under `tests/nix-compat/reject/` must be rejected by both, hac with the
//! diagnostic code named on its first line (`# expect: <code>`). Programs under
//! `tests/nix-compat/differ/` are the deliberate differences (docs/language.md,
//! "Differences from Nix"): Nix accepts them, hac refuses them with the code named
//! on their first line.
//!
//! Nix is run live, so expected values are never written by hand. Without
//! `nix-instantiate` on `PATH` these tests fail rather than skip: install Debian's
//! `nix-bin` package.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hac_lang::{Analysis, Diagnostic, FsLoader, Limits, Output, analyze, analyze_for, codes};
use hac_tests::repo_root;

/// Fewer would let a trivial corpus pass; the corpus is meant to cover the language.
const MIN_ACCEPT_CASES: usize = 110;
const MIN_REJECT_CASES: usize = 30;
/// Generous: every corpus program takes Nix well under a second.
const NIX_TIMEOUT: Duration = Duration::from_secs(60);
const HAC_TIMEOUT: Duration = Duration::from_secs(60);

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("tests/nix-compat").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "hac"))
        .collect();
    files.sort();
    files
}

fn display(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn first_line(path: &Path) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines().next().unwrap_or("").to_string()
}

// ---------------------------------------------------------------------------------
// Running Nix

/// What `nix-instantiate` did with one file.
struct NixOutcome {
    success: bool,
    stdout: String,
    stderr: String,
}

/// A writable state directory so Nix works as any user, without a daemon or network.
struct NixSandbox {
    dir: PathBuf,
}

impl NixSandbox {
    fn new() -> NixSandbox {
        // Tests run concurrently in one process: each needs its own directory.
        static SANDBOXES: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "hac-nix-compat-{}-{}",
            std::process::id(),
            SANDBOXES.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        NixSandbox { dir }
    }

    fn run(&self, case: &Path, index: usize) -> NixOutcome {
        let stdout_path = self.dir.join(format!("{index}.out"));
        let stderr_path = self.dir.join(format!("{index}.err"));
        let stdout = File::create(&stdout_path).expect("temp file for Nix output");
        let stderr = File::create(&stderr_path).expect("temp file for Nix errors");
        // Cases run on several threads, and Nix keeps a SQLite database in its state
        // directory that concurrent runs find busy: each run gets its own.
        let home = self.dir.join(format!("home-{index}"));
        let spawned = Command::new("nix-instantiate")
            .args(["--eval", "--strict", "--json"])
            .arg(case)
            .env("HOME", &home)
            .env("NIX_STATE_DIR", home.join("state"))
            .env("NIX_LOG_DIR", home.join("log"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("NIX_REMOTE", "")
            .env_remove("NIX_PATH")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`nix-instantiate` is not on PATH; the differential tests need Nix as the \
                 reference: install Debian's `nix-bin` package (`apt-get install nix-bin`)"
            ),
            Err(e) => panic!("cannot run nix-instantiate: {e}"),
        };
        let deadline = Instant::now() + NIX_TIMEOUT;
        let status = loop {
            match child.try_wait().expect("waiting for nix-instantiate") {
                Some(status) => break Some(status),
                None if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        // Nix prints whatever bytes its strings hold; show invalid UTF-8 rather than lose it.
        let read = |path: &Path| {
            String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
        };
        let stdout = read(&stdout_path);
        let mut stderr = read(&stderr_path);
        let _ = std::fs::remove_file(stdout_path);
        let _ = std::fs::remove_file(stderr_path);
        let _ = std::fs::remove_dir_all(&home);
        if status.is_none() {
            stderr.push_str("\n(nix-instantiate timed out)");
        }
        NixOutcome {
            success: status.is_some_and(|s| s.success()),
            stdout,
            stderr,
        }
    }
}

impl Drop for NixSandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------
// Running hac

/// What hac made of one file.
#[derive(Debug, PartialEq)]
enum HacOutcome {
    /// Evaluated and printed as JSON.
    Json(String),
    /// Reported errors (every diagnostic, rendered one per line) and their codes.
    Rejected {
        codes: Vec<&'static str>,
        rendered: String,
    },
    /// Panicked, hung, or returned neither a value nor an error.
    Broken(String),
}

fn render(analysis: &Analysis, diagnostic: &Diagnostic) -> String {
    let place = diagnostic.primary().map_or(String::new(), |label| {
        let Some(file) = analysis.sources.try_get(label.origin.file) else {
            return " at <unknown file>".to_string();
        };
        let position = file.lines.line_col(&file.text, label.origin.span.start);
        format!(
            " at {}:{}:{}",
            display(&file.path),
            position.line,
            position.column
        )
    });
    format!(
        "{} [{}]: {}{place}",
        diagnostic.severity.as_str(),
        diagnostic.code,
        diagnostic.message
    )
}

fn evaluate(path: &Path) -> HacOutcome {
    let analysis = analyze(&FsLoader, path, &Limits::default());
    let errors: Vec<&Diagnostic> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    if !errors.is_empty() {
        let rendered = analysis
            .diagnostics
            .iter()
            .map(|d| render(&analysis, d))
            .collect::<Vec<_>>()
            .join("\n");
        return HacOutcome::Rejected {
            codes: errors.iter().map(|d| d.code).collect(),
            rendered,
        };
    }
    let Some(value) = &analysis.value else {
        return HacOutcome::Broken("no value and no error diagnostic".to_string());
    };
    let outcome = match hac_lang::json::to_json(value) {
        Ok(json) => HacOutcome::Json(json),
        Err(diagnostic) => HacOutcome::Rejected {
            codes: vec![diagnostic.code],
            rendered: render(&analysis, &diagnostic),
        },
    };
    // `hac eval` writes the JSON straight from the evaluated value: it must say
    // exactly what the plain copy's JSON says.
    let printed = analyze_for(
        &FsLoader,
        path,
        &Limits::default(),
        &AtomicBool::new(false),
        Output::Json,
    );
    let printed = match (
        &printed.json,
        printed.diagnostics.iter().find(|d| d.is_error()),
    ) {
        (Some(json), None) => HacOutcome::Json(json.clone()),
        (_, Some(diagnostic)) => HacOutcome::Rejected {
            codes: vec![diagnostic.code],
            rendered: render(&printed, diagnostic),
        },
        (None, None) => HacOutcome::Broken("no JSON text and no error diagnostic".to_string()),
    };
    if printed != outcome {
        return HacOutcome::Broken(format!(
            "`hac eval` prints {printed:?}, the plain copy's JSON is {outcome:?}"
        ));
    }
    outcome
}

/// Runs hac on its own thread so a panic or a hang is reported for this file
/// instead of taking the whole run down.
fn evaluate_guarded(path: &Path) -> HacOutcome {
    let (sender, receiver) = mpsc::channel();
    let owned = path.to_path_buf();
    let handle = std::thread::spawn(move || {
        let _ = sender.send(evaluate(&owned));
    });
    match receiver.recv_timeout(HAC_TIMEOUT) {
        Ok(outcome) => outcome,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            HacOutcome::Broken(format!("did not finish within {} s", HAC_TIMEOUT.as_secs()))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let message = match handle.join() {
                Err(payload) => payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic payload".to_string()),
                Ok(()) => "thread ended without a result".to_string(),
            };
            HacOutcome::Broken(format!("panicked: {message}"))
        }
    }
}

// ---------------------------------------------------------------------------------
// Driving a corpus

/// Runs `check` on every case on a few worker threads, returning every failure report.
fn check_all(
    cases: &[PathBuf],
    check: impl Fn(&NixSandbox, usize, &Path) -> Option<String> + Sync,
) -> Vec<String> {
    let sandbox = NixSandbox::new();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 4);
    let mut failures: Vec<(usize, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut found = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(case) = cases.get(index) else {
                            break;
                        };
                        if let Some(failure) = check(&sandbox, index, case) {
                            found.push((index, failure));
                        }
                    }
                    found
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread"))
            .collect()
    });
    failures.sort_by_key(|(index, _)| *index);
    failures.into_iter().map(|(_, failure)| failure).collect()
}

fn indent(text: &str) -> String {
    let trimmed = text.trim_end();
    if trimmed.is_empty() {
        return "    (empty)".to_string();
    }
    trimmed
        .lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn report(what: &str, total: usize, failures: &[String]) {
    if failures.is_empty() {
        return;
    }
    let mut message = format!("{} of {total} {what} failed:\n", failures.len());
    for failure in failures {
        let _ = writeln!(message, "\n{failure}");
    }
    panic!("{message}");
}

// ---------------------------------------------------------------------------------
// The tests

#[test]
fn every_accept_case_says_what_it_checks() {
    let cases = corpus("accept");
    assert!(
        cases.len() >= MIN_ACCEPT_CASES,
        "only {} accept cases; the corpus needs at least {MIN_ACCEPT_CASES}",
        cases.len()
    );
    let missing: Vec<String> = cases
        .iter()
        .filter(|case| {
            let line = first_line(case);
            !line.starts_with("# ") || line.trim_start_matches('#').trim().len() < 10
        })
        .map(|case| display(case))
        .collect();
    assert!(
        missing.is_empty(),
        "these accept cases lack a first-line `# what it checks` comment:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_reject_case_names_a_known_code() {
    let cases = corpus("reject");
    assert!(
        cases.len() >= MIN_REJECT_CASES,
        "only {} reject cases; the corpus needs at least {MIN_REJECT_CASES}",
        cases.len()
    );
    let bad: Vec<String> = cases
        .iter()
        .chain(&corpus("differ"))
        .filter_map(|case| match expected_code(case) {
            Ok(_) => None,
            Err(problem) => Some(format!("{}: {problem}", display(case))),
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn expected_code(case: &Path) -> Result<&'static str, String> {
    let line = first_line(case);
    let Some(code) = line.strip_prefix("# expect: ") else {
        return Err(format!("first line is `{line}`, not `# expect: <code>`"));
    };
    codes::ALL
        .iter()
        .map(|(known, _)| *known)
        .find(|known| *known == code.trim())
        .ok_or_else(|| format!("`{}` is not a code in lang/src/codes.rs", code.trim()))
}

#[test]
fn accept_cases_evaluate_exactly_like_nix() {
    let cases = corpus("accept");
    let failures = check_all(&cases, |sandbox, index, case| {
        let nix = sandbox.run(case, index);
        let name = display(case);
        if !nix.success {
            return Some(format!(
                "{name}: Nix rejects this accept case (fix the corpus):\n{}",
                indent(&nix.stderr)
            ));
        }
        let expected = nix.stdout.strip_suffix('\n').unwrap_or(&nix.stdout);
        match evaluate_guarded(case) {
            HacOutcome::Json(actual) if actual == expected => None,
            HacOutcome::Json(actual) => Some(format!(
                "{name}: output differs\n  nix:\n{}\n  hac:\n{}",
                indent(expected),
                indent(&actual)
            )),
            HacOutcome::Rejected { rendered, .. } => Some(format!(
                "{name}: Nix accepts, hac rejects\n  nix:\n{}\n  hac:\n{}",
                indent(expected),
                indent(&rendered)
            )),
            HacOutcome::Broken(problem) => Some(format!(
                "{name}: hac {problem}\n  nix:\n{}",
                indent(expected)
            )),
        }
    });
    report("accept cases", cases.len(), &failures);
}

#[test]
fn reject_cases_are_rejected_by_nix_and_hac_with_the_expected_code() {
    let cases = corpus("reject");
    let failures = check_all(&cases, |sandbox, index, case| {
        let name = display(case);
        let expected = match expected_code(case) {
            Ok(code) => code,
            Err(problem) => return Some(format!("{name}: {problem}")),
        };
        let nix = sandbox.run(case, index);
        if nix.success {
            return Some(format!(
                "{name}: Nix accepts this reject case (fix the corpus), printing:\n{}",
                indent(&nix.stdout)
            ));
        }
        let nix_error = nix
            .stderr
            .lines()
            .find(|line| line.starts_with("error:"))
            .unwrap_or("(no error line)")
            .to_string();
        match evaluate_guarded(case) {
            HacOutcome::Rejected { codes, .. } if codes.first() == Some(&expected) => None,
            HacOutcome::Rejected { rendered, .. } => Some(format!(
                "{name}: expected first error `{expected}`\n  nix:\n    {nix_error}\n  hac:\n{}",
                indent(&rendered)
            )),
            HacOutcome::Json(json) => Some(format!(
                "{name}: Nix rejects, hac accepts\n  nix:\n    {nix_error}\n  hac:\n{}",
                indent(&json)
            )),
            HacOutcome::Broken(problem) => {
                Some(format!("{name}: hac {problem}\n  nix:\n    {nix_error}"))
            }
        }
    });
    report("reject cases", cases.len(), &failures);
}

#[test]
fn differ_cases_are_accepted_by_nix_and_refused_by_hac_with_the_expected_code() {
    let cases = corpus("differ");
    assert!(!cases.is_empty(), "no cases under tests/nix-compat/differ");
    let failures = check_all(&cases, |sandbox, index, case| {
        let name = display(case);
        let expected = match expected_code(case) {
            Ok(code) => code,
            Err(problem) => return Some(format!("{name}: {problem}")),
        };
        let nix = sandbox.run(case, index);
        if !nix.success {
            return Some(format!(
                "{name}: Nix rejects this case, so it is no difference (move it to reject/):\n{}",
                indent(&nix.stderr)
            ));
        }
        match evaluate_guarded(case) {
            HacOutcome::Rejected { codes, .. } if codes.first() == Some(&expected) => None,
            HacOutcome::Rejected { rendered, .. } => Some(format!(
                "{name}: expected first error `{expected}`\n  hac:\n{}",
                indent(&rendered)
            )),
            HacOutcome::Json(json) => Some(format!(
                "{name}: hac accepts this difference\n  nix:\n{}\n  hac:\n{}",
                indent(&nix.stdout),
                indent(&json)
            )),
            HacOutcome::Broken(problem) => Some(format!("{name}: hac {problem}")),
        }
    });
    report("difference cases", cases.len(), &failures);
}
