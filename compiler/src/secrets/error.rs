//! Errors of the secrets bundle. None of them ever carries secret material: messages
//! name files, keys, members and line numbers, never values.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::algorithm::KeyAlgorithm;

#[derive(Debug)]
pub enum SecretsError {
    /// Reading, writing or inspecting the file failed.
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    /// There is no bundle where one was expected.
    Missing { path: PathBuf },
    /// `init` would overwrite an existing bundle.
    AlreadyExists { path: PathBuf },
    /// `hac secrets rotate encryption-key` on a bundle without an encryption key.
    NoEncryptionKey { path: PathBuf },
    /// The bundle path names the cluster description itself.
    SameAsSource { path: PathBuf },
    /// The description comes from standard input, so no bundle sits beside it.
    BundleOfStdin,
    /// The bundle can be read by other users.
    TooOpen { path: PathBuf, mode: u32 },
    /// The bundle is not a valid version-1 bundle.
    Malformed {
        path: PathBuf,
        line: Option<usize>,
        message: String,
        help: Option<String>,
    },
    /// The bundle was written by a newer (or unknown) format version.
    UnsupportedVersion { path: PathBuf, found: i64 },
    /// The spec asks for a different key algorithm than the existing CA uses.
    AlgorithmChange {
        existing: KeyAlgorithm,
        requested: KeyAlgorithm,
    },
    /// The bundle records another cluster than the one being built.
    OtherCluster {
        path: Option<PathBuf>,
        recorded: String,
        wanted: String,
    },
    /// Bringing the bundle in line would drop private keys, and `--force` was not given.
    RemovesKeyMaterial { path: PathBuf, what: Vec<String> },
    /// The cluster description gives something the PKI cannot be built from.
    InvalidSpec { message: String },
    /// A registry login given to `hac secrets set-registry-login` cannot be stored
    /// (its name or its user name; never carries the password).
    InvalidRegistryLogin { message: String },
    /// Key generation or signing failed.
    Crypto { context: String, detail: String },
}

impl SecretsError {
    pub(crate) fn io(path: &Path, action: &'static str, source: io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }

    pub(crate) fn crypto(context: impl Into<String>, detail: impl fmt::Display) -> Self {
        Self::Crypto {
            context: context.into(),
            detail: detail.to_string(),
        }
    }

    /// How to fix the problem, when there is a clear fix.
    pub fn help(&self) -> Option<String> {
        match self {
            Self::Io { .. } | Self::Crypto { .. } | Self::InvalidSpec { .. } => None,
            Self::InvalidRegistryLogin { .. } => Some(
                "run `hac secrets set-registry-login NAME --username USER FILE` with the password or token on standard input"
                    .into(),
            ),
            Self::Missing { .. } => Some(
                "create it with `hac secrets init`, or run `hac build`, which creates it".into(),
            ),
            Self::NoEncryptionKey { .. } => Some(
                "set `controlplane.encryptSecrets = true;` and run `hac build`, which creates the key"
                    .into(),
            ),
            Self::AlreadyExists { .. } => Some(
                "pass `--force` to replace it; every node built with the old secrets must then be rebuilt"
                    .into(),
            ),
            Self::SameAsSource { .. } => Some(
                "name a different file with `--secrets PATH` (by default the bundle of `NAME.EXT` is `NAME.secrets`)"
                    .into(),
            ),
            Self::BundleOfStdin => Some("name the bundle with `--secrets PATH`".into()),
            Self::TooOpen { path, .. } => Some(format!("run `chmod 600 {}`", path.display())),
            Self::Malformed { help, .. } => help.clone(),
            Self::UnsupportedVersion { .. } => {
                Some("upgrade hac, or re-create the bundle with `hac secrets init --force`".into())
            }
            Self::OtherCluster { wanted, .. } => Some(format!(
                "every cluster needs its own bundle: leave out `--secrets` to use the one beside the description, or name `{wanted}`'s bundle; if the cluster was renamed, change `cluster` in the bundle to `{wanted}`"
            )),
            Self::RemovesKeyMaterial { .. } => Some(
                "if the cluster description is right, run the build again with `--force`: hac first keeps a copy of the current bundle beside it (mode 0600)"
                    .into(),
            ),
            Self::AlgorithmChange { .. } => Some(
                "keep the old algorithm, or re-create the bundle with `hac secrets init --force` and rebuild every node"
                    .into(),
            ),
        }
    }
}

impl fmt::Display for SecretsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io {
                path,
                action,
                source,
            } => write!(f, "cannot {action} `{}`: {source}", path.display()),
            Self::Missing { path } => {
                write!(f, "secrets file `{}` does not exist", path.display())
            }
            Self::NoEncryptionKey { path } => write!(
                f,
                "secrets file `{}` has no key that encrypts Secrets at rest",
                path.display()
            ),
            Self::AlreadyExists { path } => {
                write!(f, "secrets file `{}` already exists", path.display())
            }
            Self::SameAsSource { path } => write!(
                f,
                "the secrets bundle `{}` is the cluster description itself; writing the bundle would destroy it",
                path.display()
            ),
            Self::BundleOfStdin => write!(
                f,
                "a description read from standard input has no bundle beside it"
            ),
            Self::TooOpen { path, mode } => write!(
                f,
                "secrets file `{}` is accessible by other users (mode {mode:04o}); it must be readable by its owner only",
                path.display()
            ),
            Self::Malformed {
                path,
                line,
                message,
                ..
            } => match line {
                Some(line) => write!(f, "{}:{line}: {message}", path.display()),
                None => write!(f, "{}: {message}", path.display()),
            },
            Self::UnsupportedVersion { path, found } => write!(
                f,
                "secrets file `{}` has format version {found}, but this hac reads version {}",
                path.display(),
                super::format::FORMAT_VERSION
            ),
            Self::AlgorithmChange {
                existing,
                requested,
            } => write!(
                f,
                "the cluster CA uses `{existing}` but `{requested}` is requested; changing the key algorithm means a new CA, which invalidates every node"
            ),
            Self::OtherCluster {
                path,
                recorded,
                wanted,
            } => {
                match path {
                    Some(path) => write!(f, "secrets file `{}`", path.display())?,
                    None => f.write_str("the secrets bundle")?,
                }
                write!(
                    f,
                    " belongs to cluster `{recorded}`, not `{wanted}`; building with it would give two clusters one CA"
                )
            }
            Self::RemovesKeyMaterial { path, what } => write!(
                f,
                "the build would remove private keys from `{}`: {}",
                path.display(),
                what.join("; ")
            ),
            Self::InvalidSpec { message } | Self::InvalidRegistryLogin { message } => {
                f.write_str(message)
            }
            Self::Crypto { context, detail } => write!(f, "{context}: {detail}"),
        }
    }
}

impl std::error::Error for SecretsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Lets the command line render the error with its fix through miette.
impl miette::Diagnostic for SecretsError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        SecretsError::help(self).map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }
}
