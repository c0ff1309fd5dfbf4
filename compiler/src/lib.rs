//! The hac compiler: the command line, the analysis shared by every front end,
//! the cluster model and its lints, the boot plan, secrets and PKI, and diagnostic
//! rendering.

pub mod analysis;
pub mod build;
pub mod cli;
pub mod day2;
pub mod emit;
pub mod fmt;
pub mod init;
pub mod lints;
pub mod lsp;
pub mod manual;
pub mod model;
pub mod password;
pub mod plan;
pub mod report;
pub mod sandbox;
pub mod secrets;
pub mod suppress;
