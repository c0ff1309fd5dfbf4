//! `hac fmt`: rewrites files in the canonical layout of
//! [`hac_lang::format`], checks that they are in it, or formats standard input.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hac_lang::{Loader, SourceMap};

use crate::cli::{EXIT_ERRORS, EXIT_OK, EXIT_USAGE, Io};
use crate::report;

/// What `hac fmt` does with each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rewrite files that are not formatted (standard input goes to standard output).
    Write,
    /// Change nothing; show a diff for each file that is not formatted.
    Check,
}

/// The name that stands for standard input.
pub const STDIN: &str = "-";

/// Formats `files` (`-` is `stdin`) and returns the exit status: 1 if a file does
/// not parse or, with [`Mode::Check`], is not formatted; 2 if one cannot be read
/// or written.
pub fn run(
    files: &[PathBuf],
    mode: Mode,
    loader: &dyn Loader,
    stdin: &mut dyn Read,
    io: &mut Io<'_>,
) -> u8 {
    let mut status = EXIT_OK;
    for path in files {
        let from_stdin = path.as_os_str() == STDIN;
        let text = if from_stdin {
            let mut text = String::new();
            stdin.read_to_string(&mut text).map(|_| text)
        } else {
            loader.read(path)
        };
        let shown = if from_stdin {
            Path::new("<stdin>")
        } else {
            path.as_path()
        };
        let text = match text {
            Ok(text) => text,
            Err(err) => {
                let _ = writeln!(io.stderr, "error: cannot read {}: {err}", shown.display());
                status = status.max(EXIT_USAGE);
                continue;
            }
        };
        let file_status = format_one(shown, &text, from_stdin, mode, io);
        status = status.max(file_status);
    }
    status
}

fn format_one(path: &Path, text: &str, to_stdout: bool, mode: Mode, io: &mut Io<'_>) -> u8 {
    let mut sources = SourceMap::new();
    let file = sources.add(path.to_path_buf(), text);
    let formatted = match hac_lang::format::format(file, text) {
        Ok(formatted) => formatted,
        Err(diagnostics) => {
            let rendered = report::render_human(&diagnostics, &sources, io.style);
            let _ = io.stderr.write_all(rendered.as_bytes());
            let _ = writeln!(
                io.stderr,
                "{}: {}; not formatted",
                path.display(),
                report::summary(&diagnostics)
            );
            return EXIT_ERRORS;
        }
    };
    match mode {
        Mode::Check if formatted == text => EXIT_OK,
        Mode::Check => {
            let _ = io
                .stdout
                .write_all(unified_diff(path, text, &formatted).as_bytes());
            EXIT_ERRORS
        }
        Mode::Write if to_stdout => {
            let _ = io.stdout.write_all(formatted.as_bytes());
            EXIT_OK
        }
        Mode::Write if formatted == text => EXIT_OK,
        Mode::Write => match write_atomically(path, &formatted) {
            Ok(()) => EXIT_OK,
            Err(err) => {
                let _ = writeln!(io.stderr, "error: cannot write {}: {err}", path.display());
                EXIT_USAGE
            }
        },
    }
}

/// A unified diff from `old` to `new`, headed `a/PATH` and `b/PATH` like `git diff`.
pub fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let shown = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string()
}

/// Replaces the contents of `path` with `text`, keeping the file what it was: a symlink
/// is followed and its target rewritten (the link stays a link), and the target keeps
/// its inode when it has other hard links, and its owner, group and mode in any case.
///
/// A file with one link is replaced atomically (readers see the old file or the new
/// one): the text goes to a new file beside it that gets the old one's owner, group and
/// mode, and is renamed over it. When that cannot keep the file's identity (more than
/// one hard link, or an owner this process may not give a file), the file is rewritten
/// in place instead: same inode, same links, same owner.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let metadata = std::fs::metadata(&target)?;
    if !metadata.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if hard_links(&metadata) > 1 {
        return rewrite_in_place(&target, text);
    }
    match replace_by_rename(&target, text, &metadata) {
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
            rewrite_in_place(&target, text)
        }
        other => other,
    }
}

#[cfg(unix)]
fn hard_links(metadata: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(metadata)
}

#[cfg(not(unix))]
fn hard_links(_metadata: &std::fs::Metadata) -> u64 {
    1
}

/// Writes `text` into a new file beside `target` with its owner, group and mode, then
/// renames it over `target`. Fails with `PermissionDenied`, changing nothing, when the
/// owner cannot be kept.
fn replace_by_rename(
    target: &Path,
    text: &str,
    metadata: &std::fs::Metadata,
) -> std::io::Result<()> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.fmt-{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary)?;
        keep_owner(&file, metadata)?;
        // After the owner: changing it clears the set-id bits.
        file.set_permissions(metadata.permissions())?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(unix)]
fn keep_owner(file: &std::fs::File, metadata: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let created = file.metadata()?;
    if (created.uid(), created.gid()) == (metadata.uid(), metadata.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(metadata.uid()), Some(metadata.gid())).map_err(|e| {
        match e.raw_os_error() {
            // EPERM: not ours to give away; the caller rewrites in place instead.
            Some(1) => std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            _ => e,
        }
    })
}

#[cfg(not(unix))]
fn keep_owner(_file: &std::fs::File, _metadata: &std::fs::Metadata) -> std::io::Result<()> {
    Ok(())
}

/// Overwrites `target` itself: the inode, its links, owner and mode stay.
fn rewrite_in_place(target: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).open(target)?;
    file.write_all(text.as_bytes())?;
    file.set_len(text.len() as u64)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Style;

    fn run_on(files: &[&str], mode: Mode, stdin: &str) -> (u8, String, String) {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut io = Io {
            stdout: &mut stdout,
            stderr: &mut stderr,
            style: Style::plain(),
        };
        let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
        let status = run(
            &files,
            mode,
            &hac_lang::FsLoader,
            &mut stdin.as_bytes(),
            &mut io,
        );
        (
            status,
            String::from_utf8(stdout).unwrap(),
            String::from_utf8(stderr).unwrap(),
        )
    }

    #[test]
    fn stdin_is_formatted_to_stdout() {
        let (status, stdout, stderr) = run_on(&["-"], Mode::Write, "{a=1;}");
        assert_eq!(
            (status, stdout.as_str(), stderr.as_str()),
            (0, "{ a = 1; }\n", "")
        );
    }

    #[test]
    fn check_on_stdin_shows_a_diff_and_fails() {
        let (status, stdout, _) = run_on(&["-"], Mode::Check, "{a=1;}");
        assert_eq!(status, EXIT_ERRORS);
        assert!(
            stdout.starts_with("--- a/<stdin>\n+++ b/<stdin>\n"),
            "{stdout}"
        );
        assert!(stdout.contains("\n-{a=1;}\n"), "{stdout}");
        assert!(stdout.contains("\n+{ a = 1; }\n"), "{stdout}");
        let (status, stdout, _) = run_on(&["-"], Mode::Check, "{ a = 1; }\n");
        assert_eq!((status, stdout.as_str()), (EXIT_OK, ""));
    }

    #[test]
    fn syntax_errors_are_reported_and_nothing_is_written() {
        let (status, stdout, stderr) = run_on(&["-"], Mode::Write, "{ a = ; }");
        assert_eq!(status, EXIT_ERRORS);
        assert_eq!(stdout, "");
        assert!(stderr.contains("hac::parse::"), "{stderr}");
        assert!(
            stderr.contains("<stdin>: 1 error, 0 warnings; not formatted"),
            "{stderr}"
        );
    }
}
