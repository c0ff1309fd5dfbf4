//! The registry logins a cluster names (`containerd.registryLogins`) against the ones
//! its secrets bundle holds: a build needs every one, and says where the source names
//! one the bundle lacks.

use hac_lang::diagnostic::Diagnostic;

use crate::model::Cluster;
use crate::secrets::Bundle;

/// The code of the error: the cluster is fine, the bundle lacks something, so `hac
/// check` (which reads no bundle) never reports it; `hac build` does.
pub const MISSING_REGISTRY_LOGIN: &str = "hac::build::missing_registry_login";

/// How a missing login gets into the bundle.
pub const HELP: &str = "store it with `hac secrets set-registry-login NAME --username USER FILE` (the password or token on standard input), then build again";

/// One error per `containerd.registryLogins` entry whose login is not in `bundle`,
/// at the login's name in the source. Names only, never a value from the bundle.
pub fn missing(cluster: &Cluster, bundle: &Bundle) -> Vec<Diagnostic> {
    cluster
        .containerd
        .registry_logins
        .iter()
        .filter(|(_, name)| bundle.registry_login(&name.value).is_none())
        .map(|(host, name)| {
            Diagnostic::error(
                MISSING_REGISTRY_LOGIN,
                format!(
                    "the secrets bundle has no registry login `{}`, which `{host}` needs",
                    name.value
                ),
            )
            .with_primary(name.origin.file, name.origin.span, "not in the bundle")
            .with_help(HELP.replace("NAME", &name.value))
        })
        .collect()
}
