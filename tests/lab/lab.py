#!/usr/bin/python3
"""hac's boot lab: boots every host of a cluster from its generated user-data, side by
side on this machine (systemd-nspawn, real systemd and cloud-init, one network namespace
per host), and checks that the cluster assembles. See docs/lab.md.

    scripts/lab                 # every scenario
    scripts/lab all-at-once cp1-last
    scripts/lab --list
    scripts/lab --keep all-at-once   # leave the run directory for inspection

Exit status: 0 every scenario passed, 1 one failed, 77 the lab cannot run here (not
root, no systemd-nspawn, Debian's packages cannot be fetched): a skip outside CI, a
failure in CI (CI=true).
"""
import argparse
import concurrent.futures
import calendar
import json
import os
import random
import shutil
import signal
import stat
import threading
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import cluster as labcluster  # noqa: E402
import image  # noqa: E402

SKIP = 77
# Lab time runs this many times faster than real time. Kubernetes' own clocks (the
# certificates' 2 h, tokens' TTL) must stay long against what takes real time (booting,
# apt), so the lab runs at 10x and jumps the clock for the long gaps.
LAB_RATE = float(os.environ.get("HAC_LAB_RATE", "10"))
REAL_BUDGET = float(os.environ.get("HAC_LAB_REAL_BUDGET", "420"))


class ScenarioFailed(Exception):
    pass


