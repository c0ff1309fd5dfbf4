//! Registry logins end to end with the real binary: the password goes in on standard
//! input, lives in the bundle (0600) and in the hosts' private containerd
//! configuration, and nowhere else: not in any command's output, the manifest or the
//! plan. A source that names a login the bundle lacks fails at that place.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const HAC: &str = env!("CARGO_BIN_EXE_hac");

/// Quotes and a backslash exercise every escaping layer (TOML inside YAML); the
/// fragment is what the leak checks look for, in whatever form.
const FRAGMENT: &str = "Zq9RegistryTokenFragmentXy";
const PASSWORD: &str = "Zq9RegistryTokenFragmentXy\"quoted\\back";

fn hac(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(HAC)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hac");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        // hac may refuse the arguments before it reads anything.
        let _ = input.write_all(text.as_bytes());
    }
    drop(input);
    child.wait_with_output().expect("wait for hac")
}

/// `hac secrets set-registry-login NAME --username USER BUNDLE_OR_SOURCE`, the
/// password on standard input.
fn set_login(name: &str, username: &str, target: &str, password: &str) -> Output {
    hac(
        &[
            "secrets",
            "set-registry-login",
            name,
            "--username",
            username,
            target,
        ],
        Some(password),
    )
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_no_password(what: &str, out: &Output) {
    let all = text(out);
    assert!(
        !all.contains(FRAGMENT),
        "{what} prints the password:\n{all}"
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// The stacked example with `containerd.registryLogins`, as `cluster.hac` in `dir`.
fn write_source(dir: &Path) -> PathBuf {
    write_source_with(dir, "")
}

/// [`write_source`] with `extra` attributes added to the cluster.
fn write_source_with(dir: &Path, extra: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/stacked.hac");
    std::fs::copy(base, dir.join("base.hac")).expect("copy the example");
    let source = dir.join("cluster.hac");
    std::fs::write(
        &source,
        format!("(import ./base.hac) // {{\n  containerd.registryLogins = {{\n    \"registry.lan:5000\" = \"lan\";\n  }};\n{extra}}}\n"),
    )
    .expect("write the source");
    source
}

#[test]
fn a_registry_login_reaches_containerd_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = write_source(dir.path());
    let source = source.to_str().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();

    // Named in the source, missing from the bundle: an error at the name, nothing built.
    let missing = hac(&["build", source, "-o", out], None);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    for expected in [
        "hac::build::missing_registry_login",
        "no registry login `lan`",
        "cluster.hac:3:",
        "hac secrets set-registry-login lan --username USER",
    ] {
        assert!(stderr.contains(expected), "`{expected}` not in:\n{stderr}");
    }
    assert!(!Path::new(out).exists());

    // The password only on standard input; a trailing line break is not part of it.
    let stored = set_login("lan", "robot", source, &format!("{PASSWORD}\n"));
    assert_eq!(stored.status.code(), Some(0), "{}", text(&stored));
    assert!(text(&stored).contains("stored registry login `lan` (user robot)"));
    assert_no_password("set-registry-login", &stored);
    let bundle_path = dir.path().join("cluster.secrets");
    assert_eq!(mode(&bundle_path), 0o600);
    let bundle = hac::secrets::load(&bundle_path).expect("bundle");
    let login = bundle.registry_login("lan").expect("the login");
    assert_eq!(login.username(), "robot");
    assert_eq!(login.password().expose(), PASSWORD);

    for reveal in [false, true] {
        let mut args = vec!["secrets", "show", source];
        if reveal {
            args.push("--reveal");
        }
        let shown = hac(&args, None);
        assert_eq!(shown.status.code(), Some(0), "{}", text(&shown));
        assert!(
            text(&shown).contains("registry login lan"),
            "{}",
            text(&shown)
        );
        assert_no_password("secrets show", &shown);
    }

    let built = hac(&["build", source, "-o", out], None);
    assert_eq!(built.status.code(), Some(0), "{}", text(&built));
    assert_no_password("build", &built);
    let manifest = std::fs::read_to_string(Path::new(out).join("manifest.json")).unwrap();
    assert!(
        !manifest.contains(FRAGMENT),
        "the manifest holds the password"
    );
    for format in ["text", "json", "dot"] {
        let plan = hac(&["plan", source, "--format", format], None);
        assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
        assert_no_password("plan", &plan);
    }
    let check = hac(&["check", source], None);
    assert_no_password("check", &check);
    // The day-2 commands read the same bundle.
    let join_info = hac(&["join-info", "--control-plane", source], None);
    assert_eq!(join_info.status.code(), Some(0), "{}", text(&join_info));
    assert_no_password("join-info", &join_info);

    // Every Kubernetes host carries it, in user-data only root can read.
    for host in ["cp1", "cp2", "cp3", "worker1"] {
        let path = Path::new(out).join(format!("{host}.yaml"));
        let user_data = std::fs::read_to_string(&path).unwrap();
        assert!(user_data.contains(FRAGMENT), "{host} lacks the login");
        assert_eq!(mode(&path), 0o600, "{host}");
        let document = user_data_document(&user_data);
        let files = document["write_files"].as_array().unwrap();
        for file in files {
            let content = file["content"].as_str().unwrap_or_default();
            if content.contains(FRAGMENT) {
                assert_eq!(file["permissions"], "0600", "{host}: {}", file["path"]);
                assert!(
                    file["path"]
                        .as_str()
                        .unwrap()
                        .starts_with("/etc/hac/containerd/"),
                    "{host}: {}",
                    file["path"]
                );
            }
        }
    }
    for host in ["lb1", "lb2"] {
        let user_data = std::fs::read_to_string(Path::new(out).join(format!("{host}.yaml")));
        assert!(
            !user_data.unwrap().contains(FRAGMENT),
            "{host} runs no containerd"
        );
    }

    // Set again: replaced, still never printed.
    let replaced = set_login("lan", "robot2", source, "another-token");
    assert_eq!(replaced.status.code(), Some(0), "{}", text(&replaced));
    assert!(text(&replaced).contains("replaced registry login `lan` (user robot2)"));
    assert!(!text(&replaced).contains("another-token"));
}

#[test]
fn unusable_logins_are_refused_without_touching_the_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = write_source(dir.path());
    let source = source.to_str().unwrap();
    let init = hac(&["secrets", "init", source], None);
    assert_eq!(init.status.code(), Some(0), "{}", text(&init));
    let bundle_path = dir.path().join("cluster.secrets");
    let before = std::fs::read(&bundle_path).unwrap();
    for (name, username, password, expected) in [
        ("Lan", "robot", "Zq9tok", "not a registry login name"),
        ("lan", "robot", "", "the password must be"),
        ("lan", "robot", "two\nlines", "the password must be"),
        ("lan", "ro:bot", "Zq9tok", "the user name must be"),
    ] {
        let out = set_login(name, username, source, password);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name} {username}: {}",
            text(&out)
        );
        assert!(text(&out).contains(expected), "{}", text(&out));
        assert!(
            password.is_empty() || !text(&out).contains(password),
            "{}",
            text(&out)
        );
    }
    assert_eq!(std::fs::read(&bundle_path).unwrap(), before);
    // Without a bundle there is nothing to add to: the fix is named.
    let other = dir.path().join("other.secrets");
    let out = set_login("lan", "robot", other.to_str().unwrap(), "token");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("hac secrets init"), "{}", text(&out));
}

