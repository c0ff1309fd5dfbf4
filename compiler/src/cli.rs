//! The `hac` command line. [`run`] is the whole program; `main.rs` only connects it
//! to the process, so tests can run the CLI in-process.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use hac_lang::loader::{Confined, MAX_FILE_SIZE, OverlayLoader, refusal};
use hac_lang::{Diagnostic, FsLoader, Limits, Loader, Severity};

use crate::analysis::{self, Analysis, Depth};
use crate::build::previous::{Previous, Reused};
use crate::build::providers::{self, Provider};
use crate::build::{output as build_output, replace as build_replace, sizes};
use crate::init::Topology;
use crate::model::{Cloud, Cluster, Etcd};
use crate::plan::render;
use crate::report::{self, Style};
use crate::sandbox;
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
    /// When to colour reports: `auto` colours a terminal unless NO_COLOR is set;
    /// `always` and `never` override both
    #[arg(long, value_enum, global = true, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// `style` (what the terminal and NO_COLOR chose) as this choice overrides it.
    fn apply(self, style: Style) -> Style {
        match self {
            ColorChoice::Auto => style,
            ColorChoice::Always => Style {
                color: true,
                ..style
            },
            ColorChoice::Never => Style {
                color: false,
                ..style
            },
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse, evaluate and check files; report every problem found
    Check {
        /// Files to check; `-` reads standard input
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Treat warnings as errors (exit status 1)
        #[arg(long)]
        deny_warnings: bool,
        /// Check for hosts on this cloud (as `cloud = NAME;` in the source would)
        #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(providers::names()))]
        provider: Option<String>,
        #[command(flatten)]
        output: DiagnosticsOrFormatArg,
        #[command(flatten)]
        root: RootArg,
    },
    /// Show the boot plan: which host does what, in which order, waiting for what
    Plan {
        /// The cluster description; `-` reads standard input
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// How to print the plan
        #[arg(long = "format", value_enum, default_value_t = PlanFormat::Text)]
        plan_format: PlanFormat,
        #[command(flatten)]
        diagnostics: DiagnosticsArg,
        #[command(flatten)]
        root: RootArg,
    },
    /// Write every host's cloud-init user-data and a manifest into a directory
    Build {
        /// The cluster description; `-` reads standard input (then `--secrets` is needed)
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The output directory [default: out/<cluster name>]; an existing one is
        /// replaced as a whole, and only when an earlier build of this cluster wrote it
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: Option<PathBuf>,
        /// Also write `<host>.yaml.gz` (cloud-init unpacks gzip user-data itself)
        #[arg(long)]
        gzip: bool,
        /// The cloud the hosts run on (as `cloud = NAME;` in the source would): fail when
        /// a host's user-data exceeds its limit; when only the gzip form fits and the
        /// provider takes gzip, write it as `--gzip` would
        #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(providers::names()))]
        provider: Option<String>,
        /// Build as at this time (RFC 3339, e.g. `2026-01-31T12:00:00Z`) instead of now:
        /// it picks the week whose join token the hosts carry
        #[arg(long, value_name = "TIME", value_parser = parse_build_time)]
        at: Option<time::OffsetDateTime>,
        #[command(flatten)]
        bundle: BundleArg,
        /// Let the build remove private keys from the bundle (etcd members or external
        /// etcd dropped from the cluster); a copy of the old bundle is kept beside it
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        diagnostics: DiagnosticsArg,
        #[command(flatten)]
        root: RootArg,
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
    /// Issue a client certificate from the bundle's cluster CA and write a kubeconfig
    /// for the cluster's endpoint (see docs/secrets.md)
    Kubeconfig(crate::day2::kubeconfig::Args),
    /// Print what a manual `kubeadm join` needs, a valid join token included (a secret;
    /// see docs/secrets.md)
    JoinInfo(crate::day2::join_info::Args),
    /// Evaluate a file and print its value as JSON
    Eval {
        /// The file to evaluate; `-` reads standard input
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        output: DiagnosticsOrFormatArg,
        #[command(flatten)]
        root: RootArg,
    },
    /// Write a commented cluster description to start from
    Init {
        /// The layout: where etcd runs and what balances the API
        #[arg(long, value_enum, default_value_t = Topology::Stacked)]
        topology: Topology,
        /// The file to create (never replaced); `-` prints to standard output
        #[arg(value_name = "FILE", default_value = "cluster.hac")]
        file: PathBuf,
    },
    /// Print the completion script of a shell (see README: Shell completions)
    Completions {
        /// The shell to complete hac's commands, options and files in
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write one page per command into a directory
    Man {
        /// Write `hac.1` and a page per command (`hac-build.1` and so on) into DIR
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Create the bundle for a cluster description (external etcd members included)
    Init {
        /// The cluster description; `-` reads standard input (then `--secrets` is needed)
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        bundle: BundleArg,
        /// Key algorithm of the CAs and certificates: ECDSA-P256 (default) or RSA-2048
        #[arg(long, value_name = "ALG")]
        key_algorithm: Option<KeyAlgorithm>,
        /// Replace an existing bundle, keeping a copy of it beside it (every host must
        /// then be rebuilt)
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        root: RootArg,
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
    /// Store a registry login in the bundle: the user name from `--username`, the
    /// password or token from standard input (a terminal does not echo it)
    SetRegistryLogin {
        /// The login's name, as `containerd.registryLogins` refers to it
        #[arg(value_name = "NAME")]
        name: String,
        /// The user name at the registry
        #[arg(long, value_name = "USER")]
        username: String,
        /// A cluster description (its bundle is changed) or a bundle file
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        bundle: BundleArg,
    },
    /// Replace one secret, leaving everything else in the bundle as it is
    Rotate {
        /// The secret to replace
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
            None if is_stdin(source) => return Err(secrets::SecretsError::BundleOfStdin),
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

/// The directory `import` and `readFile` may read from (see docs/language.md).
#[derive(Debug, clap::Args)]
struct RootArg {
    /// The project root: imports and `readFile` may read only files below it
    /// [default: the nearest directory holding `hac.toml`, else FILE's directory]
    #[arg(long = "root", value_name = "DIR")]
    root: Option<PathBuf>,
}

/// What a command may read besides its description: the project root and the bundle
/// it uses (refused to the description whatever its name).
#[derive(Clone, Copy, Default)]
pub(crate) struct Reading<'a> {
    pub(crate) root: Option<&'a Path>,
    pub(crate) bundle: Option<&'a Path>,
    /// `--provider`: the cloud the hosts run on.
    pub(crate) cloud: Option<Cloud>,
}

impl RootArg {
    fn reading(&self) -> Reading<'_> {
        Reading {
            root: self.root.as_deref(),
            bundle: None,
            cloud: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Rotatable {
    /// The bootstrap token nodes join with
    Token,
    /// The key that encrypts the control-plane certificates kubeadm uploads
    CertificateKey,
    /// The key that encrypts Secrets at rest, one step at a time: stage a new key,
    /// make it the one that writes, drop the old one (see docs/secrets.md)
    EncryptionKey,
}

/// `--diagnostics`: one name on every command. `check` and `eval` also take their
/// older spelling `--format` (hidden); `plan --format` is the plan's own format.
#[derive(Debug, clap::Args)]
struct DiagnosticsArg {
    /// How to print diagnostics
    #[arg(long = "diagnostics", value_name = "FORMAT", value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// [`DiagnosticsArg`] for the commands whose output is the diagnostics (`check`,
/// `eval`), where `--format` was the flag's first name and still works.
#[derive(Debug, clap::Args)]
struct DiagnosticsOrFormatArg {
    /// How to print diagnostics
    #[arg(
        long = "diagnostics",
        alias = "format",
        value_name = "FORMAT",
        value_enum,
        default_value_t = Format::Human
    )]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
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

/// The whole command line as clap describes it: what completions and the man page
/// are generated from.
pub fn command() -> clap::Command {
    Cli::command()
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
    ExitCode::from(run_in(
        std::env::args_os(),
        &FsLoader,
        &mut io,
        Process::ExitsAfter,
    ))
}

/// Whether the process ends when the command returns: then what the command built
/// need not be freed piece by piece, since the system reclaims it at exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Process {
    ExitsAfter,
    LivesOn,
}

/// Runs `hac` with `args` (the first is the program name) and returns the exit status.
pub fn run<I, T>(args: I, loader: &dyn Loader, io: &mut Io<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_in(args, loader, io, Process::LivesOn)
}

/// [`run`], in a `process` that exits after it or lives on.
fn run_in<I, T>(args: I, loader: &dyn Loader, io: &mut Io<'_>, process: Process) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            let to_stdout = !err.use_stderr();
            // `--help` and usage errors honour a `--color` the parse did not get to.
            let color = color_asked(&args).map_or(io.style, |choice| choice.apply(io.style));
            let text = if color.color {
                err.render().ansi().to_string()
            } else {
                err.render().to_string()
            };
            let sink: &mut dyn Write = if to_stdout { io.stdout } else { io.stderr };
            let written = sink.write_all(text.as_bytes()).and_then(|()| sink.flush());
            return match written {
                Err(err) if to_stdout => {
                    let _ = writeln!(io.stderr, "error: cannot write standard output: {err}");
                    EXIT_USAGE
                }
                _ if to_stdout => EXIT_OK,
                _ => EXIT_USAGE,
            };
        }
    };
    let mut stdout = TrackedWrite::new(io.stdout);
    let mut tracked = Io {
        stdout: &mut stdout,
        stderr: io.stderr,
        style: cli.color.apply(io.style),
    };
    let status = dispatch(cli.command, loader, &mut tracked, process);
    let flushed = tracked.stdout.flush();
    let _ = io.stderr.flush();
    match stdout.error.take() {
        Some(err) => {
            // A reader that went away (`hac plan … | head`) needs no message.
            if err.kind() != std::io::ErrorKind::BrokenPipe {
                let _ = writeln!(io.stderr, "error: cannot write standard output: {err}");
                let _ = io.stderr.flush();
            }
            EXIT_USAGE
        }
        None if flushed.is_err() => EXIT_USAGE,
        None => status,
    }
}

/// The last `--color WHEN` or `--color=WHEN` in `args` with a valid WHEN, for output
/// made before (or instead of) a successful parse.
fn color_asked(args: &[OsString]) -> Option<ColorChoice> {
    let mut asked = None;
    let mut words = args.iter().filter_map(|arg| arg.to_str());
    while let Some(word) = words.next() {
        let value = match word.strip_prefix("--color") {
            Some("") => words.next(),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        if let Some(choice) = value.and_then(|v| ColorChoice::from_str(v, false).ok()) {
            asked = Some(choice);
        }
    }
    asked
}

/// A writer that remembers its first error, so that a command whose output could not
/// be written fails (exit 2) however it wrote.
struct TrackedWrite<'a> {
    inner: &'a mut dyn Write,
    error: Option<std::io::Error>,
}

impl<'a> TrackedWrite<'a> {
    fn new(inner: &'a mut dyn Write) -> Self {
        TrackedWrite { inner, error: None }
    }

    fn note<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(err) = &result
            && err.kind() != std::io::ErrorKind::Interrupted
            && self.error.is_none()
        {
            self.error = Some(std::io::Error::new(err.kind(), err.to_string()));
        }
        result
    }
}

impl Write for TrackedWrite<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(bytes);
        self.note(result)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

fn dispatch(command: Command, loader: &dyn Loader, io: &mut Io<'_>, process: Process) -> u8 {
    match command {
        Command::Completions { shell } => {
            crate::manual::completions(shell, self::command(), io.stdout);
            EXIT_OK
        }
        Command::Man { dir } => man(dir.as_deref(), io),
        Command::Init { topology, file } => init(topology, &file, io),
        Command::Check {
            files,
            deny_warnings,
            provider,
            output,
            root,
        } => check(
            &files,
            deny_warnings,
            output.format,
            Reading {
                cloud: provider.as_deref().and_then(Cloud::parse),
                ..root.reading()
            },
            loader,
            io,
        ),
        Command::Eval { file, output, root } => {
            eval(&file, output.format, root.reading(), loader, io, process)
        }
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
            // Formatting reads only the named files, wherever they are, but never a
            // secret: its syntax errors would quote it.
            let confined = Confined {
                sandbox: sandbox::for_description(Path::new("/"), Some(Path::new("/")), None),
                inner: loader,
            };
            crate::fmt::run(&files, mode, &confined, &mut std::io::stdin().lock(), io)
        }
        Command::Secrets(command) => secrets_command(command, loader, io),
        Command::Kubeconfig(args) => crate::day2::kubeconfig::run(&args, loader, io),
        Command::JoinInfo(args) => crate::day2::join_info::run(&args, loader, io),
        Command::Build {
            file,
            output,
            gzip,
            provider,
            at,
            bundle,
            force,
            diagnostics,
            root,
        } => match bundle.for_description(&file) {
            Ok(secrets) => build(
                &BuildRequest {
                    file: &file,
                    output: output.as_deref(),
                    gzip,
                    provider: provider.as_deref().and_then(providers::find),
                    built_at: at.unwrap_or_else(time::OffsetDateTime::now_utc),
                    secrets,
                    force,
                    format: diagnostics.format,
                    root: root.root.as_deref(),
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
            root,
        } => plan(
            &file,
            plan_format,
            diagnostics.format,
            root.reading(),
            loader,
            io,
        ),
    }
}

/// `hac init`: the template into a new file, or on stdout.
fn init(topology: Topology, file: &Path, io: &mut Io<'_>) -> u8 {
    if is_stdin(file) {
        let _ = io.stdout.write_all(topology.template().as_bytes());
        return EXIT_OK;
    }
    let shown = report::printable(&file.display().to_string()).into_owned();
    match crate::init::write_new(file, topology) {
        Ok(()) => {
            let _ = writeln!(
                io.stdout,
                "wrote {shown} ({} topology): change the names and addresses to yours, then run `hac check {shown}`",
                topology.name()
            );
            EXIT_OK
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = writeln!(io.stderr, "error: {shown} already exists");
            let _ = writeln!(
                io.stderr,
                "  help: name another file (`hac init FILE`); hac init never replaces one"
            );
            EXIT_USAGE
        }
        Err(err) => {
            let _ = writeln!(io.stderr, "error: cannot write {shown}: {err}");
            EXIT_USAGE
        }
    }
}

/// `hac man`: the top page on stdout, or every page into `dir`.
fn man(dir: Option<&Path>, io: &mut Io<'_>) -> u8 {
    let Some(dir) = dir else {
        // A failed write to stdout is reported (or, for a closed pipe, not) by `run`.
        let _ = crate::manual::top_page(command(), io.stdout);
        return EXIT_OK;
    };
    let written = crate::manual::write_pages(command(), dir);
    match written {
        Ok(pages) => {
            for page in pages {
                let _ = writeln!(io.stdout, "wrote {}", page.display());
            }
            EXIT_OK
        }
        Err(err) => {
            let _ = writeln!(io.stderr, "error: cannot write the man pages: {err}");
            EXIT_USAGE
        }
    }
}

fn check(
    files: &[PathBuf],
    deny_warnings: bool,
    format: Format,
    reading: Reading<'_>,
    loader: &dyn Loader,
    io: &mut Io<'_>,
) -> u8 {
    // A file that cannot be read makes the status 2, but the other files are still
    // checked and reported; with `--diagnostics json` it is one more diagnostic.
    if files.iter().filter(|path| is_stdin(path)).count() > 1 {
        let _ = writeln!(io.stderr, "error: standard input can be checked once");
        return EXIT_USAGE;
    }
    let reports: Vec<_> = files
        .iter()
        .map(|path| (path, analyze_source(path, Depth::Cluster, reading, loader)))
        .collect();
    let unreadable = reports.iter().any(|(_, result)| result.is_err());
    let checked = reports
        .iter()
        .filter_map(|(_, result)| result.as_ref().ok())
        .map(|analysis| status_of(&analysis.diagnostics, deny_warnings))
        .max()
        .unwrap_or(EXIT_OK);
    let status = if unreadable { EXIT_USAGE } else { checked };
    match format {
        Format::Human => {
            for (path, result) in &reports {
                let analysis = match result {
                    Ok(analysis) => analysis,
                    Err(unreadable) => {
                        unreadable.report(format, io);
                        continue;
                    }
                };
                print_human(analysis, io);
                if files.len() > 1 || !analysis.diagnostics.is_empty() {
                    let shown = if is_stdin(path) {
                        STDIN_NAME.to_owned()
                    } else {
                        path.display().to_string()
                    };
                    let allowed = match analysis.suppressed.len() {
                        0 => String::new(),
                        n => format!(" ({n} allowed by `# hac: allow`)"),
                    };
                    let _ = writeln!(
                        io.stderr,
                        "{}: {}{allowed}",
                        report::printable(&shown),
                        report::summary(&analysis.diagnostics)
                    );
                }
            }
        }
        Format::Json => {
            let all: Vec<_> = reports
                .iter()
                .flat_map(|(_, result)| match result {
                    Ok(a) => {
                        let allowed = a.suppressed.iter().map(|d| report::JsonDiagnostic {
                            suppressed: true,
                            ..report::to_json(d, &a.sources)
                        });
                        a.diagnostics
                            .iter()
                            .map(|d| report::to_json(d, &a.sources))
                            .chain(allowed)
                            .collect()
                    }
                    Err(unreadable) => vec![unreadable.to_json()],
                })
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
    reading: Reading<'_>,
    loader: &dyn Loader,
    io: &mut Io<'_>,
) -> u8 {
    let Some(analysis) = analyze_readable(path, Depth::Cluster, reading, loader, format, io) else {
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
    /// `-o`; `None` is `out/<cluster name>`.
    output: Option<&'a Path>,
    gzip: bool,
    provider: Option<&'static Provider>,
    built_at: time::OffsetDateTime,
    secrets: PathBuf,
    force: bool,
    format: Format,
    root: Option<&'a Path>,
}

/// The output directory when `-o` is not given: one per cluster, so that building a
/// second cluster never replaces the first one's files.
fn default_output(cluster: &str) -> PathBuf {
    Path::new("out").join(cluster)
}

fn report_write_error(err: &build_replace::WriteError, io: &mut Io<'_>) -> u8 {
    let _ = writeln!(io.stderr, "error: {}", err.message);
    if let Some(help) = &err.help {
        let _ = writeln!(io.stderr, "  help: {help}");
    }
    EXIT_USAGE
}

/// `--at`: an RFC 3339 time.
fn parse_build_time(text: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("`{text}` is not an RFC 3339 time like 2026-01-31T12:00:00Z ({e})"))
}

/// `hac build`: analyse, plan, ensure the secrets bundle, render every host, check
/// the sizes, then write the directory in one step. Nothing in the output
/// directory changes unless every step succeeded.
fn build(request: &BuildRequest<'_>, loader: &dyn Loader, io: &mut Io<'_>) -> u8 {
    let reading = Reading {
        root: request.root,
        bundle: Some(&request.secrets),
        cloud: request.provider.and_then(|p| Cloud::parse(p.name)),
    };
    let Some(analysis) = analyze_readable(
        request.file,
        Depth::Cluster,
        reading,
        loader,
        request.format,
        io,
    ) else {
        return EXIT_USAGE;
    };
    print_diagnostics(&analysis, request.format, io);
    let (Some(cluster), false) = (analysis.cluster.as_ref(), analysis.has_errors()) else {
        return EXIT_ERRORS;
    };
    let plan = crate::plan::plan(cluster);
    let output = request
        .output
        .map_or_else(|| default_output(&cluster.name.value), Path::to_path_buf);
    // The bundle's lock file sits beside the (resolved) bundle: inside the output
    // exactly when the bundle is.
    let protected = [
        ("the cluster description", request.file),
        ("the secrets bundle", request.secrets.as_path()),
    ];
    // The output is checked before the bundle is touched (the cluster id is not known
    // yet), so a refused directory costs nothing; it is checked again, with the id,
    // right before it is replaced.
    let target = match build_replace::Target::new(&output) {
        Ok(target) => target,
        Err(err) => return report_write_error(&err, io),
    };
    let unchecked_owner = build_replace::Owner {
        cluster: &cluster.name.value,
        cluster_id: None,
    };
    if let Err(err) = target.check(unchecked_owner, &protected) {
        return report_write_error(&err, io);
    }
    let spec = secrets_spec(cluster, None);
    let bundle = match secrets::ensure_with(&request.secrets, &spec, request.force) {
        Ok(ensured) => {
            if let Some(copy) = &ensured.kept_copy {
                let _ = writeln!(
                    io.stderr,
                    "secrets: kept the previous bundle as {}",
                    copy.display()
                );
            }
            for change in ensured.changes.iter() {
                let _ = writeln!(
                    io.stderr,
                    "secrets: {change} in {}",
                    request.secrets.display()
                );
            }
            ensured.bundle
        }
        Err(err) => return report_secrets_error(&err, io),
    };
    let missing_logins = crate::build::registry_logins::missing(cluster, &bundle);
    if !missing_logins.is_empty() {
        print_diagnostics_of(&missing_logins, &analysis.sources, request.format, io);
        return EXIT_ERRORS;
    }
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
        built_at: request.built_at,
    };
    // Each host's document and file list are dropped as soon as its bytes are
    // made: only the user-data (and its gzip) of thousands of hosts stay in memory.
    // A provider that takes gzip may need it: the gzip forms are made, and dropped
    // below unless some host fits only gzipped.
    let may_gzip = request.provider.is_some_and(|p| p.gzip.is_some());
    let owner = build_replace::Owner {
        cluster: &cluster.name.value,
        cluster_id: bundle.cluster_id(),
    };
    // What the output being replaced recorded spares compressing unchanged hosts.
    let previous = Previous::of(&target, owner, &protected);
    let gzip_file = match (request.gzip, may_gzip) {
        (true, _) => build_output::GzipFile::Write,
        (false, true) => build_output::GzipFile::IfNeeded,
        (false, false) => build_output::GzipFile::No,
    };
    let families = crate::build::gzip::Families::new();
    let built = crate::build::build_each(&context, |host| {
        build_output::host_artefacts(host, gzip_file, &previous, &families)
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
    let mut gzip = request.gzip;
    let mut per_host = per_host;
    if let Some(provider) = request.provider
        && may_gzip
        && !request.gzip
    {
        let entries: Vec<_> = per_host.iter().map(|host| &host.entry).collect();
        let needing = sizes::needing_gzip(&entries, provider);
        if needing.is_empty() {
            per_host = per_host
                .into_iter()
                .map(build_output::without_gzip)
                .collect();
        } else {
            gzip = true;
            let _ = writeln!(
                io.stderr,
                "note: {} fit{} {}'s limit of {} only gzipped: writing `<host>.yaml.gz` for every host (as `--gzip`); attach those",
                sizes::list_names(&needing),
                if needing.len() == 1 { "s" } else { "" },
                provider.title,
                provider.limit_text
            );
            // Hosts whose size came from the previous build have no gzip file yet.
            per_host = build_output::with_gzip_files(per_host, &families);
        }
    }
    let reused = Reused::count(per_host.iter().map(|host| host.reuse));
    let (manifest, files) = build_output::collect(&plan, per_host, bundle.cluster_id());
    if let Some(provider) = request.provider {
        let problems = sizes::over_limit(&manifest, provider, gzip);
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
    let kept = match target.write(owner, &protected, &files) {
        Ok(kept) => kept,
        Err(err) => return report_write_error(&err, io),
    };
    let _ = io
        .stdout
        .write_all(sizes::table(&manifest, &output, gzip, request.provider).as_bytes());
    if kept > 0 {
        let _ = writeln!(
            io.stdout,
            "not written again: {kept} of {} files, the same bytes as in the previous build (linked)",
            files.len() - 1
        );
    }
    if let Some(line) = reused.line(manifest.hosts.len()) {
        let _ = writeln!(io.stdout, "{line}");
    }
    EXIT_OK
}

fn eval(
    path: &Path,
    format: Format,
    reading: Reading<'_>,
    loader: &dyn Loader,
    io: &mut Io<'_>,
    process: Process,
) -> u8 {
    // The JSON text is written by the evaluator, counting against its memory budget.
    let depth = match process {
        Process::ExitsAfter => Depth::JsonAtExit,
        Process::LivesOn => Depth::Json,
    };
    let Some(mut analysis) = analyze_readable(path, depth, reading, loader, format, io) else {
        return EXIT_USAGE;
    };
    print_diagnostics(&analysis, format, io);
    let status = status_of(&analysis.diagnostics, false);
    if let (EXIT_OK, Some(json)) = (status, analysis.json.take()) {
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
            root,
        } => {
            let path = match bundle.for_description(&file) {
                Ok(path) => path,
                Err(err) => return report_secrets_error(&err, io),
            };
            let reading = Reading {
                root: root.root.as_deref(),
                bundle: Some(&path),
                cloud: None,
            };
            let Some(analysis) =
                analyze_readable(&file, Depth::Cluster, reading, loader, Format::Human, io)
            else {
                return EXIT_USAGE;
            };
            print_human(&analysis, io);
            let Some(cluster) = analysis.cluster.as_ref() else {
                return EXIT_ERRORS;
            };
            let spec = secrets_spec(cluster, key_algorithm);
            secrets::init_keeping_copy(&path, &spec, force).map(|(_, kept)| {
                let kept = kept
                    .map(|copy| format!("kept the previous bundle as {}\n", copy.display()))
                    .unwrap_or_default();
                format!("{kept}created {}\n", path.display())
            })
        }
        SecretsCommand::Show {
            file,
            bundle,
            reveal,
        } => secrets::show(&bundle.for_file(&file), reveal),
        SecretsCommand::SetRegistryLogin {
            name,
            username,
            file,
            bundle,
        } => {
            let path = bundle.for_file(&file);
            set_registry_login(&path, &name, &username, io)
        }
        SecretsCommand::Rotate { what, file, bundle } => {
            let path = bundle.for_file(&file);
            match what {
                Rotatable::Token => secrets::rotate_token(&path)
                    .map(|id| format!("new bootstrap token {id}.… in {}\n", path.display())),
                Rotatable::CertificateKey => secrets::rotate_certificate_key(&path)
                    .map(|()| format!("new certificate key in {}\n", path.display())),
                Rotatable::EncryptionKey => {
                    secrets::rotate_encryption_key(&path).map(|(phase, kept)| {
                        crate::day2::encryption_rotation_report(&path, phase, kept.as_deref())
                    })
                }
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

/// `hac secrets set-registry-login`: the password comes from standard input, so it
/// never shows in the process list or the shell's history.
fn set_registry_login(
    path: &Path,
    name: &str,
    username: &str,
    io: &mut Io<'_>,
) -> Result<String, secrets::SecretsError> {
    // Before the prompt: a name that cannot be stored is refused without a password.
    secrets::check_registry_login_name(name)?;
    let prompt = format!("password or token for registry login `{name}`: ");
    let password = crate::password::read(&prompt, io.stderr).map_err(|err| {
        secrets::SecretsError::io(Path::new("<stdin>"), "read the password from", err)
    })?;
    let login = secrets::RegistryLogin::new(username, password).map_err(|why| {
        secrets::SecretsError::InvalidRegistryLogin {
            message: format!("registry login `{name}`: {why}"),
        }
    })?;
    let replaced = secrets::set_registry_login(path, name, login)?;
    Ok(format!(
        "{} registry login `{name}` (user {}) in {}\n",
        if replaced { "replaced" } else { "stored" },
        report::printable(username),
        path.display()
    ))
}

/// Prints a secrets error with its fix; every one is a usage or I/O problem (exit 2).
/// The errors carry paths and key names, never values.
pub(crate) fn report_secrets_error(err: &secrets::SecretsError, io: &mut Io<'_>) -> u8 {
    // Paths come from the command line and may hold anything.
    let _ = writeln!(io.stderr, "error: {}", report::printable(&err.to_string()));
    if let Some(help) = err.help() {
        let _ = writeln!(io.stderr, "  help: {}", report::printable(&help));
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
        cluster: Some(cluster.name.value.clone()),
        key_algorithm,
        etcd_members,
        encrypt_secrets: cluster.controlplane.encrypt_secrets,
    }
}

/// `-` in place of a file: the text comes from standard input.
const STDIN_ARG: &str = "-";
/// What diagnostics call standard input, as `hac fmt` does.
const STDIN_NAME: &str = "<stdin>";

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN_ARG
}

/// Why a command could not read its file: a usage problem (exit 2), not a diagnostic
/// in the file, so it has no place in it.
struct Unreadable {
    file: String,
    message: String,
}

impl Unreadable {
    fn to_json(&self) -> report::JsonDiagnostic {
        report::JsonDiagnostic {
            severity: Severity::Error.as_str(),
            code: UNREADABLE_CODE,
            message: self.message.clone(),
            file: Some(self.file.clone()),
            position: None,
            labels: Vec::new(),
            help: None,
            suppressed: false,
        }
    }

    /// On stderr: a line, or with `--diagnostics json` a JSON array like the others.
    fn report(&self, format: Format, io: &mut Io<'_>) {
        match format {
            Format::Human => {
                let _ = writeln!(io.stderr, "error: {}", self.message);
            }
            Format::Json => write_json(&[self.to_json()], io.stderr),
        }
    }
}

/// The code of [`Unreadable`] in JSON diagnostics (see docs/diagnostics.md).
const UNREADABLE_CODE: &str = "hac::cli::unreadable";

/// Analyses `path` (`-`: standard input), reading only what the project's sandbox
/// admits, or tells why it cannot be read.
fn analyze_source(
    path: &Path,
    depth: Depth,
    reading: Reading<'_>,
    loader: &dyn Loader,
) -> Result<Analysis, Unreadable> {
    let shown = |path: &Path| report::printable(&path.display().to_string()).into_owned();
    if let Some(root) = reading.root
        && !root.is_dir()
    {
        return Err(Unreadable {
            file: shown(path),
            message: format!("the project root {} is not a directory", shown(root)),
        });
    }
    if is_stdin(path) {
        // Imports in it are relative to the working directory, its project root.
        let name = Path::new(STDIN_NAME);
        let text = read_stdin().map_err(|err| Unreadable {
            file: STDIN_NAME.to_owned(),
            message: format!("cannot read standard input: {err}"),
        })?;
        let confined = Confined {
            sandbox: sandbox::for_description(name, reading.root, reading.bundle),
            inner: loader,
        };
        let absolute = std::path::absolute(name).unwrap_or_else(|_| name.to_path_buf());
        let with_stdin = OverlayLoader {
            overlay: HashMap::from([(hac_lang::loader::normalize(&absolute), text)]),
            fallback: &confined,
        };
        return Ok(analysis::analyze_on(
            &with_stdin,
            name,
            &Limits::default(),
            depth,
            reading.cloud,
        ));
    }
    let confined = Confined {
        sandbox: sandbox::for_description(path, reading.root, reading.bundle),
        inner: loader,
    };
    if let Err(err) = confined.read(path) {
        let message = match refusal(&err) {
            Some(reason) => format!("refused to read {}: {reason}", shown(path)),
            None => format!("cannot read {}: {err}", shown(path)),
        };
        return Err(Unreadable {
            file: shown(path),
            message,
        });
    }
    Ok(analysis::analyze_on(
        &confined,
        path,
        &Limits::default(),
        depth,
        reading.cloud,
    ))
}

/// Standard input as text, at most as large as a file may be.
fn read_stdin() -> std::io::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_FILE_SIZE + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_SIZE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("more than {MAX_FILE_SIZE} bytes"),
        ));
    }
    Ok(text)
}

/// [`analyze_source`], reporting an unreadable file on stderr in `format`.
pub(crate) fn analyze_readable(
    path: &Path,
    depth: Depth,
    reading: Reading<'_>,
    loader: &dyn Loader,
    format: Format,
    io: &mut Io<'_>,
) -> Option<Analysis> {
    match analyze_source(path, depth, reading, loader) {
        Ok(analysis) => Some(analysis),
        Err(unreadable) => {
            unreadable.report(format, io);
            None
        }
    }
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
    print_diagnostics_of(&analysis.diagnostics, &analysis.sources, format, io);
}

/// Diagnostics about the analysed source found later (against the secrets bundle).
fn print_diagnostics_of(
    diagnostics: &[Diagnostic],
    sources: &hac_lang::SourceMap,
    format: Format,
    io: &mut Io<'_>,
) {
    match format {
        Format::Human => {
            let text = report::render_human(diagnostics, sources, io.style);
            let _ = io.stderr.write_all(text.as_bytes());
        }
        Format::Json => {
            let all: Vec<_> = diagnostics
                .iter()
                .map(|d| report::to_json(d, sources))
                .collect();
            if !all.is_empty() {
                write_json(&all, io.stderr);
            }
        }
    }
}

pub(crate) fn print_human(analysis: &Analysis, io: &mut Io<'_>) {
    let text = report::render_human(&analysis.diagnostics, &analysis.sources, io.style);
    let _ = io.stderr.write_all(text.as_bytes());
}

fn write_json(diagnostics: &[report::JsonDiagnostic], sink: &mut dyn Write) {
    // Serialising plain strings and numbers cannot fail.
    let json = serde_json::to_string_pretty(diagnostics).unwrap_or_default();
    let _ = writeln!(sink, "{json}");
}

#[cfg(test)]
mod tests {
    use super::command;

    /// Every argument and subcommand of every command says what it is for, so that
    /// `--help`, the man page and the completions describe them.
    #[test]
    fn every_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            if cmd.get_about().is_none() {
                missing.push(format!("{path} (the command)"));
            }
            for arg in cmd.get_arguments().filter(|arg| !arg.is_hide_set()) {
                if arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut cli = command();
        cli.build();
        let mut missing = Vec::new();
        walk(&cli, "hac", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
    }
}
