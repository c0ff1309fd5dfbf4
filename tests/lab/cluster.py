"""The running lab: network namespaces joined by a bridge, the lab server, the shared
clock and cluster store, and one systemd-nspawn machine per host on an overlay of the
lab image. Everything it makes carries the run's prefix and is removed by close()."""
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time

import image

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(*args, check=True, quiet=False):
    result = subprocess.run(args, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), result.returncode, result.stderr.strip()))
    return result


# systemd's hierarchies: the named v1 one and the unified one of a hybrid layout, or
# the one unified hierarchy of a pure cgroup v2 machine.
CGROUP_HIERARCHIES = (["/sys/fs/cgroup"] if os.path.exists("/sys/fs/cgroup/cgroup.controllers")
                      else ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"])


def enter(cgroups):
    for path in cgroups:
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))


def remove_cgroup(path):
    for root, dirs, _ in os.walk(path, topdown=False):
        for d in dirs:
            try:
                os.rmdir(os.path.join(root, d))
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


class Clock:
    """Lab time: lab = lab0 + (real - real0) * rate, in a file every host reads."""

    def __init__(self, directory, rate):
        self.path = os.path.join(directory, "clock.json")
        os.makedirs(directory, exist_ok=True)
        self.rate = rate
        self.write(time.time(), rate)
        self.start = self.now()

    def write(self, lab, rate):
        self.rate = rate
        with open(self.path + ".tmp", "w") as f:
            json.dump({"lab": lab, "real": time.time(), "rate": rate}, f)
        os.chmod(self.path + ".tmp", 0o644)
        os.rename(self.path + ".tmp", self.path)

    def now(self):
        with open(self.path) as f:
            c = json.load(f)
        return c["lab"] + (time.time() - c["real"]) * c["rate"]

    def jump(self, seconds):
        self.write(self.now() + seconds, self.rate)

    def elapsed(self):
        return self.now() - self.start

    def sleep(self, lab_seconds):
        end = self.now() + lab_seconds
        while self.now() < end:
            time.sleep(min(0.2, max(0.01, (end - self.now()) / self.rate)))

    def rfc3339(self, at=None):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.now() if at is None else at))