/// From a terminal the password is asked for on stderr and not echoed. `script` gives
/// hac a terminal; the password is typed after the prompt (typed ahead, it would be
/// echoed by the terminal before hac could turn echo off, and then discarded, as
/// `getpass` does).
#[test]
fn a_terminal_does_not_echo_the_password() {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "script (bsdutils) is missing in CI"
        );
        eprintln!("SKIPPED: no `script` to give hac a terminal");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let source = write_source(dir.path());
    let source = source.to_str().unwrap();
    let init = hac(&["secrets", "init", source], None);
    assert_eq!(init.status.code(), Some(0), "{}", text(&init));
    let command = format!("{HAC} secrets set-registry-login lan --username robot {source}");
    let typed = format!("sleep 1; printf '%s\\n' '{FRAGMENT}'");
    let out = Command::new("bash")
        .args([
            "-c",
            &format!("({typed}) | script -q -e -c \"$0\" /dev/null",),
            &command,
        ])
        .output()
        .expect("run script");
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("password or token for registry login `lan`: "),
        "{shown}"
    );
    assert!(shown.contains("stored registry login `lan`"), "{shown}");
    assert!(
        !shown.contains(FRAGMENT),
        "the terminal echoed the password:\n{shown}"
    );
    let bundle = hac::secrets::load(&dir.path().join("cluster.secrets")).unwrap();
    assert_eq!(
        bundle.registry_login("lan").unwrap().password().expose(),
        FRAGMENT
    );
}

