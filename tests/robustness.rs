//! Robustness: whatever the input, parsing and analysis end in a tree, a value or a
//! diagnostic — never a panic, a hang or a stack overflow — and every diagnostic points
//! inside the text it is about.
//!
//! These tests deliberately run on the default 2 MiB test threads: that is the
//! situation an editor or a test harness puts the library in.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use hac_lang::{Analysis, Diagnostic, FileId, FsLoader, Limits, Loader, analyze, syntax};
use hac_tests::repo_root;
use proptest::prelude::*;

/// Small enough that even a runaway program stops quickly.
fn small_limits() -> Limits {
    Limits {
        max_depth: 1_000,
        max_steps: 200_000,
        max_bytes: 64 << 20,
    }
}

/// A single call that takes longer than this is treated as a hang. It is CPU time
/// of the calling thread (parsing, checking and evaluation all run there), so a
/// machine busy with other work does not make a slow call of a fast one; a call
/// blocked without using the CPU is caught by the [`Watchdog`].
const CALL_BUDGET: Duration = Duration::from_secs(5);

/// The CPU time the calling thread has used so far.
fn thread_cpu_time() -> Duration {
    use rustix::time::{ClockId, clock_gettime};
    let now = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

// ---------------------------------------------------------------------------------
// Panics and hangs

/// Panics anywhere in the process, including inside the library's own worker
/// threads (which may turn them into diagnostics, hiding them from the caller).
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(mut panics) = PANICS.lock() {
                panics.push(info.to_string());
            }
            previous(info);
        }));
    });
}

fn assert_no_panics(context: &dyn Fn() -> String) {
    let panics = PANICS.lock().map(|p| p.clone()).unwrap_or_default();
    assert!(
        panics.is_empty(),
        "panicked on {}:\n{}",
        context(),
        panics.join("\n")
    );
}

/// Ends the process if one call runs far past its budget: a hung call never
/// returns, so no assertion after it could report it.
struct Watchdog {
    /// Milliseconds since `epoch` when the current call started; 0 when idle.
    started: Arc<AtomicU64>,
    epoch: Instant,
}

impl Watchdog {
    fn new(what: &'static str) -> Watchdog {
        let started = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let watched = Arc::clone(&started);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                if Arc::strong_count(&watched) == 1 {
                    return;
                }
                let since = watched.load(Ordering::Relaxed);
                let now = epoch.elapsed().as_millis() as u64;
                if since != 0 && now.saturating_sub(since) > 6 * CALL_BUDGET.as_millis() as u64 {
                    eprintln!(
                        "{what}: a call has not returned after {} s; giving up",
                        6 * CALL_BUDGET.as_secs()
                    );
                    std::process::exit(101);
                }
            }
        });
        Watchdog { started, epoch }
    }

    /// Runs `call`, asserting it returns within [`CALL_BUDGET`] of CPU time.
    fn time<T>(&self, describe: &dyn Fn() -> String, call: impl FnOnce() -> T) -> T {
        let start = thread_cpu_time();
        self.started.store(
            self.epoch.elapsed().as_millis().max(1) as u64,
            Ordering::Relaxed,
        );
        let result = call();
        self.started.store(0, Ordering::Relaxed);
        let elapsed = thread_cpu_time() - start;
        assert!(
            elapsed <= CALL_BUDGET,
            "took {elapsed:?} of CPU time (budget {CALL_BUDGET:?}) on {}",
            describe()
        );
        result
    }
}

// ---------------------------------------------------------------------------------
// Serving text from memory

const ROOT: &str = "/robustness/main.hac";

/// Serves the root file from memory and everything else from disk, so prefixes of
/// corpus files still reach the files they import.
struct MemoryLoader {
    files: HashMap<PathBuf, String>,
}

impl MemoryLoader {
    fn with_root(root: &Path, text: &str) -> MemoryLoader {
        MemoryLoader {
            files: HashMap::from([(root.to_path_buf(), text.to_string())]),
        }
    }
}

