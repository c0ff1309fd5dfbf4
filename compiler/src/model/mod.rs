//! The cluster model: the typed meaning of a `.hac` file, and [`check_cluster`], the
//! one entry point `hac check`, `hac build`, `hac plan` and the editor share.

pub mod cidr;
pub mod codes;
mod decode;
pub mod formats;
pub mod ports;
pub mod schema;
mod types;
pub mod version;

#[cfg(test)]
mod examples_tests;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

pub use decode::{DEFAULT_DOMAIN, DEFAULT_PODS, DEFAULT_SERVICES, DEFAULT_TOKEN_TTL};
pub use types::*;

use hac_lang::Value;

/// Reads the evaluated root value into a [`Cluster`] and lints it. Pure: no I/O.
///
/// Returns the cluster when no diagnostic is an error (warnings may remain), and every
/// diagnostic, sorted by position. Shape and format errors are all reported in one
/// run; the lints that relate several values (duplicates, overlaps, topology) run
/// once the shape is right.
pub fn check_cluster(value: &Value) -> (Option<Cluster>, Vec<hac_lang::Diagnostic>) {
    check_cluster_on(value, None)
}

/// [`check_cluster`] for hosts on `provider` (`--provider`): the cloud the source does
/// not name, or an error where it names another.
pub fn check_cluster_on(
    value: &Value,
    provider: Option<Cloud>,
) -> (Option<Cluster>, Vec<hac_lang::Diagnostic>) {
    let (cluster, mut diagnostics) = decode::decode(value);
    let cluster = cluster.map(|mut cluster| {
        match (cluster.cloud, provider) {
            (None, Some(cloud)) => {
                cluster.cloud = Some(CloudSetting {
                    cloud,
                    origin: cluster.origin,
                    source: CloudSource::Provider,
                });
            }
            (Some(written), Some(cloud)) if written.cloud != cloud => {
                diagnostics.push(
                    hac_lang::Diagnostic::error(
                        codes::CLOUD_CONFLICT,
                        format!(
                            "the source says `cloud = \"{}\"`, but the command line says `--provider {}`",
                            written.cloud.as_str(),
                            cloud.as_str()
                        ),
                    )
                    .with_primary(written.origin.file, written.origin.span, format!("{} here", written.cloud.title()))
                    .with_help(format!(
                        "hac would check and build for one cloud and the hosts would boot on another; build with `--provider {}`, or change `cloud`",
                        written.cloud.as_str()
                    )),
                );
            }
            _ => {}
        }
        cluster
    });
    let cluster = cluster.filter(|cluster| {
        diagnostics.extend(crate::lints::lint(cluster));
        !diagnostics.iter().any(hac_lang::Diagnostic::is_error)
    });
    hac_lang::diagnostic::normalize(&mut diagnostics);
    (cluster, diagnostics)
}
