//! The `hac` command line. [`run`] is the whole program; `main.rs` only connects it
//! to the process, so tests can run the CLI in-process.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hac_lang::{Diagnostic, FsLoader, Limits, Loader, Severity};

use crate::analysis::{self, Analysis, Depth};
use crate::build::providers::{self, Provider};
use crate::build::{output as build_output, sizes};
use crate::model::{Cluster, Etcd};
use crate::plan::render;
use crate::report::{self, Style};
use crate::secrets::{self, EtcdMember, KeyAlgorithm, SecretsSpec};

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
    /// Show the boot plan: which host does what, in which order, waiting for what
    Plan {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// How to print the plan
        #[arg(long = "format", value_enum, default_value_t = PlanFormat::Text)]
        plan_format: PlanFormat,
        /// How to print diagnostics
        #[arg(long, value_enum, default_value_t = Format::Human)]
        diagnostics: Format,
    },
    /// Write every host's cloud-init user-data and a manifest into a directory
    Build {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The output directory (replaced as a whole when the build succeeds)
        #[arg(
            short = 'o',
            long = "output",
            value_name = "DIR",
            default_value = "out"
        )]
        output: PathBuf,
        /// Also write `<host>.yaml.gz` (cloud-init unpacks gzip user-data itself)
        #[arg(long)]
        gzip: bool,
        /// Fail when a host's user-data exceeds this provider's limit
        #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(providers::names()))]
        provider: Option<String>,
        #[command(flatten)]
        bundle: BundleArg,
        /// How to print diagnostics
        #[arg(long, value_enum, default_value_t = Format::Human)]
        diagnostics: Format,
    },
    /// Create, inspect and rotate the secrets bundle (token, certificate key, CAs)
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Run the language server on stdin/stdout (for editors; see docs/editors.md)
    Lsp {
        /// Accepted for clients that always pass it; stdio is the only transport
        #[arg(long, hide = true)]
        stdio: bool,
    },
    /// Rewrite files in the canonical layout (see docs/fmt.md)
    Fmt {
        /// Files to format; `-` formats standard input to standard output
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Change nothing: print a diff for each file that is not formatted and exit 1
        #[arg(long)]
        check: bool,
    },
    /// Evaluate a file and print its value as JSON
    Eval {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Create the bundle for a cluster description (external etcd members included)
    Init {
        /// The cluster description
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        bundle: BundleArg,
        /// Key algorithm of the CAs and certificates: ECDSA-P256 (default) or RSA-2048
        #[arg(long, value_name = "ALG")]
        key_algorithm: Option<KeyAlgorithm>,
        /// Replace an existing bundle (every host must then be rebuilt)
        #[arg(long)]
        force: bool,
    },
    /// Print the bundle's public facts: token id, CA subjects and expiry, discovery hash
    Show {
        /// A cluster description (its bundle is shown) or a bundle file
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        bundle: BundleArg,
        /// Also print the bootstrap token and the certificate key
        #[arg(long)]
        reveal: bool,
    },
    /// Replace one secret, leaving everything else in the bundle as it is
    Rotate {
        #[arg(value_enum)]
        what: Rotatable,
        /// A cluster description (its bundle is rotated) or a bundle file
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        bundle: BundleArg,
    },
}

#[derive(Debug, clap::Args)]
struct BundleArg {
    /// The secrets bundle [default: FILE with the extension `.secrets`]
    #[arg(long = "secrets", value_name = "PATH")]
    path: Option<PathBuf>,
}

impl BundleArg {
    /// The bundle of the cluster description `source` (`build`, `secrets init`):
    /// `--secrets`, or `source` with the extension `.secrets`, whatever the source's own
    /// extension. Never the source itself, which writing the bundle would destroy.
    fn for_description(&self, source: &Path) -> Result<PathBuf, secrets::SecretsError> {
        let path = match &self.path {
            Some(path) => path.clone(),
            None => secrets::default_path(source),
        };
        secrets::check_not_source(&path, source)?;
        Ok(path)
    }

