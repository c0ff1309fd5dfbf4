//! The day-2 commands on the real binary, the way an operator runs them: `hac
//! kubeconfig` (checked with openssl and kubectl), `hac join-info`, and the rotation
//! of the key that encrypts Secrets at rest; and no other command prints a secret.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use time::OffsetDateTime;

const HAC: &str = env!("CARGO_BIN_EXE_hac");

/// A scratch directory holding a copy of `examples/stacked.hac` with `settings`
/// added to the cluster (as `c.hac`), and its bundle made by `hac build`.
struct Cluster {
    dir: tempfile::TempDir,
}

impl Cluster {
    fn new(settings: &str, key_algorithm: Option<&str>) -> Cluster {
        Cluster::edited(settings, key_algorithm, ("", ""))
    }

    /// [`Cluster::new`], with `replace.0` replaced by `replace.1` in the source.
    fn edited(settings: &str, key_algorithm: Option<&str>, replace: (&str, &str)) -> Cluster {
        let source = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/stacked.hac"),
        )
        .expect("the stacked example");
        let marker = "  etcd = \"stacked\";\n";
        assert!(source.contains(marker) && source.contains(replace.0));
        let source = source
            .replacen(marker, &format!("{marker}{settings}\n"), 1)
            .replacen(replace.0, replace.1, 1);
        let dir = tempfile::tempdir().expect("a scratch directory");
        std::fs::write(dir.path().join("c.hac"), source).unwrap();
        let cluster = Cluster { dir };
        if let Some(algorithm) = key_algorithm {
            cluster.ok(&["secrets", "init", "c.hac", "--key-algorithm", algorithm]);
        }
        cluster.ok(&["build", "c.hac", "-o", "out"]);
        cluster
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(HAC)
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run hac")
    }

    fn ok(&self, args: &[&str]) -> Output {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "hac {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn bundle(&self) -> hac::secrets::Bundle {
        hac::secrets::load(&self.path("c.secrets")).expect("the bundle")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn tool(program: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed for this test: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// kubectl from the wheel `scripts/test` installs into target/test-tools, else PATH.
fn kubectl() -> String {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-tools/bin/kubectl");
    if venv.exists() {
        venv.to_string_lossy().into_owned()
    } else {
        "kubectl".to_owned()
    }
}

/// One field of the kubeconfig's first user or cluster, base64-decoded, as kubectl
/// reads it.
fn field(dir: &Path, config: &str, jsonpath: &str) -> String {
    let encoded = tool(
        &kubectl(),
        &[
            "config",
            "view",
            "--raw",
            "--kubeconfig",
            config,
            "-o",
            &format!("jsonpath={{{jsonpath}}}"),
        ],
        dir,
    );
    let output = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(encoded.as_bytes())?;
            child.wait_with_output()
        })
        .expect("base64");
    text(&output.stdout)
}

/// Writes the certificate and CA of `config` to `<stem>.crt` and `ca.crt`.
fn extract(dir: &Path, config: &str, stem: &str) {
    let crt = field(dir, config, ".users[0].user.client-certificate-data");
    let key = field(dir, config, ".users[0].user.client-key-data");
    let ca = field(
        dir,
        config,
        ".clusters[0].cluster.certificate-authority-data",
    );
    std::fs::write(dir.join(format!("{stem}.crt")), crt).unwrap();
    std::fs::write(dir.join(format!("{stem}.key")), key).unwrap();
    std::fs::write(dir.join("ca.crt"), ca).unwrap();
}

fn valid_in(dir: &Path, crt: &str, seconds: i64) -> bool {
    Command::new("openssl")
        .args([
            "x509",
            "-in",
            crt,
            "-noout",
            "-checkend",
            &seconds.to_string(),
        ])
        .current_dir(dir)
        .output()
        .expect("openssl")
        .status
        .success()
}

