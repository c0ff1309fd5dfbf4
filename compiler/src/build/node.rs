//! Node preparation: packages (Kubernetes ones pinned and held), kernel modules,
//! sysctls, swap, containerd's configuration.

use crate::emit::SpecError;
use crate::model::Host;

use super::{Context, Rendered};

use crate::plan::HostPlan;

pub fn install_packages(
    _context: &Context<'_>,
    host: &Host,
    _plan_host: &HostPlan,
    _packages: &[String],
) -> Result<Rendered, SpecError> {
    Err(SpecError::new(format!(
        "install-packages on `{}` is not rendered yet",
        host.name.value
    )))
}
