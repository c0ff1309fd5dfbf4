//! Helpers shared by the live tests, which run the real programs (etcd, haproxy,
//! openssl) on loopback addresses with what hac generated: a lock so two runs on one
//! machine never fight over the same addresses, daemons stopped by PID when the test
//! ends (also when it fails), bounded polling, and results printed where both
//! `cargo test` and `--nocapture` runs show them.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Held while a live test runs: the tests bind fixed loopback addresses (the
/// examples' host addresses), so a second run on the same machine waits.
pub struct MachineLock(File);

pub fn machine_lock(name: &str) -> MachineLock {
    let path = std::env::temp_dir().join(format!("hac-live-{name}.lock"));
    let file = File::create(&path).unwrap_or_else(|e| panic!("cannot create {path:?}: {e}"));
    file.lock()
        .unwrap_or_else(|e| panic!("cannot lock {path:?}: {e}"));
    MachineLock(file)
}

/// A result line, written straight to the process's stderr: the test harness
/// captures `println!` and `eprintln!` of passing tests, not this, so the figures
/// appear in every run (once, with or without `--nocapture`).
pub fn report(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// A background process, killed (by its PID) and reaped when dropped.
pub struct Daemon {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `command` with stdout and stderr appended to `log`.
    pub fn start(name: &str, command: &mut Command, log: &Path) -> Daemon {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot open {log:?}: {e}"));
        let err = out.try_clone().expect("clone the log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Daemon {
            name: name.to_owned(),
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process (SIGKILL, as a crash) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The end of the process's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(60);
        format!(
            "--- {} ({:?}) ---\n{}",
            self.name,
            self.log,
            lines[start..].join("\n")
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `probe` every `interval` until it returns `Some`, for at most `limit`.
/// Returns the value and the time it took.
pub fn poll<T>(
    limit: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<(T, Duration)> {
    let started = Instant::now();
    loop {
        if let Some(value) = probe() {
            return Some((value, started.elapsed()));
        }
        if started.elapsed() >= limit {
            return None;
        }
        thread::sleep(interval);
    }
}

/// Whether `program` can be found (an absolute path or a name on PATH).
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", "command -v \"$1\" >/dev/null", "sh", program])
        .status()
        .is_ok_and(|status| status.success())
}

/// Seconds with two decimals, for reports.
pub fn seconds(duration: Duration) -> String {
    format!("{:.2}s", duration.as_secs_f64())
}

/// Writes `cert.pem` and `key.pem` into `dir`: a self-signed P-256 pair for
/// `common_name`, with `extra` arguments to `openssl req` (e.g. `-addext …`). It
/// stands in for a server that checks reach with `verify none`, or for a client
/// nobody trusts. Returns the certificate's and the key's paths.
pub fn self_signed_pair(dir: &Path, common_name: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    fs::create_dir_all(dir).expect("a directory for the pair");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
        ])
        .arg(format!("/CN={common_name}"))
        .args(extra)
        .args(["-days", "1", "-keyout", "key.pem", "-out", "cert.pem"])
        .current_dir(dir)
        .output()
        .expect("run openssl req");
    assert!(
        made.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    (dir.join("cert.pem"), dir.join("key.pem"))
}
