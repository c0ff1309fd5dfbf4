//! External etcd members: certificates, a standalone kubelet and the etcd static pod.

use crate::emit::SpecError;
use crate::model::Host;

use super::{Context, Rendered};

pub fn start_member(
    _context: &Context<'_>,
    host: &Host,
    _member: &str,
    _initial_cluster: &[String],
) -> Result<Rendered, SpecError> {
    Err(SpecError::new(format!(
        "start-etcd on `{}` is not rendered yet",
        host.name.value
    )))
}

pub fn confirm_quorum(_context: &Context<'_>, host: &Host) -> Result<Rendered, SpecError> {
    Err(SpecError::new(format!(
        "etcd-quorum on `{}` is not rendered yet",
        host.name.value
    )))
}
