//! Shell completions and man pages, generated from the command line's own clap
//! definitions so that they always describe the `hac` they come with.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap_complete::Shell;

/// Writes the completion script of `shell` for `cli` (the whole command line).
pub fn completions(shell: Shell, mut cli: clap::Command, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut cli, "hac", out);
}

/// What the top page says beyond the options: exit statuses, the environment and
/// where to read more. roff source, appended after clap_mangen's sections.
const EXTRA_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success; only warnings were found.
.TP
\fB1\fR
The input has errors (or warnings, with \fB\-\-deny\-warnings\fR).
.TP
\fB2\fR
A usage or I/O problem: a bad argument, a file that cannot be read or written.
.SH ENVIRONMENT
.TP
\fBNO_COLOR\fR
When set and not empty, reports are not coloured (unless \fB\-\-color always\fR).
.SH FILES
.TP
\fIFILE\fR.secrets
The secrets bundle of the cluster description \fIFILE\fR.hac (mode 0600), made by
\fBhac secrets init\fR or the first \fBhac build\fR.
.TP
\fBhac.toml\fR
Marks a project root: imports may read every file below it.
.SH "SEE ALSO"
\fBhac\-init\fR(1), \fBhac\-check\fR(1), \fBhac\-build\fR(1), \fBhac\-plan\fR(1),
\fBcloud\-init\fR(1), \fBkubeadm\fR(1)
"#;

/// The page of `hac` itself (`man hac`), listing every command.
pub fn top_page(cli: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let mut cli = cli.disable_help_subcommand(true);
    cli.build();
    clap_mangen::Man::new(cli).render(out)?;
    out.write_all(EXTRA_SECTIONS.as_bytes())
}

/// Writes `hac.1` and one `hac-<command>.1` per command (`hac-secrets-init.1` for
/// the nested ones) into `dir`, which must exist; returns the files written.
pub fn write_pages(cli: clap::Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn each_command(
        cmd: &clap::Command,
        dir: &Path,
        written: &mut Vec<PathBuf>,
    ) -> std::io::Result<()> {
        for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
            written.push(clap_mangen::Man::new(sub.clone()).generate_to(dir)?);
            each_command(sub, dir, written)?;
        }
        Ok(())
    }
    let mut cli = cli.disable_help_subcommand(true);
    cli.build();
    let mut written = Vec::new();
    let top = dir.join("hac.1");
    let mut file = std::fs::File::create(&top)?;
    top_page(cli.clone(), &mut file)?;
    file.flush()?;
    written.push(top);
    each_command(&cli, dir, &mut written)?;
    Ok(written)
}
