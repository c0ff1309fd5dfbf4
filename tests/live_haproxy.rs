//! The generated haproxy, run for real: `examples/loopback.hac` is built in-process,
//! the load balancer's `haproxy.cfg` is read back from its user-data (with PyYAML,
//! as cloud-init reads it) and Debian's haproxy runs it in the foreground. Small TLS
//! servers (`openssl s_server -HTTP`) stand in for the API servers on the control
//! planes' addresses from the configuration's `server` lines; each answers
//! `/healthz` (200, or 500 when switched) and `/whoami` (its name).
//!
//! Shown with the generated configuration: requests through the frontend reach only
//! healthy backends; a backend whose `/healthz` answers 500 leaves the rotation
//! within the configured `inter` × `fall` and comes back after it recovers (`rise`
//! checks, `downinter` apart while down); a stopped backend leaves the rotation too.
//! Then the same with two flawed configurations from tutorials, and the test
//! asserts that they fail: the check ends at the TLS handshake
//! (`option httpchk` + `option ssl-hello-chk`), so a backend answering 500 is never
//! taken out; and with `defaults mode http` inherited by the backend, no request
//! gets through at all. That the good configuration passes and these fail is what
//! shows the generated one is right.
//!
//! A colocated load balancer (haproxy on port 8443 of each control plane, from a
//! small loopback cluster source) runs with its configuration unchanged: its
//! wildcard bind leaves port 6443 to the API servers beside it.
//!
//! What the dedicated test rewrites, because one machine holds the load balancer and the
//! API servers: the API frontend's `bind` moves from the wildcard address to the
//! cluster endpoint's address (a wildcard bind on port 6443 would take the API
//! servers' port on this machine). Nothing else changes; haproxy runs as root so
//! the configuration's `chroot`, `user` and `group` work as on the host, and logs
//! to stdout as configured (into a file here).

#[path = "emit_common.rs"]
mod emit_common;
#[path = "live_common.rs"]
mod live_common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use emit_common::{pyyaml_load, require, text};
use live_common::{Daemon, machine_lock, poll, report, seconds, self_signed_pair};

const EXAMPLE: &str = "loopback";
const HAPROXY_CONFIG: &str = "/etc/haproxy/haproxy.cfg";
const LOAD_BALANCER: &str = "lb1";

/// Room over haproxy's own timing for the checks themselves and the test's polling
/// on a busy machine.
const SLACK: Duration = Duration::from_secs(3);

/// One `server` line of the configuration.
#[derive(Debug, Clone)]
struct Server {
    name: String,
    address: String,
}

/// The health-check timing of the configuration's `default-server` line.
#[derive(Debug, Clone, Copy)]
struct Timing {
    inter: Duration,
    downinter: Duration,
    rise: u32,
    fall: u32,
}

impl Timing {
    /// Longest time a failing server may stay in rotation: `fall` failed checks
    /// `inter` apart, the first up to `inter` after the failure, plus slack for the
    /// checks themselves and the test's polling.
    fn removal_bound(self) -> Duration {
        self.inter * self.fall + SLACK
    }

    /// Longest time a recovered server may stay out: the first good check up to
    /// `downinter` after recovery, then `rise - 1` more `inter` apart, plus slack.
    fn return_bound(self) -> Duration {
        self.downinter + self.inter * (self.rise - 1) + SLACK
    }
}

fn duration(value: &str) -> Duration {
    if let Some(ms) = value.strip_suffix("ms") {
        Duration::from_millis(ms.parse().unwrap())
    } else if let Some(s) = value.strip_suffix('s') {
        Duration::from_secs(s.parse().unwrap())
    } else {
        Duration::from_millis(value.parse().unwrap())
    }
}

