//! Behaviour of the bundle as a whole: reconciling, the file format, redaction.

use std::path::Path;

use time::{Duration, OffsetDateTime};

use super::reconcile::reconcile_at;
use super::*;

fn member(name: &str, address: &str) -> EtcdMember {
    EtcdMember {
        name: name.into(),
        address: address.into(),
    }
}

fn spec(members: &[(&str, &str)]) -> SecretsSpec {
    SecretsSpec {
        cluster: None,
        key_algorithm: Some(KeyAlgorithm::EcdsaP256),
        etcd_members: members.iter().map(|(n, a)| member(n, a)).collect(),
        encrypt_secrets: false,
    }
}

fn fresh(members: &[(&str, &str)]) -> Bundle {
    reconcile(None, &spec(members)).unwrap().0
}

fn parse(text: &str) -> Result<Bundle, SecretsError> {
    format::parse(Path::new("test.secrets"), text)
}

#[test]
fn a_new_bundle_has_token_key_and_ca() {
    let (bundle, changes) = reconcile(None, &spec(&[])).unwrap();
    assert_eq!(changes.0, [Change::Created]);
    assert_eq!(bundle.join_seed().expose().len(), 64);
    assert_eq!(bundle.token_generation(), 0);
    assert_eq!(bundle.certificate_key().expose().len(), 64);
    let ca = bundle.cluster_ca().info();
    assert!(ca.is_ca);
    assert_eq!(ca.subject, "CN=kubernetes");
    assert!(bundle.etcd().is_none());
    let hash = bundle.discovery_hash();
    assert!(
        hash.starts_with("sha256:") && hash.len() == 7 + 64,
        "{hash}"
    );
}

#[test]
fn reconciling_an_unchanged_spec_changes_nothing() {
    let spec = spec(&[("etcd-a", "10.0.0.1"), ("etcd-b", "10.0.0.2")]);
    let (bundle, _) = reconcile(None, &spec).unwrap();
    let (again, changes) = reconcile(Some(bundle.clone()), &spec).unwrap();
    assert!(changes.is_empty(), "{changes}");
    assert_eq!(again, bundle);
}

#[test]
fn members_are_added_kept_reissued_and_removed_individually() {
    let before = fresh(&[("etcd-a", "10.0.0.1"), ("etcd-b", "10.0.0.2")]);
    let etcd_before = before.etcd().unwrap().clone();

    // add c, move b, drop a
    let (after, changes) = reconcile(
        Some(before.clone()),
        &spec(&[("etcd-c", "10.0.0.3"), ("etcd-b", "10.0.0.22")]),
    )
    .unwrap();
    let mut changes = changes.0;
    changes.sort_by_key(|c| format!("{c}"));
    assert_eq!(
        changes,
        [
            Change::AddedEtcdMember {
                name: "etcd-c".into()
            },
            Change::ReissuedEtcdMember {
                name: "etcd-b".into(),
                reason: ReissueReason::AddressChanged {
                    from: "10.0.0.2".into(),
                    to: "10.0.0.22".into()
                }
            },
            Change::RemovedEtcdMember {
                name: "etcd-a".into()
            },
        ]
    );
    let etcd = after.etcd().unwrap();
    assert_eq!(etcd.ca(), etcd_before.ca());
    assert_eq!(etcd.healthcheck_client(), etcd_before.healthcheck_client());
    assert_eq!(
        etcd.apiserver_etcd_client(),
        etcd_before.apiserver_etcd_client()
    );
    let names: Vec<&str> = etcd.members().iter().map(|m| m.name()).collect();
    assert_eq!(names, ["etcd-b", "etcd-c"]);
    let b = etcd.member("etcd-b").unwrap();
    assert_ne!(b.server(), etcd_before.member("etcd-b").unwrap().server());
    assert!(
        b.server()
            .info()
            .ip_addresses
            .contains(&"10.0.0.22".parse().unwrap())
    );
    // the rest of the bundle is untouched
    assert_eq!(after.join_seed(), before.join_seed());
    assert_eq!(after.certificate_key(), before.certificate_key());
    assert_eq!(after.cluster_ca(), before.cluster_ca());
}

