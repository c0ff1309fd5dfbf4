//! The user's own files and commands (cluster-wide and per host).

use crate::emit::SpecError;
use crate::model::Host;

use super::{Context, Rendered};

pub fn write_files(
    _context: &Context<'_>,
    host: &Host,
    _paths: &[String],
) -> Result<Rendered, SpecError> {
    Err(SpecError::new(format!(
        "write-files on `{}` is not rendered yet",
        host.name.value
    )))
}

pub fn run_commands(_commands: &[String]) -> Result<Rendered, SpecError> {
    Err(SpecError::new("commands are not rendered yet"))
}
