//! The secrets bundle, checked from the outside: the file on disk, and the PKI as
//! `openssl` and a real etcd see it.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use hac::secrets::{self, CertificateAndKey, EtcdMember, KeyAlgorithm, SecretsError, SecretsSpec};

// ---------------------------------------------------------------- helpers

/// A directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "hac-secrets-{label}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn member(name: &str, address: &str) -> EtcdMember {
    EtcdMember {
        name: name.into(),
        address: address.into(),
    }
}

fn spec(algorithm: KeyAlgorithm, members: &[(&str, &str)]) -> SecretsSpec {
    SecretsSpec {
        cluster: None,
        key_algorithm: Some(algorithm),
        etcd_members: members.iter().map(|(n, a)| member(n, a)).collect(),
        encrypt_secrets: false,
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn inode(path: &Path) -> u64 {
    fs::metadata(path).unwrap().ino()
}

fn is_token(token: &str) -> bool {
    let lower_alnum = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    matches!(token.split_once('.'), Some((id, secret)) if lower_alnum(id, 6) && lower_alnum(secret, 16))
}

fn lines_that_differ(a: &str, b: &str) -> Vec<String> {
    assert_eq!(a.lines().count(), b.lines().count());
    a.lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.split('=').next().unwrap_or("").trim().to_owned())
        .collect()
}

// ---------------------------------------------------------------- the file

#[test]
fn init_writes_a_private_file_with_well_formed_secrets() {
    let dir = Scratch::new("init");
    let path = dir.path("cluster.secrets");
    let bundle = secrets::init(&path, &spec(KeyAlgorithm::EcdsaP256, &[]), false).unwrap();

    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        dir.entries(),
        ["cluster.secrets", "cluster.secrets.lock"],
        "temporary files left behind"
    );

    let token = bundle.join_token_now().token();
    assert!(is_token(token.expose()), "bad token format");
    assert_eq!(bundle.token_generation(), 0);
    let key = bundle.certificate_key().expose();
    assert_eq!(key.len(), 64);
    assert!(key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    let hash = bundle.discovery_hash();
    let hex = hash.strip_prefix("sha256:").unwrap();
    assert!(hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));

    assert_eq!(secrets::load(&path).unwrap(), bundle);
}

#[test]
fn the_default_path_sits_beside_the_source() {
    assert_eq!(
        secrets::default_path(Path::new("clusters/prod.hac")),
        Path::new("clusters/prod.secrets")
    );
}

