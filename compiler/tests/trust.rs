//! The real binary against hostile and careless descriptions: what a description can
//! read, which mirrors and kubelet values it may ask for, which addresses `check`
//! passes (and `build` then builds), and what reaches the terminal.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const STACKED: &str = include_str!("../../examples/stacked.hac");

/// A scratch project holding the stacked example as `cluster.hac`.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let project = Project {
            dir: tempfile::tempdir().expect("temporary directory"),
        };
        project.write("cluster.hac", STACKED);
        project
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The stacked example with `extra` added to the cluster's attributes.
    fn cluster_with(&self, name: &str, extra: &str) -> PathBuf {
        let text = STACKED.trim_end();
        let body = text.strip_suffix('}').expect("the example ends with `}`");
        self.write(name, &format!("{body}  {extra}\n}}\n"))
    }

    /// The stacked example with cp1's address replaced by `address` (a hac expression).
    fn cluster_with_address(&self, name: &str, address: &str) -> PathBuf {
        let text = STACKED.replace(
            "(host \"cp1\" 11)",
            &format!("((host \"cp1\" 11) // {{ address = {address}; }})"),
        );
        assert_ne!(text, STACKED, "the example names cp1 as expected");
        self.write(name, &text)
    }

    fn hac(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run hac")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hac"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        command
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits at most `limit` for `child`; kills it and fails if it is still running.
fn finishes_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

/// The lines of a bundle that hold key material or the token (long enough to be
/// unmistakable).
fn secret_lines(bundle: &str) -> Vec<&str> {
    bundle
        .lines()
        .map(str::trim)
        .filter(|line| line.len() >= 20 && !line.starts_with("-----"))
        .collect()
}

#[test]
fn check_cannot_print_the_bundle() {
    let project = Project::new();
    let init = project.hac(&["secrets", "init", "cluster.hac"]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    let bundle = std::fs::read_to_string(project.path("cluster.secrets")).unwrap();
    assert!(secret_lines(&bundle).len() > 3);
    project.write(
        "leak.hac",
        "{ name = throw (builtins.readFile ./cluster.secrets); }\n",
    );
    project.write("lock.hac", "builtins.readFile ./cluster.secrets.lock\n");
    project.write("link.hac", "builtins.readFile ./innocent.txt\n");
    std::os::unix::fs::symlink("cluster.secrets", project.path("innocent.txt")).unwrap();
    for (file, command) in [
        ("leak.hac", "check"),
        ("leak.hac", "eval"),
        ("lock.hac", "eval"),
        ("link.hac", "eval"),
    ] {
        let output = project.hac(&[command, file]);
        let printed = text(&output.stdout) + &text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{command} {file}: {printed}");
        assert!(printed.contains("hac::eval::file_refused"), "{printed}");
        for line in secret_lines(&bundle) {
            assert!(!printed.contains(line), "{command} {file} printed `{line}`");
        }
    }
}

#[test]
fn a_host_file_cannot_ship_the_bundle() {
    let project = Project::new();
    let text_with_file = STACKED.replace(
        "workers = builtins.genList worker workerCount;",
        "workers = [ { name = \"worker1\"; address = \"10.0.0.21\"; files = [ { path = \"/etc/leak\"; content = builtins.readFile ./ship.secrets; } ]; } ];",
    );
    assert_ne!(text_with_file, STACKED);
    let path = project.write("ship.hac", &text_with_file);
    // A bundle is there to be read (the description itself cannot make one).
    let init = project.hac(&[
        "secrets",
        "init",
        "cluster.hac",
        "--secrets",
        "ship.secrets",
    ]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    let output = project.hac(&["build", path.to_str().unwrap(), "-o", "out"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("hac::eval::file_refused"));
    assert!(!project.path("out").exists());
}

#[test]
fn the_environment_and_devices_cannot_be_read() {
    let project = Project::new();
    project.write("environ.hac", "builtins.readFile /proc/self/environ\n");
    project.write(
        "zero.hac",
        "builtins.stringLength (builtins.readFile /dev/zero)\n",
    );
    project.write("stdin.hac", "builtins.readFile /dev/stdin\n");
    std::os::unix::fs::symlink("/proc/self/environ", project.path("env-link")).unwrap();
    project.write("env-link.hac", "builtins.readFile ./env-link\n");
    for file in ["environ.hac", "zero.hac", "stdin.hac", "env-link.hac"] {
        let child = project
            .command(&["eval", file])
            .env("HAC_TEST_MARKER", "marker-5f0d3c")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = finishes_within(child, Duration::from_secs(20), file);
        let printed = text(&output.stdout) + &text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{file}: {printed}");
        assert!(
            printed.contains("hac::eval::file_refused"),
            "{file}: {printed}"
        );
        assert!(!printed.contains("marker-5f0d3c"), "{file}: {printed}");
    }
}

#[test]
fn fifos_are_refused_without_blocking() {
    let project = Project::new();
    mkfifo(&project.path("fifo"));
    project.write("fifo.hac", "builtins.readFile ./fifo\n");
    project.write("import-fifo.hac", "import ./fifo\n");
    for file in ["fifo.hac", "import-fifo.hac"] {
        let child = project
            .command(&["eval", file])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = finishes_within(child, Duration::from_secs(20), file);
        assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
        assert!(text(&output.stderr).contains("not a regular file"));
    }
    // A bundle that is a FIFO blocks no build either.
    mkfifo(&project.path("cluster.secrets"));
    let child = project
        .command(&["build", "cluster.hac", "-o", "out"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = finishes_within(child, Duration::from_secs(60), "build");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("not a regular file"));
}

#[test]
fn reads_stay_inside_the_project_root() {
    let project = Project::new();
    project.write("lib/common.hac", "{ region = \"eu\"; }\n");
    project.write("clusters/prod.hac", "(import ../lib/common.hac).region\n");
    let refused = project.hac(&["eval", "clusters/prod.hac"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("outside the project root"));
    // `--root` names the root; so does a `hac.toml` above the file.
    let rooted = project.hac(&["eval", "--root", ".", "clusters/prod.hac"]);
    assert_eq!(text(&rooted.stdout), "\"eu\"\n", "{}", text(&rooted.stderr));
    project.write("hac.toml", "");
    let marked = project.hac(&["eval", "clusters/prod.hac"]);
    assert_eq!(text(&marked.stdout), "\"eu\"\n", "{}", text(&marked.stderr));
    // A file outside `--root` is refused before it is read.
    let outside = project.hac(&["eval", "--root", "lib", "clusters/prod.hac"]);
    assert_eq!(outside.status.code(), Some(2));
    assert!(text(&outside.stderr).contains("refused to read"));
}

#[test]
fn plain_http_mirrors_need_insecure_and_then_warn_on_every_build() {
    let project = Project::new();
    for (name, extra) in [
        (
            "packages.hac",
            "packages.mirror = \"http://mirror.lan/k8s\";",
        ),
        (
            "registry.hac",
            "containerd.registryMirrors.\"docker.io\" = [ \"https://ok.lan\" \"http://registry.lan\" ];",
        ),
    ] {
        let path = project.cluster_with(name, extra);
        let output = project.hac(&["check", path.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
        assert!(text(&output.stderr).contains("hac::lint::insecure_mirror"));
    }
    let allowed = project.cluster_with(
        "allowed.hac",
        "packages = { mirror = \"http://mirror.lan/k8s\"; insecure = true; };",
    );
    let check = project.hac(&["check", allowed.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    for _ in 0..2 {
        let build = project.hac(&["build", allowed.to_str().unwrap(), "-o", "out"]);
        assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
        assert!(text(&build.stderr).contains("hac::lint::insecure_mirror_allowed"));
    }
}

#[test]
fn kubelet_values_cannot_smuggle_flags() {
    let project = Project::new();
    for value in [
        "110 --node-labels=node-role.kubernetes.io/control-plane=",
        "$(id)",
        "a\\\"b",
        "a'b",
        "a\\\\b",
        "a\\tb",
    ] {
        let path = project.cluster_with(
            "kubelet.hac",
            &format!("kubelet.extraArgs.\"max-pods\" = \"{value}\";"),
        );
        let output = project.hac(&["check", path.to_str().unwrap()]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{value}: {stderr}");
        assert!(
            stderr.contains("invalid `kubelet.extraArgs.\"max-pods\"`"),
            "{value}: {stderr}"
        );
    }
}

/// `hac check` and `hac build` agree: every address `check` passes, `build` builds,
/// and the ones that cannot work are refused by both, at the address.
#[test]
fn check_and_build_agree_on_control_plane_addresses() {
    let project = Project::new();
    for (address, refused) in [
        ("null", true),
        ("\"example.com\"", true),
        ("\"127.0.0.1\"", true),
        ("\"255.255.255.255\"", true),
        ("\"::1\"", true),
        ("\"0.0.0.0\"", true),
        ("\"224.0.0.1\"", true),
        ("\"fe80::1\"", true),
        ("\"10.0.0.31\"", false),
        ("\"127.0.0.31\"", false),
    ] {
        let path = project.cluster_with_address("address.hac", address);
        let path = path.to_str().unwrap();
        let check = project.hac(&["check", path]);
        let _ = std::fs::remove_dir_all(project.path("out"));
        let build = project.hac(&["build", path, "-o", "out"]);
        let check_passed = check.status.success();
        assert_eq!(
            check_passed,
            !refused,
            "check, {address}: {}",
            text(&check.stderr)
        );
        assert_eq!(
            build.status.success(),
            check_passed,
            "build, {address}: {}",
            text(&build.stderr)
        );
        if refused {
            assert!(
                text(&check.stderr).contains("address"),
                "{address}: {}",
                text(&check.stderr)
            );
        }
    }
}

/// Control characters in the source reach the terminal escaped, never raw: no screen
/// clearing, no clipboard writes, neither in a pipe nor on a terminal with colour.
#[test]
fn terminal_escapes_from_the_source_are_shown_escaped() {
    let project = Project::new();
    project.write(
        "escape.hac",
        "# \u{1b}[2J\nthrow \"\u{1b}]52;c;aGFjaw==\u{7}\u{9b}31m\u{202e}gnp.exe\"\n",
    );
    let piped = project.hac(&["check", "escape.hac"]);
    let stderr = text(&piped.stderr);
    assert_eq!(piped.status.code(), Some(1), "{stderr}");
    for raw in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!stderr.contains(raw), "raw {raw:?} in {stderr:?}");
    }
    assert!(stderr.contains("\\u{1b}]52;c;aGFjaw==\\u{7}\\u{9b}31m\\u{202e}gnp.exe"));
    let pty = Command::new("script")
        .args(["--quiet", "--return", "--command"])
        .arg(format!("{} check escape.hac", env!("CARGO_BIN_EXE_hac")))
        .arg("/dev/null")
        .current_dir(project.dir.path())
        .env_remove("NO_COLOR")
        .output()
        .expect("util-linux `script` is installed");
    let shown = text(&pty.stdout);
    assert!(shown.contains("\u{1b}["), "colour is on: {shown:?}");
    for raw in ["\u{1b}[2J", "\u{1b}]52", "\u{7}", "\u{9b}", "\u{202e}"] {
        assert!(!shown.contains(raw), "raw {raw:?} in {shown:?}");
    }
}
