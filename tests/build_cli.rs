//! `hac build` on the command line: the output directory, determinism and
//! locality, all-or-nothing writes, file modes, size limits, and secrets that
//! never reach the terminal.

#[path = "build_common.rs"]
mod build_common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use build_common::mode_of;
use hac_tests::{Output, hac, repo_root};

/// A scratch directory holding a copy of `examples/stacked.hac`, edited by `edit`.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `examples/stacked.hac` with `edit` applied as `name`.
    fn stacked(&self, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
        let text = std::fs::read_to_string(repo_root().join("examples/stacked.hac"))
            .expect("examples/stacked.hac");
        let edited = edit(text.clone());
        let path = self.path(name);
        std::fs::write(&path, edited).expect("write source");
        path
    }

    /// Writes `examples/NAME.hac` as `NAME.hac` and, for every example but `stacked`
    /// (whose bundle the first build creates), its test-only bundle as
    /// `cluster.secrets`, private as hac requires (git does not keep modes).
    fn example(&self, name: &str) -> PathBuf {
        let source = self.path(&format!("{name}.hac"));
        std::fs::copy(
            repo_root().join("examples").join(format!("{name}.hac")),
            &source,
        )
        .expect("copy the example");
        if name != "stacked" {
            let bundle = self.path("cluster.secrets");
            std::fs::copy(
                repo_root()
                    .join("tests/fixtures/secrets")
                    .join(format!("{name}.test-only.secrets.toml")),
                &bundle,
            )
            .expect("copy the fixture bundle");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&bundle, std::fs::Permissions::from_mode(0o600))
                .expect("chmod 600");
        }
        source
    }

    fn build(&self, source: &Path, out: &str, extra: &[&str]) -> Output {
        let out = self.path(out);
        let secrets = self.path("cluster.secrets");
        let mut args = vec![
            "build",
            source.to_str().expect("UTF-8"),
            "-o",
            out.to_str().expect("UTF-8"),
            "--secrets",
            secrets.to_str().expect("UTF-8"),
        ];
        args.extend_from_slice(extra);
        hac(&args)
    }
}

fn unchanged(text: String) -> String {
    text
}

/// The stacked example as it may run on AWS: the same hosts without the keepalived VIP,
/// which AWS cannot move (hac refuses it with `--provider aws`).
fn without_vip(text: String) -> String {
    let vip = "    vip = \"10.0.0.100\";\n";
    assert!(text.contains(vip), "the stacked example has a VIP line");
    text.replace(vip, "")
}

/// Adds a cluster-wide file with `content` (a Nix expression) to the source.
fn with_cluster_file(path: &'static str, content: &'static str) -> impl Fn(String) -> String {
    move |text: String| {
        let at = text.rfind('}').expect("the source ends with `}`");
        format!(
            "{}  files = [ {{ path = \"{path}\"; content = {content}; }} ];\n}}\n",
            &text[..at]
        )
    }
}

/// Every file of a directory: name → (bytes, mode).
fn contents(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|entry| {
            let path = entry.path();
            (
                entry.file_name().to_string_lossy().into_owned(),
                (std::fs::read(&path).expect("read"), mode_of(&path)),
            )
        })
        .collect()
}

