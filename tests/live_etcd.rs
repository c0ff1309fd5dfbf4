//! The generated external etcd cluster, run for real: `examples/loopback-external-etcd.hac`
//! is built in-process, each member's static pod manifest and certificates are read
//! back from its user-data (with PyYAML, as cloud-init reads it), and Debian's `etcd`
//! runs three times with exactly the manifest's flags. Each member's generated
//! `etcd-quorum` step (its bootstrap script's library and step function) then runs
//! against them and must find quorum and every member. Then the kubeadm tutorial's
//! failure experiment, with `etcdctl` over TLS and the generated
//! `apiserver-etcd-client` pair: quorum forms; etcdctl without a client certificate,
//! and with a self-signed one, is refused; with one member killed an earlier key
//! can still be read and writes succeed; with two killed writes fail; after one
//! comes back quorum returns and no acknowledged write is lost.
//!
//! What the test rewrites, because three hosts share one machine here:
//! * file paths (certificates, keys, the data directory) point into a temporary
//!   directory instead of `/etc/kubernetes/pki/etcd` and `/var/lib/etcd`;
//! * `--listen-metrics-urls` moves from `127.0.0.1:2381` to the member's own address
//!   (three members cannot all bind `127.0.0.1:2381` on one machine; on a real host
//!   the probes ask `127.0.0.1`).
//!
//! Every other flag is passed exactly as generated; the test checks that this is
//! so. The quorum step runs with the same file paths moved.

#[path = "emit_common.rs"]
mod emit_common;
#[path = "live_common.rs"]
mod live_common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use emit_common::{pyyaml_load, require, text};
use live_common::{Daemon, machine_lock, poll, report, seconds, self_signed_pair};

const EXAMPLE: &str = "loopback-external-etcd";
const MANIFEST: &str = "/etc/kubernetes/manifests/etcd.yaml";
const APISERVER_ETCD_CLIENT_CERT: &str = "/etc/kubernetes/pki/apiserver-etcd-client.crt";
const APISERVER_ETCD_CLIENT_KEY: &str = "/etc/kubernetes/pki/apiserver-etcd-client.key";
const ETCD_CA: &str = "/etc/kubernetes/pki/etcd/ca.crt";
const BOOTSTRAP_SCRIPT: &str = "/usr/local/sbin/hac-bootstrap";

/// Bound of every wait for the cluster to (re)form.
const QUORUM_LIMIT: Duration = Duration::from_secs(60);

/// One file of a host's `write_files`.
struct WrittenFile {
    path: String,
    content: String,
    permissions: u32,
}

/// The `write_files` of every host's user-data, by host name, read with PyYAML.
fn written_files(outputs: &[(String, String)]) -> BTreeMap<String, Vec<WrittenFile>> {
    let texts: Vec<String> = outputs.iter().map(|(_, data)| data.clone()).collect();
    let docs = pyyaml_load(&texts);
    outputs
        .iter()
        .zip(docs)
        .map(|((name, _), doc)| {
            let files = doc["write_files"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: user-data without write_files"))
                .iter()
                .map(|entry| WrittenFile {
                    path: entry["path"].as_str().unwrap().to_owned(),
                    content: entry["content"].as_str().unwrap().to_owned(),
                    permissions: u32::from_str_radix(entry["permissions"].as_str().unwrap(), 8)
                        .unwrap(),
                })
                .collect();
            (name.clone(), files)
        })
        .collect()
}

fn find<'f>(files: &'f [WrittenFile], path: &str, host: &str) -> &'f WrittenFile {
    files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{host} has no {path} in its user-data"))
}

/// One member as the test runs it.
struct Member {
    name: String,
    /// `--advertise-client-urls`, for etcdctl.
    client_url: String,
    /// `etcd` arguments after the rewrites.
    args: Vec<String>,
}

/// Writes a host file under `root` (keeping its mode) and returns the new path.
fn place(root: &Path, file: &WrittenFile) -> PathBuf {
    let target = root.join(file.path.trim_start_matches('/'));
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    fs::write(&target, &file.content).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(file.permissions)).unwrap();
    target
}

