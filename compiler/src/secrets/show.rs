//! The human-readable summary printed by `hac secrets show`.

use std::fmt::Write;
use std::path::Path;

use time::OffsetDateTime;

use super::bundle::Bundle;
use super::inspect::format_time;
use super::pki::CertificateAndKey;
use super::reconcile::RENEW_BEFORE;

/// The public facts of `bundle`; with `reveal`, also the bootstrap token and the
/// certificate key. Private keys are never printed: they stay in the file.
pub fn render(path: &Path, bundle: &Bundle, reveal: bool, now: OffsetDateTime) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{label:<22}{value}");
    };
    line("secrets file", &path.display().to_string());
    line("cluster", bundle.cluster().unwrap_or("(not recorded)"));
    line(
        "cluster id",
        bundle.cluster_id().unwrap_or("(not recorded)"),
    );
    line("key algorithm", bundle.key_algorithm().kubeadm_name());
    let token = bundle.join_token(now);
    let window = super::join::window_of(now);
    line("token generation", &bundle.token_generation().to_string());
    line(
        "bootstrap token id",
        &format!(
            "{} (this week's; valid until {})",
            token.id(),
            format_time(super::join::expiry_of(window))
        ),
    );
    if reveal {
        line("join seed", bundle.join_seed().expose());
        line("bootstrap token", token.token().expose());
        line("certificate key", bundle.certificate_key().expose());
    } else {
        line("join seed", "(hidden; --reveal shows it)");
        line("bootstrap token", "(hidden; --reveal shows it)");
        line("certificate key", "(hidden; --reveal shows it)");
    }
    line("encryption keys", &encryption_summary(bundle));
    // Passwords are never shown, not even with --reveal: the hosts need them, people
    // have them from where they came.
    if bundle.registry_logins().is_empty() {
        line("registry logins", "none");
    }
    for (name, login) in bundle.registry_logins() {
        line(
            &format!("registry login {name}"),
            &format!("user {} (password hidden)", login.username()),
        );
    }
    line("cluster CA", &certificate_summary(bundle.cluster_ca(), now));
    line("discovery hash", &bundle.discovery_hash());
    match bundle.etcd() {
        None => line("external etcd", "none"),
        Some(etcd) => {
            line("etcd CA", &certificate_summary(etcd.ca(), now));
            line(
                "etcd healthcheck",
                &certificate_summary(etcd.healthcheck_client(), now),
            );
            line(
                "apiserver-etcd-client",
                &certificate_summary(etcd.apiserver_etcd_client(), now),
            );
            for member in etcd.members() {
                line(
                    &format!("etcd member {}", member.name()),
                    &format!(
                        "address {}, server {}, peer {}",
                        member.address(),
                        expiry(member.server(), now),
                        expiry(member.peer(), now)
                    ),
                );
            }
        }
    }
    out
}

/// The names of the keys that encrypt Secrets at rest and where a rotation stands;
/// never the keys themselves, which stay in the file (and on the control planes).
fn encryption_summary(bundle: &Bundle) -> String {
    use super::encryption::RotationPhase;
    let Some(keys) = bundle.encryption_keys() else {
        return "none (controlplane.encryptSecrets is off)".to_owned();
    };
    let names: Vec<String> = keys.in_provider_order().iter().map(|k| k.name()).collect();
    match keys.phase() {
        RotationPhase::Settled => format!("{} encrypts", names[0]),
        RotationPhase::Staged => format!(
            "{} encrypts, {} staged (rotation step 1 of 3)",
            names[0], names[1]
        ),
        RotationPhase::Retiring => format!(
            "{} encrypts, {} still decrypts (rotation step 2 of 3)",
            names[0], names[1]
        ),
    }
}

fn certificate_summary(pair: &CertificateAndKey, now: OffsetDateTime) -> String {
    format!("{}, {}", pair.info().subject, expiry(pair, now))
}

fn expiry(pair: &CertificateAndKey, now: OffsetDateTime) -> String {
    let not_after = pair.info().not_after;
    let when = format_time(not_after);
    if not_after <= now {
        format!("EXPIRED {when}")
    } else if not_after - now < RENEW_BEFORE {
        format!("expires {when} (soon)")
    } else {
        format!("expires {when}")
    }
}