def hac_binary():
    explicit = os.environ.get("HAC_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    path = os.path.join(target, "debug", "hac")
    if not BUILT:
        # Fresh for the checkout (a no-op when it is): the lab builds with this hac.
        subprocess.run(["cargo", "build", "--quiet", "--locked", "-p", "hac"], cwd=REPO, check=True)
        BUILT.append(path)
    return path


BUILT = []


def supports_at():
    """`hac build --at` (build as of a given time): without it the build is of now."""
    if not SUPPORTS_AT:
        help_text = subprocess.run([hac_binary(), "build", "--help"], capture_output=True, text=True).stdout
        SUPPORTS_AT.append("--at" in help_text)
    return SUPPORTS_AT[0]


SUPPORTS_AT = []


class Build:
    """`hac build` of a lab cluster file into the run directory."""

    def __init__(self, run, source):
        self.source = os.path.join(HERE, source)
        self.secrets = os.path.join(run, os.path.basename(source).replace(".hac", ".secrets"))
        self.run = run
        self.count = 0
        # Set once the lab's server tree exists: the stand-in containerd release.
        self.www = None
        value = json.loads(subprocess.run([hac_binary(), "eval", "--root", REPO, self.source], check=True, capture_output=True,
                                          text=True).stdout)
        self.value = value
        self.endpoint = value["endpoint"].rsplit(":", 1)[0]
        self.kubernetes = value["kubernetes"]
        self.hosts = []  # (name, address, role)
        lb = value.get("loadbalancer") or {}
        for h in lb.get("hosts", []):
            self.hosts.append((h["name"], h["address"], "loadbalancer"))
        etcd = value.get("etcd")
        if isinstance(etcd, dict):
            for h in etcd.get("external", []):
                self.hosts.append((h["name"], h["address"], "etcd"))
        for h in value["controlplanes"]:
            self.hosts.append((h["name"], h["address"], "controlplane"))
        for h in value.get("workers", []):
            self.hosts.append((h["name"], h["address"], "worker"))
        self.vip = lb.get("vip")
        self.control_planes = [h[0] for h in self.hosts if h[2] == "controlplane"]
        self.workers = [h[0] for h in self.hosts if h[2] == "worker"]

    def digested_source(self):
        """The cluster file with the digests of the lab's stand-in containerd release: the
        hosts check every download against the digest in their user-data, and the lab
        serves stand-ins, not containerd's real tarballs."""
        version = image.pinned_version("containerd", self.kubernetes)
        digests = image.containerd_digests(self.www, version)
        path = os.path.join(self.run, "digested-" + os.path.basename(self.source))
        with open(path, "w") as f:
            f.write("let c = import %s; in c // { versions = (c.versions or { }) // { containerd = "
                    "{ version = \"%s\"; sha256 = { amd64 = \"%s\"; arm64 = \"%s\"; }; }; }; }\n"
                    % (self.source, version, digests["amd64"], digests["arm64"]))
        return path

    def build(self, at=None):
        self.count += 1
        out = os.path.join(self.run, "out-%d" % self.count)
        # The lab clusters import the examples beside them, and the digested source lives in
        # the run directory: the project root is the whole file system.
        args = [hac_binary(), "build", "--root", "/", self.digested_source(), "-o", out, "--secrets", self.secrets]
        if at is not None and supports_at():
            args += ["--at", at]
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            raise ScenarioFailed("hac build failed: %s" % result.stderr)
        return out

    def set_registry_login(self, name, username, password):
        """`hac secrets set-registry-login`, the password on standard input, into the
        run's bundle (made first when there is none)."""
        if not os.path.exists(self.secrets):
            result = subprocess.run([hac_binary(), "secrets", "init", "--root", "/", self.source,
                                     "--secrets", self.secrets], capture_output=True, text=True)
            if result.returncode != 0:
                raise ScenarioFailed("hac secrets init failed: %s" % result.stderr)
        result = subprocess.run([hac_binary(), "secrets", "set-registry-login", name, "--username", username,
                                 self.secrets], input=password + "\n", capture_output=True, text=True)
        if result.returncode != 0 or password in result.stdout + result.stderr:
            raise ScenarioFailed("hac secrets set-registry-login failed or printed the password: %s"
                                 % result.stderr)

    def rotate_token(self):
        result = subprocess.run([hac_binary(), "secrets", "rotate", "token", self.source, "--secrets", self.secrets],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise ScenarioFailed("hac secrets rotate token failed: %s" % result.stderr)


class Scenario:
    def __init__(self, name, args, cluster_file="cluster.hac", rate=None):
        self.name = name
        self.args = args
        self.run = tempfile.mkdtemp(prefix="hac-lab-%s-" % name, dir=args.runs)
        self.build = Build(self.run, cluster_file)
        server = labcluster.subnet_address([h[1] for h in self.build.hosts])
        self.lab = labcluster.Lab(self.run, args.cache, self.build.hosts, server, rate or LAB_RATE,
                                  self.build.kubernetes)
        self.build.www = self.lab.www
        self.lab.resolve(self.build.endpoint, self.build.vip or self.first("loadbalancer") or
                         self.lab.hosts[self.build.control_planes[0]].address)
        self.real_start = time.time()
        self.expected_failed = {}
        self.not_booted = set()
        self.out = None

    def first(self, role):
        for name, address, r in self.build.hosts:
            if r == role:
                return address
        return None

    def say(self, text):
        print("[%s +%6.0f lab-s, %4.0f s] %s" % (self.name, self.lab.clock.elapsed(), time.time() - self.real_start, text),
              flush=True)

    def start(self, at=None):
        self.out = self.build.build(at)
        for host in self.lab.hosts.values():
            host.seed(os.path.join(self.out, host.name + ".yaml"))
        self.lab.start()

    def boot(self, *names):
        for name in names:
            self.lab.hosts[name].boot()
        self.say("booted " + " ".join(names))

    def names(self, role=None):
        return [n for n, _, r in self.build.hosts if role is None or r == role]

    def wait(self, what, predicate, lab_seconds=None, real_seconds=None):
        """Until predicate() holds; lab_seconds bounds lab time, real_seconds real time."""
        lab_end = None if lab_seconds is None else self.lab.clock.elapsed() + lab_seconds
        real_end = time.time() + (real_seconds or REAL_BUDGET)
        while True:
            if STOP.is_set():
                raise ScenarioFailed("interrupted")
            if predicate():
                return
            self.check_invariants()
            if lab_end is not None and self.lab.clock.elapsed() > lab_end or time.time() > real_end:
                raise ScenarioFailed("timed out waiting for " + what + "\n" + self.report())
            time.sleep(0.5)

    def outcome(self, name):
        return self.lab.hosts[name].outcome()

    def settled(self, names):
        return all(self.outcome(n)[0] is not None for n in names)

    def wait_settled(self, names=None, real_seconds=None, lab_seconds=None):
        names = names or [n for n in self.names() if n not in self.not_booted]
        self.wait("every host to write done or failed", lambda: self.settled(names), lab_seconds, real_seconds)

    def wait_done(self, names, real_seconds=None):
        def done():
            for n in names:
                state, text = self.outcome(n)
                if state == "failed" and n not in self.expected_failed:
                    raise ScenarioFailed("%s failed: %s\n%s" % (n, text.replace("\n", "; "), self.report()))
            return all(self.outcome(n)[0] == "done" for n in names)
        self.wait("%s to be done" % " ".join(names), done, real_seconds=real_seconds)

    def check_invariants(self):
        inits = self.lab.inits()
        if len(inits) > 1:
            raise ScenarioFailed("kubeadm init ran %d times: %s\n%s" % (len(inits), inits, self.report()))
        unsupported = []
        for host in self.lab.hosts.values():
            p = host.path("/var/log/hac-lab-unsupported.log")
            if os.path.exists(p):
                with open(p) as f:
                    unsupported += ["%s: %s" % (host.name, line.strip()) for line in f]
        if unsupported:
            raise ScenarioFailed("a script used what the stand-ins do not implement, or a stand-in failed (docs/lab.md):\n  "
                                 + "\n  ".join(unsupported))

    def finish(self, nodes=None):
        """Every booted host done (or failed as expected), exactly the expected nodes, one init."""
        self.wait_settled()
        problems = []
        for name in self.names():
            if name in self.not_booted:
                continue
            state, text = self.outcome(name)
            want = self.expected_failed.get(name)
            if want is None and state != "done":
                problems.append("%s: %s %s" % (name, state, text.replace("\n", "; ")))
            if want is not None and (state != "failed" or want not in text):
                problems.append("%s: expected failed with %r, got %s %s" % (name, want, state, text))
        expected = set(nodes if nodes is not None else
                       [n for n in self.build.control_planes + self.build.workers if n not in self.not_booted])
        state = self.lab.state()
        registered = set(state.get("nodes", {}))
        if registered != expected:
            problems.append("the API lists nodes %s, expected %s" % (sorted(registered), sorted(expected)))
        for name in self.build.control_planes:
            if name in registered and "node-role.kubernetes.io/control-plane" not in state["nodes"][name]["labels"]:
                problems.append("%s is registered without the control-plane role" % name)
        inits = self.lab.inits()
        if len(inits) != 1:
            problems.append("kubeadm init ran %d times" % len(inits))
        self.check_invariants()
        if problems:
            raise ScenarioFailed("\n".join(problems) + "\n" + self.report())
        self.say("ALL DONE: lab time %s, real time %.0f s" % (human(self.lab.clock.elapsed()), time.time() - self.real_start))

    def require_waited(self, name, lab_seconds):
        """The host's own log must show that it lived through the lab time the scenario
        made pass; a script that does not read the lab clock (HAC_CLOCK) sees only the
        real seconds, and its surviving the wait would prove nothing."""
        stamps = []
        for line in self.lab.hosts[name].log().splitlines():
            if len(line) > 20 and line[4] == "-" and line[10] == "T" and line[19] == "Z":
                stamps.append(calendar.timegm(time.strptime(line[:20], "%Y-%m-%dT%H:%M:%SZ")))
        span = max(stamps) - min(stamps) if stamps else 0
        if span < lab_seconds:
            raise ScenarioFailed("%s's log spans %d s, but %d lab-s passed while it waited: its script does not "
                                 "keep time with the lab clock (HAC_CLOCK), so this scenario cannot tell whether it "
                                 "would have waited that long" % (name, span, lab_seconds))

    def report(self):
        lines = ["run directory: " + self.run]
        for host in self.lab.hosts.values():
            state, text = host.outcome()
            lines.append("  %-8s %-7s steps=%s %s" % (host.name, state or "-", ",".join(host.steps()),
                                                       text.replace("\n", "; ")[:200]))
        for host in self.lab.hosts.values():
            state, _ = host.outcome()
            if state != "done" and host.boots:
                tail = [line[:300] for line in host.log().strip().splitlines()[-8:]]
                lines.append("  --- %s: last lines of /var/log/hac-bootstrap.log" % host.name)
                lines += ["    " + line for line in tail]
        return "\n".join(lines)

    def close(self, passed):
        self.lab.close()
        if passed and not self.args.keep:
            shutil.rmtree(self.run, ignore_errors=True)


def human(seconds):
    if seconds >= 86400:
        return "%.1f lab-days" % (seconds / 86400)
    if seconds >= 3600:
        return "%.1f lab-h" % (seconds / 3600)
    return "%.0f lab-min" % (seconds / 60) if seconds >= 120 else "%.0f lab-s" % seconds


# ---------------------------------------------------------------- scenarios

SCENARIOS = {}


def scenario(name, cluster_file="cluster.hac", rate=None):
    """A scenario; `rate` overrides the lab clock's rate for one that mostly waits."""
    def register(function):
        SCENARIOS[name] = (function, cluster_file, rate)
        return function
    return register


@scenario("all-at-once")
def all_at_once(s):
    s.start()
    s.boot(*s.names())
    s.finish()


@scenario("external-etcd", "external-etcd.hac")
def external_etcd(s):
    s.start()
    s.boot(*s.names())
    s.finish()


@scenario("offline", "offline.hac")
def offline(s):
    """Only the site mirror (and the OS's repository) can be reached: the cluster
    assembles, and nobody asked for anything else."""
    outside = ("github.com", "raw.githubusercontent.com", "pkgs.k8s.lab")
    s.lab.unresolve(*outside)
    password = "lab-mirror-%d" % random.randrange(10 ** 12)
    s.build.set_registry_login("lab-mirror", "lab", password)
    s.start()
    s.boot(*s.names())
    s.finish()
    check_containerd(s, "mirror.lab", "lab", password, "mirror.lab/k8s/pause:")
    asked, served = [], set()
    with open(os.path.join(s.lab.server_dir, "server.log")) as f:
        for line in f:
            words = line.split()
            if len(words) >= 5 and words[4] == "200":
                served.add(words[3])
            if len(words) >= 4 and words[2] == "DNS" and words[3] in outside:
                asked.append(line.strip())
            elif len(words) >= 4 and words[2] in ("GET", "HEAD"):
                host = words[3].split("/", 1)[0]
                if host not in ("mirror.lab", "deb.debian.org"):
                    asked.append(line.strip())
    if asked:
        raise ScenarioFailed("an offline cluster reached outside its mirror:\n  " + "\n  ".join(asked[:20]))
    # And the mirror did serve what the cluster needs (the check above would pass on nothing).
    for prefix in ("mirror.lab/pkgs.k8s.lab/", "mirror.lab/releases/github.com/containerd/",
                   "mirror.lab/releases/github.com/flannel-io/"):
        if not any(path.startswith(prefix) for path in served):
            raise ScenarioFailed("nothing under %s was served: %s" % (prefix, sorted(served)[:20]))
    s.say("only mirror.lab and the OS repository were asked for anything")


def check_containerd(s, registry, username, password, pause_prefix):
    """Every Kubernetes host runs containerd with the login for `registry` and kubeadm's
    pause image from `pause_prefix`, in a configuration only root reads; the password is
    in no host's bootstrap log."""
    for name, _, role in s.build.hosts:
        host = s.lab.hosts[name]
        log = host.log()
        if password in log:
            raise ScenarioFailed("%s: the bootstrap log holds the registry password" % name)
        if role not in ("controlplane", "worker"):
            continue
        path = host.path("/etc/containerd/config.toml")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode != 0o600:
            raise ScenarioFailed("%s: /etc/containerd/config.toml has mode %o, not 600" % (name, mode))
        with open(path, "rb") as f:
            images = tomllib.load(f)["plugins"]["io.containerd.cri.v1.images"]
        auth = images.get("registry", {}).get("configs", {}).get(registry, {}).get("auth", {})
        if auth.get("username") != username or auth.get("password") != password:
            raise ScenarioFailed("%s: containerd has no login for %s" % (name, registry))
        sandbox = images.get("pinned_images", {}).get("sandbox", "")
        if not sandbox.startswith(pause_prefix):
            raise ScenarioFailed("%s: containerd's sandbox image is %r, not kubeadm's %s…" % (name, sandbox, pause_prefix))
    s.say("every Kubernetes host's containerd has the %s login and the pause image %s…" % (registry, pause_prefix))


def random_order(s, seed):
    rng = random.Random(seed)
    s.say("seed %d" % seed)
    s.start()
    names = s.names()
    rng.shuffle(names)
    for name in names:
        s.lab.clock.sleep(rng.uniform(0, 60))
        s.boot(name)
    s.finish()


@scenario("random-orders", "small.hac")
def random_orders(s):
    """HAC_LAB_ORDERS random boot orders of the small cluster, HAC_LAB_PARALLEL clusters
    at a time (each in namespaces of its own)."""
    seeds = [int(x) for x in os.environ.get("HAC_LAB_SEEDS", "").split(",") if x] or \
        [random.randrange(1 << 30) for _ in range(int(os.environ.get("HAC_LAB_ORDERS", "6")))]
    s.say("seeds %s (rerun one: HAC_LAB_SEEDS=SEED scripts/lab random-orders)" % ",".join(map(str, seeds)))

    def one(seed):
        sub = Scenario("random-orders-%d" % seed, s.args, "small.hac")
        passed = False
        try:
            random_order(sub, seed)
            passed = True
            return None
        except ScenarioFailed as error:
            return "seed %d: %s" % (seed, error)
        except Exception:
            return "seed %d: the lab itself failed:\n%s" % (seed, traceback.format_exc())
        finally:
            sub.close(passed)

    with concurrent.futures.ThreadPoolExecutor(int(os.environ.get("HAC_LAB_PARALLEL", "3"))) as pool:
        failures = [f for f in pool.map(one, seeds) if f]
    if failures:
        raise ScenarioFailed("%d of %d orders failed:\n%s" % (len(failures), len(seeds), "\n".join(failures)))
    s.say("all %d orders assembled" % len(seeds))


@scenario("lb-60-min-late")
def lb_late(s):
    """The load balancers boot 60 lab-minutes after cp1 started waiting for the endpoint
    (most of the hour is a jump of the clock); cp1's log must span that hour."""
    s.start()
    others = [n for n in s.names() if n not in s.names("loadbalancer")]
    s.boot(*others)
    s.wait("cp1 to wait for the endpoint", lambda: "step kubeadm-init: started" in s.lab.hosts["cp1"].log())
    waiting_since = s.lab.clock.elapsed()
    s.lab.clock.sleep(60)
    s.say("jumping the clock to 59 lab-minutes after cp1 started waiting")
    s.lab.jump(max(0, waiting_since + 3540 - s.lab.clock.elapsed()))
    s.lab.clock.sleep(60)
    s.boot(*s.names("loadbalancer"))
    s.finish()
    s.require_waited("cp1", 3000)


@scenario("cp1-last")
def cp1_last(s):
    s.start()
    s.boot(*[n for n in s.names() if n != "cp1"])
    s.lab.clock.sleep(300)
    s.boot("cp1")
    s.finish()


@scenario("apt-refused")
def apt_refused(s):
    """The lab server refuses cp2's first three connections (apt's first tries)."""
    s.start()
    s.lab.refuse("cp2", 3)
    s.boot(*s.names())
    s.finish()


# cp3 waits 30 lab-minutes for cp2 before it passes it: at 30x that is one real minute,
# and the certificates' 2 lab-hours are still 4 real minutes.
@scenario("cp2-never-boots", rate=30)
def cp2_never(s):
    s.start()
    s.not_booted = {"cp2"}
    s.boot(*[n for n in s.names() if n != "cp2"])
    s.finish()


@scenario("power-cut-every-step", "small.hac")
def power_cut_every_step(s):
    """Each host of the small cluster loses power once during each of its steps (a
    random moment, 0-4 real seconds, after the step started and before it finished),
    then boots again with its disk as it was."""
    seed = int(os.environ.get("HAC_LAB_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    s.say("seed %d (rerun: HAC_LAB_SEED=%d scripts/lab power-cut-every-step)" % (seed, seed))
    s.start()
    s.boot(*s.names())
    cut = {n: set() for n in s.names()}
    seen = {}
    deadline = time.time() + REAL_BUDGET
    while not s.settled(s.names()):
        for name in s.names():
            host = s.lab.hosts[name]
            started = [line.split("step ", 1)[1].split(":")[0] for line in host.log().splitlines()
                       if line.endswith(": started") and "step " in line]
            if not started or not host.running():
                continue
            step = started[-1]
            if step in cut[name] or step in host.steps():
                continue
            when = seen.setdefault((name, step), time.time() + rng.uniform(0, 4))
            if time.time() >= when:
                cut[name].add(step)
                host.power_cut()
                s.say("power cut on %s during step %s; booting it again" % (name, step))
                host.boot()
        s.check_invariants()
        if time.time() > deadline:
            raise ScenarioFailed("seed %d: timed out\n%s" % (seed, s.report()))
        time.sleep(0.2)
    s.say("cuts: %s" % {n: sorted(c) for n, c in cut.items()})
    try:
        s.finish()
    except ScenarioFailed as error:
        raise ScenarioFailed("seed %d: %s" % (seed, error))


@scenario("cp1-recreated")
def cp1_recreated(s):
    """cp1 is replaced by a new machine (fresh disk) after the cluster formed. The
    endpoint's name resolves for its first lookups (one A and AAAA pair) and then not
    at all for 20 real seconds (200 lab-s): its first probes of the API fail."""
    s.start()
    s.boot(*s.names())
    s.wait_done(s.names())
    s.lab.hosts["cp1"].recreate()
    s.lab.fault("cp1", dns_flap={"pass": 2, "seconds": 20}, dns_names=[s.build.endpoint])
    s.lab.hosts["cp1"].boot()
    s.say("cp1 re-created with a fresh disk; %s stops resolving for it after its first lookups" % s.build.endpoint)
    s.finish()


def late_host(s, name, lab_delay, role_hosts):
    s.start()
    first = [n for n in s.names() if n != name]
    s.boot(*first)
    s.wait_done(first)
    s.say("cluster formed; jumping %s" % human(lab_delay))
    s.lab.jump(lab_delay)
    out = s.build.build(at=s.lab.clock.rfc3339())
    host = s.lab.hosts[name]
    host.seed(os.path.join(out, name + ".yaml"))
    host.boot()
    s.finish()


@scenario("worker-25-h-late")
def worker_late(s):
    late_host(s, "worker3", 25 * 3600, "worker")


@scenario("worker-30-days-late")
def worker_30_days(s):
    late_host(s, "worker3", 30 * 86400, "worker")


@scenario("cp3-3-h-late")
def cp3_late(s):
    late_host(s, "cp3", 3 * 3600, "controlplane")


@scenario("token-rotated")
def token_rotated(s):
    s.start()
    first = [n for n in s.names() if n != "worker3"]
    s.boot(*first)
    s.wait_done(first)
    s.build.rotate_token()
    out = s.build.build(at=s.lab.clock.rfc3339())
    s.say("token rotated and the cluster rebuilt; booting worker3 from the new build")
    host = s.lab.hosts["worker3"]
    host.seed(os.path.join(out, "worker3.yaml"))
    host.boot()
    s.finish()


@scenario("vip-moves-while-cp2-joins")
def vip_moves(s):
    s.start()
    s.boot(*[n for n in s.names() if n != "cp2"])
    s.wait_done(["lb1", "lb2", "cp1"])
    s.wait("the VIP to be held", lambda: s.lab.vip_holder(s.build.vip), real_seconds=120)
    holder = s.lab.vip_holder(s.build.vip)
    s.boot("cp2")
    s.wait("cp2 to start joining", lambda: "kubeadm-join: started" in s.lab.hosts["cp2"].log()
           or "step kubeadm-join: started" in s.lab.hosts["cp2"].log(), real_seconds=300)
    s.say("power cut on %s, which holds the VIP" % holder)
    s.lab.hosts[holder].power_cut()
    s.wait("the VIP to move", lambda: s.lab.vip_holder(s.build.vip) not in (None, holder), real_seconds=120)
    s.say("the VIP moved to %s; booting %s again" % (s.lab.vip_holder(s.build.vip), holder))
    s.lab.hosts[holder].boot()
    s.finish()


# ---------------------------------------------------------------- running


def raise_inotify_limits():
    """Every machine's systemd (and journald, udev-less as it is) takes inotify instances
    from root's one budget, 128 by default: a few clusters at once exhaust it, and
    systemd then stops starting units ("Failed to create inotify object: Too many open
    files"). The lab raises the limits, never lowers them."""
    for name, wanted in (("max_user_instances", 8192), ("max_user_watches", 1048576)):
        path = "/proc/sys/fs/inotify/" + name
        try:
            with open(path) as f:
                current = int(f.read())
            if current < wanted:
                with open(path, "w") as f:
                    f.write(str(wanted))
                print("lab: raised fs.inotify.%s from %d to %d" % (name, current, wanted), flush=True)
        except OSError as error:
            print("lab: cannot raise fs.inotify.%s: %s" % (name, error), flush=True)


def can_run():
    if os.geteuid() != 0:
        return "the boot lab needs root (network namespaces, overlay mounts, systemd-nspawn)"
    for tool in ("systemd-nspawn", "ip", "iptables", "dpkg-deb", "dpkg-scanpackages", "gpg", "mmdebstrap", "openssl"):
        if shutil.which(tool) is None:
            return "%s is not installed (scripts/test installs the lab's packages)" % tool
    return None


class Interrupted(BaseException):
    """SIGTERM or SIGINT: stop, and clean up what the run made on the way out."""


STOP = threading.Event()


def interrupted(signum, frame):
    STOP.set()  # the scenarios other threads run stop at their next wait
    raise Interrupted("signal %d" % signum)


def main():
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the run directories")
    parser.add_argument("--cache", default=os.environ.get("HAC_LAB_CACHE", os.path.join(REPO, "target", "lab-cache")))
    parser.add_argument("--runs", default=os.environ.get("HAC_LAB_RUNS", os.path.join(REPO, "target", "lab-runs")))
    parser.add_argument("--results", help="append one JSON line per scenario to this file")
    args = parser.parse_args()
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    names = args.scenarios or list(SCENARIOS)
    for name in names:
        if name not in SCENARIOS:
            print("unknown scenario %r; --list shows them" % name, file=sys.stderr)
            return 2
    problem = can_run()
    if problem:
        return cannot_run(problem)
    os.makedirs(args.cache, exist_ok=True)
    os.makedirs(args.runs, exist_ok=True)
    raise_inotify_limits()
    failed = 0
    for name in names:
        function, cluster_file, rate = SCENARIOS[name]
        s = None
        passed = False
        started = time.time()
        try:
            s = Scenario(name, args, cluster_file, rate)
            function(s)
            passed = True
        except image.CannotFetch as error:
            return cannot_run(str(error))
        except ScenarioFailed as error:
            print("FAILED %s: %s" % (name, error), flush=True)
        except Exception:
            print("FAILED %s: the lab itself failed:\n%s" % (name, traceback.format_exc()), flush=True)
        finally:
            lab_elapsed = s.lab.clock.elapsed() if s else 0
            if s:
                s.close(passed)
        if not passed:
            failed += 1
        if args.results:
            with open(args.results, "a") as f:
                f.write(json.dumps({"scenario": name, "passed": passed, "lab_seconds": round(lab_elapsed),
                                    "real_seconds": round(time.time() - started)}) + "\n")
        print("%s %s (lab %s, real %.0f s)" % ("PASSED" if passed else "FAILED", name, human(lab_elapsed),
                                               time.time() - started), flush=True)
    return 1 if failed else 0


def cannot_run(problem):
    if os.environ.get("CI") == "true":
        print("lab: cannot run in CI: %s" % problem, file=sys.stderr)
        return 1
    print("lab: SKIPPED, cannot run here: %s" % problem, file=sys.stderr)
    return SKIP


if __name__ == "__main__":
    sys.exit(main())