#[test]
fn an_unchanged_member_keeps_its_certificates() {
    let before = fresh(&[("etcd-a", "10.0.0.1")]);
    let (after, _) = reconcile(
        Some(before.clone()),
        &spec(&[("etcd-a", "10.0.0.1"), ("etcd-b", "10.0.0.2")]),
    )
    .unwrap();
    assert_eq!(
        after.etcd().unwrap().member("etcd-a"),
        before.etcd().unwrap().member("etcd-a")
    );
}

#[test]
fn dropping_external_etcd_drops_its_pki() {
    let before = fresh(&[("etcd-a", "10.0.0.1")]);
    let (after, changes) = reconcile(Some(before), &spec(&[])).unwrap();
    assert_eq!(changes.0, [Change::RemovedEtcdPki]);
    assert!(after.etcd().is_none());
}

#[test]
fn the_key_algorithm_of_an_existing_bundle_cannot_change() {
    let before = fresh(&[]);
    let mut rsa = spec(&[]);
    rsa.key_algorithm = Some(KeyAlgorithm::Rsa2048);
    let err = reconcile(Some(before), &rsa).unwrap_err();
    assert!(matches!(err, SecretsError::AlgorithmChange { .. }));
    let message = err.to_string();
    assert!(
        message.contains("`ECDSA-P256`") && message.contains("`RSA-2048`"),
        "{message}"
    );
    assert!(err.help().unwrap().contains("init --force"));
}

#[test]
fn an_unspecified_algorithm_keeps_the_bundles_and_defaults_to_ecdsa() {
    let mut rsa = spec(&[]);
    rsa.key_algorithm = Some(KeyAlgorithm::Rsa2048);
    let (bundle, _) = reconcile(None, &rsa).unwrap();
    let unspecified = SecretsSpec::default();
    let (kept, changes) = reconcile(Some(bundle.clone()), &unspecified).unwrap();
    assert!(changes.is_empty());
    assert_eq!(kept, bundle);
    let (new, _) = reconcile(None, &unspecified).unwrap();
    assert_eq!(new.key_algorithm(), KeyAlgorithm::EcdsaP256);
}

#[test]
fn certificates_near_expiry_are_renewed_but_the_cas_are_kept() {
    let before = fresh(&[("etcd-a", "10.0.0.1")]);
    let later = OffsetDateTime::now_utc() + LEAF_VALIDITY - Duration::days(10);
    let (after, changes) = reconcile_at(
        Some(before.clone()),
        &spec(&[("etcd-a", "10.0.0.1")]),
        later,
    )
    .unwrap();
    assert_eq!(changes.0.len(), 3, "{changes}");
    let etcd = after.etcd().unwrap();
    assert_eq!(etcd.ca(), before.etcd().unwrap().ca());
    assert!(etcd.member("etcd-a").unwrap().server().info().not_after > later + Duration::days(300));
    assert_eq!(after.cluster_ca(), before.cluster_ca());
}

#[test]
fn leaf_certificates_never_outlive_their_ca() {
    let now = OffsetDateTime::now_utc();
    let ca = pki::new_ca(
        KeyAlgorithm::EcdsaP256,
        "etcd-ca",
        now - CA_VALIDITY + Duration::days(20),
    )
    .unwrap();
    let leaf = pki::new_leaf(
        &ca,
        KeyAlgorithm::EcdsaP256,
        &pki::LeafRequest {
            common_name: "x",
            dns_names: vec![],
            ip_addresses: vec![],
            usage: pki::LeafUsage::Client,
        },
        now,
    )
    .unwrap();
    assert_eq!(leaf.info().not_after, ca.info().not_after);
}

#[test]
fn serializing_a_parsed_bundle_gives_the_same_bytes() {
    let bundle = fresh(&[("etcd-b", "etcd-b.example.org"), ("etcd-a", "fd00::1")]);
    let text = format::serialize(&bundle);
    let parsed = parse(&text).unwrap();
    assert_eq!(parsed, bundle);
    assert_eq!(format::serialize(&parsed), text);
}

#[test]
fn the_file_starts_with_a_version_and_a_warning() {
    let text = format::serialize(&fresh(&[]));
    assert!(text.starts_with("# hac secrets bundle"));
    assert!(text.contains("\nversion = 1\n"));
    assert!(text.contains("out of version control"));
}

