//! `kubeadm init` and `kubeadm join`: their configuration files and commands.

use crate::emit::SpecError;
use crate::model::Host;

use super::{Context, Rendered};

pub fn init(
    _context: &Context<'_>,
    host: &Host,
    _upload_certs: bool,
) -> Result<Rendered, SpecError> {
    Err(SpecError::new(format!(
        "kubeadm-init on `{}` is not rendered yet",
        host.name.value
    )))
}

pub fn join(
    _context: &Context<'_>,
    host: &Host,
    _control_plane: bool,
) -> Result<Rendered, SpecError> {
    Err(SpecError::new(format!(
        "kubeadm-join on `{}` is not rendered yet",
        host.name.value
    )))
}