/// The servers and timing of the generated configuration (read, not re-typed).
fn parse(config: &str) -> (Vec<Server>, Timing) {
    let mut servers = Vec::new();
    let mut timing = None;
    for line in config.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first() {
            Some(&"server") => servers.push(Server {
                name: words[1].to_owned(),
                address: words[2].to_owned(),
            }),
            Some(&"default-server") => {
                let value = |key: &str| {
                    let at = words.iter().position(|w| *w == key)?;
                    words.get(at + 1).copied()
                };
                timing = Some(Timing {
                    inter: duration(value("inter").expect("inter")),
                    downinter: duration(value("downinter").unwrap_or(value("inter").unwrap())),
                    rise: value("rise").expect("rise").parse().unwrap(),
                    fall: value("fall").expect("fall").parse().unwrap(),
                });
            }
            _ => {}
        }
    }
    assert!(!servers.is_empty(), "no server lines in:\n{config}");
    (
        servers,
        timing.expect("a default-server line with the check timing"),
    )
}

/// The generated configuration with the API frontend bound to `endpoint`: the one
/// rewrite (see the module documentation). Fails if there is not exactly one
/// wildcard `bind` in the `k8s-api` frontend.
fn bind_to(config: &str, endpoint: &str) -> String {
    let mut in_api_frontend = false;
    let mut rewritten = 0;
    let lines: Vec<String> = config
        .lines()
        .map(|line| {
            let trimmed = line.trim();
            if !line.starts_with(' ') && !trimmed.is_empty() {
                in_api_frontend = trimmed.starts_with("frontend") && !trimmed.contains("healthz");
            }
            if in_api_frontend && trimmed.starts_with("bind ") {
                let address = trimmed.split_whitespace().nth(1).unwrap();
                assert!(
                    address.starts_with("0.0.0.0:") || address.starts_with("[::]:"),
                    "the frontend binds {address}, not the wildcard address"
                );
                rewritten += 1;
                return format!("  bind {endpoint}");
            }
            line.to_owned()
        })
        .collect();
    assert_eq!(rewritten, 1, "one bind line in the API frontend expected");
    lines.join("\n") + "\n"
}

/// The first old kubeadm tutorial's backend (k/kubeadm ha-considerations.md before
/// 2024-05): `option httpchk` followed by `option ssl-hello-chk`, which replaces
/// it; `defaults mode http` with `mode tcp` repeated in the backend. Same servers,
/// frontend and check timing as the generated configuration.
fn tutorial_ssl_hello(servers: &[Server], endpoint: &str, default_server: &str) -> String {
    tutorial(servers, endpoint, default_server, true)
}

/// The same without `mode tcp` in the backend, as copies of the tutorial often
/// have it: the backend inherits `mode http` from the defaults.
fn tutorial_http_backend(servers: &[Server], endpoint: &str, default_server: &str) -> String {
    tutorial(servers, endpoint, default_server, false)
}

fn tutorial(servers: &[Server], endpoint: &str, default_server: &str, backend_tcp: bool) -> String {
    let mut out = format!(
        "global
  log stdout format raw local0 info

defaults
  mode http
  log global
  option httplog
  option dontlognull
  option http-server-close
  option redispatch
  retries 1
  timeout http-request 10s
  timeout queue 20s
  timeout connect 5s
  timeout client 20s
  timeout server 20s
  timeout http-keep-alive 10s
  timeout check 10s

frontend apiserver
  bind {endpoint}
  mode tcp
  option tcplog
  default_backend apiserver

backend apiserver
  option httpchk GET /healthz
  http-check expect status 200
{}  option ssl-hello-chk
  balance roundrobin
  {default_server}
",
        if backend_tcp { "  mode tcp\n" } else { "" }
    );
    for server in servers {
        out.push_str(&format!(
            "  server {} {} check\n",
            server.name, server.address
        ));
    }
    out
}

/// A TLS server standing in for one API server.
struct Backend {
    server: Server,
    dir: PathBuf,
    daemon: Option<Daemon>,
}

const OK: &str = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nok";
const FAILING: &str =
    "HTTP/1.0 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n[-]etcd failed\n";

