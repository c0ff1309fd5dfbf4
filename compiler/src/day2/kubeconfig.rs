//! `hac kubeconfig CLUSTER FILE`: a client certificate signed by the bundle's cluster
//! CA, written with the CA and the cluster's endpoint as a kubeconfig (mode 0600).
//!
//! The certificate cannot be revoked (Kubernetes has no revocation for client
//! certificates): it is valid for `--ttl` (24 hours unless asked otherwise, at most a
//! year), and its holder keeps its groups' rights until then. The private key exists
//! only in the file: it is never printed, except to a standard output that is not a
//! terminal when FILE is `-`.

use std::io::IsTerminal;
use std::path::PathBuf;

use hac_lang::Loader;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::cli::{self, EXIT_OK, EXIT_USAGE, Io};
use crate::emit::yaml::to_yaml;
use crate::model::Cluster;
use crate::report;
use crate::secrets::{self, format_time};

/// The first line of every kubeconfig hac writes: a file that starts otherwise is not
/// replaced without `--force`.
pub const MARKER: &str = "# Written by `hac kubeconfig`";
/// The user `hac kubeconfig` issues for when no `--user` is given.
pub const DEFAULT_USER: &str = "hac-admin";
/// The group kubeadm (1.29 and later) binds to `cluster-admin`, and that its own
/// `admin.conf` uses.
pub const ADMIN_GROUP: &str = "kubeadm:cluster-admins";
/// The group of kubeadm's admin before 1.29, which created no `kubeadm:cluster-admins`
/// binding: the API server grants it every right, bypassing RBAC.
pub const LEGACY_ADMIN_GROUP: &str = "system:masters";
/// The first minor whose kubeadm binds [`ADMIN_GROUP`].
const ADMIN_GROUP_MINOR: u32 = 29;
const DEFAULT_TTL: &str = "24h";
const MAX_TTL_SECONDS: u64 = 365 * 24 * 3600;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cluster description (the endpoint and the bundle come from it)
    #[arg(value_name = "CLUSTER")]
    cluster: PathBuf,
    /// Where to write the kubeconfig (mode 0600); `-` writes it to standard output,
    /// which must then not be a terminal
    #[arg(value_name = "FILE")]
    output: PathBuf,
    /// The user name, the certificate's common name [default: hac-admin, in the
    /// cluster's admin group]
    #[arg(long, value_name = "NAME", value_parser = parse_name)]
    user: Option<String>,
    /// A group, one of the certificate's organisations; repeat it for several
    /// [default without --user: kubeadm:cluster-admins, or system:masters before 1.29]
    #[arg(long = "group", value_name = "G", value_parser = parse_name)]
    groups: Vec<String>,
    /// How long the certificate is valid, like `8h`, `1h30m` or `30d`; at most `365d`
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_TTL, value_parser = parse_ttl)]
    ttl: u64,
    /// Replace FILE even when it is not a kubeconfig hac wrote
    #[arg(long)]
    force: bool,
    /// The secrets bundle [default: CLUSTER with the extension `.secrets`]
    #[arg(long = "secrets", value_name = "PATH")]
    secrets: Option<PathBuf>,
    /// The project root: imports and `readFile` may read only files below it
    #[arg(long = "root", value_name = "DIR")]
    root: Option<PathBuf>,
}

