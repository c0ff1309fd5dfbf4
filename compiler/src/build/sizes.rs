//! The size report of `hac build`: every host's user-data against every
//! provider's limit, and the errors `--provider` turns overruns into.

use std::fmt::Write as _;
use std::path::Path;

use super::output::{MANIFEST, Manifest, ManifestHost};
use super::providers::{Fit, PROVIDERS, Provider};

/// A host that does not fit `--provider`'s limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overrun {
    pub message: String,
    pub help: Option<String>,
}

/// The hosts whose user-data `provider` would refuse. With `gzip_written`, a host
/// that fits gzipped is fine (its `.yaml.gz` is what gets attached).
pub fn over_limit(manifest: &Manifest, provider: &Provider, gzip_written: bool) -> Vec<Overrun> {
    let mut problems = Vec::new();
    for host in &manifest.hosts {
        let fit = provider.fit(host.size, host.gzip_size);
        let counted = provider.plain.size(host.size);
        let over = format!(
            "the user-data of `{}` is {} bytes{}, over {}'s limit of {} ({} bytes)",
            host.name,
            host.size,
            if counted == host.size {
                String::new()
            } else {
                format!(" ({counted} as base64)")
            },
            provider.title,
            provider.limit_text,
            provider.limit
        );
        match fit {
            Fit::Plain => {}
            Fit::OnlyGzipped if gzip_written => {}
            Fit::OnlyGzipped => problems.push(Overrun {
                message: over,
                help: Some(format!(
                    "build with `--gzip` and attach `{}.gz` ({} bytes); {} accepts gzip user-data",
                    host.file, host.gzip_size, provider.title
                )),
            }),
            Fit::No => problems.push(Overrun {
                message: over,
                help: Some(match provider.gzip {
                    Some(_) => format!(
                        "even gzipped it is {} bytes; make the host's `files` smaller",
                        host.gzip_size
                    ),
                    None => format!(
                        "{} takes plain text only; make the host's `files` smaller",
                        provider.title
                    ),
                }),
            }),
        }
    }
    problems
}

/// The names of the hosts whose user-data `provider` takes only gzipped: `--provider`
/// then writes the gzip forms by itself.
pub fn needing_gzip<'a>(hosts: &[&'a ManifestHost], provider: &Provider) -> Vec<&'a str> {
    hosts
        .iter()
        .filter(|host| provider.fit(host.size, host.gzip_size) == Fit::OnlyGzipped)
        .map(|host| host.name.as_str())
        .collect()
}

/// `names` for a sentence: "`a`", "`a` and `b`", "`a`, `b` and 3 more hosts".
pub fn list_names(names: &[&str]) -> String {
    const SHOWN: usize = 3;
    let quoted: Vec<String> = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
    match names.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n if n <= SHOWN => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
        n => format!("{} and {} more hosts", quoted.join(", "), n - SHOWN),
    }
}

/// The table printed after a build: one row per host, one column per provider
/// (`ok`: fits as written, `gzip`: fits gzipped, `over`: does not fit).
pub fn table(
    manifest: &Manifest,
    dir: &Path,
    gzip_written: bool,
    provider: Option<&Provider>,
) -> String {
    let mut header = vec!["host".to_owned(), "bytes".to_owned(), "gzip".to_owned()];
    header.extend(PROVIDERS.iter().map(|p| p.name.to_owned()));
    let mut rows = vec![header];
    for host in &manifest.hosts {
        let mut row = vec![
            host.name.clone(),
            host.size.to_string(),
            host.gzip_size.to_string(),
        ];
        row.extend(PROVIDERS.iter().map(|p| {
            match p.fit(host.size, host.gzip_size) {
                Fit::Plain => "ok",
                Fit::OnlyGzipped => "gzip",
                Fit::No => "over",
            }
            .to_owned()
        }));
        rows.push(row);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "wrote {} host{} to {}/ ({}{MANIFEST})",
        manifest.hosts.len(),
        if manifest.hosts.len() == 1 { "" } else { "s" },
        dir.display(),
        if gzip_written {
            "<host>.yaml, <host>.yaml.gz, "
        } else {
            "<host>.yaml, "
        }
    );
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            // Names left-aligned, numbers and verdicts right-aligned.
            if c == 0 {
                let _ = write!(line, "{cell:<width$}", width = widths[c]);
            } else {
                let _ = write!(line, "  {cell:>width$}", width = widths[c]);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let limits: Vec<String> = PROVIDERS
        .iter()
        .map(|p| format!("{} {}", p.name, p.limit_text))
        .collect();
    let _ = writeln!(out, "limits: {}", limits.join("; "));
    let _ = writeln!(
        out,
        "ok: fits as written; gzip: fits only gzipped (--gzip); over: too large"
    );
    if let Some(provider) = provider {
        let _ = writeln!(
            out,
            "every host fits {} ({})",
            provider.title, provider.limit_text
        );
    }
    out
}