impl Backend {
    fn new(server: &Server, scratch: &Path) -> Backend {
        let dir = scratch.join(&server.name);
        fs::create_dir_all(&dir).unwrap();
        self_signed_pair(&dir, "kube-apiserver", &[]);
        let backend = Backend {
            server: server.clone(),
            dir,
            daemon: None,
        };
        backend.answer_healthz(OK);
        fs::write(
            backend.dir.join("whoami"),
            format!(
                "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{}",
                server.name
            ),
        )
        .unwrap();
        backend
    }

    /// `/healthz` answers with `response` from now on (the file is replaced whole).
    fn answer_healthz(&self, response: &str) {
        let staged = self.dir.join("healthz.new");
        fs::write(&staged, response).unwrap();
        fs::rename(&staged, self.dir.join("healthz")).unwrap();
    }

    fn start(&mut self) {
        let log = self.dir.join("s_server.log");
        let daemon = Daemon::start(
            &format!("s_server {}", self.server.name),
            Command::new("openssl")
                .args(["s_server", "-quiet", "-HTTP", "-accept"])
                .arg(&self.server.address)
                .args(["-cert", "cert.pem", "-key", "key.pem"])
                .current_dir(&self.dir),
            &log,
        );
        self.daemon = Some(daemon);
        let url = format!("https://{}/whoami", self.server.address);
        let up = poll(Duration::from_secs(10), Duration::from_millis(100), || {
            (fetch(&url).as_deref() == Some(self.server.name.as_str())).then_some(())
        });
        assert!(up.is_some(), "{} did not start", self.server.name);
    }

    fn stop(&mut self) {
        self.daemon = None;
    }
}

/// `GET url` over TLS without verification; the body, if the status was 200.
fn fetch(url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["--silent", "--fail", "--insecure", "--max-time", "2", url])
        .output()
        .expect("run curl");
    out.status.success().then(|| text(&out.stdout))
}

/// Which backends `count` requests through the frontend reached (`None` for a
/// request that failed).
fn sample(endpoint: &str, count: usize) -> Vec<Option<String>> {
    let url = format!("https://{endpoint}/whoami");
    (0..count).map(|_| fetch(&url)).collect()
}

/// haproxy's log, read from a given offset: the state changes it reports
/// (`Server <backend>/<name> is DOWN`) are the moments a server leaves or rejoins
/// the rotation.
struct HaproxyLog(PathBuf);

impl HaproxyLog {
    fn len(&self) -> usize {
        fs::read_to_string(&self.0).map_or(0, |t| t.len())
    }

    /// Time until a line `Server …/<server> is <state>` appears after `offset`.
    fn wait_for(
        &self,
        offset: usize,
        server: &str,
        state: &str,
        limit: Duration,
    ) -> Option<Duration> {
        let needle = format!("/{server} is {state}");
        poll(limit, Duration::from_millis(50), || {
            let text = fs::read_to_string(&self.0).unwrap_or_default();
            text.get(offset..)
                .is_some_and(|new| {
                    new.lines()
                        .any(|l| l.starts_with("Server ") && l.contains(&needle))
                })
                .then_some(())
        })
        .map(|((), took)| took)
    }
}

/// Twelve requests through the frontend all succeed and none reaches `excluded`.
fn only_others_reached(endpoint: &str, excluded: &str) -> bool {
    let seen = sample(endpoint, 12);
    seen.iter()
        .all(|s| s.as_deref().is_some_and(|name| name != excluded))
}

/// Some request through the frontend reaches `server` within `limit` (after a
/// server returns, haproxy's `slowstart` gives it little traffic at first).
fn reached_within(endpoint: &str, server: &str, limit: Duration) -> bool {
    poll(limit, Duration::from_millis(50), || {
        sample(endpoint, 6)
            .iter()
            .any(|s| s.as_deref() == Some(server))
            .then_some(())
    })
    .is_some()
}

