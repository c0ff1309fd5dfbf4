//! haproxy and keepalived on load-balancer hosts (dedicated or colocated).

use crate::emit::SpecError;
use crate::model::Host;

use super::{Context, Rendered};

use crate::plan::Backend;

pub fn configure_haproxy(
    _context: &Context<'_>,
    host: &Host,
    _port: u16,
    _backends: &[Backend],
) -> Result<Rendered, SpecError> {
    Err(SpecError::new(format!(
        "configure-haproxy on `{}` is not rendered yet",
        host.name.value
    )))
}

pub fn configure_keepalived(
    _context: &Context<'_>,
    host: &Host,
    _vip: &str,
    _priority: u8,
    _peers: &[String],
) -> Result<Rendered, SpecError> {
    Err(SpecError::new(format!(
        "configure-keepalived on `{}` is not rendered yet",
        host.name.value
    )))
}

pub fn start(_keepalived: bool) -> Result<Rendered, SpecError> {
    Err(SpecError::new("start-load-balancer is not rendered yet"))
}