/// Issue 14: no way to reach the cluster without SSH. `hac kubeconfig` writes an
/// admin kubeconfig that kubectl reads, whose certificate chains to the cluster CA.
#[test]
fn kubeconfig_writes_a_private_admin_config_that_chains_to_the_cluster_ca() {
    let cluster = Cluster::new("", None);
    let dir = cluster.dir.path();
    let output = cluster.ok(&["kubeconfig", "c.hac", "admin.conf"]);
    assert!(output.stdout.is_empty(), "nothing on stdout");
    assert_eq!(mode(&cluster.path("admin.conf")), 0o600);
    let view = tool(
        &kubectl(),
        &["config", "view", "--kubeconfig", "admin.conf"],
        dir,
    );
    assert!(
        view.contains("server: https://api.prod.example.com:6443"),
        "{view}"
    );
    assert!(view.contains("current-context: hac-admin@prod"), "{view}");
    extract(dir, "admin.conf", "admin");
    assert_eq!(
        std::fs::read_to_string(cluster.path("ca.crt")).unwrap(),
        cluster.bundle().cluster_ca().certificate_pem()
    );
    assert!(
        tool(
            "openssl",
            &["verify", "-CAfile", "ca.crt", "admin.crt"],
            dir
        )
        .contains("OK")
    );
    let subject = tool(
        "openssl",
        &[
            "x509",
            "-in",
            "admin.crt",
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
        ],
        dir,
    );
    assert_eq!(
        subject.trim(),
        "subject=CN=hac-admin,O=kubeadm:cluster-admins"
    );
    let purpose = tool(
        "openssl",
        &["x509", "-in", "admin.crt", "-noout", "-purpose"],
        dir,
    );
    assert!(purpose.contains("SSL client : Yes"), "{purpose}");
    assert!(purpose.contains("SSL server : No"), "{purpose}");
    // The default lifetime is a day.
    assert!(valid_in(dir, "admin.crt", 23 * 3600));
    assert!(!valid_in(dir, "admin.crt", 25 * 3600));
    // The key in the file belongs to the certificate.
    let public = |args: &[&str]| tool("openssl", args, dir);
    assert_eq!(
        public(&["x509", "-in", "admin.crt", "-noout", "-pubkey"]),
        public(&["pkey", "-in", "admin.key", "-pubout"])
    );
    // The key was never printed.
    let key = std::fs::read_to_string(cluster.path("admin.key")).unwrap();
    let body = key.lines().nth(1).unwrap();
    assert!(!text(&output.stderr).contains(body));
}

#[test]
fn kubeconfig_for_a_named_user_with_groups_and_an_rsa_ca() {
    let cluster = Cluster::new("", Some("RSA-2048"));
    let dir = cluster.dir.path();
    cluster.ok(&[
        "kubeconfig",
        "c.hac",
        "alice.conf",
        "--user",
        "alice",
        "--group",
        "dev",
        "--group",
        "system:authenticated-ops",
        "--ttl",
        "2h",
    ]);
    extract(dir, "alice.conf", "alice");
    assert!(
        tool(
            "openssl",
            &["verify", "-CAfile", "ca.crt", "alice.crt"],
            dir
        )
        .contains("OK")
    );
    let subject = tool(
        "openssl",
        &[
            "x509",
            "-in",
            "alice.crt",
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
        ],
        dir,
    );
    assert_eq!(
        subject.trim(),
        "subject=CN=alice,O=system:authenticated-ops,O=dev"
    );
    assert!(valid_in(dir, "alice.crt", 3600));
    assert!(!valid_in(dir, "alice.crt", 2 * 3600 + 60));
    let public = |args: &[&str]| tool("openssl", args, dir);
    assert_eq!(
        public(&["x509", "-in", "alice.crt", "-noout", "-pubkey"]),
        public(&["pkey", "-in", "alice.key", "-pubout"])
    );
}

/// Before 1.29 kubeadm binds no `kubeadm:cluster-admins`: the admin gets the group
/// kubeadm's own admin had then.
#[test]
fn kubeconfig_for_an_older_cluster_uses_its_admin_group() {
    let cluster = Cluster::edited("", None, ("\"1.36.1\"", "\"1.28.4\""));
    let dir = cluster.dir.path();
    cluster.ok(&["kubeconfig", "c.hac", "admin.conf"]);
    extract(dir, "admin.conf", "admin");
    let subject = tool(
        "openssl",
        &[
            "x509",
            "-in",
            "admin.crt",
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
        ],
        dir,
    );
    assert_eq!(subject.trim(), "subject=CN=hac-admin,O=system:masters");
}