#[test]
fn a_bundle_readable_by_others_is_refused_with_the_fix() {
    let dir = Scratch::new("mode");
    let path = dir.path("cluster.secrets");
    let spec = spec(KeyAlgorithm::EcdsaP256, &[]);
    secrets::init(&path, &spec, false).unwrap();
    for bad in [0o644, 0o640, 0o604, 0o660] {
        fs::set_permissions(&path, fs::Permissions::from_mode(bad)).unwrap();
        let err = secrets::load(&path).unwrap_err();
        assert!(matches!(err, SecretsError::TooOpen { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&format!("mode {bad:04o}")), "{message}");
        let help = err.help().unwrap();
        assert_eq!(help, format!("run `chmod 600 {}`", path.display()));
        // every entry point that reads the file refuses it
        assert!(matches!(
            secrets::show(&path, false),
            Err(SecretsError::TooOpen { .. })
        ));
        assert!(matches!(
            secrets::ensure(&path, &spec),
            Err(SecretsError::TooOpen { .. })
        ));
        assert!(matches!(
            secrets::rotate_token(&path),
            Err(SecretsError::TooOpen { .. })
        ));
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    secrets::load(&path).unwrap();
}

#[test]
fn init_does_not_overwrite_without_force() {
    let dir = Scratch::new("force");
    let path = dir.path("c.secrets");
    let spec = spec(KeyAlgorithm::EcdsaP256, &[]);
    let first = secrets::init(&path, &spec, false).unwrap();
    let err = secrets::init(&path, &spec, false).unwrap_err();
    assert!(matches!(err, SecretsError::AlreadyExists { .. }), "{err:?}");
    assert!(err.help().unwrap().contains("--force"));
    assert_eq!(secrets::load(&path).unwrap(), first);
    let second = secrets::init(&path, &spec, true).unwrap();
    assert_ne!(second.discovery_hash(), first.discovery_hash());
    assert_eq!(secrets::load(&path).unwrap(), second);
}

#[test]
fn a_missing_bundle_is_reported_as_such() {
    let dir = Scratch::new("missing");
    let err = secrets::load(&dir.path("none.secrets")).unwrap_err();
    assert!(matches!(err, SecretsError::Missing { .. }));
    assert!(err.to_string().contains("does not exist"));
}

#[test]
fn ensure_creates_once_and_then_leaves_the_file_alone() {
    let dir = Scratch::new("ensure");
    let path = dir.path("c.secrets");
    let spec = spec(KeyAlgorithm::EcdsaP256, &[("etcd-a", "10.0.0.1")]);
    let (created, changes) = secrets::ensure(&path, &spec).unwrap();
    assert!(!changes.is_empty());
    assert_eq!(mode(&path), 0o600);
    let bytes = fs::read(&path).unwrap();
    let ino = inode(&path);

    for _ in 0..2 {
        let (again, changes) = secrets::ensure(&path, &spec).unwrap();
        assert!(changes.is_empty(), "{changes}");
        assert_eq!(again, created);
        assert_eq!(fs::read(&path).unwrap(), bytes);
        assert_eq!(inode(&path), ino, "an unchanged bundle was rewritten");
    }
    assert_eq!(dir.entries(), ["c.secrets", "c.secrets.lock"]);
}

#[test]
fn loading_and_saving_gives_identical_bytes() {
    let dir = Scratch::new("determinism");
    let path = dir.path("a.secrets");
    let copy = dir.path("b.secrets");
    let spec = spec(
        KeyAlgorithm::EcdsaP256,
        &[("etcd-b", "10.0.0.2"), ("etcd-a", "etcd-a.example.org")],
    );
    secrets::ensure(&path, &spec).unwrap();
    secrets::save(&copy, &secrets::load(&path).unwrap()).unwrap();
    assert_eq!(fs::read(&path).unwrap(), fs::read(&copy).unwrap());
}

#[test]
fn member_changes_touch_only_those_members() {
    let dir = Scratch::new("members");
    let path = dir.path("c.secrets");
    let algorithm = KeyAlgorithm::EcdsaP256;
    let (before, _) = secrets::ensure(
        &path,
        &spec(
            algorithm,
            &[
                ("etcd-a", "10.0.0.1"),
                ("etcd-b", "10.0.0.2"),
                ("etcd-c", "10.0.0.3"),
            ],
        ),
    )
    .unwrap();
    let changed = spec(
        algorithm,
        &[
            ("etcd-a", "10.0.0.1"),
            ("etcd-b", "10.0.0.20"),
            ("etcd-d", "10.0.0.4"),
        ],
    );
    // Dropping `etcd-c` and `etcd-b`'s old keys needs `--force`; without it nothing
    // changes and no copy is made.
    let old_bytes = fs::read(&path).unwrap();
    let refused = secrets::ensure(&path, &changed).unwrap_err();
    assert!(
        matches!(refused, secrets::SecretsError::RemovesKeyMaterial { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("`etcd-c`"), "{refused}");
    assert!(refused.help().unwrap().contains("--force"));
    assert_eq!(fs::read(&path).unwrap(), old_bytes);
    assert_eq!(dir.entries(), ["c.secrets", "c.secrets.lock"]);

    let ensured = secrets::ensure_with(&path, &changed, true).unwrap();
    let (after, changes) = (ensured.bundle, ensured.changes);
    let copy = ensured.kept_copy.expect("a copy of the old bundle");
    assert_eq!(copy.parent(), path.parent());
    assert_eq!(fs::read(&copy).unwrap(), old_bytes);
    assert_eq!(mode(&copy), 0o600);
    assert_eq!(secrets::load(&copy).unwrap(), before);
    let report = changes.to_string();
    assert!(
        report.contains("issued certificates for etcd member `etcd-d`"),
        "{report}"
    );
    assert!(report.contains("re-issued certificates for etcd member `etcd-b` (address changed from `10.0.0.2` to `10.0.0.20`)"), "{report}");
    assert!(
        report.contains("removed the certificates of etcd member `etcd-c`"),
        "{report}"
    );
    assert!(!report.contains("etcd-a"), "{report}");

    let (b, a) = (before.etcd().unwrap(), after.etcd().unwrap());
    assert_eq!(a.member("etcd-a"), b.member("etcd-a"));
    assert_ne!(
        a.member("etcd-b").unwrap().peer(),
        b.member("etcd-b").unwrap().peer()
    );
    assert!(a.member("etcd-c").is_none());
    assert_eq!(a.ca(), b.ca());
    assert_eq!(after.cluster_ca(), before.cluster_ca());
    assert_eq!(after.join_seed(), before.join_seed());
    assert_eq!(secrets::load(&path).unwrap(), after);
}

#[test]
fn changing_the_key_algorithm_is_refused_and_leaves_the_file() {
    let dir = Scratch::new("algorithm");
    let path = dir.path("c.secrets");
    secrets::ensure(&path, &spec(KeyAlgorithm::EcdsaP256, &[])).unwrap();
    let bytes = fs::read(&path).unwrap();
    let err = secrets::ensure(&path, &spec(KeyAlgorithm::Rsa2048, &[])).unwrap_err();
    assert!(err.to_string().contains("invalidates every node"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[test]
fn rotating_the_token_changes_only_the_token_generation() {
    let dir = Scratch::new("rotate-token");
    let path = dir.path("c.secrets");
    let before = secrets::init(
        &path,
        &spec(KeyAlgorithm::EcdsaP256, &[("e", "10.0.0.1")]),
        false,
    )
    .unwrap();
    let old_text = fs::read_to_string(&path).unwrap();
    let old_inode = inode(&path);

    let id = secrets::rotate_token(&path).unwrap();
    let new_text = fs::read_to_string(&path).unwrap();
    assert_eq!(
        lines_that_differ(&old_text, &new_text),
        ["token-generation"]
    );
    let after = secrets::load(&path).unwrap();
    assert_eq!(after.token_generation(), before.token_generation() + 1);
    assert_eq!(after.join_seed(), before.join_seed());
    assert_eq!(after.join_token_now().id(), id);
    assert_ne!(after.join_token_now(), before.join_token_now());
    assert!(is_token(after.join_token_now().token().expose()));
    // replaced by rename, never rewritten in place
    assert_ne!(inode(&path), old_inode);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(dir.entries(), ["c.secrets", "c.secrets.lock"]);
}

#[test]
fn rotating_the_certificate_key_changes_only_that_key() {
    let dir = Scratch::new("rotate-key");
    let path = dir.path("c.secrets");
    let before = secrets::init(&path, &spec(KeyAlgorithm::EcdsaP256, &[]), false).unwrap();
    let old_text = fs::read_to_string(&path).unwrap();
    secrets::rotate_certificate_key(&path).unwrap();
    let new_text = fs::read_to_string(&path).unwrap();
    assert_eq!(lines_that_differ(&old_text, &new_text), ["certificate-key"]);
    let after = secrets::load(&path).unwrap();
    assert_ne!(after.certificate_key(), before.certificate_key());
    assert_eq!(after.certificate_key().expose().len(), 64);
}

#[test]
fn writing_through_a_symlink_updates_its_target() {
    let dir = Scratch::new("symlink");
    fs::create_dir(dir.path("vault")).unwrap();
    let target = dir.path("vault/c.secrets");
    let link = dir.path("link.secrets");
    let before = secrets::init(&target, &spec(KeyAlgorithm::EcdsaP256, &[]), false).unwrap();
    // A relative link, resolved against the link's directory, not the process's.
    std::os::unix::fs::symlink("vault/c.secrets", &link).unwrap();

    let id = secrets::rotate_token(&link).unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced by a regular file"
    );
    let after = secrets::load(&target).unwrap();
    assert_eq!(after.join_token_now().id(), id);
    assert_ne!(after.join_token_now(), before.join_token_now());
    assert_eq!(mode(&target), 0o600);
    // The temporary file and the lock live beside the target, in the same file system.
    assert_eq!(dir.entries(), ["link.secrets", "vault"]);
    let mut beside_target: Vec<String> = fs::read_dir(dir.path("vault"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside_target.sort();
    assert_eq!(beside_target, ["c.secrets", "c.secrets.lock"]);

    secrets::rotate_certificate_key(&link).unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_ne!(
        secrets::load(&target).unwrap().certificate_key(),
        before.certificate_key()
    );
}

#[test]
fn a_save_removes_temporary_files_left_by_a_killed_write_and_nothing_else() {
    let dir = Scratch::new("stale");
    let path = dir.path("c.secrets");
    secrets::init(&path, &spec(KeyAlgorithm::EcdsaP256, &[]), false).unwrap();
    let write_private = |name: &str| {
        let planted = dir.path(name);
        fs::write(&planted, fs::read(&path).unwrap()).unwrap();
        fs::set_permissions(&planted, fs::Permissions::from_mode(0o600)).unwrap();
    };
    // What a write killed between creating and renaming its temporary file leaves.
    write_private(".c.secrets.0123456789ab.tmp");
    write_private(".c.secrets.ffffffffffff.tmp");
    // Names close to ours that are not ours.
    let others = [
        ".c.secrets.backup.tmp",
        ".c.secrets.0123456789ab.tmp.keep",
        ".d.secrets.0123456789ab.tmp",
        "c.secrets.0123456789ab.tmp",
    ];
    for name in others {
        write_private(name);
    }
    secrets::rotate_token(&path).unwrap();
    let mut expected: Vec<&str> = others.to_vec();
    expected.extend(["c.secrets", "c.secrets.lock"]);
    expected.sort_unstable();
    assert_eq!(dir.entries(), expected);
}

#[test]
fn the_suggested_rotation_repairs_a_malformed_seed_or_key() {
    let dir = Scratch::new("repair");
    let path = dir.path("c.secrets");
    let before = secrets::init(
        &path,
        &spec(KeyAlgorithm::EcdsaP256, &[("e", "10.0.0.1")]),
        false,
    )
    .unwrap();
    let good = fs::read_to_string(&path).unwrap();
    let seed_line = format!("join-seed = \"{}\"", before.join_seed().expose());
    let key_line = format!(
        "certificate-key = \"{}\"",
        before.certificate_key().expose()
    );
    let write = |text: &str| {
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    };

    // A seed cut short in an edit: loading says to rotate it, and rotating works.
    write(&good.replace(&seed_line, "join-seed = \"0123\""));
    let err = secrets::load(&path).unwrap_err();
    assert!(
        err.help().unwrap().contains("hac secrets rotate token"),
        "{err}"
    );
    secrets::rotate_token(&path).unwrap();
    let repaired = secrets::load(&path).unwrap();
    assert!(is_token(repaired.join_token_now().token().expose()));
    assert_eq!(repaired.join_seed().expose().len(), 64);
    assert_eq!(repaired.certificate_key(), before.certificate_key());
    assert_eq!(repaired.etcd(), before.etcd());
    assert_eq!(repaired.discovery_hash(), before.discovery_hash());

    write(&good.replace(&key_line, "certificate-key = \"ABC\""));
    let err = secrets::load(&path).unwrap_err();
    assert!(
        err.help()
            .unwrap()
            .contains("hac secrets rotate certificate-key"),
        "{err}"
    );
    secrets::rotate_certificate_key(&path).unwrap();
    let repaired = secrets::load(&path).unwrap();
    assert_eq!(repaired.certificate_key().expose().len(), 64);
    assert_eq!(repaired.join_seed(), before.join_seed());

    // Each rotation excuses only its own field, and a refused one writes nothing.
    let broken = good.replace(&key_line, "certificate-key = \"ABC\"");
    write(&broken);
    assert!(secrets::rotate_token(&path).is_err());
    assert_eq!(fs::read_to_string(&path).unwrap(), broken);
}

#[test]
fn show_prints_public_facts_and_secrets_only_when_asked() {
    let dir = Scratch::new("show");
    let path = dir.path("c.secrets");
    let bundle = secrets::init(
        &path,
        &spec(KeyAlgorithm::EcdsaP256, &[("etcd-a", "10.0.0.1")]),
        false,
    )
    .unwrap();
    let token = bundle.join_token_now();
    let secret = token.secret().expose();
    let seed = bundle.join_seed().expose();
    let key = bundle.certificate_key().expose();

    let shown = secrets::show(&path, false).unwrap();
    assert!(shown.contains(token.id()), "{shown}");
    assert!(shown.contains("token generation      0"), "{shown}");
    assert!(!shown.contains(seed), "join seed shown without --reveal");
    assert!(shown.contains(&bundle.discovery_hash()), "{shown}");
    assert!(shown.contains("CN=kubernetes"), "{shown}");
    assert!(shown.contains("ECDSA-P256"), "{shown}");
    assert!(shown.contains("etcd member etcd-a"), "{shown}");
    assert!(
        !shown.contains(secret),
        "token secret shown without --reveal"
    );
    assert!(
        !shown.contains(key),
        "certificate key shown without --reveal"
    );
    assert!(!shown.contains("PRIVATE KEY"));

    let revealed = secrets::show(&path, true).unwrap();
    assert!(revealed.contains(token.token().expose()));
    assert!(revealed.contains(seed));
    assert!(revealed.contains(key));
    assert!(!revealed.contains("PRIVATE KEY"));
}

#[test]
fn nothing_secret_leaks_through_debug_or_errors() {
    let dir = Scratch::new("leak");
    let path = dir.path("c.secrets");
    let bundle = secrets::init(
        &path,
        &spec(KeyAlgorithm::EcdsaP256, &[("etcd-a", "10.0.0.1")]),
        false,
    )
    .unwrap();
    let secret = bundle.join_seed().expose().to_owned();
    let key = bundle.certificate_key().expose().to_owned();
    let debug = format!("{bundle:#?}");
    assert!(!debug.contains(&secret) && !debug.contains(&key) && !debug.contains("PRIVATE KEY"));

    // damage the file around the secrets and look at every error
    let text = fs::read_to_string(&path).unwrap();
    let damaged = [
        text.replace(&secret, &format!("{secret}{secret}")),
        text.replace(&format!("\"{secret}\""), &secret),
        text.replace(&format!("\"{key}\""), &format!("\"{key}{key}\"")),
        text.replace(&format!("\"{key}\""), &key),
        text.replace(
            "-----END PRIVATE KEY-----",
            &format!("{secret}\n-----END PRIVATE KEY-----"),
        ),
        text.replace("version = 1", &format!("version = {secret}")),
    ];
    for case in damaged {
        fs::write(&path, case).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let err = secrets::load(&path).unwrap_err();
        let everything = format!("{err} | {:?} | {:?}", err.help(), err);
        assert!(
            !everything.contains(&secret),
            "token secret leaked: {everything}"
        );
        assert!(
            !everything.contains(&key),
            "certificate key leaked: {everything}"
        );
    }
}

// ---------------------------------------------------------------- openssl agrees

fn require(tool: &str, package: &str) {
    let found = Command::new(tool)
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "`{tool}` is needed by this test; install the Debian package `{package}` (scripts/test does)"
    );
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{program}`: {e}"))
}

fn ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "`{program} {}` failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn shell(script: &str) -> String {
    ok("sh", &["-c", script])
}

/// Writes `<name>.crt` and `<name>.key` and returns their paths.
fn write_pair(dir: &Scratch, name: &str, pair: &CertificateAndKey) -> (String, String) {
    let crt = dir.path(&format!("{name}.crt"));
    let key = dir.path(&format!("{name}.key"));
    fs::write(&crt, pair.certificate_pem()).unwrap();
    fs::write(&key, pair.private_key_pem().expose()).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    (
        crt.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    )
}

fn check_key(crt: &str, key: &str) {
    let checked = run("openssl", &["pkey", "-check", "-noout", "-in", key]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(
        checked.status.success() && said.contains("valid"),
        "{key}: {said}"
    );
    let from_key = ok("openssl", &["pkey", "-in", key, "-pubout"]);
    let from_crt = ok("openssl", &["x509", "-in", crt, "-noout", "-pubkey"]);
    assert_eq!(from_key, from_crt, "{key} does not belong to {crt}");
}

fn ext(crt: &str, name: &str) -> String {
    ok("openssl", &["x509", "-in", crt, "-noout", "-ext", name])
}

fn subject(crt: &str) -> String {
    ok(
        "openssl",
        &[
            "x509", "-in", crt, "-noout", "-subject", "-nameopt", "RFC2253",
        ],
    )
    .trim()
    .to_owned()
}

fn valid_for(crt: &str, seconds: u64) -> bool {
    run(
        "openssl",
        &[
            "x509",
            "-in",
            crt,
            "-noout",
            "-checkend",
            &seconds.to_string(),
        ],
    )
    .status
    .success()
}

const DAY: u64 = 86_400;

fn check_ca(
    dir: &Scratch,
    name: &str,
    pair: &CertificateAndKey,
    common_name: &str,
    algorithm: KeyAlgorithm,
) {
    let (crt, key) = write_pair(dir, name, pair);
    let text = ok("openssl", &["x509", "-in", &crt, "-noout", "-text"]);
    assert!(text.contains("CA:TRUE"), "{name}: {text}");
    assert!(
        text.contains("Digital Signature, Certificate Sign, CRL Sign"),
        "{name}: {text}"
    );
    match algorithm {
        KeyAlgorithm::EcdsaP256 => {
            assert!(
                text.contains("ecdsa-with-SHA256") && text.contains("prime256v1"),
                "{text}"
            )
        }
        KeyAlgorithm::Rsa2048 => assert!(
            text.contains("sha256WithRSAEncryption") && text.contains("(2048 bit)"),
            "{text}"
        ),
    }
    assert_eq!(subject(&crt), format!("subject=CN={common_name}"));
    // self-signed: verifies against itself as the only trust anchor
    let verified = ok("openssl", &["verify", "-CAfile", &crt, &crt]);
    assert!(verified.trim().ends_with(": OK"), "{verified}");
    check_key(&crt, &key);
    assert!(valid_for(&crt, 0));
    assert!(
        valid_for(&crt, 3649 * DAY),
        "{name} is not valid for ten years"
    );
    assert!(
        !valid_for(&crt, 3651 * DAY),
        "{name} is valid for more than ten years"
    );
}

fn check_leaf(
    dir: &Scratch,
    name: &str,
    pair: &CertificateAndKey,
    ca_crt: &str,
    common_name: &str,
    server: bool,
) -> (String, String) {
    let (crt, key) = write_pair(dir, name, pair);
    let purpose = if server { "sslserver" } else { "sslclient" };
    let verified = ok(
        "openssl",
        &["verify", "-CAfile", ca_crt, "-purpose", purpose, &crt],
    );
    assert_eq!(verified.trim(), format!("{crt}: OK"));
    if server {
        let as_client = ok(
            "openssl",
            &["verify", "-CAfile", ca_crt, "-purpose", "sslclient", &crt],
        );
        assert!(as_client.trim().ends_with(": OK"));
    }
    assert_eq!(subject(&crt), format!("subject=CN={common_name}"));
    let eku = ext(&crt, "extendedKeyUsage");
    let expected = if server {
        "TLS Web Server Authentication, TLS Web Client Authentication"
    } else {
        "TLS Web Client Authentication"
    };
    assert_eq!(
        eku.lines().nth(1).map(str::trim),
        Some(expected),
        "{name}: {eku}"
    );
    let basic = ext(&crt, "basicConstraints");
    assert!(basic.contains("CA:FALSE"), "{name}: {basic}");
    check_key(&crt, &key);
    assert!(valid_for(&crt, 0), "{name} is not valid now");
    assert!(valid_for(&crt, 364 * DAY));
    assert!(
        !valid_for(&crt, 366 * DAY),
        "{name} is valid for more than a year"
    );
    (crt, key)
}

fn openssl_agrees(algorithm: KeyAlgorithm) {
    require("openssl", "openssl");
    let dir = Scratch::new("openssl");
    let path = dir.path("c.secrets");
    let members = [
        ("etcd-a", "10.0.0.11"),
        ("etcd-b", "fd00::12"),
        ("etcd-c", "etcd-c.example.org"),
    ];
    let (bundle, _) = secrets::ensure(&path, &spec(algorithm, &members)).unwrap();
    assert_eq!(bundle.key_algorithm(), algorithm);

    check_ca(&dir, "ca", bundle.cluster_ca(), "kubernetes", algorithm);
    let hash = shell(&format!(
        "openssl x509 -pubkey -noout -in '{0}' | openssl pkey -pubin -outform der | openssl dgst -sha256 -r",
        dir.path("ca.crt").display()
    ));
    let hex = hash.split_whitespace().next().unwrap();
    assert_eq!(format!("sha256:{hex}"), bundle.discovery_hash());

    let etcd = bundle.etcd().unwrap();
    check_ca(&dir, "etcd-ca", etcd.ca(), "etcd-ca", algorithm);
    let etcd_ca = dir.path("etcd-ca.crt").to_string_lossy().into_owned();
    check_leaf(
        &dir,
        "healthcheck-client",
        etcd.healthcheck_client(),
        &etcd_ca,
        "kube-etcd-healthcheck-client",
        false,
    );
    check_leaf(
        &dir,
        "apiserver-etcd-client",
        etcd.apiserver_etcd_client(),
        &etcd_ca,
        "kube-apiserver-etcd-client",
        false,
    );

    let expected_sans = [
        "DNS:etcd-a, DNS:localhost, IP Address:10.0.0.11, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
        "DNS:etcd-b, DNS:localhost, IP Address:FD00:0:0:0:0:0:0:12, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
        "DNS:etcd-c, DNS:localhost, DNS:etcd-c.example.org, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    ];
    assert_eq!(etcd.members().len(), 3);
    for (m, sans) in etcd.members().iter().zip(expected_sans) {
        for (kind, pair) in [("server", m.server()), ("peer", m.peer())] {
            let (crt, _) = check_leaf(
                &dir,
                &format!("{}-{kind}", m.name()),
                pair,
                &etcd_ca,
                m.name(),
                true,
            );
            let found = ext(&crt, "subjectAltName");
            assert_eq!(
                found.lines().nth(1).map(str::trim),
                Some(sans),
                "{crt}: {found}"
            );
            // signed by the etcd CA, not by the cluster CA
            let wrong = run(
                "openssl",
                &[
                    "verify",
                    "-CAfile",
                    &dir.path("ca.crt").to_string_lossy(),
                    &crt,
                ],
            );
            assert!(
                !wrong.status.success(),
                "{crt} verifies against the cluster CA"
            );
        }
    }
}

#[test]
fn openssl_agrees_with_an_ecdsa_bundle() {
    openssl_agrees(KeyAlgorithm::EcdsaP256);
}

#[test]
fn openssl_agrees_with_an_rsa_bundle() {
    openssl_agrees(KeyAlgorithm::Rsa2048);
}

// ---------------------------------------------------------------- a real etcd

fn free_port(address: Ipv4Addr) -> u16 {
    TcpListener::bind((address, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Etcd(Child);

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn endpoint_health(endpoint: &str, ca: &str, crt: &str, key: &str) -> Output {
    Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .args([
            "--endpoints",
            endpoint,
            "--cacert",
            ca,
            "--cert",
            crt,
            "--key",
            key,
            "--dial-timeout",
            "2s",
            "--command-timeout",
            "3s",
            "endpoint",
            "health",
        ])
        .output()
        .expect("cannot run etcdctl")
}

fn etcd_serves_tls_with(algorithm: KeyAlgorithm) {
    require("etcd", "etcd-server");
    let etcdctl = Command::new("etcdctl").arg("version").output();
    assert!(
        etcdctl.is_ok(),
        "`etcdctl` is needed by this test; install the Debian package `etcd-client` (scripts/test does)"
    );

    let dir = Scratch::new("etcd");
    // a loopback address other than 127.0.0.1, so that the member's own address SAN is
    // what the client checks
    let address = Ipv4Addr::new(127, 0, 0, 2);
    let (client_port, peer_port) = (free_port(address), free_port(address));
    let (bundle, _) = secrets::ensure(
        &dir.path("c.secrets"),
        &spec(algorithm, &[("etcd-a", &address.to_string())]),
    )
    .unwrap();
    let etcd = bundle.etcd().unwrap();
    let member = etcd.member("etcd-a").unwrap();
    let (server_crt, server_key) = write_pair(&dir, "server", member.server());
    let (peer_crt, peer_key) = write_pair(&dir, "peer", member.peer());
    let (health_crt, health_key) =
        write_pair(&dir, "healthcheck-client", etcd.healthcheck_client());
    let (api_crt, api_key) =
        write_pair(&dir, "apiserver-etcd-client", etcd.apiserver_etcd_client());
    let ca = dir.path("etcd-ca.crt");
    fs::write(&ca, etcd.ca().certificate_pem()).unwrap();
    let ca = ca.to_string_lossy().into_owned();

    let client_url = format!("https://{address}:{client_port}");
    let peer_url = format!("https://{address}:{peer_port}");
    let log = fs::File::create(dir.path("etcd.log")).unwrap();
    let _etcd = Etcd(
        Command::new("etcd")
            .args([
                "--name",
                "etcd-a",
                "--data-dir",
                &dir.path("data").to_string_lossy(),
                "--listen-client-urls",
                &client_url,
                "--advertise-client-urls",
                &client_url,
                "--listen-peer-urls",
                &peer_url,
                "--initial-advertise-peer-urls",
                &peer_url,
                "--initial-cluster",
                &format!("etcd-a={peer_url}"),
                "--initial-cluster-state",
                "new",
                "--client-cert-auth",
                "--trusted-ca-file",
                &ca,
                "--cert-file",
                &server_crt,
                "--key-file",
                &server_key,
                "--peer-client-cert-auth",
                "--peer-trusted-ca-file",
                &ca,
                "--peer-cert-file",
                &peer_crt,
                "--peer-key-file",
                &peer_key,
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("cannot start etcd"),
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = endpoint_health(&client_url, &ca, &health_crt, &health_key);
        if out.status.success() {
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(said.contains("is healthy"), "{said}");
            break;
        }
        if Instant::now() > deadline {
            panic!(
                "etcd did not become healthy over TLS:\n{}\n--- etcd log ---\n{}",
                String::from_utf8_lossy(&out.stderr),
                fs::read_to_string(dir.path("etcd.log")).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(300));
    }
    let out = endpoint_health(&client_url, &ca, &api_crt, &api_key);
    assert!(
        out.status.success(),
        "apiserver-etcd-client refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // a client certificate from another bundle's etcd CA is refused
    let (other, _) =
        secrets::reconcile(None, &spec(algorithm, &[("etcd-a", &address.to_string())])).unwrap();
    let (bad_crt, bad_key) =
        write_pair(&dir, "stranger", other.etcd().unwrap().healthcheck_client());
    let out = endpoint_health(&client_url, &ca, &bad_crt, &bad_key);
    assert!(
        !out.status.success(),
        "etcd accepted a client certificate from a foreign CA"
    );
}

#[test]
fn etcd_serves_tls_with_ecdsa_certificates() {
    etcd_serves_tls_with(KeyAlgorithm::EcdsaP256);
}

#[test]
fn etcd_serves_tls_with_rsa_certificates() {
    etcd_serves_tls_with(KeyAlgorithm::Rsa2048);
}

// ------------------------------------------------ which cluster a bundle belongs to

fn spec_for(cluster: &str, members: &[(&str, &str)]) -> SecretsSpec {
    SecretsSpec {
        cluster: Some(cluster.to_owned()),
        ..spec(KeyAlgorithm::EcdsaP256, members)
    }
}

#[test]
fn a_bundle_records_its_cluster_and_is_refused_for_another() {
    let dir = Scratch::new("cluster");
    let path = dir.path("c.secrets");
    let (bundle, _) =
        secrets::ensure(&path, &spec_for("analytics", &[("etcd1", "10.0.0.1")])).unwrap();
    assert_eq!(bundle.cluster(), Some("analytics"));
    let id = bundle.cluster_id().expect("an id").to_owned();
    assert_eq!(id.len(), 32);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("\ncluster = \"analytics\"\n"), "{text}");
    assert!(
        text.contains(&format!("\ncluster-id = \"{id}\"\n")),
        "{text}"
    );
    // Another bundle never has the same id.
    let (other, _) = secrets::ensure(&dir.path("d.secrets"), &spec_for("analytics", &[])).unwrap();
    assert_ne!(other.cluster_id(), Some(id.as_str()));

    let before = fs::read(&path).unwrap();
    for force in [false, true] {
        let err = secrets::ensure_with(&path, &spec_for("prod", &[]), force).unwrap_err();
        assert!(matches!(err, SecretsError::OtherCluster { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("belongs to cluster `analytics`, not `prod`"),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), before);
    }
    assert_eq!(
        dir.entries(),
        ["c.secrets", "c.secrets.lock", "d.secrets", "d.secrets.lock"]
    );
}

#[test]
fn a_bundle_without_a_cluster_is_adopted_once() {
    let dir = Scratch::new("adopt");
    let path = dir.path("c.secrets");
    // What an earlier hac wrote: no `cluster`, no `cluster-id`.
    let (old, _) = secrets::ensure(&path, &spec(KeyAlgorithm::EcdsaP256, &[])).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let legacy: String = text
        .lines()
        .filter(|l| !l.starts_with("cluster = ") && !l.starts_with("cluster-id = "))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&path, &legacy).unwrap();
    let loaded = secrets::load(&path).unwrap();
    assert_eq!((loaded.cluster(), loaded.cluster_id()), (None, None));

    let (adopted, changes) = secrets::ensure(&path, &spec_for("prod", &[])).unwrap();
    assert_eq!(
        changes.0,
        [secrets::Change::RecordedCluster {
            name: "prod".to_owned()
        }]
    );
    assert_eq!(adopted.cluster(), Some("prod"));
    assert!(adopted.cluster_id().is_some());
    assert_eq!(adopted.cluster_ca(), old.cluster_ca());
    assert_eq!(adopted.join_seed().expose(), old.join_seed().expose());
    assert_eq!(adopted.token_generation(), old.token_generation());
    // Only the two lines were added, and no copy was needed.
    let now = fs::read_to_string(&path).unwrap();
    let without: String = now
        .lines()
        .filter(|l| !l.starts_with("cluster = ") && !l.starts_with("cluster-id = "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without, legacy);
    assert_eq!(now.lines().count(), legacy.lines().count() + 2);
    assert_eq!(dir.entries(), ["c.secrets", "c.secrets.lock"]);
    let (_, again) = secrets::ensure(&path, &spec_for("prod", &[])).unwrap();
    assert!(again.is_empty());
    assert!(secrets::ensure(&path, &spec_for("other", &[])).is_err());
}

#[test]
fn init_force_keeps_a_copy_and_the_clusters_id() {
    let dir = Scratch::new("init-force");
    let path = dir.path("c.secrets");
    let first = secrets::init(&path, &spec_for("prod", &[]), false).unwrap();
    let before = fs::read(&path).unwrap();
    let (second, kept) = secrets::init_keeping_copy(&path, &spec_for("prod", &[]), true).unwrap();
    let kept = kept.expect("a copy");
    assert_eq!(fs::read(&kept).unwrap(), before);
    assert_eq!(mode(&kept), 0o600);
    assert_ne!(second.cluster_ca(), first.cluster_ca());
    assert_eq!(second.cluster_id(), first.cluster_id());
    // Re-created for another cluster: a new id, and a second copy beside the first.
    let (third, kept_again) =
        secrets::init_keeping_copy(&path, &spec_for("edge", &[]), true).unwrap();
    assert_ne!(third.cluster_id(), first.cluster_id());
    assert_ne!(kept_again.expect("a copy"), kept);
    assert_eq!(dir.entries().len(), 4, "{:?}", dir.entries());
}
