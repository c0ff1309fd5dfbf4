//! Which files a cluster description may read with `import` and `builtins.readFile`:
//! regular files inside the project root, never a secrets bundle (nor its lock or
//! temporary files) and never the output of `hac build`, whose user-data holds the
//! cluster's keys. The language applies the rules ([`hac_lang::loader::Confined`]);
//! this module knows the project's layout and which files are secret.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hac_lang::loader::{ReadPolicy, Sandbox};

use crate::build::output::MANIFEST;
use crate::secrets;

/// The file that marks a project root: imports may reach every file below the nearest
/// directory holding one.
pub const PROJECT_FILE: &str = "hac.toml";

/// The sandbox for the description `file`: rooted at `root` when given (`--root`),
/// else at the nearest directory above `file` that holds [`PROJECT_FILE`], else at
/// `file`'s directory. `bundle` is the secrets bundle the command uses, refused
/// whatever its name.
pub fn for_description(file: &Path, root: Option<&Path>, bundle: Option<&Path>) -> Sandbox {
    let root = match root {
        Some(root) => root.to_path_buf(),
        None => project_root(file),
    };
    let policy = SecretFiles {
        bundles: bundle.map(resolve).into_iter().collect(),
    };
    Sandbox::new(&root, Some(Arc::new(policy)))
}

/// The nearest directory above `file` holding [`PROJECT_FILE`], or `file`'s directory.
pub fn project_root(file: &Path) -> PathBuf {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let directory = hac_lang::loader::normalize(&absolute)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    directory
        .ancestors()
        .find(|dir| dir.join(PROJECT_FILE).is_file())
        .unwrap_or(&directory)
        .to_path_buf()
}

fn resolve(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        hac_lang::loader::normalize(
            &std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        )
    })
}

/// Refuses the files that hold the cluster's secrets.
struct SecretFiles {
    /// Bundles named on the command line (absolute, links resolved).
    bundles: Vec<PathBuf>,
}

impl ReadPolicy for SecretFiles {
    fn refuse(&self, path: &Path) -> Option<String> {
        let name = path.file_name()?.to_str().unwrap_or_default();
        let extension = format!(".{}", secrets::EXTENSION);
        if name.ends_with(&extension) || name.contains(&format!("{extension}.")) {
            return Some(format!(
                "it is a secrets bundle (`*{extension}`) or its lock, temporary file or copy, which hold the cluster's private keys and tokens"
            ));
        }
        for bundle in &self.bundles {
            let Some(bundle_name) = bundle.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            // The bundle, `<bundle>.lock`, copies `<bundle>.<...>` and temporary files
            // `.<bundle>.<random>.tmp`.
            let related = name == bundle_name
                || name.starts_with(&format!("{bundle_name}."))
                || name.starts_with(&format!(".{bundle_name}."));
            if path.parent() == bundle.parent() && related {
                return Some(
                    "it is the secrets bundle of this command, or its lock, temporary file or copy"
                        .to_owned(),
                );
            }
        }
        if starts_like_bundle(path) {
            return Some(
                "it is a secrets bundle (whatever its name), which holds the cluster's private keys and tokens"
                    .to_owned(),
            );
        }
        let directory = path.parent()?;
        if is_build_output(directory) {
            return Some(format!(
                "it is in `{}`, an output directory of `hac build`, whose user-data holds the cluster's keys",
                directory.display()
            ));
        }
        None
    }
}

/// Whether the file at `path` begins like a secrets bundle, judged from its first
/// bytes (a file that cannot be opened without blocking, or is not a regular file, is
/// left to the reader to refuse).
fn starts_like_bundle(path: &Path) -> bool {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    else {
        return false;
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut start = Vec::with_capacity(64);
    file.take(64).read_to_end(&mut start).is_ok() && secrets::starts_like_bundle(&start)
}

/// Whether `directory` is (or is being made into) the output of `hac build`: it holds
/// a manifest naming a cluster and its hosts, or it is a build's staging directory.
fn is_build_output(directory: &Path) -> bool {
    let staging = directory
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') && n.contains(".hac-new-"));
    if staging {
        return true;
    }
    let manifest = directory.join(MANIFEST);
    // Most directories hold none: one lookup says so, before the reader's checks.
    if std::fs::symlink_metadata(&manifest).is_err() {
        return false;
    }
    let Ok(text) = hac_lang::loader::read_regular_file(&manifest) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|value| {
        value.get("cluster").is_some() && value.get("hosts").is_some_and(|h| h.is_array())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use hac_lang::Loader;
    use hac_lang::loader::{Confined, FsLoader, refusal};

    fn refused_reason(sandbox: Sandbox, path: &Path) -> Option<String> {
        let confined = Confined {
            sandbox,
            inner: &FsLoader,
        };
        confined
            .read(path)
            .err()
            .and_then(|err| refusal(&err).map(str::to_owned))
    }

    #[test]
    fn refuses_bundles_locks_temporaries_and_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let file = root.join("cluster.hac");
        std::fs::write(&file, "{ }").unwrap();
        for name in [
            "cluster.secrets",
            "cluster.secrets.lock",
            ".cluster.secrets.0123456789ab.tmp",
            "custom.bin",
            "custom.bin.lock",
            "data.txt",
        ] {
            std::fs::write(root.join(name), "x").unwrap();
        }
        std::fs::create_dir(root.join("out")).unwrap();
        std::fs::write(
            root.join("out").join(MANIFEST),
            r#"{"cluster": "c", "hosts": []}"#,
        )
        .unwrap();
        std::fs::write(root.join("out/cp1.yaml"), "key").unwrap();
        let sandbox = || for_description(&file, None, Some(&root.join("custom.bin")));
        for name in [
            "cluster.secrets",
            "cluster.secrets.lock",
            ".cluster.secrets.0123456789ab.tmp",
            "custom.bin",
            "custom.bin.lock",
            "out/cp1.yaml",
        ] {
            assert!(
                refused_reason(sandbox(), &root.join(name)).is_some(),
                "{name} must be refused"
            );
        }
        assert_eq!(refused_reason(sandbox(), &root.join("data.txt")), None);
        // A bundle under any other name is known by its first line.
        let spec = secrets::SecretsSpec {
            key_algorithm: None,
            etcd_members: Vec::new(),
            encrypt_secrets: false,
            cluster: None,
        };
        secrets::init(&root.join("prod.bundle"), &spec, false).unwrap();
        let reason = refused_reason(sandbox(), &root.join("prod.bundle")).unwrap_or_default();
        assert!(reason.contains("whatever its name"), "{reason}");
    }

    #[test]
    fn hac_toml_marks_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("clusters/prod");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(project_root(&nested.join("c.hac")), nested);
        std::fs::write(dir.path().join(PROJECT_FILE), "").unwrap();
        assert_eq!(project_root(&nested.join("c.hac")), dir.path());
    }
}
