//! The hac compiler: the command line, the analysis shared by every front end,
//! and diagnostic rendering. The cluster model, boot plan and cloud-init emitter
//! build on these.

pub mod analysis;
pub mod cli;
pub mod emit;
pub mod report;