#[test]
fn debug_output_never_contains_secrets() {
    let bundle = fresh(&[("etcd-a", "10.0.0.1")]);
    let debug = format!("{bundle:?}{bundle:#?}");
    let seed = bundle.join_seed().expose();
    assert!(!debug.contains(seed), "join seed in Debug output");
    assert!(!debug.contains(bundle.certificate_key().expose()));
    assert!(!debug.contains("PRIVATE KEY"));
    assert!(debug.contains("token_generation: 0"));
}

#[test]
fn unknown_keys_are_refused_with_a_suggestion() {
    let text = format::serialize(&fresh(&[]));
    let err = parse(&text.replace("certificate-key =", "certificate-kye =")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.secrets: unknown key `certificate-kye`"
    );
    assert_eq!(
        err.help().as_deref(),
        Some("did you mean `certificate-key`?")
    );
    let err = parse(&format!("{text}\n[extra]\nx = 1\n")).unwrap_err();
    assert!(err.to_string().contains("unknown key `extra`"), "{err}");
}

#[test]
fn other_versions_are_refused() {
    let text = format::serialize(&fresh(&[]));
    let err = parse(&text.replace("version = 1", "version = 2\nnew-thing = 1")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "secrets file `test.secrets` has format version 2, but this hac reads version 1"
    );
    let err = parse(&text.replace("version = 1\n", "")).unwrap_err();
    assert_eq!(err.to_string(), "test.secrets: missing key `version`");
    let err = parse(&text.replace("version = 1", "version = \"1\"")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.secrets: `version` must be an integer, not string"
    );
}