fn assert_ok(out: &Output) {
    assert_eq!(
        out.status, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
}

#[test]
fn a_build_writes_one_file_per_host_and_a_manifest() {
    let scratch = Scratch::new();
    let source = scratch.stacked("stacked.hac", unchanged);
    let out = scratch.build(&source, "out", &["--gzip"]);
    assert_ok(&out);
    assert!(
        out.stderr.contains("secrets: created"),
        "the new bundle is announced: {}",
        out.stderr
    );
    let files = contents(&scratch.path("out"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&files["manifest.json"].0).expect("manifest JSON");
    let hosts = manifest["hosts"].as_array().expect("hosts");
    let names: Vec<&str> = hosts.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "lb1", "lb2", "cp1", "cp2", "worker1", "worker2", "worker3", "cp3"
        ]
    );
    for host in hosts {
        let file = host["file"].as_str().unwrap();
        let bytes = &files[file].0;
        assert_eq!(host["size"], bytes.len());
        let gz = &files[&format!("{file}.gz")].0;
        assert_eq!(host["gzip_size"], gz.len());
        assert_eq!(host["gzip_file"], format!("{file}.gz"));
        use sha2::Digest;
        let digest: String = sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(host["sha256"], digest);
        assert!(host["steps"].as_array().is_some_and(|s| !s.is_empty()));
        assert!(host["stage"].is_u64());
        assert!(host["roles"].as_array().is_some_and(|r| !r.is_empty()));
        // gzip unpacks to the plain file.
        use std::io::Read;
        let mut unpacked = Vec::new();
        flate2_read(gz).read_to_end(&mut unpacked).expect("gunzip");
        assert_eq!(&unpacked, bytes);
        // The table names every host.
        assert!(out.stdout.contains(host["name"].as_str().unwrap()));
    }
    for provider in [
        "aws",
        "hetzner",
        "azure",
        "openstack",
        "digitalocean",
        "gcp",
    ] {
        assert!(out.stdout.contains(provider), "{}", out.stdout);
    }
}

/// A gzip reader by the `gzip` program (the test crate has no gzip library).
fn flate2_read(bytes: &[u8]) -> impl std::io::Read {
    let output = emit_gunzip(bytes);
    std::io::Cursor::new(output)
}