/// What one configuration did in the experiments.
#[derive(Debug, Default)]
struct Outcome {
    /// Requests through the frontend succeeded and reached every backend.
    all_reached: bool,
    /// Time until haproxy took the backend answering 500 out.
    unhealthy_removed: Option<Duration>,
    /// Afterwards, requests succeeded and none reached it.
    unhealthy_avoided: bool,
    /// While it answered 500 and was not taken out, requests still reached it.
    unhealthy_still_served: bool,
    /// Time until it was back after answering 200 again, and whether traffic
    /// reached it again.
    recovered_returned: Option<Duration>,
    recovered_served: bool,
    /// Time until haproxy took a stopped backend out, and whether requests then
    /// all succeeded without it.
    stopped_removed: Option<Duration>,
    stopped_avoided: bool,
    /// The end of haproxy's log, for failure messages.
    log: String,
}

/// Runs haproxy with `config` against fresh backends and measures. The failing
/// backend is the second server, the stopped one the third.
fn experiment(
    label: &str,
    config: &str,
    servers: &[Server],
    endpoint: &str,
    timing: Timing,
) -> Outcome {
    let scratch = tempfile::Builder::new()
        .prefix(&format!("hac-live-haproxy-{label}-"))
        .tempdir()
        .unwrap();
    let mut backends: Vec<Backend> = servers
        .iter()
        .map(|s| Backend::new(s, scratch.path()))
        .collect();
    for backend in &mut backends {
        backend.start();
    }
    let config_file = scratch.path().join("haproxy.cfg");
    fs::write(&config_file, config).unwrap();
    let checked = Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&config_file)
        .output()
        .expect("run haproxy -c");
    assert!(
        checked.status.success(),
        "{label}: haproxy -c refused the configuration:\n{}{}",
        text(&checked.stdout),
        text(&checked.stderr)
    );
    let log_path = scratch.path().join("haproxy.log");
    let haproxy = Daemon::start(
        &format!("haproxy ({label})"),
        Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&config_file),
        &log_path,
    );
    let log = HaproxyLog(log_path);
    let mut outcome = Outcome::default();
    let (failing, stopped) = (&servers[1].name, &servers[2].name);

    // Traffic reaches every backend (each request must succeed).
    outcome.all_reached = poll(Duration::from_secs(10), Duration::from_millis(100), || {
        let seen = sample(endpoint, 2 * servers.len());
        (seen.iter().all(Option::is_some)
            && servers
                .iter()
                .all(|s| seen.iter().any(|n| n.as_deref() == Some(s.name.as_str()))))
        .then_some(())
    })
    .is_some();
    if outcome.all_reached {
        // haproxy starts every server at the lowest healthy level, where one failed
        // check takes it down; after `fall` intervals every server has passed checks
        // and is at full health, as on a load balancer that has run for a while.
        std::thread::sleep(timing.inter * timing.fall);
        // The second backend's /healthz answers 500.
        let offset = log.len();
        backends[1].answer_healthz(FAILING);
        outcome.unhealthy_removed = log.wait_for(offset, failing, "DOWN", timing.removal_bound());
        if outcome.unhealthy_removed.is_some() {
            outcome.unhealthy_avoided = only_others_reached(endpoint, failing);
        } else {
            outcome.unhealthy_still_served =
                reached_within(endpoint, failing, timing.removal_bound());
        }
        let offset = log.len();
        backends[1].answer_healthz(OK);
        if outcome.unhealthy_removed.is_some() {
            outcome.recovered_returned = log.wait_for(offset, failing, "UP", timing.return_bound());
            outcome.recovered_served = reached_within(endpoint, failing, Duration::from_secs(30));
        }
        // The third backend stops.
        let offset = log.len();
        backends[2].stop();
        outcome.stopped_removed = log.wait_for(offset, stopped, "DOWN", timing.removal_bound());
        outcome.stopped_avoided =
            outcome.stopped_removed.is_some() && only_others_reached(endpoint, stopped);
    }
    outcome.log = haproxy.log_tail();
    drop(haproxy);
    drop(backends);
    outcome
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "all reached: {}; 500: removed {:?}, avoided {}, still served {}; recovered: {:?}, served {}; stopped: removed {:?}, avoided {}",
            self.all_reached,
            self.unhealthy_removed,
            self.unhealthy_avoided,
            self.unhealthy_still_served,
            self.recovered_returned,
            self.recovered_served,
            self.stopped_removed,
            self.stopped_avoided
        )?;
        f.write_str(&self.log)
    }
}