#[test]
fn malformed_values_are_refused_without_quoting_them() {
    let bundle = fresh(&[("etcd-a", "10.0.0.1")]);
    let text = format::serialize(&bundle);
    let secret = bundle.join_seed().expose();
    let key = bundle.certificate_key().expose();

    let cases = [
        text.replace(secret, &secret.to_uppercase()),
        text.replace(secret, &format!("{secret}x")),
        text.replace(key, &key[1..]),
        text.replace(&format!("\"{secret}\""), secret),
        text.replace(&format!("\"{secret}\""), &format!("\"{secret}")),
        text.replace("token-generation = 0", "token-generation = -1"),
        text.replace("ECDSA-P256", "ECDSA-P384"),
    ];
    for case in cases {
        let err = parse(&case).unwrap_err();
        let message = format!("{err} {:?} {:?}", err.help(), err);
        assert!(!message.contains(secret), "secret leaked: {message}");
        assert!(
            !message.contains(key) && !message.contains(&key[1..]),
            "key leaked: {message}"
        );
    }
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused() {
    let one = fresh(&[]);
    let other = fresh(&[]);
    let text = format::serialize(&one).replace(
        one.cluster_ca().private_key_pem().expose(),
        other.cluster_ca().private_key_pem().expose(),
    );
    let err = parse(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.secrets: `cluster-ca`: the private key does not belong to the certificate"
    );
}

#[test]
fn member_certificates_from_another_etcd_ca_are_refused() {
    let one = fresh(&[("etcd-a", "10.0.0.1")]);
    let other = fresh(&[("etcd-a", "10.0.0.1")]);
    let theirs = other.etcd().unwrap().member("etcd-a").unwrap().server();
    let ours = one.etcd().unwrap().member("etcd-a").unwrap().server();
    let text = format::serialize(&one)
        .replace(ours.certificate_pem(), theirs.certificate_pem())
        .replace(
            ours.private_key_pem().expose(),
            theirs.private_key_pem().expose(),
        );
    let err = parse(&text).unwrap_err();
    assert!(
        err.to_string().contains("is not signed by the etcd CA"),
        "{err}"
    );
}

#[test]
fn a_recorded_address_that_the_certificates_do_not_cover_is_refused() {
    let bundle = fresh(&[("etcd-a", "10.0.0.1")]);
    let text = format::serialize(&bundle).replace("\"10.0.0.1\"", "\"10.0.0.9\"");
    let err = parse(&text).unwrap_err();
    assert!(
        err.to_string()
            .contains("does not cover its name and address `10.0.0.9`"),
        "{err}"
    );
}

#[test]
fn syntax_errors_give_a_line() {
    let err = parse("version = 1\nkey-algorithm = \n").unwrap_err();
    let SecretsError::Malformed { line, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*line, Some(2), "{err}");
}

#[test]
fn rsa_bundles_work_too() {
    let mut rsa = spec(&[("etcd-a", "10.0.0.1")]);
    rsa.key_algorithm = Some(KeyAlgorithm::Rsa2048);
    let (bundle, _) = reconcile(None, &rsa).unwrap();
    assert_eq!(bundle.key_algorithm(), KeyAlgorithm::Rsa2048);
    let text = format::serialize(&bundle);
    assert!(text.contains("key-algorithm = \"RSA-2048\""));
    assert_eq!(parse(&text).unwrap(), bundle);
}

#[test]
fn errors_render_through_miette_with_their_help() {
    let err = SecretsError::TooOpen {
        path: "x.secrets".into(),
        mode: 0o644,
    };
    let help = miette::Diagnostic::help(&err).unwrap().to_string();
    assert_eq!(help, "run `chmod 600 x.secrets`");
}

/// A bundle made `days_left` days before its CAs expire, with leaves long expired.
fn bundle_with_cas_expiring_in(days_left: i64, members: &[(&str, &str)]) -> Bundle {
    let created = OffsetDateTime::now_utc() - CA_VALIDITY + Duration::days(days_left);
    reconcile_at(None, &spec(members), created).unwrap().0
}

#[test]
fn leaves_capped_by_an_expiring_ca_are_renewed_once_not_on_every_build() {
    let members = [("etcd-a", "10.0.0.1")];
    let old = bundle_with_cas_expiring_in(20, &members);
    let now = OffsetDateTime::now_utc();
    // The leaves expired long ago: renewing them gains the 20 days the CA has left.
    let (renewed, changes) = reconcile_at(Some(old), &spec(&members), now).unwrap();
    assert_eq!(changes.0.len(), 3, "{changes}");
    let etcd = renewed.etcd().unwrap();
    assert_eq!(
        etcd.healthcheck_client().info().not_after,
        etcd.ca().info().not_after
    );
    // A new leaf would end with the CA just like the current one: nothing to gain, so
    // nothing changes, now or on a later build.
    for later in [now, now + Duration::days(5)] {
        let (again, changes) = reconcile_at(Some(renewed.clone()), &spec(&members), later).unwrap();
        assert!(changes.is_empty(), "{changes}");
        assert_eq!(again, renewed);
    }
}

#[test]
fn cas_with_less_than_a_year_left_are_warned_about() {
    let now = OffsetDateTime::now_utc();
    assert!(expiry_warnings(&fresh(&[("etcd-a", "10.0.0.1")]), now).is_empty());
    let expiring = bundle_with_cas_expiring_in(100, &[("etcd-a", "10.0.0.1")]);
    let warnings = expiry_warnings(&expiring, now);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("the cluster CA expires at "),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].starts_with("the etcd CA expires at "),
        "{}",
        warnings[1]
    );
    assert!(warnings[0].contains("(99 days left)") || warnings[0].contains("(100 days left)"));
    let expired = expiry_warnings(&expiring, now + Duration::days(101));
    assert!(
        expired[0].starts_with("the cluster CA expired at "),
        "{}",
        expired[0]
    );
}

#[test]
fn build_warns_about_an_expiring_ca_on_stderr_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/stacked.hac");
    let run = |bundle: &Bundle| {
        let path = dir.path().join("cluster.secrets");
        save(&path, bundle).unwrap();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut io = crate::cli::Io {
            stdout: &mut stdout,
            stderr: &mut stderr,
            style: crate::report::Style::plain(),
        };
        // Each bundle is another cluster (another id): it gets its own output.
        let out = dir
            .path()
            .join(format!("out-{}", bundle.cluster_id().unwrap_or("none")));
        let args = [
            "hac".as_ref(),
            "build".as_ref(),
            source.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--secrets".as_ref(),
            path.as_os_str(),
        ];
        let status = crate::cli::run(args, &hac_lang::FsLoader, &mut io);
        let (stdout, stderr) = (
            String::from_utf8(stdout).unwrap(),
            String::from_utf8(stderr).unwrap(),
        );
        assert_eq!(status, 0, "{stderr}");
        for secret in [
            bundle.join_seed().expose(),
            bundle.certificate_key().expose(),
        ] {
            assert!(!stdout.contains(secret) && !stderr.contains(secret));
        }
        stderr
    };
    let stderr = run(&bundle_with_cas_expiring_in(100, &[]));
    assert!(
        stderr.contains("warning: the cluster CA expires at "),
        "{stderr}"
    );
    let stderr = run(&fresh(&[]));
    assert!(!stderr.contains("warning:"), "{stderr}");
}

