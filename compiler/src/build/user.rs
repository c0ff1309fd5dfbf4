//! The user's own files and commands (cluster-wide and per host).
//!
//! Files travel in `write_files` (cloud-init writes them before the script starts,
//! with their mode and owner); the `write-files` step then confirms each one is in
//! place and sets mode and owner again. cloud-init gives up on the rest of
//! `write_files` at an owner it cannot resolve, which is why files of other owners
//! are written last (see `userdata`) and why this step checks for every file: it
//! fails naming the file that is missing instead of a later step failing obscurely.
//!
//! Commands are bash command lines the user wrote. Each reaches the script as one
//! word quoted by [`quote`] and runs through `bash -c`, so the line means exactly
//! what it would mean typed at a bash prompt, and nothing in it can reach the
//! script around it.

use crate::emit::SpecError;
use crate::emit::shell::quote;
use crate::model::{FileSpec, Host};

use super::{Context, HostFile, Rendered};

/// The files the plan names for this host, each once: a host's file replaces a
/// cluster-wide file at the same path.
pub fn write_files(
    context: &Context<'_>,
    host: &Host,
    paths: &[String],
) -> Result<Rendered, SpecError> {
    let mut rendered = Rendered::default();
    let mut seen: Vec<&str> = Vec::new();
    for path in paths {
        if seen.contains(&path.as_str()) {
            continue;
        }
        seen.push(path);
        let file = find_file(context, host, path).ok_or_else(|| {
            SpecError::new(format!(
                "the plan writes `{path}` but no file of the cluster or of `{}` has that path",
                host.name.value
            ))
        })?;
        rendered.files.push(HostFile {
            path: file.path.clone(),
            content: file.content.clone(),
            permissions: file.permissions,
            owner: file.owner.clone(),
        });
        let quoted = quote(&file.path)?;
        rendered.body.extend([
            format!("if [[ ! -f {quoted} ]]; then"),
            format!("  echo \"cloud-init did not write \"{quoted} >&2"),
            "  exit 1".to_owned(),
            "fi".to_owned(),
            format!(
                "chmod {} {quoted}",
                quote(&format!("{:04o}", file.permissions))?
            ),
            format!("chown {} {quoted}", quote(&file.owner)?),
        ]);
    }
    Ok(rendered)
}

/// The host's file at `path`, else the cluster's.
fn find_file<'a>(context: &Context<'a>, host: &'a Host, path: &str) -> Option<&'a FileSpec> {
    host.files
        .iter()
        .rev()
        .chain(context.cluster.files.iter().rev())
        .find(|file| file.path == path)
}

/// Runs each command line with `bash -c`, in order, logging it first; the first
/// failing command fails the step.
pub fn run_commands(commands: &[String]) -> Result<Rendered, SpecError> {
    let mut body = Vec::with_capacity(commands.len() * 2);
    for (index, command) in commands.iter().enumerate() {
        let quoted = quote(command)?;
        body.push(format!(
            "printf 'command {} of {}: %s\\n' {quoted}",
            index + 1,
            commands.len()
        ));
        body.push(format!("bash -c {quoted}"));
    }
    Ok(Rendered::new(Vec::new(), body))
}

#[cfg(test)]
mod tests {
    use super::run_commands;

    #[test]
    fn every_command_is_logged_and_run_as_one_quoted_word() {
        let rendered = run_commands(&["echo 'hi'; rm -rf /".to_owned()]).unwrap();
        assert_eq!(
            rendered.body,
            [
                r#"printf 'command 1 of 1: %s\n' 'echo '\'hi\''; rm -rf /'"#,
                r#"bash -c 'echo '\'hi\''; rm -rf /'"#,
            ]
        );
    }
}