/// The member's etcd arguments from its manifest, with the rewrites the module
/// documentation lists, and checks that nothing else changed.
fn member_from_user_data(name: &str, files: &[WrittenFile], scratch: &Path) -> Member {
    let manifest = &pyyaml_load(&[find(files, MANIFEST, name).content.clone()])[0];
    let command: Vec<String> = manifest["spec"]["containers"][0]["command"]
        .as_array()
        .expect("the manifest has a command")
        .iter()
        .map(|word| word.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        command[0], "etcd",
        "{name}: the container does not run etcd"
    );
    let root = scratch.join(name);
    let mut rewritten = Vec::new();
    let mut args = Vec::new();
    let mut flags = BTreeMap::new();
    for word in &command[1..] {
        let (flag, value) = word
            .strip_prefix("--")
            .and_then(|w| w.split_once('='))
            .unwrap_or_else(|| panic!("{name}: not --flag=value: {word}"));
        flags.insert(flag.to_owned(), value.to_owned());
        let new_value = if let Some(file) = files.iter().find(|f| f.path == value) {
            place(&root, file).to_string_lossy().into_owned()
        } else if flag == "data-dir" {
            root.join("data").to_string_lossy().into_owned()
        } else if flag == "listen-metrics-urls" {
            let own = flags["listen-peer-urls"]
                .strip_prefix("https://")
                .and_then(|u| u.rsplit_once(':'))
                .map(|(host, _)| host.to_owned())
                .expect("a peer URL before the metrics URL");
            value.replace("127.0.0.1", &own)
        } else {
            value.to_owned()
        };
        if new_value != value {
            rewritten.push(flag.to_owned());
        }
        args.push(format!("--{flag}={new_value}"));
    }
    rewritten.sort();
    assert_eq!(
        rewritten,
        [
            "cert-file",
            "data-dir",
            "key-file",
            "listen-metrics-urls",
            "peer-cert-file",
            "peer-key-file",
            "peer-trusted-ca-file",
            "trusted-ca-file",
        ],
        "{name}: the test rewrote other flags than the file paths and the metrics address"
    );
    for key in ["cert-file", "key-file", "peer-cert-file", "peer-key-file"] {
        let mode = files
            .iter()
            .find(|f| f.path == flags[key])
            .unwrap()
            .permissions;
        let expected = if key.ends_with("key-file") {
            0o600
        } else {
            0o644
        };
        assert_eq!(mode, expected, "{name}: {} has mode {mode:o}", flags[key]);
    }
    Member {
        name: name.to_owned(),
        client_url: flags["advertise-client-urls"].clone(),
        args,
    }
}

/// etcdctl over TLS, verifying the members against `ca`, with a client pair
/// (`None`: no client certificate at all), bounded.
struct Client {
    ca: String,
    pair: Option<(String, String)>,
}

impl Client {
    fn run(&self, endpoints: &[&str], timeout_seconds: u32, args: &[&str]) -> Output {
        let command_timeout = format!("{timeout_seconds}s");
        let outer = (timeout_seconds + 10).to_string();
        let joined = endpoints.join(",");
        let mut command = Command::new("timeout");
        command
            .arg(&outer)
            .arg("etcdctl")
            .env("ETCDCTL_API", "3")
            .args(["--endpoints", &joined, "--cacert", &self.ca]);
        if let Some((cert, key)) = &self.pair {
            command.args(["--cert", cert, "--key", key]);
        }
        command
            .args([
                "--dial-timeout",
                "2s",
                "--command-timeout",
                &command_timeout,
            ])
            .args(args)
            .output()
            .expect("cannot run etcdctl")
    }

    fn put(&self, endpoints: &[&str], key: &str, value: &str, timeout: u32) -> Result<(), String> {
        let out = self.run(endpoints, timeout, &["put", key, value]);
        if out.status.success() && text(&out.stdout).trim() == "OK" {
            Ok(())
        } else {
            Err(format!("{}{}", text(&out.stdout), text(&out.stderr)))
        }
    }