#[test]
fn only_our_temporary_names_are_recognised() {
    let ours = ".cluster.secrets.0123456789ab.tmp";
    assert!(file::is_temporary_of(ours, "cluster.secrets"));
    for other in [
        ".cluster.secrets.0123456789AB.tmp",
        ".cluster.secrets.0123456789a.tmp",
        ".cluster.secrets.0123456789abc.tmp",
        ".cluster.secrets.backup-01234.tmp",
        "cluster.secrets.0123456789ab.tmp",
        ".cluster.secrets.0123456789ab.tmp~",
        ".other.secrets.0123456789ab.tmp",
    ] {
        assert!(!file::is_temporary_of(other, "cluster.secrets"), "{other}");
    }
    assert!(!file::is_temporary_of(ours, "luster.secrets"));
}

#[test]
fn a_rotation_repairs_exactly_the_field_it_replaces() {
    let bundle = fresh(&[]);
    let text = format::serialize(&bundle);
    let seed_line = format!("join-seed = \"{}\"", bundle.join_seed().expose());
    let key_line = format!(
        "certificate-key = \"{}\"",
        bundle.certificate_key().expose()
    );
    let bad_seed = text.replace(&seed_line, "join-seed = \"NOT-A-SEED\"");
    let bad_key = text.replace(&key_line, "certificate-key = \"xyz\"");
    let path = Path::new("test.secrets");
    let next = || format::Replacement::NextTokenGeneration;
    let new_key = || format::Replacement::CertificateKey(Secret::new("0".repeat(64)));

    // A sound bundle: the generation goes up, the seed stays.
    let rotated = format::parse_replacing(path, &text, next()).unwrap();
    assert_eq!(rotated.token_generation(), 1);
    assert_eq!(rotated.join_seed(), bundle.join_seed());

    assert!(parse(&bad_seed).is_err());
    let repaired = format::parse_replacing(path, &bad_seed, next()).unwrap();
    assert_ne!(repaired.join_seed(), bundle.join_seed());
    assert_eq!(repaired.join_seed().expose().len(), 64);
    assert_eq!(repaired.certificate_key(), bundle.certificate_key());
    assert_eq!(repaired.cluster_ca(), bundle.cluster_ca());

    assert!(parse(&bad_key).is_err());
    let repaired = format::parse_replacing(path, &bad_key, new_key()).unwrap();
    assert_eq!(repaired.certificate_key().expose(), "0".repeat(64));
    assert_eq!(repaired.join_seed(), bundle.join_seed());

    // Only the replaced field is excused.
    assert!(format::parse_replacing(path, &bad_key, next()).is_err());
    assert!(format::parse_replacing(path, &bad_seed, new_key()).is_err());
}

/// A bundle made before join seeds (a `bootstrap-token` instead) still loads; the
/// next build adds a seed and says so, and the old token is no longer written.
#[test]
fn a_bundle_from_before_join_seeds_gets_one() {
    let bundle = fresh(&[]);
    let text = format::serialize(&bundle);
    let old = text
        .lines()
        .map(|line| {
            if line.starts_with("join-seed = ") {
                "bootstrap-token = \"abcdef.0123456789abcdef\"".to_owned()
            } else {
                line.to_owned()
            }
        })
        .filter(|line| !line.starts_with("token-generation = "))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let loaded = parse(&old).unwrap();
    assert_eq!(loaded.token_generation(), 0);
    let (reconciled, changes) = reconcile(Some(loaded), &spec(&[])).unwrap();
    assert_eq!(changes.0, [Change::AddedJoinSeed]);
    let written = format::serialize(&reconciled);
    assert!(!written.contains("bootstrap-token"), "{written}");
    assert_eq!(parse(&written).unwrap(), reconciled);
    // Neither a seed nor an old token: the seed is missing.
    let neither = old.replace("bootstrap-token = \"abcdef.0123456789abcdef\"\n", "");
    assert_eq!(
        parse(&neither).unwrap_err().to_string(),
        "test.secrets: missing key `join-seed`"
    );
}

