//! `hac fmt`: for every `.hac` file in the repository that parses, formatting is
//! idempotent, keeps the syntax tree (spans aside), every comment in order (each still
//! first on its line, or still after code) and the evaluated value; golden layouts for
//! tricky cases are snapshots of `tests/fmt/*.hac`; and the examples are formatted
//! already.

use std::io;
use std::path::{Path, PathBuf};

use hac_lang::format::{format, without_spans};
use hac_lang::loader::normalize;
use hac_lang::{FileId, FsLoader, Limits, Loader, analyze, syntax};
use hac_tests::{files_with_suffix, hac, repo_root};

/// Every `.hac` file of the repository, outside build output.
fn all_hac_files() -> Vec<PathBuf> {
    let root = repo_root();
    ["examples", "tests", "docs", "lang", "compiler", "fuzz"]
        .iter()
        .flat_map(|dir| files_with_suffix(&root.join(dir), ".hac"))
        .filter(|p| !p.components().any(|c| c.as_os_str() == "target"))
        .collect()
}

/// The text of each comment, in order (line comments without trailing blanks), and
/// whether it is the first thing on its line (or follows code there).
fn comments(text: &str) -> Vec<(String, bool)> {
    syntax::parse(FileId(0), text)
        .comments
        .iter()
        .map(|c| {
            let raw = &text[c.span.range()];
            let before = &text[..c.span.start as usize];
            let line_start = before.rfind('\n').map_or(0, |n| n + 1);
            let first_on_line = before[line_start..].trim().is_empty();
            if c.block {
                (raw.to_string(), first_on_line)
            } else {
                (raw.trim_end().to_string(), first_on_line)
            }
        })
        .collect()
}

/// Serves `text` for `path` and the file system for everything else.
struct Overlay<'a> {
    path: PathBuf,
    text: &'a str,
}

impl Loader for Overlay<'_> {
    fn read(&self, path: &Path) -> io::Result<String> {
        if normalize(path) == self.path {
            Ok(self.text.to_string())
        } else {
            FsLoader.read(path)
        }
    }

    fn exists(&self, path: &Path) -> bool {
        normalize(path) == self.path || FsLoader.exists(path)
    }
}

/// What evaluating `path` (with `text` as its content) gives: the value as JSON, or
/// the diagnostics' codes and messages.
fn outcome(path: &Path, text: &str) -> Result<String, Vec<(String, String)>> {
    let loader = Overlay {
        path: normalize(path),
        text,
    };
    let analysis = analyze(&loader, path, &Limits::default());
    let failure = |diagnostics: &[hac_lang::Diagnostic]| {
        diagnostics
            .iter()
            .map(|d| (d.code.to_string(), d.message.clone()))
            .collect::<Vec<_>>()
    };
    match analysis.value.as_ref().map(hac_lang::json::to_json) {
        Some(Ok(json)) if !analysis.has_errors() => Ok(json),
        _ => Err(failure(&analysis.diagnostics)),
    }
}

#[test]
fn formatting_keeps_meaning_and_is_idempotent() {
    let files = all_hac_files();
    assert!(files.len() > 100, "found only {} .hac files", files.len());
    let mut formatted_count = 0;
    let mut failures = Vec::new();
    for path in &files {
        let name = path.strip_prefix(repo_root()).unwrap_or(path).display();
        let text = std::fs::read_to_string(path).expect("readable");
        let parse = syntax::parse(FileId(0), &text);
        let formatted = match format(FileId(0), &text) {
            Ok(formatted) => formatted,
            Err(errors) => {
                assert!(
                    parse.diagnostics.iter().any(|d| d.is_error()),
                    "{name}: refused without a syntax error: {errors:?}"
                );
                continue;
            }
        };
        formatted_count += 1;
        match format(FileId(0), &formatted) {
            Ok(again) if again == formatted => {}
            Ok(again) => failures.push(format!(
                "{name}: not idempotent\n--- first\n{formatted}\n--- second\n{again}"
            )),
            Err(errors) => failures.push(format!(
                "{name}: the formatted text does not parse: {errors:?}\n{formatted}"
            )),
        }
        let reparsed = syntax::parse(FileId(0), &formatted);
        if without_spans(&reparsed.expr) != without_spans(&parse.expr) {
            failures.push(format!("{name}: the syntax tree changed\n{formatted}"));
        }
        if comments(&formatted) != comments(&text) {
            failures.push(format!(
                "{name}: comments changed: {:?} became {:?}",
                comments(&text),
                comments(&formatted)
            ));
        }
        if outcome(path, &formatted) != outcome(path, &text) {
            failures.push(format!("{name}: the evaluated value changed"));
        }
    }
    assert!(formatted_count > 100, "only {formatted_count} files parse");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The comparisons above can fail: a changed tree, lost comment or changed value is
/// seen.
#[test]
fn the_comparisons_see_differences() {
    let parse = |text| without_spans(&syntax::parse(FileId(0), text).expr);
    assert_ne!(parse("a + b * c"), parse("(a + b) * c"));
    assert_eq!(parse("a+b*c"), parse("a + b * c"));
    assert_ne!(comments("1 # a\n"), comments("1 # b\n"));
    assert_ne!(comments("f # a\n1\n"), comments("f\n# a\n1\n"));
    let path = repo_root().join("examples/stacked.hac");
    let text = std::fs::read_to_string(&path).expect("readable");
    let changed = text.replacen("\"prod\"", "\"test\"", 1);
    assert_ne!(outcome(&path, &text), outcome(&path, &changed));
}

#[test]
fn golden_layouts() {
    insta::glob!("fmt/*.hac", |path| {
        let text = std::fs::read_to_string(path).expect("readable");
        let formatted = format(FileId(0), &text).expect("golden inputs parse");
        insta::assert_snapshot!(formatted);
    });
}

#[test]
fn examples_are_formatted() {
    let examples = files_with_suffix(&repo_root().join("examples"), ".hac");
    assert!(!examples.is_empty());
    for path in examples {
        let relative = path.strip_prefix(repo_root()).expect("under the repo");
        let output = hac(&["fmt", "--check", path.to_str().expect("UTF-8")]);
        assert_eq!(
            output.status,
            0,
            "{} is not formatted; run `hac fmt` on it:\n{}",
            relative.display(),
            output.stdout
        );
    }
}

#[test]
fn fmt_rewrites_in_place_only_when_needed_and_refuses_broken_files() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let messy = dir.path().join("messy.hac");
    let tidy = dir.path().join("tidy.hac");
    let broken = dir.path().join("broken.hac");
    std::fs::write(&messy, "{a=1;}").unwrap();
    std::fs::write(&tidy, "{ a = 1; }\n").unwrap();
    std::fs::write(&broken, "{ a = ; }").unwrap();
    let arg = |p: &Path| p.to_str().expect("UTF-8").to_string();

    let check = hac(&["fmt", "--check", &arg(&messy), &arg(&tidy)]);
    assert_eq!(check.status, 1);
    assert!(check.stdout.contains("\n-{a=1;}\n"), "{}", check.stdout);
    assert!(check.stdout.contains("\n+{ a = 1; }\n"), "{}", check.stdout);
    assert!(!check.stdout.contains("tidy.hac"), "{}", check.stdout);
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), "{a=1;}");

    let tidy_modified = std::fs::metadata(&tidy).unwrap().modified().unwrap();
    let write = hac(&["fmt", &arg(&messy), &arg(&tidy)]);
    assert_eq!((write.status, write.stdout.as_str()), (0, ""));
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), "{ a = 1; }\n");
    assert_eq!(
        std::fs::metadata(&tidy).unwrap().modified().unwrap(),
        tidy_modified
    );
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 3, "no temporary file is left behind");

    let refused = hac(&["fmt", &arg(&broken)]);
    assert_eq!(refused.status, 1);
    assert!(
        refused.stderr.contains("hac::parse::"),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), "{ a = ; }");
}

