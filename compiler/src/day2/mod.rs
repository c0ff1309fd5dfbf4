//! Commands for a cluster that is running: `hac kubeconfig` issues a client
//! certificate from the bundle's CA, `hac join-info` tells a person how to join a
//! machine by hand. Both read the cluster description (for the endpoint and the
//! version) and its existing secrets bundle; neither ever creates or changes the
//! bundle.

pub mod join_info;
pub mod kubeconfig;

use std::path::{Path, PathBuf};

use hac_lang::Loader;

use crate::analysis::Depth;
use crate::cli::{self, EXIT_ERRORS, EXIT_USAGE, Io, Reading};
use crate::model::Cluster;
use crate::report;
use crate::secrets::{self, Bundle};

/// A checked cluster and the bundle it was built with.
pub(crate) struct Built {
    pub cluster: Cluster,
    pub bundle: Bundle,
    pub bundle_path: PathBuf,
}

/// Reads the description `file` and its bundle (`secrets`, or `file` with the extension
/// `.secrets`), which must exist and belong to the same cluster. On failure, reports
/// it and returns the exit status.
pub(crate) fn load(
    file: &Path,
    secrets_path: Option<&Path>,
    root: Option<&Path>,
    loader: &dyn Loader,
    io: &mut Io<'_>,
) -> Result<Built, u8> {
    let bundle_path: PathBuf =
        secrets_path.map_or_else(|| secrets::default_path(file), Path::to_path_buf);
    if let Err(err) = secrets::check_not_source(&bundle_path, file) {
        return Err(cli::report_secrets_error(&err, io));
    }
    let reading = Reading {
        root,
        bundle: Some(&bundle_path),
        cloud: None,
    };
    let Some(mut analysis) = cli::analyze_readable(
        file,
        Depth::Cluster,
        reading,
        loader,
        cli::Format::Human,
        io,
    ) else {
        return Err(EXIT_USAGE);
    };
    if analysis.has_errors() {
        cli::print_human(&analysis, io);
    }
    let (Some(cluster), false) = (analysis.cluster.take(), analysis.has_errors()) else {
        return Err(EXIT_ERRORS);
    };
    let bundle = match secrets::load(&bundle_path) {
        Ok(bundle) => bundle,
        // A new bundle would not be the one the cluster was built with.
        Err(secrets::SecretsError::Missing { path }) => {
            let _ = writeln!(
                io.stderr,
                "error: secrets file `{}` does not exist\n  help: name the bundle the cluster was built with: `--secrets PATH`",
                report::printable(&path.display().to_string())
            );
            return Err(EXIT_USAGE);
        }
        Err(err) => return Err(cli::report_secrets_error(&err, io)),
    };
    if let Some(recorded) = bundle.cluster()
        && recorded != cluster.name.value
    {
        let _ = writeln!(
            io.stderr,
            "error: the secrets bundle {} belongs to cluster `{recorded}`, not `{}`",
            report::printable(&bundle_path.display().to_string()),
            cluster.name.value
        );
        let _ = writeln!(
            io.stderr,
            "  help: name the bundle this cluster was built with: `--secrets PATH`"
        );
        return Err(EXIT_USAGE);
    }
    Ok(Built {
        cluster,
        bundle,
        bundle_path,
    })
}

/// What `hac secrets rotate encryption-key` tells after each step: where the rotation
/// stands and what to do before the next step.
pub fn encryption_rotation_report(
    bundle: &Path,
    phase: secrets::RotationPhase,
    kept: Option<&Path>,
) -> String {
    let bundle = report::printable(&bundle.display().to_string()).into_owned();
    let next = match phase {
        secrets::RotationPhase::Staged => {
            "step 1 of 3: a new encryption key is listed for reading only. Rebuild, and put the new /etc/kubernetes/encryption-config.yaml on every control plane (API servers of Kubernetes 1.26 and later reload it within a minute; restart older ones); then run this command again"
        }
        secrets::RotationPhase::Retiring => {
            "step 2 of 3: the new key now encrypts, the old one still decrypts. Put the new configuration on every control plane, then rewrite every Secret with the new key: `kubectl get secrets -A -o json | kubectl replace -f -`; then run this command again to drop the old key"
        }
        secrets::RotationPhase::Settled => {
            "step 3 of 3: the old key is dropped. Put the new configuration on every control plane; Secrets not rewritten since step 2 can no longer be read"
        }
    };
    let kept = kept
        .map(|copy| {
            format!(
                "kept the previous bundle, which still holds the old key, as {}\n",
                report::printable(&copy.display().to_string())
            )
        })
        .unwrap_or_default();
    format!("{kept}{next} ({bundle})\n")
}