#[test]
fn the_cluster_and_its_id_round_trip_and_are_checked() {
    let prod = SecretsSpec {
        cluster: Some("prod".to_owned()),
        ..spec(&[])
    };
    let (bundle, _) = reconcile(None, &prod).unwrap();
    let text = format::serialize(&bundle);
    let parsed = parse(&text).unwrap();
    assert_eq!(parsed.cluster(), Some("prod"));
    assert_eq!(parsed.cluster_id(), bundle.cluster_id());
    let id = bundle.cluster_id().unwrap();
    for (from, to, expected) in [
        (
            format!("cluster-id = \"{id}\""),
            "cluster-id = \"not-hex\"".to_owned(),
            "`cluster-id` must be 32 lowercase hexadecimal characters",
        ),
        (
            "cluster = \"prod\"".to_owned(),
            "cluster = \"Prod Cluster\"".to_owned(),
            "`cluster` must be a cluster name",
        ),
        (
            "cluster = \"prod\"".to_owned(),
            "cluster = 7".to_owned(),
            "`cluster` must be a string",
        ),
    ] {
        let err = parse(&text.replace(&from, &to)).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
    }
    // Another cluster's spec is refused by reconcile itself, too.
    let other = SecretsSpec {
        cluster: Some("edge".to_owned()),
        ..spec(&[])
    };
    let err = reconcile(Some(parsed), &other).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the secrets bundle belongs to cluster `prod`, not `edge`"),
        "{err}"
    );
}

fn encrypting() -> SecretsSpec {
    SecretsSpec {
        encrypt_secrets: true,
        ..spec(&[])
    }
}

#[test]
fn encryption_keys_are_added_once_kept_and_read_back_exactly() {
    let (bundle, _) = reconcile(None, &spec(&[])).unwrap();
    assert!(bundle.encryption_keys().is_none(), "only when asked for");
    let (bundle, changes) = reconcile(Some(bundle), &encrypting()).unwrap();
    assert_eq!(changes.0, [Change::CreatedEncryptionKey]);
    assert!(!changes.iter().any(Change::discards_a_key));
    let (again, changes) = reconcile(Some(bundle.clone()), &encrypting()).unwrap();
    assert!(changes.is_empty(), "{changes}");
    // Turning encryption off keeps the key: Secrets written with it still need it.
    let (off, changes) = reconcile(Some(again), &spec(&[])).unwrap();
    assert!(changes.is_empty());
    assert_eq!(off.encryption_keys(), bundle.encryption_keys());
    for keys in [
        bundle.encryption_keys().unwrap().clone(),
        bundle.encryption_keys().unwrap().rotated().unwrap(),
        bundle
            .encryption_keys()
            .unwrap()
            .rotated()
            .unwrap()
            .rotated()
            .unwrap(),
    ] {
        let mut with = bundle.clone();
        with.encryption = Some(keys);
        let text = format::serialize(&with);
        assert_eq!(parse(&text).unwrap(), with);
        assert_eq!(format::serialize(&parse(&text).unwrap()), text);
    }
}

#[test]
fn malformed_encryption_keys_are_refused_without_quoting_them() {
    let bundle = reconcile(None, &encrypting()).unwrap().0;
    let text = format::serialize(&bundle);
    let secret = bundle.encryption_keys().unwrap().in_provider_order()[0]
        .secret()
        .expose()
        .to_owned();
    let short = &secret[4..];
    for (broken, says) in [
        (text.replace(&secret, short), "32 bytes in base64"),
        (text.replace("number = 1", "number = 0"), "whole number"),
        (
            format!("{text}\n[[encryption-keys]]\nnumber = 1\nsecret = \"{secret}\"\n"),
            "different numbers",
        ),
        (
            format!(
                "{text}\n[[encryption-keys]]\nnumber = 2\nsecret = \"{secret}\"\n[[encryption-keys]]\nnumber = 3\nsecret = \"{secret}\"\n"
            ),
            "one or two keys",
        ),
    ] {
        let err = parse(&broken).unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
        assert!(!err.contains(short), "{err}");
    }
}