/// The example in docs/fmt.md: its first `hac` block formats to its second.
#[test]
fn the_documented_example_is_right() {
    let docs = std::fs::read_to_string(repo_root().join("docs/fmt.md")).expect("docs/fmt.md");
    let blocks: Vec<&str> = docs
        .split("```hac\n")
        .skip(1)
        .map(|block| block.split("```").next().expect("a closed block"))
        .collect();
    assert!(blocks.len() >= 2, "docs/fmt.md has no example");
    let formatted = format(FileId(0), blocks[0]).expect("the example parses");
    assert_eq!(formatted, blocks[1]);
    assert_ne!(blocks[0], blocks[1], "the example shows a change");
}

/// `hac fmt` rewrites a file's contents and nothing else about it: through a symlink
/// it formats the target and the link stays a link; a hard-linked file keeps its inode
/// (every name sees the new text); owner, group and mode stay, also when root formats
/// another user's file.
#[test]
fn fmt_keeps_links_owner_and_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let scratch = tempfile::tempdir().unwrap();
    let unformatted = "{a=1;}";
    let formatted = "{ a = 1; }\n";

    let target = scratch.path().join("real.hac");
    let link = scratch.path().join("link.hac");
    std::fs::write(&target, unformatted).unwrap();
    std::os::unix::fs::symlink("real.hac", &link).unwrap();
    let out = hac(&["fmt", link.to_str().unwrap()]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced by a file"
    );
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("real.hac"));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), formatted);

    let first = scratch.path().join("first.hac");
    let second = scratch.path().join("second.hac");
    std::fs::write(&first, unformatted).unwrap();
    std::fs::hard_link(&first, &second).unwrap();
    let inode = std::fs::metadata(&first).unwrap().ino();
    let out = hac(&["fmt", first.to_str().unwrap()]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(std::fs::metadata(&first).unwrap().ino(), inode);
    assert_eq!(std::fs::read_to_string(&second).unwrap(), formatted);
    assert_eq!(std::fs::metadata(&second).unwrap().nlink(), 2);

    let owned = scratch.path().join("owned.hac");
    std::fs::write(&owned, unformatted).unwrap();
    std::fs::set_permissions(&owned, std::fs::Permissions::from_mode(0o640)).unwrap();
    let root = std::fs::metadata(&owned).unwrap().uid() == 0;
    if root {
        // Another user's file, formatted by root.
        std::os::unix::fs::chown(&owned, Some(4321), Some(4321)).unwrap();
    }
    let before = std::fs::metadata(&owned).unwrap();
    let out = hac(&["fmt", owned.to_str().unwrap()]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let after = std::fs::metadata(&owned).unwrap();
    assert_eq!(std::fs::read_to_string(&owned).unwrap(), formatted);
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    if root {
        assert_eq!(after.uid(), 4321);
    }
    // Nothing left beside the files.
    let mut names: Vec<String> = std::fs::read_dir(scratch.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "first.hac",
            "link.hac",
            "owned.hac",
            "real.hac",
            "second.hac"
        ]
    );
}