impl Loader for MemoryLoader {
    fn read(&self, path: &Path) -> io::Result<String> {
        match self.files.get(path) {
            Some(text) => Ok(text.clone()),
            None => FsLoader.read(path),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        self.files.contains_key(path) || FsLoader.exists(path)
    }
}

// ---------------------------------------------------------------------------------
// Checking results

/// Every label lies within its file's text and on character boundaries.
fn check_spans(
    diagnostics: &[Diagnostic],
    text_of: &dyn Fn(FileId) -> Option<Arc<str>>,
) -> Result<(), String> {
    for diagnostic in diagnostics {
        if diagnostic.message.is_empty() {
            return Err(format!("`{}` has an empty message", diagnostic.code));
        }
        for label in &diagnostic.labels {
            let Some(text) = text_of(label.origin.file) else {
                return Err(format!(
                    "`{}` points into unknown file {:?}",
                    diagnostic.code, label.origin.file
                ));
            };
            let span = label.origin.span;
            let (start, end) = (span.start as usize, span.end as usize);
            if start > end || end > text.len() {
                return Err(format!(
                    "`{}` ({}) has span {span:?} outside the {}-byte text",
                    diagnostic.code,
                    diagnostic.message,
                    text.len()
                ));
            }
            if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                return Err(format!(
                    "`{}` ({}) has span {span:?} inside a character",
                    diagnostic.code, diagnostic.message
                ));
            }
        }
    }
    Ok(())
}

fn check_parse(text: &str) -> Result<(), String> {
    let parse = syntax::parse(FileId(0), text);
    let shared: Arc<str> = Arc::from(text);
    check_spans(&parse.diagnostics, &|file| {
        (file == FileId(0)).then(|| Arc::clone(&shared))
    })?;
    let span = parse.expr.span;
    if span.end as usize > text.len() {
        return Err(format!("root expression span {span:?} past the end"));
    }
    Ok(())
}

fn check_analysis(analysis: &Analysis) -> Result<(), String> {
    if analysis.value.is_none() && !analysis.has_errors() {
        return Err("neither a value nor an error".to_string());
    }
    if analysis.value.is_some() && analysis.has_errors() {
        return Err("both a value and an error".to_string());
    }
    check_spans(&analysis.diagnostics, &|file| {
        analysis.sources.try_get(file).map(|f| Arc::clone(&f.text))
    })
}

fn describe_input(text: &str) -> String {
    const SHOWN: usize = 300;
    if text.len() <= SHOWN {
        return format!("{text:?}");
    }
    let mut cut = SHOWN;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{:?}… ({} bytes)", &text[..cut], text.len())
}

/// Parses and analyses `text` as the root file `root`, checking every result.
fn survive(watchdog: &Watchdog, root: &Path, text: &str) {
    let describe = || format!("{} = {}", root.display(), describe_input(text));
    let parsed = watchdog.time(&describe, || check_parse(text));
    assert_no_panics(&describe);
    if let Err(problem) = parsed {
        panic!("parse: {problem} on {}", describe());
    }
    let loader = MemoryLoader::with_root(root, text);
    let analysis = watchdog.time(&describe, || analyze(&loader, root, &small_limits()));
    assert_no_panics(&describe);
    if let Err(problem) = check_analysis(&analysis) {
        panic!("analyze: {problem} on {}", describe());
    }
}

// ---------------------------------------------------------------------------------
// Prefixes of every program in the repository

fn hac_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            hac_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "hac") {
            out.push(path);
        }
    }
}

/// Every character boundary up to `FULL_PREFIXES` bytes, then every `STRIDE`-th.
const FULL_PREFIXES: usize = 4096;
const STRIDE: usize = 257;

fn prefix_ends(text: &str) -> Vec<usize> {
    let mut ends: Vec<usize> = (0..=text.len())
        .filter(|&end| end <= FULL_PREFIXES || end % STRIDE == 0 || end == text.len())
        .map(|mut end| {
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            end
        })
        .collect();
    ends.dedup();
    ends
}

