//! Lints over a well-formed [`Cluster`]: mistakes that only show when several values
//! are looked at together (duplicates, overlaps, topology), and designs that come up
//! but are not highly available.

mod addressing;
mod downloads;
mod environment;
mod topology;

pub use environment::pod_mtu;

#[cfg(test)]
mod tests;

use hac_lang::{Diagnostic, Origin, Severity};

use crate::model::Cluster;

/// Every lint diagnostic for the cluster, errors and warnings, in no particular order.
pub fn lint(cluster: &Cluster) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    addressing::check(cluster, &mut out);
    environment::check(cluster, &mut out);
    topology::check(cluster, &mut out);
    downloads::check(cluster, &mut out);
    out
}

fn report(
    severity: Severity,
    code: &'static str,
    origin: Origin,
    message: String,
    label: impl Into<String>,
) -> Diagnostic {
    Diagnostic::new(severity, code, message).with_primary(origin.file, origin.span, label)
}

fn error(
    code: &'static str,
    origin: Origin,
    message: String,
    label: impl Into<String>,
) -> Diagnostic {
    report(Severity::Error, code, origin, message, label)
}

fn advice(
    code: &'static str,
    origin: Origin,
    message: String,
    label: impl Into<String>,
) -> Diagnostic {
    report(Severity::Advice, code, origin, message, label)
}

fn warning(
    code: &'static str,
    origin: Origin,
    message: String,
    label: impl Into<String>,
) -> Diagnostic {
    report(Severity::Warning, code, origin, message, label)
}