#[test]
fn kubeconfig_replaces_only_its_own_files_and_never_the_description() {
    let cluster = Cluster::new("", None);
    std::fs::write(cluster.path("mine.conf"), "apiVersion: v1\n").unwrap();
    let refused = cluster.run(&["kubeconfig", "c.hac", "mine.conf"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("--force"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(cluster.path("mine.conf")).unwrap(),
        "apiVersion: v1\n"
    );
    cluster.ok(&["kubeconfig", "c.hac", "mine.conf", "--force"]);
    let first = std::fs::read_to_string(cluster.path("mine.conf")).unwrap();
    cluster.ok(&["kubeconfig", "c.hac", "mine.conf"]);
    assert_ne!(
        std::fs::read_to_string(cluster.path("mine.conf")).unwrap(),
        first
    );
    for protected in ["c.hac", "c.secrets"] {
        let before = std::fs::read(cluster.path(protected)).unwrap();
        let refused = cluster.run(&["kubeconfig", "c.hac", protected, "--force"]);
        assert_eq!(refused.status.code(), Some(2), "{protected}");
        assert_eq!(std::fs::read(cluster.path(protected)).unwrap(), before);
    }
    // A bundle of another cluster is refused.
    let other = Cluster::new("", None);
    std::fs::copy(other.path("c.secrets"), cluster.path("other.secrets")).unwrap();
    std::fs::set_permissions(
        cluster.path("other.secrets"),
        PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let source = std::fs::read_to_string(cluster.path("c.hac")).unwrap();
    std::fs::write(
        cluster.path("d.hac"),
        source.replace("name = \"prod\"", "name = \"dev\""),
    )
    .unwrap();
    let refused = cluster.run(&[
        "kubeconfig",
        "d.hac",
        "d.conf",
        "--secrets",
        "other.secrets",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("belongs to cluster `prod`"));
}

#[test]
fn kubeconfig_to_a_pipe_prints_the_config_and_nothing_else() {
    let cluster = Cluster::new("", None);
    let output = cluster.ok(&["kubeconfig", "c.hac", "-"]);
    let config = text(&output.stdout);
    assert!(config.starts_with("# Written by `hac kubeconfig`"));
    assert!(config.contains("client-key-data: "));
    assert!(!text(&output.stderr).contains("client-key-data"));
    assert!(text(&output.stderr).contains("standard output"));
    // A standard output that cannot take it: exit 2, and no line says it was written.
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = Command::new(HAC)
        .args(["kubeconfig", "c.hac", "-"])
        .current_dir(cluster.dir.path())
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cannot write standard output"), "{stderr}");
    assert!(!stderr.contains("wrote"), "{stderr}");
}

#[test]
fn join_info_prints_the_token_the_keepers_keep_and_the_ca_hash() {
    let cluster = Cluster::new("", None);
    let dir = cluster.dir.path();
    let before = OffsetDateTime::now_utc();
    let output = cluster.ok(&["join-info", "c.hac"]);
    let after = OffsetDateTime::now_utc();
    let printed = text(&output.stdout);
    let bundle = cluster.bundle();
    // The token of the present week and of the bundle's generation: the one the
    // keepers make (they honour their own generation and the next).
    let token = [before, after].map(|at| bundle.join_token(at).token().expose().to_owned());
    let line = |key: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("no `{key}` in\n{printed}"))
            .to_owned()
    };
    assert!(token.contains(&line("token")), "{printed}");
    assert_eq!(line("endpoint"), "api.prod.example.com:6443");
    let expires = OffsetDateTime::parse(
        &line("token-expires"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        expires > after + time::Duration::days(6),
        "valid at least 6 more days"
    );
    assert!(expires <= after + time::Duration::days(13));
    // The hash kubeadm computes: SHA-256 of the CA's DER SubjectPublicKeyInfo.
    std::fs::write(
        cluster.path("ca.crt"),
        bundle.cluster_ca().certificate_pem(),
    )
    .unwrap();
    let der = Command::new("sh")
        .args([
            "-c",
            "openssl x509 -in ca.crt -noout -pubkey | openssl pkey -pubin -outform der | sha256sum",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    let hash = text(&der.stdout);
    assert_eq!(
        line("discovery-token-ca-cert-hash"),
        format!("sha256:{}", hash.split_whitespace().next().unwrap())
    );
    assert!(printed.contains(&format!(
        "kubeadm join api.prod.example.com:6443 --token {}",
        line("token")
    )));
    // The certificate key only when asked for.
    let key = bundle.certificate_key().expose().to_owned();
    assert!(!printed.contains(&key));
    let control_plane = text(
        &cluster
            .ok(&["join-info", "c.hac", "--control-plane"])
            .stdout,
    );
    assert!(control_plane.contains(&format!("--control-plane --certificate-key {key}")));
    assert!(control_plane.contains(
        "kubeadm init phase upload-certs --upload-certs --config /etc/hac/keeper-kubeadm.yaml"
    ));
}

/// The join token, the certificate key and the encryption key reach no output of any
/// command but `join-info` (and `secrets show --reveal`), which print them on request.
#[test]
fn no_other_command_prints_a_secret() {
    let cluster = Cluster::new("  controlplane.encryptSecrets = true;", None);
    let bundle = cluster.bundle();
    let now = OffsetDateTime::now_utc();
    let token = bundle.join_token(now).secret().expose().to_owned();
    let key = bundle.certificate_key().expose().to_owned();
    let encryption = bundle.encryption_keys().unwrap().in_provider_order()[0]
        .secret()
        .expose()
        .to_owned();
    let commands: &[&[&str]] = &[
        &["check", "c.hac"],
        &["check", "c.hac", "--format", "json"],
        &["plan", "c.hac"],
        &["plan", "c.hac", "--format", "json"],
        &["build", "c.hac", "-o", "out"],
        &["secrets", "show", "c.hac"],
        &["kubeconfig", "c.hac", "k.conf"],
        &["eval", "c.hac"],
        &["secrets", "rotate", "encryption-key", "c.hac"],
    ];
    for args in commands {
        let output = cluster.run(args);
        let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
        for (what, secret) in [
            ("token", &token),
            ("certificate key", &key),
            ("encryption key", &encryption),
        ] {
            assert!(
                !all.contains(secret.as_str()),
                "hac {args:?} printed the {what}"
            );
        }
    }
    let join = text(&cluster.ok(&["join-info", "c.hac"]).stdout);
    assert!(join.contains(&token));
}

#[test]
fn rotating_the_encryption_key_stages_promotes_and_drops_it() {
    let cluster = Cluster::new("  controlplane.encryptSecrets = true;", None);
    let config = |cluster: &Cluster| {
        cluster.ok(&["build", "c.hac", "-o", "out"]);
        let user_data = std::fs::read_to_string(cluster.path("out/cp2.yaml")).unwrap();
        let names: Vec<String> = user_data
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- name: hac-"))
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .map(|n| format!("hac-{n}"))
            .collect();
        names
    };
    assert_eq!(config(&cluster), ["hac-1"]);
    let first = cluster.bundle().encryption_keys().unwrap().clone();
    let step = |cluster: &Cluster, says: &str| {
        let out = text(
            &cluster
                .ok(&["secrets", "rotate", "encryption-key", "c.hac"])
                .stdout,
        );
        assert!(out.contains(says), "{out}");
        assert_eq!(mode(&cluster.path("c.secrets")), 0o600);
    };
    step(&cluster, "step 1 of 3");
    assert_eq!(
        config(&cluster),
        ["hac-1", "hac-2"],
        "the old key still writes"
    );
    step(
        &cluster,
        "kubectl get secrets -A -o json | kubectl replace -f -",
    );
    assert_eq!(config(&cluster), ["hac-2", "hac-1"], "the new key writes");
    step(&cluster, "step 3 of 3");
    assert_eq!(config(&cluster), ["hac-2"]);
    let last = cluster.bundle().encryption_keys().unwrap().clone();
    assert_ne!(
        first.in_provider_order()[0].secret(),
        last.in_provider_order()[0].secret()
    );
    // The bundle without encryption cannot rotate a key it does not have.
    let plain = Cluster::new("", None);
    let refused = plain.run(&["secrets", "rotate", "encryption-key", "c.hac"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("controlplane.encryptSecrets = true;"));
}

/// `script` (util-linux) gives hac a terminal as standard output.
#[test]
fn kubeconfig_never_prints_a_key_to_a_terminal() {
    let cluster = Cluster::new("", None);
    let output = Command::new("script")
        .args(["-qec", &format!("{HAC} kubeconfig c.hac -"), "/dev/null"])
        .current_dir(cluster.dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) must be installed for this test");
    let shown = text(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("refusing to print a private key to a terminal"),
        "{shown}"
    );
    assert!(!shown.contains("client-key-data"), "{shown}");
}

#[test]
fn secrets_show_tells_where_the_rotation_stands_without_the_keys() {
    let cluster = Cluster::new("  controlplane.encryptSecrets = true;", None);
    let show =
        |cluster: &Cluster| text(&cluster.ok(&["secrets", "show", "c.hac", "--reveal"]).stdout);
    assert!(show(&cluster).contains("hac-1 encrypts\n"));
    cluster.ok(&["secrets", "rotate", "encryption-key", "c.hac"]);
    let shown = show(&cluster);
    assert!(
        shown.contains("hac-1 encrypts, hac-2 staged (rotation step 1 of 3)"),
        "{shown}"
    );
    for key in cluster
        .bundle()
        .encryption_keys()
        .unwrap()
        .in_provider_order()
    {
        assert!(
            !shown.contains(key.secret().expose()),
            "not even with --reveal"
        );
    }
    cluster.ok(&["secrets", "rotate", "encryption-key", "c.hac"]);
    assert!(show(&cluster).contains("hac-2 encrypts, hac-1 still decrypts (rotation step 2 of 3)"));
}

/// The day-2 commands read the bundle the cluster was built with; they never make one.
#[test]
fn without_the_bundle_nothing_is_issued_and_no_bundle_is_made() {
    let cluster = Cluster::new("", None);
    std::fs::copy(cluster.path("c.hac"), cluster.path("e.hac")).unwrap();
    for args in [
        &["join-info", "e.hac"][..],
        &["kubeconfig", "e.hac", "e.conf"],
    ] {
        let output = cluster.run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(text(&output.stderr).contains("--secrets PATH"), "{args:?}");
        assert!(output.stdout.is_empty());
    }
    assert!(!cluster.path("e.secrets").exists());
    assert!(!cluster.path("e.conf").exists());
}
