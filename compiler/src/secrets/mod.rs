//! The secrets bundle: bootstrap token, certificate key, cluster CA and, with external
//! etcd, the etcd PKI. Generated once, kept in a private file beside the cluster
//! description, so that a build is a pure function of (source, secrets).
//!
//! The file format, permissions and rotation are described in docs/secrets.md.

mod algorithm;
mod bundle;
mod encryption;
mod error;
mod file;
mod format;
mod inspect;
pub mod join;
mod pki;
mod random;
mod reconcile;
mod secret;
mod show;
mod spec;
mod subject;

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

pub use algorithm::{KeyAlgorithm, UnknownKeyAlgorithm};
pub use bundle::{
    BootstrapToken, Bundle, EtcdMemberPki, EtcdPki, RegistryLogin, is_registry_login_name,
};
pub use encryption::{EncryptionKey, EncryptionKeys, RotationPhase, base64};
pub use error::SecretsError;
pub use format::{FORMAT_VERSION, starts_like_bundle};
pub use inspect::{CertificateInfo, format_time};
pub use pki::{
    APISERVER_ETCD_CLIENT_COMMON_NAME, CA_VALIDITY, CLUSTER_CA_COMMON_NAME, CertificateAndKey,
    ETCD_CA_COMMON_NAME, HEALTHCHECK_CLIENT_COMMON_NAME, LEAF_VALIDITY,
};
pub use reconcile::{Change, Changes, RENEW_BEFORE, ReissueReason, reconcile};
pub use secret::Secret;
pub use spec::{EtcdMember, SecretsSpec};

/// The extension of a secrets bundle.
pub const EXTENSION: &str = "secrets";

/// Where the bundle of `cluster.hac` lives by default: `cluster.secrets` beside it.
pub fn default_path(source: &Path) -> PathBuf {
    source.with_extension(EXTENSION)
}

/// Reads and checks a bundle. Refuses a file that group or others can access, and any
/// content that is not a complete, consistent version-1 bundle.
pub fn load(path: &Path) -> Result<Bundle, SecretsError> {
    let text = file::read_private(path)?;
    format::parse(path, &text)
}

/// Writes `bundle` atomically with mode 0600. The bytes depend only on the bundle.
pub fn save(path: &Path, bundle: &Bundle) -> Result<(), SecretsError> {
    let _lock = file::lock(path)?;
    save_locked(path, bundle)
}

/// [`save`] for a caller that already holds the bundle's lock (the lock is not
/// re-entrant: a second `flock` on a new descriptor would wait for ourselves).
fn save_locked(path: &Path, bundle: &Bundle) -> Result<(), SecretsError> {
    file::write_atomically(
        path,
        format::serialize(bundle).as_bytes(),
        file::Existing::Replace,
    )
}

/// The canonical file contents of `bundle`.
pub fn to_file_contents(bundle: &Bundle) -> String {
    format::serialize(bundle)
}

/// Refuses a bundle path that names the cluster description itself (`hac build x.secrets`,
/// `--secrets cluster.hac`, or a link to it): writing the bundle would destroy the source.
pub fn check_not_source(bundle: &Path, source: &Path) -> Result<(), SecretsError> {
    // Canonical paths catch `./a` against `a` and links; a path that does not exist
    // yet cannot be the (existing) source, so its literal form is compared.
    let identity = |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if bundle == source || identity(bundle) == identity(source) {
        return Err(SecretsError::SameAsSource {
            path: bundle.to_path_buf(),
        });
    }
    Ok(())
}

/// The bundle `hac secrets show` and `rotate` work on when given `file`, which may be a
/// bundle or a cluster description: a `.hac` file is a description and a `.secrets`
/// file a bundle; any other file is a bundle when it reads as one (a TOML table with a
/// `version`), and otherwise a description whose bundle is beside it.
pub fn bundle_for(file: &Path) -> PathBuf {
    match file.extension().and_then(|e| e.to_str()) {
        Some("hac") => return default_path(file),
        Some(EXTENSION) => return file.to_path_buf(),
        _ => {}
    }
    // An unreadable file is taken as the bundle, so loading it reports the problem
    // (missing, too open) with the path the user gave.
    let Ok(text) = std::fs::read_to_string(file) else {
        return file.to_path_buf();
    };
    if format::looks_like_bundle(&text) {
        file.to_path_buf()
    } else {
        default_path(file)
    }
}

/// Creates a new bundle for `spec` at `path`. An existing file is an error unless
/// `force`, which replaces it (a new CA: every node must be rebuilt) after keeping a
/// copy of it beside it. A replaced bundle of the same cluster passes its cluster id on,
/// so the cluster's earlier output directory is still recognised as its own.
pub fn init(path: &Path, spec: &SecretsSpec, force: bool) -> Result<Bundle, SecretsError> {
    init_keeping_copy(path, spec, force).map(|(bundle, _)| bundle)
}