/// containerd 1.6 itself (Debian's package, unpacked by scripts/test, never installed
/// or started) reads the generated 1.x configuration with a login and the pinned
/// sandbox image, and `config dump` shows both where the CRI plugin uses them.
#[test]
fn debian_containerd_reads_the_generated_configuration() {
    let Some(containerd) = containerd_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "containerd is missing in CI: scripts/test unpacks it into target/test-tools"
        );
        eprintln!("SKIPPED: no containerd (scripts/test unpacks Debian's into target/test-tools)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // Kubernetes 1.35: the last that may run containerd 1.x, so the 1.x file ships.
    let source = write_source_with(dir.path(), "  kubernetes = \"1.35.4\";\n");
    let source = source.to_str().unwrap();
    let stored = hac(&["secrets", "init", source], None);
    assert_eq!(stored.status.code(), Some(0), "{}", text(&stored));
    let stored = set_login("lan", "robot", source, PASSWORD);
    assert_eq!(stored.status.code(), Some(0), "{}", text(&stored));
    let out = dir.path().join("out");
    let built = hac(&["build", source, "-o", out.to_str().unwrap()], None);
    assert_eq!(built.status.code(), Some(0), "{}", text(&built));
    let user_data = std::fs::read_to_string(out.join("worker1.yaml")).unwrap();
    let document = user_data_document(&user_data);
    let config = document["write_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/etc/hac/containerd/config-containerd1.toml")
        .and_then(|f| f["content"].as_str())
        .expect("the 1.x configuration")
        .to_owned();
    // What the pin-sandbox-image step appends for containerd 1.x.
    let image = "registry.k8s.io/pause:3.10";
    let config =
        config + &hac::build::containerd::sandbox_table(hac::build::containerd::SANDBOX_V1, image);
    let file = dir.path().join("config.toml");
    std::fs::write(&file, config).unwrap();
    let dump = Command::new(containerd)
        .args(["--config", file.to_str().unwrap(), "config", "dump"])
        .output()
        .expect("run containerd");
    let dumped = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let table: toml::Table = dumped.parse().expect("containerd dumps TOML");
    let cri = &table["plugins"]["io.containerd.grpc.v1.cri"];
    assert_eq!(cri["sandbox_image"].as_str(), Some(image));
    assert_eq!(
        cri["registry"]["config_path"].as_str(),
        Some("/etc/containerd/certs.d")
    );
    let auth = &cri["registry"]["configs"]["registry.lan:5000"]["auth"];
    assert_eq!(auth["username"].as_str(), Some("robot"));
    assert_eq!(auth["password"].as_str(), Some(PASSWORD));
    assert_eq!(
        cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"].as_bool(),
        Some(true)
    );
}

/// The user-data as cloud-init reads it (PyYAML, which scripts/test installs).
fn user_data_document(user_data: &str) -> serde_json::Value {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with PyYAML");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(user_data.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "PyYAML refused the user-data");
    serde_json::from_slice(&out.stdout).expect("JSON from PyYAML")
}

fn containerd_binary() -> Option<PathBuf> {
    let unpacked = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-tools/containerd/usr/bin/containerd");
    [
        std::env::var_os("HAC_TEST_CONTAINERD").map(PathBuf::from),
        Some(unpacked),
    ]
    .into_iter()
    .flatten()
    .find(|path| path.is_file())
}
