//! Building blocks of the cloud-init emitter: YAML that cloud-init's YAML 1.1
//! loader reads back exactly, shell quoting, the per-host bootstrap script, the
//! haproxy and keepalived configurations, and validation of the documents against
//! the cloud-config and kubeadm schemas kept in `compiler/schemas/`.
//!
//! Every generator takes plain structs; the cluster model and the boot plan feed
//! them. Generators whose input could produce a broken or unsafe file check it and
//! return a [`SpecError`] instead of writing something that fails on the machine.

pub mod bootstrap;
pub mod haproxy;
pub mod keepalived;
pub mod shell;
pub mod validate;
pub mod yaml;

use std::fmt;

/// Input that a generator refuses because the file it would write is broken or
/// unsafe. `message` is one line without a trailing period and names the value in
/// backticks; `help` says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub message: String,
    pub help: Option<String>,
}

impl SpecError {
    pub fn new(message: impl Into<String>) -> Self {
        SpecError {
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// True when `name` is non-empty and made only of ASCII letters, digits and the
/// characters in `extra`: the safe alphabet for names that land unquoted in
/// configuration files or file names.
pub(crate) fn is_plain_name(name: &str, extra: &[char]) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}