/// A user or group name: printable, one line, at most 253 characters.
fn parse_name(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() > 253 || text.chars().any(char::is_control) {
        Err("a name is 1 to 253 printable characters".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

/// `30d`, or a duration hac reads elsewhere (`24h`, `1h30m`, `90s`), up to a year.
fn parse_ttl(text: &str) -> Result<u64, String> {
    let seconds = match text.strip_suffix('d') {
        Some(days) if !days.is_empty() && days.bytes().all(|b| b.is_ascii_digit()) => days
            .parse::<u64>()
            .ok()
            .and_then(|d| d.checked_mul(24 * 3600))
            .ok_or_else(|| format!("`{text}` is too long"))?,
        _ => crate::model::formats::duration(text)?,
    };
    match seconds {
        0 => Err("the certificate must be valid for some time".to_owned()),
        s if s > MAX_TTL_SECONDS => Err(format!(
            "`{text}` is longer than a year; a client certificate cannot be revoked, so hac issues none for longer"
        )),
        s => Ok(s),
    }
}

/// Who the certificate is for: the user and its groups.
fn identity(args: &Args, cluster: &Cluster) -> (String, Vec<String>) {
    match (&args.user, args.groups.is_empty()) {
        (None, true) => {
            let group = if cluster.kubernetes.value.minor >= ADMIN_GROUP_MINOR {
                ADMIN_GROUP
            } else {
                LEGACY_ADMIN_GROUP
            };
            (DEFAULT_USER.to_owned(), vec![group.to_owned()])
        }
        (user, _) => (
            user.clone().unwrap_or_else(|| DEFAULT_USER.to_owned()),
            args.groups.clone(),
        ),
    }
}

pub fn run(args: &Args, loader: &dyn Loader, io: &mut Io<'_>) -> u8 {
    let to_stdout = args.output.as_os_str() == "-";
    if to_stdout && std::io::stdout().is_terminal() {
        let _ = writeln!(
            io.stderr,
            "error: refusing to print a private key to a terminal\n  help: name a file (`hac kubeconfig CLUSTER admin.kubeconfig`), or redirect standard output"
        );
        return EXIT_USAGE;
    }
    if !to_stdout
        && !args.force
        && let Err(message) = check_replaceable(&args.output)
    {
        let _ = writeln!(io.stderr, "error: {message}");
        let _ = writeln!(
            io.stderr,
            "  help: name another file, or pass `--force` to replace it"
        );
        return EXIT_USAGE;
    }
    let built = match super::load(
        &args.cluster,
        args.secrets.as_deref(),
        args.root.as_deref(),
        loader,
        io,
    ) {
        Ok(built) => built,
        Err(status) => return status,
    };
    // Not even `--force` replaces the description or the bundle with a kubeconfig.
    if !to_stdout {
        for (what, path) in [
            ("the cluster description", args.cluster.as_path()),
            ("the secrets bundle", built.bundle_path.as_path()),
        ] {
            if secrets::check_not_source(&args.output, path).is_err() {
                let _ = writeln!(
                    io.stderr,
                    "error: {} is {what}; refusing to replace it with a kubeconfig",
                    report::printable(&args.output.display().to_string())
                );
                return EXIT_USAGE;
            }
        }
    }
    let (user, groups) = identity(args, &built.cluster);
    let now = OffsetDateTime::now_utc();
    let not_after = now + Duration::seconds(i64::try_from(args.ttl).unwrap_or(i64::MAX));
    let certificate =
        match secrets::issue_client_certificate(&built.bundle, &user, &groups, not_after, now) {
            Ok(certificate) => certificate,
            Err(err) => return cli::report_secrets_error(&err, io),
        };
    let config = kubeconfig(&built.cluster, &built.bundle, &user, &groups, &certificate);
    let config = match config {
        Ok(config) => config,
        Err(err) => {
            let _ = writeln!(io.stderr, "error: {}", err.message);
            return EXIT_USAGE;
        }
    };
    if to_stdout {
        // The run reports a failed write (and exits 2); no line may claim it worked.
        if io
            .stdout
            .write_all(config.as_bytes())
            .and_then(|()| io.stdout.flush())
            .is_err()
        {
            return EXIT_USAGE;
        }
    } else if let Err(err) = secrets::write_private_file(&args.output, config.as_bytes()) {
        return cli::report_secrets_error(&err, io);
    }
    let shown_groups = if groups.is_empty() {
        "no groups: bind it to a role with RBAC".to_owned()
    } else {
        format!("groups {}", groups.join(", "))
    };
    let _ = writeln!(
        io.stderr,
        "{}: user `{}` ({}) at https://{}, valid until {}",
        if to_stdout {
            "wrote the kubeconfig to standard output".to_owned()
        } else {
            format!(
                "wrote {}",
                report::printable(&args.output.display().to_string())
            )
        },
        report::printable(&user),
        report::printable(&shown_groups),
        built.cluster.endpoint.value,
        format_time(certificate.info().not_after)
    );
    EXIT_OK
}

/// A missing file, or one an earlier `hac kubeconfig` wrote, may be replaced.
fn check_replaceable(path: &std::path::Path) -> Result<(), String> {
    use std::io::Read;
    let shown = report::printable(&path.display().to_string()).into_owned();
    let mut start = [0u8; MARKER.len()];
    match std::fs::File::open(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(format!("cannot read {shown}: {err}")),
        Ok(mut file) => match file.read_exact(&mut start) {
            Ok(()) if start == MARKER.as_bytes() => Ok(()),
            _ => Err(format!(
                "{shown} exists and is not a kubeconfig `hac kubeconfig` wrote"
            )),
        },
    }
}

/// The kubeconfig text: the cluster (its CA and endpoint), the user (certificate and
/// key) and a context joining them, which is the current one.
fn kubeconfig(
    cluster: &Cluster,
    bundle: &secrets::Bundle,
    user: &str,
    groups: &[String],
    certificate: &secrets::CertificateAndKey,
) -> Result<String, crate::emit::SpecError> {
    let name = &cluster.name.value;
    let entry = format!("{user}@{name}");
    let data = |pem: &str| secrets::base64(pem.as_bytes());
    let document = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": name,
            "cluster": {
                "server": format!("https://{}", cluster.endpoint.value),
                "certificate-authority-data": data(bundle.cluster_ca().certificate_pem()),
            },
        }],
        "users": [{
            "name": entry,
            "user": {
                "client-certificate-data": data(certificate.certificate_pem()),
                "client-key-data": data(certificate.private_key_pem().expose()),
            },
        }],
        "contexts": [{
            "name": entry,
            "context": { "cluster": name, "user": entry },
        }],
        "current-context": entry,
    });
    let groups = if groups.is_empty() {
        "no groups".to_owned()
    } else {
        format!("groups {}", groups.join(", "))
    };
    // The names come from the command line: comments must stay one line each.
    let one_line = |text: &str| text.replace(|c: char| c.is_control(), " ");
    Ok(format!(
        "{MARKER} for cluster `{name}`: user `{}` ({}), valid until {}.\n\
         # Anyone holding this file has these rights until then: a client certificate cannot be revoked.\n{}",
        one_line(user),
        one_line(&groups),
        format_time(certificate.info().not_after),
        to_yaml(&document)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_bounded() {
        assert_eq!(parse_ttl("24h"), Ok(86_400));
        assert_eq!(parse_ttl("30d"), Ok(30 * 86_400));
        assert_eq!(parse_ttl("1h30m"), Ok(5_400));
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("366d").is_err());
        assert!(parse_ttl("d").is_err());
        assert!(parse_ttl("99999999999999999999d").is_err());
        assert!(parse_name("").is_err());
        assert!(parse_name("a\nb").is_err());
        assert_eq!(
            parse_name("ops@example.com"),
            Ok("ops@example.com".to_owned())
        );
    }
}