    fn get(&self, endpoints: &[&str], key: &str) -> Option<String> {
        let out = self.run(endpoints, 5, &["get", "--print-value-only", key]);
        out.status
            .success()
            .then(|| text(&out.stdout).trim_end().to_owned())
    }

    /// The number of endpoints that report themselves healthy.
    fn healthy(&self, endpoints: &[&str]) -> usize {
        endpoints
            .iter()
            .filter(|endpoint| {
                let out = self.run(&[endpoint], 3, &["endpoint", "health"]);
                out.status.success()
            })
            .count()
    }

    /// The client URL of the current leader, asked of `endpoints`.
    fn leader(&self, endpoints: &[&str]) -> Option<String> {
        let out = self.run(endpoints, 5, &["endpoint", "status", "-w", "json"]);
        let statuses: Value = serde_json::from_slice(&out.stdout).ok()?;
        statuses.as_array()?.iter().find_map(|entry| {
            let status = &entry["Status"];
            (status["header"]["member_id"] == status["leader"])
                .then(|| entry["Endpoint"].as_str().unwrap().to_owned())
        })
    }
}

/// The error kubeadm's "Set up a High Availability etcd cluster" tutorial shows
/// for a write without quorum.
const TUTORIAL_QUORUM_ERROR: &str = "etcdserver: request timed out";

fn start(member: &Member, scratch: &Path) -> Daemon {
    Daemon::start(
        &member.name,
        Command::new("etcd").args(&member.args),
        &scratch.join(format!("{}.log", member.name)),
    )
}