fn emit_gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("gzip")
        .args(["-dc"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run gzip");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    let output = child.wait_with_output().expect("gzip");
    assert!(output.status.success(), "gzip -d failed");
    output.stdout
}

#[test]
fn output_files_are_private() {
    let scratch = Scratch::new();
    let source = scratch.stacked("stacked.hac", unchanged);
    assert_ok(&scratch.build(&source, "out", &["--gzip"]));
    assert_eq!(mode_of(&scratch.path("out")), 0o700);
    for (name, (_, mode)) in contents(&scratch.path("out")) {
        assert_eq!(mode, 0o600, "{name}");
    }
}

/// The examples the whole-output tests run on: stacked etcd with a bundle the first
/// build creates, and external etcd with its fixture bundle, which holds the most
/// private keys (etcd CA, client and member certificates).
const EXAMPLES: [&str; 2] = ["stacked", "external-etcd"];

#[test]
fn two_builds_are_byte_identical() {
    for name in EXAMPLES {
        let scratch = Scratch::new();
        let source = scratch.example(name);
        assert_ok(&scratch.build(&source, "a", &["--gzip"]));
        let second = scratch.build(&source, "b", &["--gzip"]);
        assert_ok(&second);
        assert!(
            !second.stderr.contains("secrets:"),
            "{name}: an existing bundle is reused as it is: {}",
            second.stderr
        );
        let (a, b) = (contents(&scratch.path("a")), contents(&scratch.path("b")));
        assert!(a.len() > 1, "{name}: no hosts were written");
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn adding_a_worker_changes_only_that_workers_file_and_the_manifest() {
    let scratch = Scratch::new();
    let three = scratch.stacked("three.hac", unchanged);
    let four = scratch.stacked("four.hac", |t| {
        assert!(t.contains("workerCount = 3;"));
        t.replace("workerCount = 3;", "workerCount = 4;")
    });
    assert_ok(&scratch.build(&three, "three", &["--gzip"]));
    assert_ok(&scratch.build(&four, "four", &["--gzip"]));
    let before = contents(&scratch.path("three"));
    let after = contents(&scratch.path("four"));
    let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(added, ["worker4.yaml", "worker4.yaml.gz"]);
    let changed: Vec<&String> = before
        .keys()
        .filter(|k| after.get(*k) != before.get(*k))
        .collect();
    assert_eq!(changed, ["manifest.json"]);
}

#[test]
fn a_failing_build_leaves_the_output_directory_untouched() {
    let scratch = Scratch::new();
    let good = scratch.stacked("good.hac", unchanged);
    assert_ok(&scratch.build(&good, "out", &[]));
    let before = contents(&scratch.path("out"));
    let parent_before: Vec<_> = std::fs::read_dir(scratch.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();

    // An error in the source.
    let broken = scratch.stacked("broken.hac", |t| {
        t.replace("kubernetes = \"1.36.1\"", "kubernetes = 1")
    });
    let out = scratch.build(&broken, "out", &[]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert_eq!(contents(&scratch.path("out")), before);

    // A file that a generator refuses (a user file may not replace hac's own).
    let clash = scratch.stacked(
        "clash.hac",
        with_cluster_file("/etc/haproxy/haproxy.cfg", "\"listen x\\n\""),
    );
    let out = scratch.build(&clash, "out", &[]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("/etc/haproxy/haproxy.cfg"),
        "{}",
        out.stderr
    );
    assert_eq!(contents(&scratch.path("out")), before);

    // A size limit exceeded.
    let big = scratch.stacked(
        "big.hac",
        with_cluster_file(
            "/etc/big",
            "builtins.concatStringsSep \"\" (builtins.genList (i: \"x\") 70000)",
        ),
    );
    let out = scratch.build(&big, "out", &["--provider", "digitalocean"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert_eq!(contents(&scratch.path("out")), before);

    let parent_after: Vec<_> = std::fs::read_dir(scratch.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let new: Vec<_> = parent_after
        .iter()
        .filter(|n| !parent_before.contains(n) && !n.to_string_lossy().ends_with(".hac"))
        .collect();
    assert!(new.is_empty(), "left behind: {new:?}");
}

#[test]
fn a_directory_that_is_not_a_build_output_is_refused() {
    let scratch = Scratch::new();
    let source = scratch.stacked("stacked.hac", unchanged);
    std::fs::create_dir(scratch.path("mine")).unwrap();
    std::fs::write(scratch.path("mine/notes.txt"), "keep me").unwrap();
    let out = scratch.build(&source, "mine", &[]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(out.stderr.contains("manifest.json"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(scratch.path("mine/notes.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn a_provider_limit_names_the_host_and_turns_gzip_on_where_it_fits() {
    let scratch = Scratch::new();
    // 17 000 repeated bytes: over AWS's 16 KB as text, tiny gzipped.
    let padded = with_cluster_file(
        "/etc/padding",
        "builtins.concatStringsSep \"\" (builtins.genList (i: \"x\") 17000)",
    );
    // Without `--gzip`, AWS gets the gzip files anyway, and hac says so.
    let source = scratch.stacked("padded.hac", |text| padded(without_vip(text)));
    let out = scratch.build(&source, "out", &["--provider", "aws"]);
    assert_ok(&out);
    assert!(out.stderr.contains("`cp1`"), "{}", out.stderr);
    assert!(out.stderr.contains("AWS"), "{}", out.stderr);
    assert!(out.stderr.contains("as `--gzip`"), "{}", out.stderr);
    assert!(scratch.path("out/cp1.yaml.gz").is_file());

    let out = scratch.build(&source, "out", &["--provider", "aws", "--gzip"]);
    assert_ok(&out);
    assert!(!out.stderr.contains("as `--gzip`"), "{}", out.stderr);

    // DigitalOcean takes no gzip: the help says so instead.
    let huge = with_cluster_file(
        "/etc/padding",
        "builtins.concatStringsSep \"\" (builtins.genList (i: \"x\") 70000)",
    );
    let source = scratch.stacked("huge.hac", |text| huge(without_vip(text)));
    let out = scratch.build(&source, "out2", &["--provider", "digitalocean", "--gzip"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(out.stderr.contains("plain text only"), "{}", out.stderr);

    let out = scratch.build(&source, "out3", &["--provider", "nimbus"]);
    assert_eq!(out.status, 2, "{}", out.stderr);
}

/// Every secret value of `bundle` as it could show up in text: the join seed, this
/// week's token and its secret half, the certificate key, and each base64 line of every private key (a key could
/// leak a line at a time, or re-wrapped, without its PEM armour).
fn secret_strings(bundle: &hac::secrets::Bundle) -> Vec<String> {
    let mut secrets = vec![
        bundle.join_seed().expose().to_owned(),
        bundle.join_token_now().token().expose().to_owned(),
        bundle.join_token_now().secret().expose().to_owned(),
        bundle.certificate_key().expose().to_owned(),
    ];
    let mut keys = vec![bundle.cluster_ca()];
    if let Some(etcd) = bundle.etcd() {
        keys.extend([
            etcd.ca(),
            etcd.healthcheck_client(),
            etcd.apiserver_etcd_client(),
        ]);
        for member in etcd.members() {
            keys.extend([member.server(), member.peer()]);
        }
    }
    for key in keys {
        let pem = key.private_key_pem().expose();
        let lines: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(!lines.is_empty(), "a private key without base64 lines");
        secrets.extend(lines.into_iter().map(str::to_owned));
    }
    secrets
}

#[test]
fn secrets_never_reach_the_terminal() {
    for name in EXAMPLES {
        let scratch = Scratch::new();
        let source = scratch.example(name);
        let first = scratch.build(&source, "out", &["--gzip"]);
        assert_ok(&first);
        let second = scratch.build(&source, "out", &["--gzip", "--provider", "aws"]);
        let bundle = hac::secrets::load(&scratch.path("cluster.secrets")).expect("bundle");
        let secrets = secret_strings(&bundle);
        if name == "external-etcd" {
            // The join seed, this week's token and its secret, the certificate key, and
            // 3 base64 lines of each of 10 ECDSA keys: two CAs, two clients, 3 members ×
            // (server, peer).
            assert_eq!(secrets.len(), 4 + 10 * 3, "{name}");
        }
        for out in [&first, &second] {
            for secret in &secrets {
                assert!(
                    !out.stdout.contains(secret.as_str()),
                    "{name}: stdout leaks"
                );
                assert!(
                    !out.stderr.contains(secret.as_str()),
                    "{name}: stderr leaks"
                );
            }
        }
    }
}

#[test]
fn the_first_control_plane_of_stacked_fits_aws_at_least_gzipped() {
    let scratch = Scratch::new();
    let source = scratch.stacked("stacked.hac", without_vip);
    let out = scratch.build(&source, "out", &["--gzip", "--provider", "aws"]);
    assert_ok(&out);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scratch.path("out/manifest.json")).unwrap()).unwrap();
    let cp1 = manifest["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "cp1")
        .expect("cp1");
    assert!(cp1["gzip_size"].as_u64().unwrap() <= 16 * 1024, "{cp1}");
}

#[test]
fn an_unreadable_source_is_a_usage_error() {
    let scratch = Scratch::new();
    let out = scratch.build(&scratch.path("missing.hac"), "out", &[]);
    assert_eq!(out.status, 2);
    assert!(!scratch.path("out").exists());
}

// ------------------------------------------------ which file is the bundle

/// The default bundle of a description is always `NAME.secrets` beside it, whatever the
/// description's extension: `build` and `secrets init` never write to the description.
#[test]
fn a_description_not_named_dot_hac_keeps_its_bundle_beside_it() {
    let scratch = Scratch::new();
    let source = scratch.stacked("stk.nix", unchanged);
    let original = std::fs::read(&source).unwrap();
    let out = scratch.path("out");
    let source_arg = source.to_str().unwrap();
    let built = hac(&["build", source_arg, "-o", out.to_str().unwrap()]);
    assert_ok(&built);
    assert_eq!(
        std::fs::read(&source).unwrap(),
        original,
        "build wrote the source"
    );
    let bundle = scratch.path("stk.secrets");
    let first = hac::secrets::load(&bundle).expect("stk.secrets was created");

    let init = hac(&["secrets", "init", source_arg, "--force"]);
    assert_ok(&init);
    assert_eq!(
        std::fs::read(&source).unwrap(),
        original,
        "init wrote the source"
    );
    let second = hac::secrets::load(&bundle).expect("stk.secrets was replaced");
    assert_ne!(second.discovery_hash(), first.discovery_hash());

    // show and rotate given the description work on its bundle too.
    let shown = hac(&["secrets", "show", source_arg]);
    assert_ok(&shown);
    assert!(
        shown.stdout.contains(&second.discovery_hash()),
        "{}",
        shown.stdout
    );
    let rotated = hac(&["secrets", "rotate", "token", source_arg]);
    assert_ok(&rotated);
    assert_eq!(
        std::fs::read(&source).unwrap(),
        original,
        "rotate wrote the source"
    );
    let third = hac::secrets::load(&bundle).unwrap();
    assert_eq!(third.token_generation(), second.token_generation() + 1);
}

#[test]
fn a_bundle_path_that_is_the_source_is_refused() {
    let scratch = Scratch::new();
    // A description named like a bundle: its default bundle would be itself.
    let odd = scratch.stacked("cluster.secrets", unchanged);
    let hac_file = scratch.stacked("cluster.hac", unchanged);
    let original = std::fs::read(&odd).unwrap();
    let out = scratch.path("out");
    let same = scratch.path("./cluster.hac");
    let attempts: [Vec<&str>; 4] = [
        vec!["build", odd.to_str().unwrap(), "-o", out.to_str().unwrap()],
        vec!["secrets", "init", odd.to_str().unwrap(), "--force"],
        vec![
            "build",
            hac_file.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--secrets",
            same.to_str().unwrap(),
        ],
        vec![
            "secrets",
            "init",
            hac_file.to_str().unwrap(),
            "--force",
            "--secrets",
            same.to_str().unwrap(),
        ],
    ];
    for args in attempts {
        let refused = hac(&args);
        assert_eq!(refused.status, 2, "{args:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("is the cluster description itself"),
            "{args:?}: {}",
            refused.stderr
        );
        assert!(
            refused.stderr.contains("--secrets PATH"),
            "{}",
            refused.stderr
        );
    }
    assert_eq!(std::fs::read(&odd).unwrap(), original);
    assert_eq!(
        std::fs::read_to_string(&hac_file).unwrap(),
        String::from_utf8(original).unwrap()
    );
    assert!(!out.exists());
}

/// `show` and `rotate` take a bundle under any name, and a `.hac` description for its
/// bundle.
#[test]
fn show_and_rotate_take_a_bundle_by_any_name_or_a_description() {
    let scratch = Scratch::new();
    let source = scratch.example("external-etcd");
    let bundle = scratch.path("cluster.secrets");
    let before = hac::secrets::load(&bundle).unwrap();
    let renamed = scratch.path("backup.toml");
    std::fs::rename(&bundle, &renamed).unwrap();

    let shown = hac(&["secrets", "show", renamed.to_str().unwrap()]);
    assert_ok(&shown);
    assert!(
        shown.stdout.contains(&before.discovery_hash()),
        "{}",
        shown.stdout
    );
    let rotated = hac(&[
        "secrets",
        "rotate",
        "certificate-key",
        renamed.to_str().unwrap(),
    ]);
    assert_ok(&rotated);
    assert_ne!(
        hac::secrets::load(&renamed).unwrap().certificate_key(),
        before.certificate_key()
    );

    // external-etcd.hac → external-etcd.secrets beside it.
    std::fs::rename(&renamed, scratch.path("external-etcd.secrets")).unwrap();
    let shown = hac(&["secrets", "show", source.to_str().unwrap()]);
    assert_ok(&shown);
    assert!(
        shown.stdout.contains(&before.discovery_hash()),
        "{}",
        shown.stdout
    );
    let rotated = hac(&["secrets", "rotate", "token", source.to_str().unwrap()]);
    assert_ok(&rotated);
    assert_eq!(
        hac::secrets::load(&scratch.path("external-etcd.secrets"))
            .unwrap()
            .token_generation(),
        before.token_generation() + 1
    );
}

// ------------------------------------------------ a bundle belongs to one cluster

/// The reproduction: building `stacked` (cluster `prod`) with the bundle of an
/// external-etcd cluster (`analytics`) destroyed that cluster's etcd PKI. The bundle
/// now names its cluster, and a build of any other cluster is refused, `--force` or not.
#[test]
fn a_build_with_another_clusters_bundle_is_refused() {
    let scratch = Scratch::new();
    let analytics = scratch.example("external-etcd");
    // The fixture bundle predates recorded clusters: the first build adopts it.
    let first = scratch.build(&analytics, "analytics", &[]);
    assert_ok(&first);
    assert!(
        first
            .stderr
            .contains("recorded that the bundle belongs to cluster `analytics`"),
        "{}",
        first.stderr
    );
    let bundle = scratch.path("cluster.secrets");
    let recorded = hac::secrets::load(&bundle).expect("bundle");
    assert_eq!(recorded.cluster(), Some("analytics"));
    let id = recorded.cluster_id().expect("a cluster id").to_owned();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scratch.path("analytics/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["cluster_id"], id.as_str());
    assert_eq!(manifest["generator"], "hac");
    let before = std::fs::read(&bundle).unwrap();

    let stacked = scratch.stacked("stacked.hac", unchanged);
    for extra in [&[][..], &["--force"][..]] {
        let out = scratch.build(&stacked, "prod", extra);
        assert_eq!(out.status, 2, "{extra:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("belongs to cluster `analytics`, not `prod`"),
            "{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("removed the etcd PKI"),
            "{}",
            out.stderr
        );
        assert_eq!(std::fs::read(&bundle).unwrap(), before, "{extra:?}");
        assert!(!scratch.path("prod").exists());
    }
}

/// A change of the cluster that drops private keys (here: every etcd member moves, so
/// their certificates are re-issued) needs `--force`, and then first keeps the old
/// bundle beside the new one, private.
#[test]
fn dropping_key_material_needs_force_and_keeps_a_copy_of_the_bundle() {
    let scratch = Scratch::new();
    let source = scratch.example("external-etcd");
    assert_ok(&scratch.build(&source, "out", &[]));
    let bundle = scratch.path("cluster.secrets");
    let before = std::fs::read(&bundle).unwrap();
    let old = hac::secrets::load(&bundle).unwrap();
    let output_before = contents(&scratch.path("out"));
    let text = std::fs::read_to_string(&source).unwrap();
    assert!(text.contains("numbered \"etcd\" 31 3"));
    std::fs::write(
        &source,
        text.replace("numbered \"etcd\" 31 3", "numbered \"etcd\" 41 3"),
    )
    .unwrap();

    let refused = scratch.build(&source, "out", &[]);
    assert_eq!(refused.status, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("would remove private keys"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("`etcd1`"), "{}", refused.stderr);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(std::fs::read(&bundle).unwrap(), before);
    assert_eq!(contents(&scratch.path("out")), output_before);

    let forced = scratch.build(&source, "out", &["--force"]);
    assert_ok(&forced);
    let copies: Vec<PathBuf> = std::fs::read_dir(scratch.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("cluster.secrets.") && name.ends_with(".old")
        })
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert!(
        forced.stderr.contains(&copies[0].display().to_string()),
        "{}",
        forced.stderr
    );
    assert_eq!(std::fs::read(&copies[0]).unwrap(), before);
    assert_eq!(mode_of(&copies[0]), 0o600);
    let new = hac::secrets::load(&bundle).unwrap();
    assert_eq!(new.etcd().unwrap().ca(), old.etcd().unwrap().ca());
    assert_ne!(
        new.etcd().unwrap().member("etcd1").unwrap().server(),
        old.etcd().unwrap().member("etcd1").unwrap().server()
    );
    assert_eq!(new.cluster_id(), old.cluster_id());
}