#[test]
fn every_prefix_of_every_repository_program_survives() {
    record_panics();
    let root = repo_root();
    let mut files = Vec::new();
    hac_files(&root.join("tests"), &mut files);
    hac_files(&root.join("examples"), &mut files);
    files.sort();
    assert!(
        files.len() >= 100,
        "expected the corpus under tests/ (found only {} .hac files)",
        files.len()
    );
    let jobs: Vec<(&PathBuf, String)> = files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            (file, text)
        })
        .collect();
    let next = AtomicUsize::new(0);
    let checked = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let watchdog = Watchdog::new("prefixes");
                while let Some((file, text)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    for end in prefix_ends(text) {
                        // Served under the real path, so relative imports still resolve.
                        survive(&watchdog, file, &text[..end]);
                        checked.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let checked = checked.into_inner();
    assert!(checked > files.len());
}

// ---------------------------------------------------------------------------------
// Random token soups

const VOCABULARY: &[&str] = &[
    // keywords
    "let",
    "in",
    "rec",
    "if",
    "then",
    "else",
    "assert",
    "inherit",
    "or",
    "with",
    // identifiers and globals
    "a",
    "b",
    "x",
    "foo-bar",
    "x'",
    "_",
    "true",
    "false",
    "null",
    "builtins",
    "map",
    "import",
    "throw",
    "abort",
    "toString",
    "builtins.genList",
    "builtins.length",
    // operators and punctuation
    "+",
    "-",
    "*",
    "/",
    "//",
    "++",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "->",
    "!",
    "?",
    "@",
    ":",
    ";",
    ",",
    ".",
    "...",
    "=",
    "${",
    "}",
    // brackets
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    // strings
    "\"",
    "\"s\"",
    "\"a${",
    "\"${x}\"",
    "\"\\n\\t\\\\\"",
    "\"é🌍\"",
    "''",
    "''\n  x\n''",
    "''${",
    "'''",
    "''$",
    "$",
    "\\",
    // paths and URIs
    "./x",
    "../lib/helper.hac",
    "/abs/path",
    "./lib/data.txt",
    "<nixpkgs>",
    "~/x",
    "http://e.x",
    // numbers
    "0",
    "1",
    "42",
    "-1",
    "9223372036854775807",
    "99999999999999999999",
    "1.5",
    "007",
    // comments and whitespace
    "# c\n",
    "/* c */",
    "/*",
    "*/",
    " ",
    "\n",
    "\t",
    "\r\n",
    // odd characters
    "é",
    "\u{0}",
    "\u{7f}",
    "𝄞",
    "`",
    "%",
    "&",
    "|",
];

fn token_soup() -> impl Strategy<Value = String> {
    let separator = prop::sample::select(vec!["", " ", " ", "\n"]);
    prop::collection::vec((prop::sample::select(VOCABULARY), separator), 0..48).prop_map(|tokens| {
        tokens
            .into_iter()
            .flat_map(|(token, separator)| [token, separator])
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn token_soups_never_panic_and_spans_stay_inside(text in token_soup()) {
        record_panics();
        let watchdog = Watchdog::new("token soup");
        survive(&watchdog, Path::new(ROOT), &text);
    }
}

// ---------------------------------------------------------------------------------
// Pathological inputs

fn survive_big(name: &str, text: &str) {
    record_panics();
    let watchdog = Watchdog::new("pathological input");
    let root = PathBuf::from(format!("/robustness/{name}.hac"));
    survive(&watchdog, &root, text);
}

const DEEP: usize = 100_000;

#[test]
fn deeply_nested_lists() {
    survive_big("open_lists", &"[".repeat(DEEP));
    survive_big(
        "closed_lists",
        &format!("{}{}", "[".repeat(DEEP), "]".repeat(DEEP)),
    );
}

#[test]
fn deeply_nested_parentheses() {
    survive_big("open_parens", &"(".repeat(DEEP));
    survive_big(
        "closed_parens",
        &format!("{}1{}", "(".repeat(DEEP), ")".repeat(DEEP)),
    );
}

#[test]
fn deeply_nested_attribute_sets() {
    survive_big("open_sets", &"{ a = ".repeat(DEEP));
    survive_big(
        "closed_sets",
        &format!("{}1{}", "{ a = ".repeat(DEEP), "; }".repeat(DEEP)),
    );
}

#[test]
fn deeply_nested_lets() {
    survive_big("open_lets", &"let a = ".repeat(DEEP));
    survive_big(
        "closed_lets",
        &format!("{}1{}", "let a = ".repeat(DEEP), "; in a".repeat(DEEP)),
    );
}

#[test]
fn deeply_nested_lambdas_and_negations() {
    survive_big("lambdas", &format!("{}1", "x: ".repeat(DEEP)));
    survive_big("negations", &format!("{}1", "-".repeat(DEEP)));
    survive_big("nots", &format!("{}true", "!".repeat(DEEP)));
    survive_big("strings", &"\"${".repeat(DEEP));
}

#[test]
fn long_operator_chains() {
    survive_big("additions", &format!("1{}", " + 1".repeat(200_000)));
    survive_big(
        "concatenations",
        &format!("[ ]{}", " ++ [ 1 ]".repeat(200_000)),
    );
    survive_big(
        "updates",
        &format!("{{ }}{}", " // { a = 1; }".repeat(100_000)),
    );
    survive_big("applications", &format!("(x: x){}", " 1".repeat(100_000)));
    survive_big("selections", &format!("{{ }}{}", ".a".repeat(100_000)));
}

#[test]
fn megabyte_string_literal() {
    let body = "abcdefghij".repeat(100_000);
    survive_big("string", &format!("\"{body}\""));
    survive_big("indented_string", &format!("''\n  {body}\n''"));
    survive_big("unterminated_string", &format!("\"{body}"));
}

#[test]
fn hundred_thousand_element_list() {
    let elements: String = (0..100_000).map(|i| format!("{i} ")).collect();
    survive_big("list", &format!("[ {elements}]"));
    let attrs: String = (0..100_000).map(|i| format!("a{i} = {i}; ")).collect();
    survive_big("attrs", &format!("{{ {attrs}}}"));
}

#[test]
fn deep_runtime_recursion_is_bounded() {
    survive_big("recursion", "let f = n: 1 + f (n + 1); in f 0");
    survive_big("deep_value", "let f = n: [ (f (n + 1)) ]; in f 0");
    survive_big(
        "wide_value",
        "builtins.genList (i: builtins.genList (j: i * j) 1000) 1000",
    );
    survive_big("string_doubling", "let f = s: f (s + s); in f \"x\"");
}

// ---------------------------------------------------------------------------------
// Rendering

/// Analyses `text` and renders its diagnostics for a person, as `hac check` does.
fn render(name: &str, text: &str) -> String {
    record_panics();
    let watchdog = Watchdog::new("rendering");
    let root = PathBuf::from(format!("/robustness/{name}.hac"));
    let loader = MemoryLoader::with_root(&root, text);
    let describe = || format!("{} = {}", root.display(), describe_input(text));
    let analysis = watchdog.time(&describe, || {
        analyze(&loader, &root, &hac_lang::Limits::default())
    });
    let rendered = watchdog.time(&describe, || {
        let result = std::panic::catch_unwind(|| {
            hac::report::render_human(
                &analysis.diagnostics,
                &analysis.sources,
                hac::report::Style::plain(),
            )
        });
        result.unwrap_or_else(|_| panic!("render_human panicked on {}", describe()))
    });
    assert_no_panics(&describe);
    rendered
}

/// miette cannot place a label past column 65535 (it panics): such labels get a
/// plain rendering with a window of the line.
#[test]
fn labels_on_very_long_lines_render() {
    let out = render("wide", &format!("{}x", " ".repeat(70_000)));
    assert!(
        out.contains("hac::check::undefined_variable") && out.contains("wide.hac:1:70001"),
        "{out}"
    );
    assert!(
        out.len() < 2_000,
        "the whole line was drawn: {} bytes",
        out.len()
    );

    let literal = "a".repeat(70_000);
    let out = render("literal", &format!("\"{literal}\" + y"));
    assert!(out.contains("literal.hac:1:70006"), "{out}");

    let bindings: String = (0..100_000).map(|i| format!("a{i} = {i}; ")).collect();
    let out = render("bindings", &format!("let {bindings}in zz"));
    assert!(out.contains("undefined variable `zz`"), "{out}");

    // A short line between long ones is still drawn by miette.
    let long = "#".repeat(70_000);
    let out = render("context", &format!("{long}\nlet a = 1; in b\n{long}"));
    assert!(out.contains("context.hac:2:15"), "{out}");
}

// ---------------------------------------------------------------------------------
// Shared structure at the default limits

/// Analyses `text` at the default limits: it must end in `budget_exceeded` with a
/// message containing `expected`, well within a minute even in a debug build.
fn exceeds_budget(name: &str, text: &str, expected: &str) {
    const WALL: Duration = Duration::from_secs(60);
    record_panics();
    let root = PathBuf::from(format!("/robustness/{name}.hac"));
    let loader = MemoryLoader::with_root(&root, text);
    let start = Instant::now();
    let analysis = analyze(&loader, &root, &hac_lang::Limits::default());
    let elapsed = start.elapsed();
    assert_no_panics(&|| name.to_string());
    assert!(elapsed < WALL, "{name} took {elapsed:?}");
    let codes: Vec<_> = analysis
        .diagnostics
        .iter()
        .map(|d| (d.code, d.message.as_str()))
        .collect();
    assert!(
        codes
            .iter()
            .any(|(code, message)| *code == "hac::eval::budget_exceeded"
                && message.contains(expected)),
        "{name}: {codes:?}"
    );
}

/// Values that share structure are small, but comparing or copying them out can
/// take exponentially long or much memory: the budgets must end both.
#[test]
fn shared_structure_is_bounded() {
    let doubling_lists = "let s = n: if n == 0 then [ 1 ] else let t = s (n - 1); in [ t t ];";
    exceeds_budget(
        "equality",
        &format!("{doubling_lists} x = s 40; y = s 40; in x == y"),
        "steps",
    );
    let doubling_sets =
        "let s = n: if n == 0 then { } else let t = s (n - 1); in { a = t; b = t; };";
    exceeds_budget("plain_copy", &format!("{doubling_sets} in s 30"), "1 GiB");
    exceeds_budget(
        "to_json",
        &format!("{doubling_sets} in builtins.toJSON (s 30)"),
        "1 GiB",
    );
    // A string repeated: small values, long JSON text.
    exceeds_budget(
        "long_json",
        "let t = builtins.concatStringsSep \"\" (builtins.genList (i: \"\\t\") 1000000); \
         in builtins.toJSON (builtins.genList (i: t) 900)",
        "1 GiB",
    );
}

/// Positions and the window of a long line are found from the line index, not by
/// counting from the start of the line: a cluster with 40,000 unknown attributes on
/// one line of 800 KB (counting from the line start for each: about 1.6·10^10
/// characters) must be checked and rendered as quickly as one attribute per line.
#[test]
fn many_diagnostics_on_one_long_line_are_fast() {
    const N: usize = 40_000;
    // Non-ASCII text before every name, so no shortcut for ASCII lines applies.
    let attributes: String = (0..N).map(|i| format!("x{i} = \"é\"; ")).collect();
    let text = format!("{{ {attributes}}}\n");
    let root = PathBuf::from("/robustness/one_line.hac");
    let loader = MemoryLoader::with_root(&root, &text);
    let start = Instant::now();
    let analysis = hac::analysis::analyze(
        &loader,
        &root,
        &hac_lang::Limits::default(),
        hac::analysis::Depth::Cluster,
    );
    let rendered = hac::report::render_human(
        &analysis.diagnostics,
        &analysis.sources,
        hac::report::Style::plain(),
    );
    let json: Vec<_> = analysis
        .diagnostics
        .iter()
        .map(|d| hac::report::to_json(d, &analysis.sources))
        .collect();
    let total = start.elapsed();
    let unknown: Vec<_> = json
        .iter()
        .filter(|d| d.code == "hac::model::unknown_attribute")
        .collect();
    assert_eq!(unknown.len(), N);
    let last = unknown
        .iter()
        .filter_map(|d| d.position.as_ref())
        .max_by_key(|p| p.column)
        .expect("a position");
    let offset = text.find(&format!("x{} =", N - 1)).expect("the name");
    // Every `é` before it is two bytes and one character: columns count characters.
    assert_eq!((last.line, last.column as usize), (1, offset + 1 - (N - 1)));
    assert!(rendered.contains(&format!("unknown attribute `x{}`", N - 1)));
    assert!(
        total < Duration::from_secs(20),
        "checking and rendering took {total:?}"
    );
}

/// Each undefined name searches the names in scope for a did-you-mean; a file
/// full of them must still be checked (and rendered) quickly.
#[test]
fn many_undefined_names_are_fast() {
    const N: usize = 20_000;
    let bindings: String = (0..N).map(|i| format!("  v{i} = u{i};\n")).collect();
    let text = format!("let\n{bindings}in v0\n");
    let root = PathBuf::from("/robustness/undefined.hac");
    let loader = MemoryLoader::with_root(&root, &text);
    let start = Instant::now();
    let analysis = analyze(&loader, &root, &hac_lang::Limits::default());
    let checked = start.elapsed();
    let undefined = analysis
        .diagnostics
        .iter()
        .filter(|d| d.code == "hac::check::undefined_variable")
        .count();
    assert_eq!(undefined, N);
    let rendered = hac::report::render_human(
        &analysis.diagnostics,
        &analysis.sources,
        hac::report::Style::plain(),
    );
    let total = start.elapsed();
    assert!(rendered.contains("undefined variable `u19999`"));
    assert!(
        total < Duration::from_secs(20),
        "checking took {checked:?}, rendering {:?}",
        total - checked
    );
}
