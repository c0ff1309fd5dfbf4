//! The hac compiler: the command line, and (in time) the cluster model, the boot
//! plan and the cloud-init emitter.

pub mod cli;
pub mod secrets;