    /// The bundle `secrets show` and `secrets rotate` work on: `--secrets`, or `file`
    /// when it is a bundle, or the bundle of `file` when it is a description. (No check
    /// against the source is needed: both commands load the file as a bundle first, and
    /// a description never loads as one, so it is never written.)
    fn for_file(&self, file: &Path) -> PathBuf {
        match &self.path {
            Some(path) => path.clone(),
            None => secrets::bundle_for(file),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Rotatable {
    /// The bootstrap token nodes join with
    Token,
    /// The key that encrypts the control-plane certificates kubeadm uploads
    CertificateKey,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlanFormat {
    /// Hosts in boot order with their steps and waits
    Text,
    /// The plan as data, for tools
    Json,
    /// The boot-order graph for Graphviz
    Dot,
    /// The boot-order graph as a Mermaid flowchart
    Mermaid,
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
    // Not locked for the whole run: `hac lsp` writes stdout from its own thread.
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
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
        Command::Lsp { stdio: _ } => match crate::lsp::run_stdio() {
            Ok(()) => EXIT_OK,
            Err(err) => {
                let _ = writeln!(io.stderr, "error: language server: {err}");
                EXIT_USAGE
            }
        },
        Command::Fmt { files, check } => {
            let mode = if check {
                crate::fmt::Mode::Check
            } else {
                crate::fmt::Mode::Write
            };
            crate::fmt::run(&files, mode, loader, &mut std::io::stdin().lock(), io)
        }
        Command::Secrets(command) => secrets_command(command, loader, io),
        Command::Build {
            file,
            output,
            gzip,
            provider,
            bundle,
            diagnostics,
        } => match bundle.for_description(&file) {
            Ok(secrets) => build(
                &BuildRequest {
                    file: &file,
                    output: &output,
                    gzip,
                    provider: provider.as_deref().and_then(providers::find),
                    secrets,
                    format: diagnostics,
                },
                loader,
                io,
            ),
            Err(err) => report_secrets_error(&err, io),
        },
        Command::Plan {
            file,
            plan_format,
            diagnostics,
        } => plan(&file, plan_format, diagnostics, loader, io),
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
    // A file that cannot be read is reported on stderr and makes the status 2, but
    // the other files are still checked and reported.
    let mut reports = Vec::new();
    let mut unreadable = false;
    for path in files {
        match analyze_readable(path, Depth::Cluster, loader, io) {
            Some(analysis) => reports.push((path, analysis)),
            None => unreadable = true,
        }
    }
    let checked = reports
        .iter()
        .map(|(_, analysis)| status_of(&analysis.diagnostics, deny_warnings))
        .max()
        .unwrap_or(EXIT_OK);
    let status = if unreadable { EXIT_USAGE } else { checked };
    match format {
        Format::Human => {
            for (path, analysis) in &reports {
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
                .flat_map(|(_, a)| a.diagnostics.iter().map(|d| report::to_json(d, &a.sources)))
                .collect();
            write_json(&all, io.stdout);
        }
    }
    status
}

fn plan(
    path: &Path,
    plan_format: PlanFormat,
    format: Format,
    loader: &dyn Loader,
    io: &mut Io<'_>,
) -> u8 {
    let Some(analysis) = analyze_readable(path, Depth::Cluster, loader, io) else {
        return EXIT_USAGE;
    };
    print_diagnostics(&analysis, format, io);
    let Some(cluster) = analysis.cluster.as_ref() else {
        return EXIT_ERRORS;
    };
    let plan = crate::plan::plan(cluster);
    let text = match plan_format {
        PlanFormat::Text => render::text(&plan),
        PlanFormat::Json => render::json(&plan),
        PlanFormat::Dot => render::dot(&plan),
        PlanFormat::Mermaid => render::mermaid(&plan),
    };
    let _ = io.stdout.write_all(text.as_bytes());
    EXIT_OK
}

struct BuildRequest<'a> {
    file: &'a Path,
    output: &'a Path,
    gzip: bool,
    provider: Option<&'static Provider>,
    secrets: PathBuf,
    format: Format,
}

/// `hac build`: analyse, plan, ensure the secrets bundle, render every host, check
/// the sizes, then write the directory in one step. Nothing in the output
/// directory changes unless every step succeeded.
fn build(request: &BuildRequest<'_>, loader: &dyn Loader, io: &mut Io<'_>) -> u8 {
    let Some(analysis) = analyze_readable(request.file, Depth::Cluster, loader, io) else {
        return EXIT_USAGE;
    };
    print_diagnostics(&analysis, request.format, io);
    let (Some(cluster), false) = (analysis.cluster.as_ref(), analysis.has_errors()) else {
        return EXIT_ERRORS;
    };
    let plan = crate::plan::plan(cluster);
    let spec = secrets_spec(cluster, None);
    let bundle = match secrets::ensure(&request.secrets, &spec) {
        Ok((bundle, changes)) => {
            for change in changes.iter() {
                let _ = writeln!(
                    io.stderr,
                    "secrets: {change} in {}",
                    request.secrets.display()
                );
            }
            bundle
        }
        Err(err) => return report_secrets_error(&err, io),
    };
    for warning in secrets::expiry_warnings(&bundle, time::OffsetDateTime::now_utc()) {
        let _ = writeln!(
            io.stderr,
            "warning: {warning} ({})",
            request.secrets.display()
        );
    }
    let context = crate::build::Context {
        cluster,
        plan: &plan,
        secrets: &bundle,
    };
    // Each host's document and file list are dropped as soon as its bytes are
    // made: only the user-data (and its gzip) of thousands of hosts stay in memory.
    let built = crate::build::build_each(&context, |host| {
        build_output::host_artefacts(host, request.gzip)
    });
    let per_host = match built {
        Ok(per_host) => per_host,
        Err(err) => {
            let _ = writeln!(io.stderr, "error: {}", err.message);
            if let Some(help) = &err.help {
                let _ = writeln!(io.stderr, "  help: {help}");
            }
            return EXIT_ERRORS;
        }
    };
    let (manifest, files) = build_output::collect(&plan, per_host);
    if let Some(provider) = request.provider {
        let problems = sizes::over_limit(&manifest, provider, request.gzip);
        if !problems.is_empty() {
            for problem in &problems {
                let _ = writeln!(io.stderr, "error: {}", problem.message);
                if let Some(help) = &problem.help {
                    let _ = writeln!(io.stderr, "  help: {help}");
                }
            }
            return EXIT_ERRORS;
        }
    }
    if let Err(err) = build_output::write_directory(request.output, &files) {
        let _ = writeln!(io.stderr, "error: {}", err.message);
        if let Some(help) = &err.help {
            let _ = writeln!(io.stderr, "  help: {help}");
        }
        return EXIT_USAGE;
    }
    let _ = io.stdout.write_all(
        sizes::table(&manifest, request.output, request.gzip, request.provider).as_bytes(),
    );
    EXIT_OK
}

fn eval(path: &Path, format: Format, loader: &dyn Loader, io: &mut Io<'_>) -> u8 {
    let Some(mut analysis) = analyze_readable(path, Depth::Language, loader, io) else {
        return EXIT_USAGE;
    };
    let mut printed = None;
    if let Some(value) = analysis.value.as_ref() {
        // The JSON text counts against the same memory budget as the evaluation.
        let room = Limits::default()
            .max_bytes
            .saturating_sub(analysis.allocated);
        match hac_lang::json::to_json_within(value, room) {
            Ok(json) => printed = Some(json),
            Err(diagnostic) => analysis.diagnostics.push(diagnostic),
        }
    }
    print_diagnostics(&analysis, format, io);
    let status = status_of(&analysis.diagnostics, false);
    if let (EXIT_OK, Some(json)) = (status, printed) {
        let _ = writeln!(io.stdout, "{json}");
    }
    status
}

fn secrets_command(command: SecretsCommand, loader: &dyn Loader, io: &mut Io<'_>) -> u8 {
    let result = match command {
        SecretsCommand::Init {
            file,
            bundle,
            key_algorithm,
            force,
        } => {
            let path = match bundle.for_description(&file) {
                Ok(path) => path,
                Err(err) => return report_secrets_error(&err, io),
            };
            let Some(analysis) = analyze_readable(&file, Depth::Cluster, loader, io) else {
                return EXIT_USAGE;
            };
            print_human(&analysis, io);
            let Some(cluster) = analysis.cluster.as_ref() else {
                return EXIT_ERRORS;
            };
            let spec = secrets_spec(cluster, key_algorithm);
            secrets::init(&path, &spec, force).map(|_| format!("created {}\n", path.display()))
        }
        SecretsCommand::Show {
            file,
            bundle,
            reveal,
        } => secrets::show(&bundle.for_file(&file), reveal),
        SecretsCommand::Rotate { what, file, bundle } => {
            let path = bundle.for_file(&file);
            match what {
                Rotatable::Token => secrets::rotate_token(&path)
                    .map(|id| format!("new bootstrap token {id}.… in {}\n", path.display())),
                Rotatable::CertificateKey => secrets::rotate_certificate_key(&path)
                    .map(|()| format!("new certificate key in {}\n", path.display())),
            }
        }
    };
    match result {
        Ok(text) => {
            let _ = io.stdout.write_all(text.as_bytes());
            EXIT_OK
        }
        Err(err) => report_secrets_error(&err, io),
    }
}

/// Prints a secrets error with its fix; every one is a usage or I/O problem (exit 2).
/// The errors carry paths and key names, never values.
fn report_secrets_error(err: &secrets::SecretsError, io: &mut Io<'_>) -> u8 {
    let _ = writeln!(io.stderr, "error: {err}");
    if let Some(help) = err.help() {
        let _ = writeln!(io.stderr, "  help: {help}");
    }
    EXIT_USAGE
}

/// What the secrets bundle depends on: the key algorithm and the external etcd members.
pub fn secrets_spec(cluster: &Cluster, key_algorithm: Option<KeyAlgorithm>) -> SecretsSpec {
    let etcd_members = match &cluster.etcd {
        Etcd::Stacked => Vec::new(),
        Etcd::External { members, .. } => members
            .iter()
            .filter_map(|host| {
                Some(EtcdMember {
                    name: host.name.value.clone(),
                    address: host.address.as_ref()?.value.to_string(),
                })
            })
            .collect(),
    };
    SecretsSpec {
        key_algorithm,
        etcd_members,
    }
}

/// Analyses `path`, or reports that it cannot be read (a usage problem, not a
/// diagnostic in the file) and returns `None`.
fn analyze_readable(
    path: &Path,
    depth: Depth,
    loader: &dyn Loader,
    io: &mut Io<'_>,
) -> Option<Analysis> {
    if let Err(err) = loader.read(path) {
        let _ = writeln!(io.stderr, "error: cannot read {}: {err}", path.display());
        return None;
    }
    Some(analysis::analyze(loader, path, &Limits::default(), depth))
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

/// Prints the diagnostics of a command whose stdout carries its result (`eval`,
/// `plan`): graphical reports or, when there are any, a JSON array, both on stderr.
fn print_diagnostics(analysis: &Analysis, format: Format, io: &mut Io<'_>) {
    match format {
        Format::Human => print_human(analysis, io),
        Format::Json => {
            let all: Vec<_> = analysis
                .diagnostics
                .iter()
                .map(|d| report::to_json(d, &analysis.sources))
                .collect();
            if !all.is_empty() {
                write_json(&all, io.stderr);
            }
        }
    }
}

fn print_human(analysis: &Analysis, io: &mut Io<'_>) {
    let text = report::render_human(&analysis.diagnostics, &analysis.sources, io.style);
    let _ = io.stderr.write_all(text.as_bytes());
}

fn write_json(diagnostics: &[report::JsonDiagnostic], sink: &mut dyn Write) {
    // Serialising plain strings and numbers cannot fail.
    let json = serde_json::to_string_pretty(diagnostics).unwrap_or_default();
    let _ = writeln!(sink, "{json}");
}
