//! The `#cloud-config` document of one host: its files in `write_files`, the
//! bootstrap script, the unit that resumes the script after a reboot, and a
//! `runcmd` that starts it once.

use serde_json::{Value, json};

use crate::emit::SpecError;
use crate::emit::bootstrap::{SCRIPT_PATH, STATE_DIR};
use crate::model::Host;

use super::{Context, HostFile, paths};

/// One host's assembled user-data.
pub struct Assembled {
    /// The final file list: deduplicated, the script and unit included.
    pub files: Vec<HostFile>,
    /// The document as data (what the YAML must read back as).
    pub document: Value,
    /// The `#cloud-config` text.
    pub user_data: String,
}

/// How the document becomes text: [`crate::emit::yaml::to_cloud_config_spliced`] in
/// builds, [`crate::emit::yaml::to_cloud_config`] in the reference they are tested
/// against; both write the same text.
pub type Writer = fn(&Value) -> Result<String, SpecError>;

/// The whole user-data of `host`.
pub fn assemble(
    context: &Context<'_>,
    host: &Host,
    files: Vec<HostFile>,
    script: String,
    write: Writer,
) -> Result<Assembled, SpecError> {
    let mut files = deduplicate(files)?;
    // Only root runs it; 0700 keeps the rendered steps out of other users' sight.
    files.push(HostFile {
        permissions: 0o700,
        ..HostFile::public(SCRIPT_PATH, script)
    });
    files.push(HostFile::public(paths::BOOTSTRAP_UNIT, bootstrap_unit()));
    // cloud-init stops writing files at the first owner it cannot resolve (a user
    // the image does not have yet): files of other owners go last, so hac's own
    // files and the script are always in place, and the `write-files` step names
    // the file that is missing. The sort is stable: otherwise the order stays.
    files.sort_by_key(|file| !is_root_owned(file));

    let mut doc = serde_json::Map::new();
    doc.insert("hostname".into(), json!(host.name.value));
    let keys = &context.cluster.ssh.authorized_keys;
    if !keys.is_empty() {
        doc.insert("ssh_authorized_keys".into(), json!(keys));
    }
    if let Some(bootcmd) = super::endpoint_hosts::bootcmd(context.cluster, host)? {
        doc.insert("bootcmd".into(), bootcmd);
    }
    doc.insert(
        "write_files".into(),
        Value::Array(files.iter().map(write_file_entry).collect()),
    );
    doc.insert(
        "runcmd".into(),
        json!([
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "hac-bootstrap.service"],
            [SCRIPT_PATH],
        ]),
    );
    let document = Value::Object(doc);
    let user_data = write(&document)?;
    Ok(Assembled {
        files,
        document,
        user_data,
    })
}

fn is_root_owned(file: &HostFile) -> bool {
    matches!(file.owner.as_str(), "root" | "root:root")
}

fn write_file_entry(file: &HostFile) -> Value {
    json!({
        "path": file.path,
        "owner": file.owner,
        "permissions": format!("{:04o}", file.permissions),
        "content": file.content,
    })
}

/// One entry per path. Two steps may need the same file (the CA for two waits);
/// they must agree on it.
fn deduplicate(files: Vec<HostFile>) -> Result<Vec<HostFile>, SpecError> {
    let mut unique: Vec<HostFile> = Vec::with_capacity(files.len());
    for file in files {
        match unique.iter().find(|f| f.path == file.path) {
            Some(existing) if *existing == file => {}
            Some(_) => {
                return Err(SpecError::new(format!(
                    "two steps write different contents to `{}`",
                    file.path
                ))
                .with_help(
                    "give the file one source (a user file may not replace a file hac writes)",
                ));
            }
            None => unique.push(file),
        }
    }
    Ok(unique)
}

/// cloud-init runs `runcmd` once per instance; after a reboot half-way, this unit
/// runs the script again, which skips the finished steps. It must not be ordered
/// after `cloud-final.service`: cloud-final runs after `multi-user.target`, which
/// waits for the units it wants, so systemd would break the cycle by dropping this
/// job. The script's lock keeps it from running twice at once.
fn bootstrap_unit() -> String {
    format!(
        "[Unit]\n\
         Description=hac bootstrap: resumes bringing this host into the cluster\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         ConditionPathExists=!{STATE_DIR}/done\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={SCRIPT_PATH}\n\
         TimeoutStartSec=infinity\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n"
    )
}

#[cfg(test)]
mod tests {
    use super::{HostFile, is_root_owned};

    #[test]
    fn only_root_and_root_root_count_as_root_owned() {
        let mut file = HostFile::public("/etc/x", "");
        assert!(is_root_owned(&file));
        file.owner = "root".to_owned();
        assert!(is_root_owned(&file));
        file.owner = "app:root".to_owned();
        assert!(!is_root_owned(&file));
    }
}