class Host:
    def __init__(self, lab, name, address, role, index):
        self.lab, self.name, self.address, self.role, self.index = lab, name, address, role, index
        self.ns = "%s-%s" % (lab.prefix, name)
        self.dir = os.path.join(lab.run, "hosts", name)
        self.root = os.path.join(self.dir, "root")
        self.upper = os.path.join(self.dir, "upper")
        self.process = None
        self.boots = 0
        self.instance = 1
        self.userdata = None

    # -- network
    def plug(self):
        p = self.lab.prefix
        outer, inner = "%sv%d" % (p, self.index), "%se%d" % (p, self.index)
        sh("ip", "netns", "add", self.ns)
        sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        sh("ip", "link", "set", outer, "netns", self.lab.bridge_ns)
        sh("ip", "-n", self.lab.bridge_ns, "link", "set", outer, "master", "br0", "up")
        sh("ip", "link", "set", inner, "netns", self.ns)
        sh("ip", "-n", self.ns, "link", "set", inner, "name", "eth0")
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")

    def link_up(self):
        """The machine's NIC as it comes up: its own address, nothing a keepalived of an
        earlier boot added (the VIP)."""
        sh("ip", "-n", self.ns, "addr", "flush", "dev", "eth0")
        sh("ip", "-n", self.ns, "addr", "add", "%s/%d" % (self.address, self.lab.prefixlen), "dev", "eth0")
        sh("ip", "-n", self.ns, "link", "set", "eth0", "up")
        sh("ip", "-n", self.ns, "route", "replace", "default", "via", self.lab.server_address)

    def link_down(self):
        """Power off: the link goes down and the addresses with it."""
        sh("ip", "-n", self.ns, "link", "set", "eth0", "down", check=False)
        sh("ip", "-n", self.ns, "addr", "flush", "dev", "eth0", check=False)

    # -- disk
    def mount(self):
        if os.path.ismount(self.root):
            return
        for d in (self.root, self.upper, os.path.join(self.dir, "work")):
            os.makedirs(d, exist_ok=True)
        sh("mount", "-t", "overlay", "overlay", "-o",
           "lowerdir=%s:%s,upperdir=%s,workdir=%s" % (self.lab.layer, os.path.join(self.lab.base, "root"),
                                                     self.upper, os.path.join(self.dir, "work")), self.root)

    def umount(self):
        if os.path.ismount(self.root):
            sh("umount", self.root, check=False)
            if os.path.ismount(self.root):
                sh("umount", "-l", self.root, check=False)

    def seed(self, userdata):
        """The NoCloud seed: this build's user-data, a new instance-id per fresh disk."""
        self.userdata = userdata
        seed = os.path.join(self.dir, "seed")
        os.makedirs(seed, exist_ok=True)
        shutil.copy(userdata, os.path.join(seed, "user-data"))
        with open(os.path.join(seed, "meta-data"), "w") as f:
            f.write("instance-id: %s-%d\nlocal-hostname: %s\n" % (self.name, self.instance, self.name))

    # -- power
    def boot(self):
        self.mount()
        self.link_up()
        self.boots += 1
        console = open(os.path.join(self.dir, "console-%d.log" % self.boots), "w")
        args = ["systemd-nspawn", "-q", "-D", self.root, "--boot", "--register=no", "--keep-unit",
                "--machine=" + self.ns, "--hostname=" + self.name,
                "--network-namespace-path=/run/netns/" + self.ns, "--resolv-conf=off", "--timezone=off",
                "--link-journal=no",
                # the machine owns its network namespace (addresses, sysctls, the VIP)
                "--capability=CAP_NET_ADMIN",
                "--bind-ro=%s:/var/lib/cloud/seed/nocloud" % os.path.join(self.dir, "seed"),
                "--bind-ro=%s:/var/lib/hac-lab/clock" % self.lab.clock_dir]
        if self.role == "controlplane":
            args.append("--bind=%s:/var/lib/hac-lab/cluster" % self.lab.cluster_dir)
        # /proc/sys/net writable, as on a machine: the host owns its network namespace,
        # so the user-data's net.* sysctls apply to it alone.
        env = dict(os.environ, SYSTEMD_NSPAWN_API_VFS_WRITABLE="network")
        cgroups = self.cgroups()
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                        start_new_session=True, env=env, preexec_fn=lambda: enter(cgroups))
        self.lab.event("boot", self.name)

    def cgroups(self):
        """A cgroup of its own for each boot: with --keep-unit the machine's systemd takes
        the cgroup nspawn runs in as its root, and machines sharing one would manage (and
        remove) each other's units' cgroups."""
        paths = []
        for hierarchy in CGROUP_HIERARCHIES:
            if os.path.isdir(hierarchy):
                path = os.path.join(hierarchy, "%s-%d" % (self.ns, self.boots))
                os.makedirs(path, exist_ok=True)
                paths.append(path)
                self.lab.cgroups.append(path)
        return paths

    def running(self):
        return self.process is not None and self.process.poll() is None

    def power_cut(self):
        """Every process of the machine dies at once, as when the power goes."""
        if self.process is None:
            return
        for _ in range(50):
            pids = sh("ip", "netns", "pids", self.ns, check=False).stdout.split()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            time.sleep(0.1)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        self.link_down()
        self.lab.event("power-cut", self.name)

    def recreate(self, userdata=None):
        """A new machine under the same name and address: a fresh disk, a new instance."""
        self.power_cut()
        self.umount()
        shutil.rmtree(self.upper, ignore_errors=True)
        shutil.rmtree(os.path.join(self.dir, "work"), ignore_errors=True)
        self.instance += 1
        self.seed(userdata or self.userdata)
        self.lab.event("recreated", self.name)

    def init_pid(self):
        """The machine's systemd, seen from this machine."""
        for pid in sh("ip", "netns", "pids", self.ns, check=False).stdout.split():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if f.read().split(b"\0")[0].endswith(b"/systemd"):
                        return pid
            except OSError:
                pass
        return None

    def run(self, *command):
        """A command inside the running machine (as `machinectl shell` would)."""
        pid = self.init_pid()
        if pid is None:
            return None
        return sh("nsenter", "-t", pid, "-m", "-u", "-i", "-n", "-p", *command, check=False)

    # -- what the host says
    def path(self, inner):
        return os.path.join(self.upper, inner.lstrip("/"))

    def outcome(self):
        for state in ("done", "failed"):
            p = self.path("/var/lib/hac/" + state)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    return state, f.read().strip()
        return None, ""

    def steps(self):
        d = self.path("/var/lib/hac/steps")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def log(self):
        try:
            with open(self.path("/var/log/hac-bootstrap.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Lab:
    def __init__(self, run, cache, hosts, server_address, rate, kubernetes):
        self.run = run
        # unique per run: namespaces, interfaces and cgroups carry it
        while True:
            self.prefix = "hl" + os.urandom(2).hex()
            if not os.path.exists("/run/netns/%s-br" % self.prefix):
                break
        self.bridge_ns = self.prefix + "-br"
        self.server_address = server_address
        self.events = []
        self.processes = []
        os.makedirs(run, exist_ok=True)
        self.base, self.www = image.repositories(cache, kubernetes)
        _, public_key = image.gpg_key(cache)
        self.layer = os.path.join(run, "layer")
        with open(os.path.join(cache, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.tls = image.lab_tls(cache)
        image.lab_layer(self.layer, server_address, public_key, os.uname().release,
                        os.path.join(self.base, "root"), self.tls)
        self.clock_dir = os.path.join(run, "clock")
        self.clock = Clock(self.clock_dir, rate)
        self.cluster_dir = os.path.join(run, "cluster")
        os.makedirs(self.cluster_dir, exist_ok=True)
        self.server_dir = os.path.join(run, "server")
        os.makedirs(self.server_dir, exist_ok=True)
        os.symlink(self.www, os.path.join(self.server_dir, "www"))
        self.prefixlen = 24
        self.hosts = {}
        for i, (name, address, role) in enumerate(hosts):
            self.hosts[name] = Host(self, name, address, role, i)
        self.faults = {}
        self.dns = {}
        # Served names that do not resolve (the `offline` scenario's outside world).
        self.unresolved = set()
        self.cgroups = []

    def event(self, kind, host="", **fields):
        self.events.append(dict(kind=kind, host=host, lab=self.clock.elapsed(), real=time.time(), **fields))

    def start(self):
        sh("ip", "netns", "add", self.bridge_ns)
        sh("ip", "-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.bridge_ns, "addr", "add", "%s/%d" % (self.server_address, self.prefixlen), "dev", "br0")
        sh("ip", "-n", self.bridge_ns, "link", "set", "br0", "up")
        sh("ip", "-n", self.bridge_ns, "link", "set", "lo", "up")
        for host in self.hosts.values():
            host.plug()
        self.write_faults()
        self.write_dns()
        log = open(os.path.join(self.server_dir, "server.out"), "w")
        server = subprocess.Popen(["ip", "netns", "exec", self.bridge_ns, "python3", os.path.join(HERE, "labserver.py"),
                                   "--address", self.server_address, "--state", self.server_dir,
                                   "--tls", self.tls],
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(server)
        for _ in range(100):
            if os.path.exists(os.path.join(self.server_dir, "server.ready")):
                break
            if server.poll() is not None:
                raise RuntimeError("the lab server stopped: see %s" % os.path.join(self.server_dir, "server.out"))
            time.sleep(0.1)

    def write_faults(self):
        with open(os.path.join(self.server_dir, "faults.json.tmp"), "w") as f:
            json.dump(self.faults, f)
        os.rename(os.path.join(self.server_dir, "faults.json.tmp"), os.path.join(self.server_dir, "faults.json"))

    def write_dns(self):
        table = {name: self.server_address for name in image.SERVED_NAMES}
        table.update(self.dns)
        for name in self.unresolved:
            table.pop(name, None)
        with open(os.path.join(self.server_dir, "dns.json.tmp"), "w") as f:
            json.dump(table, f)
        os.rename(os.path.join(self.server_dir, "dns.json.tmp"), os.path.join(self.server_dir, "dns.json"))

    def unresolve(self, *names):
        """Makes `names` answer NXDOMAIN from now on."""
        self.unresolved.update(names)
        self.write_dns()

    def resolve(self, name, address):
        self.dns[name] = address
        self.write_dns()

    def fault(self, host, **kinds):
        self.faults.setdefault(self.hosts[host].address, {}).update(kinds)
        self.write_faults()

    def refuse(self, host, connections):
        """The lab server refuses (TCP RST) the first `connections` connections from host."""
        address = self.hosts[host].address
        name = "refuse-" + host
        ipt = ["ip", "netns", "exec", self.bridge_ns, "iptables"]
        sh(*ipt, "-A", "INPUT", "-s", address, "-p", "tcp", "--syn", "--dport", "80", "-m", "recent", "--name", name, "--set")
        sh(*ipt, "-A", "INPUT", "-s", address, "-p", "tcp", "--syn", "--dport", "80", "-m", "recent", "--name", name,
           "--rcheck", "--seconds", "100000000", "--hitcount", str(connections + 1), "-j", "ACCEPT")
        sh(*ipt, "-A", "INPUT", "-s", address, "-p", "tcp", "--syn", "--dport", "80", "-j", "REJECT", "--reject-with", "tcp-reset")

    def jump(self, seconds):
        """Lab time jumps; the keepers' timers count real time, so each running control
        plane is asked to run its keeper now, as its timer would after that long."""
        self.clock.jump(seconds)
        for host in self.hosts.values():
            if host.role == "controlplane" and host.running():
                host.run("systemctl", "start", "--no-block", "hac-keeper.service")

    def vip_holder(self, vip):
        for host in self.hosts.values():
            if not host.running():
                continue
            out = sh("ip", "-n", host.ns, "-o", "addr", "show", "to", vip, check=False).stdout
            if out.strip():
                return host.name
        return None

    # -- the cluster store
    def state(self):
        try:
            with open(os.path.join(self.cluster_dir, "state.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def cluster_events(self):
        try:
            with open(os.path.join(self.cluster_dir, "events.log")) as f:
                return [json.loads(line) for line in f if line.strip()]
        except OSError:
            return []

    def inits(self):
        return [e for e in self.cluster_events() if e["kind"] == "kubeadm-init"]

    def close(self):
        for host in self.hosts.values():
            try:
                host.power_cut()
            except Exception:
                pass
            host.umount()
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        for path in self.cgroups:
            remove_cgroup(path)
        for host in self.hosts.values():
            sh("ip", "netns", "del", host.ns, check=False)
        sh("ip", "netns", "del", self.bridge_ns, check=False)


def subnet_address(addresses, last=250):
    net = ipaddress.ip_network(addresses[0] + "/24", strict=False)
    return str(net.network_address + last)