#[test]
fn debug_output_never_shows_an_encryption_key() {
    let bundle = reconcile(None, &encrypting()).unwrap().0;
    let keys = bundle.encryption_keys().unwrap().rotated().unwrap();
    let shown = format!("{bundle:?} {keys:?} {:#?}", keys.in_provider_order());
    for key in keys.in_provider_order() {
        assert!(!shown.contains(key.secret().expose()), "{shown}");
    }
    assert!(shown.contains("hac") || shown.contains("number"), "{shown}");
}

fn with_login(bundle: &mut Bundle, name: &str, username: &str, password: &str) {
    bundle.registry_logins.insert(
        name.to_owned(),
        RegistryLogin::new(username, Secret::new(password.to_owned())).unwrap(),
    );
}

#[test]
fn registry_logins_round_trip_byte_for_byte_and_survive_reconciling() {
    let mut bundle = fresh(&[]);
    with_login(&mut bundle, "lan", "robot", "pa\"ss\\word 'x'");
    with_login(&mut bundle, "a-first", "ci", "token");
    let text = format::serialize(&bundle);
    let read = parse(&text).unwrap();
    assert_eq!(read, bundle);
    assert_eq!(format::serialize(&read), text);
    // Sorted by name, whatever the insertion order.
    assert!(text.find("[registry-logins.a-first]") < text.find("[registry-logins.lan]"));
    let (again, changes) = reconcile(Some(read), &spec(&[])).unwrap();
    assert!(changes.is_empty(), "{changes}");
    assert_eq!(
        again.registry_login("lan").unwrap().password().expose(),
        "pa\"ss\\word 'x'"
    );
}

#[test]
fn malformed_registry_logins_are_named_never_quoted() {
    let mut bundle = fresh(&[]);
    with_login(&mut bundle, "lan", "robot", "Zq9SecretValue");
    let text = format::serialize(&bundle);
    let cases = [
        (
            text.replace(
                "password = \"Zq9SecretValue\"",
                "password = \"Zq9SecretValue\\n\"",
            ),
            "registry-logins.lan",
        ),
        (
            text.replace(
                "password = \"Zq9SecretValue\"",
                "passwd = \"Zq9SecretValue\"",
            ),
            "registry-logins.lan.passwd",
        ),
        (
            text.replace("[registry-logins.lan]", "[registry-logins.Lan]"),
            "registry-logins",
        ),
        (
            text.replace("password = \"Zq9SecretValue\"", "password = 7"),
            "password",
        ),
    ];
    for (broken, named) in cases {
        let err = parse(&broken).expect_err(named);
        let shown = format!("{err} {:?} {}", err, err.help().unwrap_or_default());
        assert!(shown.contains(named), "{shown}");
        assert!(!shown.contains("Zq9SecretValue"), "{shown}");
    }
}

#[test]
fn show_names_registry_logins_but_never_their_passwords() {
    let mut bundle = fresh(&[]);
    let now = OffsetDateTime::now_utc();
    let none = show::render(Path::new("b.secrets"), &bundle, true, now);
    assert!(none.contains("registry logins       none"), "{none}");
    with_login(&mut bundle, "lan", "robot", "Zq9SecretValue");
    for reveal in [false, true] {
        let shown = show::render(Path::new("b.secrets"), &bundle, reveal, now);
        assert!(
            shown.contains("registry login lan    user robot (password hidden)"),
            "{shown}"
        );
        assert!(!shown.contains("Zq9SecretValue"), "{shown}");
    }
    assert!(!format!("{bundle:?}").contains("Zq9SecretValue"));
}

#[test]
fn setting_a_login_changes_only_that_login() {
    let dir = std::env::temp_dir().join(format!("hac-login-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.secrets");
    let _ = std::fs::remove_file(&path);
    let created = init(&path, &spec(&[]), false).unwrap();
    let login = |p: &str| RegistryLogin::new("robot", Secret::new(p.to_owned())).unwrap();
    assert!(!set_registry_login(&path, "lan", login("one")).unwrap());
    assert!(set_registry_login(&path, "lan", login("two")).unwrap());
    let read = load(&path).unwrap();
    assert_eq!(
        read.registry_login("lan").unwrap().password().expose(),
        "two"
    );
    let mut expected = created;
    with_login(&mut expected, "lan", "robot", "two");
    assert_eq!(read, expected);
    assert!(set_registry_login(&path, "Not-A-Label", login("x")).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