fn logs(daemons: &[&Daemon]) -> String {
    daemons
        .iter()
        .map(|d| d.log_tail())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every host's user-data of the example (name, document), built in-process with a
/// new secrets bundle in `secrets`.
fn generated(secrets: &Path) -> Vec<(String, String)> {
    hac_tests::build_example(EXAMPLE, secrets)
        .into_iter()
        .map(|host| (host.name, host.user_data))
        .collect()
}

/// Runs the member's generated `etcd-quorum` step (the bootstrap script's own
/// library, probe and step function; file paths moved into `root`) against the
/// running cluster, and returns its log.
fn run_quorum_step(name: &str, files: &[WrittenFile], root: &Path) -> String {
    let script = &find(files, BOOTSTRAP_SCRIPT, name).content;
    let mut library =
        script[..script.find("\nmain() {").expect("the script has a main")].to_owned();
    for file in files
        .iter()
        .filter(|f| f.path.starts_with("/etc/kubernetes/pki/"))
    {
        let placed = place(root, file);
        library = library.replace(&file.path, placed.to_str().unwrap());
    }
    let log = root.join("bootstrap.log");
    let program = format!("{library}\nexec 3>&2\nhac_step_etcd_quorum\n");
    let out = Command::new("timeout")
        .args(["120", "bash", "-c", &program])
        .env("HAC_LOG_FILE", &log)
        .env("HAC_STATE_DIR", root.join("state"))
        .output()
        .expect("run bash");
    let logged = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success(),
        "{name}: the generated etcd-quorum step failed ({:?}):\n{}{}\n{logged}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    logged
}

#[test]
fn three_generated_members_keep_quorum_with_one_down_and_lose_it_with_two() {
    require("etcd", "etcd-server");
    require("etcdctl", "etcd-client");
    require("openssl", "openssl");
    let _lock = machine_lock("etcd");
    let scratch = tempfile::Builder::new()
        .prefix("hac-live-etcd-")
        .tempdir()
        .unwrap();
    let secrets = scratch.path().join("cluster.secrets");
    let outputs = generated(&secrets);
    let files = written_files(&outputs);

    let member_names: Vec<String> = outputs
        .iter()
        .map(|(name, _)| name)
        .filter(|name| files[*name].iter().any(|f| f.path == MANIFEST))
        .cloned()
        .collect();
    assert_eq!(member_names, ["etcd1", "etcd2", "etcd3"]);
    let members: Vec<Member> = member_names
        .iter()
        .map(|name| member_from_user_data(name, &files[name], scratch.path()))
        .collect();

    // The client pair the first control plane's API server uses (from cp1's user-data).
    let cp1 = &files["cp1"];
    let client_root = scratch.path().join("cp1");
    let client = Client {
        ca: place(&client_root, find(cp1, ETCD_CA, "cp1"))
            .to_string_lossy()
            .into_owned(),
        pair: Some((
            place(&client_root, find(cp1, APISERVER_ETCD_CLIENT_CERT, "cp1"))
                .to_string_lossy()
                .into_owned(),
            place(&client_root, find(cp1, APISERVER_ETCD_CLIENT_KEY, "cp1"))
                .to_string_lossy()
                .into_owned(),
        )),
    };
    let all: Vec<&str> = members.iter().map(|m| m.client_url.as_str()).collect();

    // Quorum forms.
    let mut daemons: Vec<Daemon> = members.iter().map(|m| start(m, scratch.path())).collect();
    let formed = poll(QUORUM_LIMIT, Duration::from_millis(200), || {
        client.put(&all, "/hac/before", "v1", 3).ok()
    });
    let Some(((), to_quorum)) = formed else {
        panic!(
            "the three members formed no quorum within {QUORUM_LIMIT:?}\n{}",
            logs(&daemons.iter().collect::<Vec<_>>())
        );
    };
    let all_healthy = poll(QUORUM_LIMIT, Duration::from_millis(200), || {
        (client.healthy(&all) == 3).then_some(())
    });
    assert!(all_healthy.is_some(), "not every member became healthy");
    report(&format!(
        "etcd: 3 generated members formed quorum (first acknowledged write) {} after start",
        seconds(to_quorum)
    ));
    // Each member's own quorum step agrees, and finds itself in the member list.
    for member in &member_names {
        let logged = run_quorum_step(
            member,
            &files[member],
            &scratch.path().join(format!("{member}-step")),
        );
        assert!(
            logged.contains("etcd: 3 of 3 members healthy, 2 needed"),
            "{member}: {logged}"
        );
        for other in &member_names {
            assert!(
                logged.contains(&format!("\"name\":\"{other}\"")),
                "{member}: {logged}"
            );
        }
    }

    // Client certificates are required and must come from the etcd CA: without
    // one, and with a self-signed pair, the running cluster refuses a write (and
    // a read), and the key stays absent.
    let no_certificate = Client {
        ca: client.ca.clone(),
        pair: None,
    };
    let stranger = Client {
        ca: client.ca.clone(),
        pair: Some({
            // Signed by nobody the cluster trusts, with the client usage etcd
            // would want of a real one.
            let (cert, key) = self_signed_pair(
                &scratch.path().join("stranger"),
                "kube-apiserver-etcd-client",
                &["-addext", "extendedKeyUsage=clientAuth"],
            );
            (
                cert.to_string_lossy().into_owned(),
                key.to_string_lossy().into_owned(),
            )
        }),
    };
    // etcdctl only sees its dial time out; the members' logs say why they
    // rejected the connection.
    for (who, intruder, reason) in [
        (
            "without a client certificate",
            &no_certificate,
            "client didn't provide a certificate",
        ),
        (
            "with a self-signed client certificate",
            &stranger,
            "certificate signed by unknown authority",
        ),
    ] {
        let refused = intruder
            .put(&all, "/hac/intruder", "x", 3)
            .expect_err(&format!("etcd accepted a write {who}"));
        assert_eq!(
            intruder.get(&all, "/hac/before"),
            None,
            "etcd answered a read {who}"
        );
        let logged = poll(Duration::from_secs(5), Duration::from_millis(100), || {
            daemons.iter().find_map(|daemon| {
                fs::read_to_string(&daemon.log)
                    .ok()?
                    .lines()
                    .find(|line| line.contains("rejected connection") && line.contains(reason))
                    .map(str::to_owned)
            })
        });
        assert!(
            logged.is_some(),
            "no member logged `{reason}` for the client {who}\n{}",
            logs(&daemons.iter().collect::<Vec<_>>())
        );
        report(&format!(
            "etcd: a write {who} is refused (etcdctl: {}; the member: {reason})",
            refused.lines().last().unwrap_or_default().trim()
        ));
    }
    // A key that was never written reads as empty.
    assert_eq!(
        client.get(&all, "/hac/intruder").as_deref(),
        Some(""),
        "a refused write landed"
    );

    // One member down: the leader, the hardest case.
    let leader = client.leader(&all).expect("a leader");
    let first = members.iter().position(|m| m.client_url == leader).unwrap();
    let killed_at = Instant::now();
    daemons[first].kill();
    let alive: Vec<&str> = all.iter().copied().filter(|url| *url != leader).collect();
    assert_eq!(
        client.get(&alive, "/hac/before").as_deref(),
        Some("v1"),
        "the key written before the member was killed is gone\n{}",
        logs(&daemons.iter().collect::<Vec<_>>())
    );
    let recovered = poll(QUORUM_LIMIT, Duration::from_millis(200), || {
        client.put(&alive, "/hac/with-two", "v2", 3).ok()
    });
    let Some(((), _)) = recovered else {
        panic!(
            "two of three members accepted no write\n{}",
            logs(&daemons.iter().collect::<Vec<_>>())
        );
    };
    let with_two = killed_at.elapsed();
    report(&format!(
        "etcd: leader {} killed; the key written before is readable, and writes succeed with two members {} after the kill",
        members[first].name,
        seconds(with_two)
    ));

    // Two members down: no quorum, writes fail.
    let second = (0..3).find(|&i| i != first).unwrap();
    daemons[second].kill();
    let last: Vec<&str> = vec![all[3 - first - second]];
    let refused = client.put(&last, "/hac/with-one", "v3", 10);
    let error = refused.expect_err("a single member of three acknowledged a write");
    // kubeadm's tutorial shows the first; the others are how the same loss of
    // quorum reads when the member has already stepped down or the client gives
    // up first. The first that matches is reported, so a run shows which it was.
    let matched = [
        TUTORIAL_QUORUM_ERROR,
        "context deadline exceeded",
        "etcdserver: no leader",
    ]
    .into_iter()
    .find(|expected| error.contains(expected))
    .unwrap_or_else(|| panic!("unexpected error without quorum: {error}"));
    let tutorial = if matched == TUTORIAL_QUORUM_ERROR {
        "the kubeadm tutorial's error".to_owned()
    } else {
        format!("not the kubeadm tutorial's `{TUTORIAL_QUORUM_ERROR}`")
    };
    report(&format!(
        "etcd: with two of three members killed, a write fails with `{matched}` ({tutorial}): {}",
        error.lines().last().unwrap_or_default().trim()
    ));

    // One comes back: quorum returns, and the acknowledged writes are all there.
    let restarted_at = Instant::now();
    daemons[second] = start(&members[second], scratch.path());
    let back: Vec<&str> = vec![all[second], all[3 - first - second]];
    let returned = poll(QUORUM_LIMIT, Duration::from_millis(200), || {
        client.put(&back, "/hac/after", "v4", 3).ok()
    });
    let Some(((), _)) = returned else {
        panic!(
            "quorum did not return after restarting {}\n{}",
            members[second].name,
            logs(&daemons.iter().collect::<Vec<_>>())
        );
    };
    let to_return = restarted_at.elapsed();
    for (key, value) in [
        ("/hac/before", "v1"),
        ("/hac/with-two", "v2"),
        ("/hac/after", "v4"),
    ] {
        for endpoint in &back {
            assert_eq!(
                client.get(&[endpoint], key).as_deref(),
                Some(value),
                "{key} read from {endpoint} after quorum returned"
            );
        }
    }
    report(&format!(
        "etcd: {} restarted; quorum returned {} later and every acknowledged write is there",
        members[second].name,
        seconds(to_return)
    ));
}