fn describe(duration: Option<Duration>) -> String {
    duration.map_or_else(|| "never (within the bound)".to_owned(), seconds)
}

/// `host`'s generated haproxy configuration, read back from its user-data.
fn haproxy_config_of(hosts: Vec<hac::build::HostOutput>, host: &str) -> String {
    let user_data = hosts
        .into_iter()
        .find(|h| h.name == host)
        .unwrap_or_else(|| panic!("{host} is not built"))
        .user_data;
    let doc = &pyyaml_load(&[user_data])[0];
    doc["write_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == HAPROXY_CONFIG)
        .expect("the user-data writes haproxy.cfg")["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The cluster endpoint of a source.
fn endpoint_of(path: &Path) -> String {
    let analysis = hac::analysis::analyze(
        &hac_lang::FsLoader,
        path,
        &hac_lang::Limits::default(),
        hac::analysis::Depth::Cluster,
    );
    let cluster = analysis.cluster.expect("a valid cluster");
    hac::plan::plan(&cluster).endpoint
}

/// The dedicated load balancer's generated configuration and the endpoint.
fn generated_config() -> (String, String) {
    let scratch = tempfile::tempdir().unwrap();
    let hosts = hac_tests::build_example(EXAMPLE, &scratch.path().join("c.secrets"));
    let path = hac_tests::repo_root()
        .join("examples")
        .join(format!("{EXAMPLE}.hac"));
    (haproxy_config_of(hosts, LOAD_BALANCER), endpoint_of(&path))
}

/// A colocated load balancer on loopback addresses: haproxy on port 8443 of every
/// control plane, next to the API servers on 6443.
const COLOCATED: &str = r#"
let
  host = name: n: { inherit name; address = "127.0.0.${toString n}"; };
in
{
  name = "loopback-colocated";
  kubernetes = "1.36.1";
  endpoint = "127.0.0.100:8443";
  loadbalancer = { colocated = true; vip = "127.0.0.100"; port = 8443; };
  controlplanes = builtins.genList (i: host "cp${toString (i + 1)}" (11 + i)) 3;
  workers = [ (host "worker1" 21) ];
  versions.flannel.unverified = true;
}
"#;

/// The first control plane's generated configuration and the endpoint of
/// [`COLOCATED`].
fn colocated_config() -> (String, String) {
    let scratch = tempfile::tempdir().unwrap();
    let source = scratch.path().join("colocated.hac");
    fs::write(&source, COLOCATED).unwrap();
    let analysis = hac::analysis::analyze(
        &hac_lang::FsLoader,
        &source,
        &hac_lang::Limits::default(),
        hac::analysis::Depth::Cluster,
    );
    let cluster = analysis
        .cluster
        .unwrap_or_else(|| panic!("invalid colocated cluster: {:#?}", analysis.diagnostics));
    let plan = hac::plan::plan(&cluster);
    let spec = hac::cli::secrets_spec(&cluster, None);
    let (bundle, _) =
        hac::secrets::ensure(&scratch.path().join("c.secrets"), &spec).expect("secrets bundle");
    let context = hac::build::Context {
        cluster: &cluster,
        plan: &plan,
        secrets: &bundle,
        built_at: hac_tests::build_time(),
    };
    let hosts = hac::build::build(&context).unwrap_or_else(|e| panic!("does not build: {e}"));
    (haproxy_config_of(hosts, "cp1"), plan.endpoint)
}

#[test]
fn the_generated_haproxy_takes_failing_api_servers_out_and_the_tutorial_ones_do_not() {
    require("haproxy", "haproxy");
    require("openssl", "openssl");
    require("curl", "curl");
    let _lock = machine_lock("haproxy");
    let (generated, endpoint) = generated_config();
    let (servers, timing) = parse(&generated);
    let default_server = generated
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("default-server"))
        .unwrap()
        .to_owned();

    let ours = experiment(
        "generated",
        &bind_to(&generated, &endpoint),
        &servers,
        &endpoint,
        timing,
    );
    report(&format!(
        "haproxy (generated): requests reach every healthy backend: {}; a backend answering 500 is taken out after {} (inter {} x fall {} = {}) and gets no more requests: {}; back {} after answering 200 again (downinter {} + (rise {} - 1) x inter); a stopped backend is taken out after {} and requests still all succeed: {}",
        ours.all_reached,
        describe(ours.unhealthy_removed),
        seconds(timing.inter),
        timing.fall,
        seconds(timing.inter * timing.fall),
        ours.unhealthy_avoided,
        describe(ours.recovered_returned),
        seconds(timing.downinter),
        timing.rise,
        describe(ours.stopped_removed),
        ours.stopped_avoided,
    ));
    assert!(
        ours.all_reached,
        "requests did not reach every healthy backend: {ours}"
    );
    assert!(
        ours.unhealthy_removed.is_some() && ours.unhealthy_avoided,
        "a backend answering 500 stayed in rotation: {ours}"
    );
    assert!(
        ours.recovered_returned.is_some() && ours.recovered_served,
        "the recovered backend did not come back: {ours}"
    );
    assert!(
        ours.stopped_removed.is_some() && ours.stopped_avoided,
        "a stopped backend stayed in rotation: {ours}"
    );

    let hello = experiment(
        "ssl-hello-chk",
        &tutorial_ssl_hello(&servers, &endpoint, &default_server),
        &servers,
        &endpoint,
        timing,
    );
    report(&format!(
        "haproxy (tutorial: httpchk + ssl-hello-chk): requests reach every backend: {}; a backend answering 500 is taken out: {}, and still gets requests: {}; a stopped backend is taken out after {}",
        hello.all_reached,
        describe(hello.unhealthy_removed),
        hello.unhealthy_still_served,
        describe(hello.stopped_removed),
    ));
    assert!(
        hello.all_reached,
        "the tutorial configuration should still pass traffic: {hello}"
    );
    assert!(
        hello.unhealthy_removed.is_none() && hello.unhealthy_still_served,
        "with ssl-hello-chk the check should never see the 500: {hello}"
    );

    let http = experiment(
        "mode-http",
        &tutorial_http_backend(&servers, &endpoint, &default_server),
        &servers,
        &endpoint,
        timing,
    );
    report(&format!(
        "haproxy (tutorial, backend inheriting mode http): requests through the frontend reach the backends: {}",
        http.all_reached
    ));
    assert!(
        !http.all_reached,
        "a backend in mode http should break TLS passthrough: {http}"
    );
}

#[test]
fn a_colocated_haproxy_runs_unchanged_next_to_the_api_servers() {
    require("haproxy", "haproxy");
    require("openssl", "openssl");
    require("curl", "curl");
    let _lock = machine_lock("haproxy");
    let (generated, endpoint) = colocated_config();
    let (servers, timing) = parse(&generated);
    assert!(
        servers.iter().all(|s| s.address.ends_with(":6443")),
        "the backends are the API servers on 6443: {servers:?}"
    );
    // No rewrite at all: haproxy's wildcard bind on 8443 leaves 6443 to the API servers.
    let outcome = experiment("colocated", &generated, &servers, &endpoint, timing);
    report(&format!(
        "haproxy (colocated, unchanged): requests reach every healthy backend: {}; a backend answering 500 is taken out after {}; a stopped backend after {}",
        outcome.all_reached,
        describe(outcome.unhealthy_removed),
        describe(outcome.stopped_removed),
    ));
    assert!(
        outcome.all_reached
            && outcome.unhealthy_removed.is_some()
            && outcome.unhealthy_avoided
            && outcome.recovered_returned.is_some()
            && outcome.stopped_removed.is_some()
            && outcome.stopped_avoided,
        "the colocated haproxy did not behave: {outcome}"
    );
}