/// [`init`], also returning where the replaced bundle was kept.
pub fn init_keeping_copy(
    path: &Path,
    spec: &SecretsSpec,
    force: bool,
) -> Result<(Bundle, Option<PathBuf>), SecretsError> {
    let _lock = file::lock(path)?;
    let exists = path.symlink_metadata().is_ok();
    if !force && exists {
        return Err(SecretsError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    let (mut bundle, _) = reconcile(None, spec)?;
    if let Ok(old) = load(path)
        && old.cluster.is_some()
        && old.cluster == spec.cluster
    {
        bundle.cluster_id = old.cluster_id;
    }
    let kept = if exists {
        file::keep_copy(path, OffsetDateTime::now_utc())?
    } else {
        None
    };
    let existing = if force {
        file::Existing::Replace
    } else {
        file::Existing::Keep
    };
    file::write_atomically(path, format::serialize(&bundle).as_bytes(), existing)?;
    Ok((bundle, kept))
}

/// What [`ensure_with`] did: the bundle to build with, what changed in it, and where
/// the previous bundle was kept when a change dropped a private key.
#[derive(Debug)]
pub struct Ensured {
    pub bundle: Bundle,
    pub changes: Changes,
    pub kept_copy: Option<PathBuf>,
}

/// [`ensure_with`] without `--force`: a change that removes key material is refused.
pub fn ensure(path: &Path, spec: &SecretsSpec) -> Result<(Bundle, Changes), SecretsError> {
    ensure_with(path, spec, false).map(|ensured| (ensured.bundle, ensured.changes))
}

/// The bundle `hac build` uses: loads it (or creates it when the file does not exist),
/// reconciles it with `spec`, and writes it back only when something changed, so an
/// unchanged cluster never rewrites the file.
///
/// A bundle that records another cluster is refused; one written before bundles
/// recorded their cluster is adopted by this one. A change that removes key material
/// hosts may still use ([`Change::removes_key_material`]) is refused unless `force`;
/// before any change that drops a private key, the old file is kept beside the bundle.
///
/// The whole load-reconcile-save runs under the bundle's lock, so concurrent builds
/// agree on one bundle and never undo each other's changes.
pub fn ensure_with(path: &Path, spec: &SecretsSpec, force: bool) -> Result<Ensured, SecretsError> {
    let _lock = file::lock(path)?;
    let existing = match load(path) {
        Ok(bundle) => Some(bundle),
        Err(SecretsError::Missing { .. }) => None,
        Err(e) => return Err(e),
    };
    if let Some(bundle) = &existing {
        reconcile::check_cluster(Some(path), bundle, spec)?;
    }
    let creating = existing.is_none();
    let (bundle, changes) = reconcile(existing, spec)?;
    if changes.is_empty() {
        return Ok(Ensured {
            bundle,
            changes,
            kept_copy: None,
        });
    }
    if !creating {
        let removed: Vec<String> = changes
            .iter()
            .filter(|c| c.removes_key_material())
            .map(ToString::to_string)
            .collect();
        if !removed.is_empty() && !force {
            return Err(SecretsError::RemovesKeyMaterial {
                path: path.to_path_buf(),
                what: removed,
            });
        }
        let kept_copy = if changes.iter().any(Change::discards_a_key) {
            file::keep_copy(path, OffsetDateTime::now_utc())?
        } else {
            None
        };
        save_locked(path, &bundle)?;
        return Ok(Ensured {
            bundle,
            changes,
            kept_copy,
        });
    }
    let contents = format::serialize(&bundle);
    match file::write_atomically(path, contents.as_bytes(), file::Existing::Keep) {
        Ok(()) => Ok(Ensured {
            bundle,
            changes,
            kept_copy: None,
        }),
        // Created meanwhile by a writer that does not take the lock (an older hac, a
        // copy): the bundle on disk is the one hosts may already pin, so it wins over
        // ours, which nobody has seen. It is reconciled like any existing bundle.
        Err(SecretsError::AlreadyExists { .. }) => {
            drop(_lock);
            ensure_with(path, spec, force)
        }
        Err(e) => Err(e),
    }
}

/// The summary `hac secrets show` prints. Secret values only with `reveal`.
pub fn show(path: &Path, reveal: bool) -> Result<String, SecretsError> {
    let bundle = load(path)?;
    Ok(show::render(
        path,
        &bundle,
        reveal,
        OffsetDateTime::now_utc(),
    ))
}

/// Starts the next token generation, nothing else: hosts built from now on carry tokens
/// of the new generation, and once one of them has joined, the keepers delete every
/// token of older generations. Returns the id of the new generation's current token.
///
/// The join seed and generation are not checked, so this also repairs a bundle whose
/// seed or generation is malformed (the fix the load error suggests): a malformed seed
/// is replaced by a new one; everything else must still be valid.
pub fn rotate_token(path: &Path) -> Result<String, SecretsError> {
    let _lock = file::lock(path)?;
    let text = file::read_private(path)?;
    let bundle = format::parse_replacing(path, &text, format::Replacement::NextTokenGeneration)?;
    save_locked(path, &bundle)?;
    Ok(bundle.join_token_now().id().to_owned())
}

/// Replaces the certificate key, nothing else. Like [`rotate_token`], it also repairs a
/// malformed certificate key.
pub fn rotate_certificate_key(path: &Path) -> Result<(), SecretsError> {
    let _lock = file::lock(path)?;
    let key = random::certificate_key()?;
    let text = file::read_private(path)?;
    let bundle = format::parse_replacing(path, &text, format::Replacement::CertificateKey(key))?;
    save_locked(path, &bundle)
}

/// Takes the next step of an encryption-key rotation (see [`EncryptionKeys`]): stages a
/// new key for reading, makes a staged key the one that writes, or drops the key that
/// no longer writes. Returns the phase reached and, when a key was dropped, where the
/// previous bundle (which still holds it) was kept.
pub fn rotate_encryption_key(
    path: &Path,
) -> Result<(RotationPhase, Option<PathBuf>), SecretsError> {
    let _lock = file::lock(path)?;
    let mut bundle = load(path)?;
    let Some(keys) = &bundle.encryption else {
        return Err(SecretsError::NoEncryptionKey {
            path: path.to_path_buf(),
        });
    };
    let rotated = keys.rotated()?;
    let kept = if keys.phase() == RotationPhase::Retiring {
        file::keep_copy(path, OffsetDateTime::now_utc())?
    } else {
        None
    };
    let phase = rotated.phase();
    bundle.encryption = Some(rotated);
    save_locked(path, &bundle)?;
    Ok((phase, kept))
}

/// Refuses a name `containerd.registryLogins` could not refer to.
pub fn check_registry_login_name(name: &str) -> Result<(), SecretsError> {
    if is_registry_login_name(name) {
        return Ok(());
    }
    Err(SecretsError::InvalidRegistryLogin {
        message: format!(
            "`{}` is not a registry login name: use a lowercase DNS-1123 label (`a-z`, `0-9`, `-`)",
            name.escape_debug()
        ),
    })
}

/// Stores `login` in the bundle as the registry login `name`, replacing one of that
/// name; nothing else changes. Returns whether one was replaced. The bundle must exist
/// (`hac secrets init` or a first build makes it).
pub fn set_registry_login(
    path: &Path,
    name: &str,
    login: RegistryLogin,
) -> Result<bool, SecretsError> {
    check_registry_login_name(name)?;
    let _lock = file::lock(path)?;
    let mut bundle = load(path)?;
    let replaced = bundle
        .registry_logins
        .insert(name.to_owned(), login)
        .is_some();
    save_locked(path, &bundle)?;
    Ok(replaced)
}

/// A client certificate for `user` in `groups`, signed by the bundle's cluster CA,
/// valid from `now` until `not_after` (see [`pki::new_client_certificate`]).
pub fn issue_client_certificate(
    bundle: &Bundle,
    user: &str,
    groups: &[String],
    not_after: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<CertificateAndKey, SecretsError> {
    pki::new_client_certificate(
        &bundle.cluster_ca,
        bundle.key_algorithm,
        user,
        groups,
        not_after,
        now,
    )
}

/// Writes `contents` to `path` as a mode-0600 file, replacing what is there in one
/// step (a reader sees the old file or the new one), through symlinks like the bundle.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), SecretsError> {
    file::write_atomically(path, contents, file::Existing::Replace)
}

/// CAs with less than this left get a warning from [`expiry_warnings`].
pub const CA_WARN_BEFORE: time::Duration = time::Duration::days(365);

/// Warnings about CAs close to (or past) their expiry. A CA is never replaced
/// automatically, because every host pins it, and leaves cannot outlive it; so the
/// user must hear early that the cluster needs a new bundle. Public facts only.
pub fn expiry_warnings(bundle: &Bundle, now: OffsetDateTime) -> Vec<String> {
    let mut cas = vec![("cluster CA", bundle.cluster_ca())];
    if let Some(etcd) = bundle.etcd() {
        cas.push(("etcd CA", etcd.ca()));
    }
    cas.into_iter()
        .filter_map(|(name, ca)| {
            let not_after = ca.info().not_after;
            let left = not_after - now;
            if left >= CA_WARN_BEFORE {
                return None;
            }
            let when = format_time(not_after);
            Some(if left.is_negative() {
                format!(
                    "the {name} expired at {when}; hosts built with it cannot join, so re-create the bundle with `hac secrets init --force` and rebuild every host"
                )
            } else {
                format!(
                    "the {name} expires at {when} ({} days left); certificates it signs cannot outlive it, and replacing it means `hac secrets init --force` and rebuilding every host",
                    left.whole_days()
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
