//! The `hac` command line. [`run`] is the whole program; `main.rs` only connects it
//! to the process, so tests can run the CLI in-process.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hac_lang::{Diagnostic, FsLoader, Limits, Loader, Severity};

use crate::analysis::{self, Analysis};
use crate::report::{self, Style};

/// Exit status: clean (or only warnings).
pub const EXIT_OK: u8 = 0;
/// Exit status: the input has errors (or warnings with `--deny-warnings`).
pub const EXIT_ERRORS: u8 = 1;
/// Exit status: usage or I/O problem.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "hac",
    version,
    about = "Compile a highly available Kubernetes cluster description into cloud-init user-data",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse, evaluate and check files; report every problem found
    Check {
        /// Files to check
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Treat warnings as errors (exit status 1)
        #[arg(long)]
        deny_warnings: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Evaluate a file and print its value as JSON
    Eval {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, clap::Args)]
struct OutputArgs {
    /// How to print diagnostics
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Graphical reports with source excerpts
    Human,
    /// One JSON array of diagnostics (see docs/diagnostics.md)
    Json,
}

/// Where the CLI writes, and whether stderr shows colour.
pub struct Io<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    pub style: Style,
}

/// The process entry point.
pub fn main() -> ExitCode {
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let mut io = Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        style: Style { color, width: 100 },
    };
    ExitCode::from(run(std::env::args_os(), &FsLoader, &mut io))
}

/// Runs `hac` with `args` (the first is the program name) and returns the exit status.
pub fn run<I, T>(args: I, loader: &dyn Loader, io: &mut Io<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let to_stdout = !err.use_stderr();
            let text = if io.style.color {
                err.render().ansi().to_string()
            } else {
                err.render().to_string()
            };
            let sink: &mut dyn Write = if to_stdout { io.stdout } else { io.stderr };
            let _ = sink.write_all(text.as_bytes());
            return if to_stdout { EXIT_OK } else { EXIT_USAGE };
        }
    };
    let status = match cli.command {
        Command::Check {
            files,
            deny_warnings,
            output,
        } => check(&files, deny_warnings, output.format, loader, io),
        Command::Eval { file, output } => eval(&file, output.format, loader, io),
    };
    let _ = io.stdout.flush();
    let _ = io.stderr.flush();
    status
}

fn check(
    files: &[PathBuf],
    deny_warnings: bool,
    format: Format,
    loader: &dyn Loader,
    io: &mut Io<'_>,
) -> u8 {
    let mut reports = Vec::new();
    for path in files {
        match analyze_readable(path, loader, io) {
            Some(analysis) => reports.push(analysis),
            None => return EXIT_USAGE,
        }
    }
    let status = reports
        .iter()
        .map(|analysis| status_of(&analysis.diagnostics, deny_warnings))
        .max()
        .unwrap_or(EXIT_OK);
    match format {
        Format::Human => {
            for (path, analysis) in files.iter().zip(&reports) {
                print_human(analysis, io);
                if files.len() > 1 || !analysis.diagnostics.is_empty() {
                    let _ = writeln!(
                        io.stderr,
                        "{}: {}",
                        path.display(),
                        report::summary(&analysis.diagnostics)
                    );
                }
            }
        }
        Format::Json => {
            let all: Vec<_> = reports
                .iter()
                .flat_map(|a| a.diagnostics.iter().map(|d| report::to_json(d, &a.sources)))
                .collect();
            print_json(&all, io);
        }
    }
    status
}

fn eval(path: &Path, format: Format, loader: &dyn Loader, io: &mut Io<'_>) -> u8 {
    let Some(mut analysis) = analyze_readable(path, loader, io) else {
        return EXIT_USAGE;
    };
    let mut printed = None;
    if let Some(value) = analysis.value.as_ref() {
        match hac_lang::json::to_json(value) {
            Ok(json) => printed = Some(json),
            Err(diagnostic) => analysis.diagnostics.push(diagnostic),
        }
    }
    match format {
        Format::Human => print_human(&analysis, io),
        Format::Json => {
            let all: Vec<_> = analysis
                .diagnostics
                .iter()
                .map(|d| report::to_json(d, &analysis.sources))
                .collect();
            if !all.is_empty() {
                print_json(&all, io);
            }
        }
    }
    let status = status_of(&analysis.diagnostics, false);
    if let (EXIT_OK, Some(json)) = (status, printed) {
        let _ = writeln!(io.stdout, "{json}");
    }
    status
}

/// Analyses `path`, or reports that it cannot be read (a usage problem, not a
/// diagnostic in the file) and returns `None`.
fn analyze_readable(path: &Path, loader: &dyn Loader, io: &mut Io<'_>) -> Option<Analysis> {
    if let Err(err) = loader.read(path) {
        let _ = writeln!(io.stderr, "error: cannot read {}: {err}", path.display());
        return None;
    }
    Some(analysis::analyze(loader, path, &Limits::default()))
}

fn status_of(diagnostics: &[Diagnostic], deny_warnings: bool) -> u8 {
    let fails = |d: &Diagnostic| {
        d.severity == Severity::Error || (deny_warnings && d.severity == Severity::Warning)
    };
    if diagnostics.iter().any(fails) {
        EXIT_ERRORS
    } else {
        EXIT_OK
    }
}

fn print_human(analysis: &Analysis, io: &mut Io<'_>) {
    let text = report::render_human(&analysis.diagnostics, &analysis.sources, io.style);
    let _ = io.stderr.write_all(text.as_bytes());
}

fn print_json(diagnostics: &[report::JsonDiagnostic], io: &mut Io<'_>) {
    match serde_json::to_string_pretty(diagnostics) {
        Ok(json) => {
            let _ = writeln!(io.stdout, "{json}");
        }
        Err(err) => {
            let _ = writeln!(io.stderr, "error: cannot serialise diagnostics: {err}");
        }
    }
}
