//! The pod network plugin, installed from the first control plane.

use crate::emit::SpecError;

use super::{Context, Rendered};

pub fn install(_context: &Context<'_>, cni: &str, _pods: &str) -> Result<Rendered, SpecError> {
    Err(SpecError::new(format!(
        "install-cni for `{cni}` is not rendered yet"
    )))
}
