"""The boot lab's disk image and package repositories.

- The base root: Debian 12 made once with mmdebstrap from Debian's packages, holding
  what the generated user-data installs, so the lab's own repository can serve the
  very same .debs. Cached under the lab cache directory (HAC_LAB_CACHE, default
  target/lab-cache) with the .debs mmdebstrap downloaded.
- The lab layer: a small directory laid over the base root (overlayfs lower layer)
  with the lab's apt sources and key, cloud-init's lab settings, the lab clock and
  its systemd drop-ins, the DNS resolver and the kernel's built-in module list.
- The repositories the lab server publishes: Debian's packages (signed by the lab
  key), a pkgs.k8s.io-shaped repository with stand-in kubeadm/kubelet/kubectl/
  kubernetes-cni built with dpkg-deb, and the emulated github.com and
  raw.githubusercontent.com downloads (containerd's release tarball with stand-in
  binaries, its checksum and unit; the CNI manifests).
"""
import fcntl
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STANDINS = os.path.join(HERE, "standins")

# Everything the generated user-data installs from Debian (apt installs them for real
# from the lab repository; they are in the image already so that the lab boots fast),
# plus what the image itself needs: systemd, cloud-init, Python for the stand-ins.
IMAGE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "cloud-init", "iproute2", "curl", "gpg", "ca-certificates",
    "haproxy", "keepalived", "runc", "containernetworking-plugins", "openssl", "python3",
    "etcd-server", "kmod", "procps", "iptables", "conntrack", "socat", "ethtool", "ebtables",
    "iputils-ping", "netcat-openbsd",
]
DEBIAN_MIRROR = os.environ.get("HAC_LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")


class CannotFetch(Exception):
    """Debian's packages could not be fetched: the lab cannot be made on this machine now."""


def run(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def base_image(cache):
    """The cached base root and its .debs, made with mmdebstrap when missing."""
    key = hashlib.sha256(("bookworm %s -%s" % (" ".join(IMAGE_PACKAGES), " ".join(NOT_IN_CLOUD_IMAGES)))
                         .encode()).hexdigest()[:12]
    base = os.path.join(cache, "base-" + key)
    if os.path.exists(os.path.join(base, "complete")):
        return base
    if shutil.which("mmdebstrap") is None:
        raise CannotFetch("mmdebstrap is not installed (apt-get install mmdebstrap)")
    tmp = base + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "debs"))
    print("lab: making the Debian 12 root with mmdebstrap (once, cached in %s)" % base, flush=True)
    started = time.time()
    log = open(os.path.join(tmp, "mmdebstrap.log"), "w")
    result = subprocess.run(
        ["mmdebstrap", "--variant=minbase", "--include=" + ",".join(IMAGE_PACKAGES),
         # the .debs apt downloaded, for the lab repository to serve
         "--customize-hook=cp \"$1\"/var/cache/apt/archives/*.deb %s/debs/" % tmp,
         "bookworm", os.path.join(tmp, "root"), DEBIAN_MIRROR],
        stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise CannotFetch("mmdebstrap could not make the Debian 12 root from %s (exit %d); see %s"
                          % (DEBIAN_MIRROR, result.returncode, os.path.join(tmp, "mmdebstrap.log")))
    shutil.rmtree(os.path.join(tmp, "root", "var", "lib", "apt", "lists"), ignore_errors=True)
    os.makedirs(os.path.join(tmp, "root", "var", "lib", "apt", "lists", "partial"))
    cloud_image(os.path.join(tmp, "root"))
    open(os.path.join(tmp, "complete"), "w").close()
    os.rename(tmp, base)
    print("lab: Debian 12 root made in %.0fs" % (time.time() - started), flush=True)
    return base


# What a Debian cloud image does not have and the user-data installs: removed from the
# root again (their .debs stay in the lab repository), so that apt has to fetch them
# through the lab network as it would on a cloud machine.
NOT_IN_CLOUD_IMAGES = ["haproxy", "keepalived", "runc", "containernetworking-plugins"]


def cloud_image(root):
    policy = os.path.join(root, "usr/sbin/policy-rc.d")
    with open(policy, "w") as f:
        f.write("#!/bin/sh\n# no service starts or stops in the chroot\nexit 101\n")
    os.chmod(policy, 0o755)
    run("chroot", root, "dpkg", "--purge", *NOT_IN_CLOUD_IMAGES, stdout=subprocess.DEVNULL)
    os.unlink(policy)


def gpg_key(cache):
    """The lab's repository signing key (made once): GNUPGHOME and the armored public key."""
    home = os.path.join(cache, "gnupg")
    public = os.path.join(home, "lab.asc")
    if not os.path.exists(public):
        shutil.rmtree(home, ignore_errors=True)
        os.makedirs(home, mode=0o700)
        env = dict(os.environ, GNUPGHOME=home)
        run("gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "hac boot lab <lab@hac.invalid>",
            "ed25519", "sign", "never", env=env, stderr=subprocess.DEVNULL)
        with open(public + ".tmp", "wb") as f:
            run("gpg", "--batch", "--armor", "--export", env=env, stdout=f)
        os.rename(public + ".tmp", public)
    return home, public


# mirror.lab: the site mirror of the `offline` scenario (pkgs.k8s.lab under
# /pkgs.k8s.lab, the release files under /releases/HOST/PATH).
SERVED_NAMES = ["deb.debian.org", "pkgs.k8s.lab", "github.com", "raw.githubusercontent.com", "mirror.lab"]


def lab_tls(cache):
    """The lab's own CA and the lab server's certificate for the names it stands in for
    (made once). The image trusts the CA, as machines trust the web's CAs."""
    # One certificate per set of names: a name added later gets a new certificate.
    directory = os.path.join(cache, "tls-" + hashlib.sha256(",".join(SERVED_NAMES).encode()).hexdigest()[:8])
    if os.path.exists(os.path.join(directory, "server.crt")):
        return directory
    tmp = directory + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", os.path.join(tmp, "ca.key"), "-out", os.path.join(tmp, "ca.crt"), "-days", "3650",
        "-subj", "/CN=hac boot lab CA", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", os.path.join(tmp, "server.key"), "-out", os.path.join(tmp, "server.csr"),
        "-subj", "/CN=hac boot lab server", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(tmp, "ext"), "w") as f:
        f.write("subjectAltName=" + ",".join("DNS:" + n for n in SERVED_NAMES) + "\n")
    run("openssl", "x509", "-req", "-in", os.path.join(tmp, "server.csr"), "-CA", os.path.join(tmp, "ca.crt"),
        "-CAkey", os.path.join(tmp, "ca.key"), "-CAcreateserial", "-days", "3650",
        "-extfile", os.path.join(tmp, "ext"), "-out", os.path.join(tmp, "server.crt"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.rename(tmp, directory)
    return directory


def sign_release(home, directory):
    env = dict(os.environ, GNUPGHOME=home)
    for name in ("InRelease", "Release.gpg"):
        if os.path.exists(os.path.join(directory, name)):
            os.unlink(os.path.join(directory, name))
    run("gpg", "--batch", "--yes", "--clearsign", "-o", os.path.join(directory, "InRelease"),
        os.path.join(directory, "Release"), env=env, stderr=subprocess.DEVNULL)
    run("gpg", "--batch", "--yes", "--armor", "--detach-sign", "-o", os.path.join(directory, "Release.gpg"),
        os.path.join(directory, "Release"), env=env, stderr=subprocess.DEVNULL)


def release_file(directory, files, suite, components):
    lines = ["Origin: hac-lab", "Label: hac-lab"]
    if suite:
        lines += ["Suite: %s" % suite, "Codename: %s" % suite]
    lines.append("Date: %s" % time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime()))
    lines.append("Architectures: amd64 all")
    if components:
        lines.append("Components: %s" % components)
    lines.append("SHA256:")
    for name in files:
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        lines.append(" %s %d %s" % (hashlib.sha256(data).hexdigest(), len(data), name))
    with open(os.path.join(directory, "Release"), "w") as f:
        f.write("\n".join(lines) + "\n")


def write_packages(repo_root, pool_rel, out_dir):
    """Packages and Packages.gz for the .debs under repo_root/pool_rel."""
    text = subprocess.run(["dpkg-scanpackages", "--multiversion", pool_rel, "/dev/null"], cwd=repo_root,
                          check=True, capture_output=True).stdout
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "Packages"), "wb") as f:
        f.write(text)
    with gzip.open(os.path.join(out_dir, "Packages.gz"), "wb") as f:
        f.write(text)


def deb(out_dir, name, version, description, files, depends="", scripts=None):
    """A .deb built with dpkg-deb: files maps paths in the package to (mode, bytes)."""
    root = os.path.join(out_dir, "build-" + name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "DEBIAN"))
    control = ["Package: " + name, "Version: " + version, "Architecture: amd64",
               "Maintainer: hac boot lab <lab@hac.invalid>", "Priority: optional", "Section: admin"]
    if depends:
        control.append("Depends: " + depends)
    control.append("Description: " + description)
    with open(os.path.join(root, "DEBIAN", "control"), "w") as f:
        f.write("\n".join(control) + "\n")
    for script, text in (scripts or {}).items():
        path = os.path.join(root, "DEBIAN", script)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
    for path, (mode, data) in files.items():
        target = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)
        os.chmod(target, mode)
    output = os.path.join(out_dir, "%s_%s_amd64.deb" % (name, version))
    run("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, output, stdout=subprocess.DEVNULL)
    shutil.rmtree(root)


def standin(name):
    with open(os.path.join(STANDINS, name), "rb") as f:
        return f.read()


def wrapper(tool):
    return b"#!/bin/sh\nexec /usr/bin/python3 /usr/lib/hac-lab/standin.py %s \"$@\"\n" % tool.encode()


KUBELET_UNIT = b"""[Unit]
Description=kubelet (hac boot lab stand-in): runs the API server's static pod
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
RestartSec=10
# The API server it starts is a static pod: it outlives a restart of the kubelet.
KillMode=process

[Install]
WantedBy=multi-user.target
"""

CONTAINERD_UNIT = b"""# containerd's own unit (stand-in binaries in the lab's release tarball)
[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target local-fs.target dbus.service

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=simple
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
"""

FLANNEL_MANIFEST = b"""---
kind: Namespace
apiVersion: v1
metadata:
  name: kube-flannel
  labels:
    k8s-app: flannel
    pod-security.kubernetes.io/enforce: privileged
---
kind: ConfigMap
apiVersion: v1
metadata:
  name: kube-flannel-cfg
  namespace: kube-flannel
  labels:
    tier: node
    k8s-app: flannel
    app: flannel
data:
  cni-conf.json: |
    {
      "name": "cbr0",
      "cniVersion": "0.3.1",
      "plugins": [ { "type": "flannel", "delegate": { "hairpinMode": true, "isDefaultGateway": true } },
                   { "type": "portmap", "capabilities": { "portMappings": true } } ]
    }
  net-conf.json: |
    {
      "Network": "10.244.0.0/16",
      "EnableNFTables": false,
      "Backend": {
        "Type": "vxlan"
      }
    }
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-flannel-ds
  namespace: kube-flannel
spec:
  selector:
    matchLabels:
      app: flannel
  template:
    metadata:
      labels:
        app: flannel
    spec:
      containers:
      - name: kube-flannel
        image: ghcr.io/flannel-io/flannel:v0.27.4
"""


def kubernetes_minor(version):
    major, minor = version.split(".")[:2]
    return "v%s.%s" % (major, minor)


def pinned_version(artefact, kubernetes):
    """The version hac installs of `artefact` on a cluster of Kubernetes `kubernetes`
    (`1.36.1`): the last `default` line of compiler/src/build/versions.tsv starting at or
    below its minor, or the first line for older minors."""
    minor = int(kubernetes.split(".")[1])
    table = os.path.join(HERE, "..", "..", "compiler", "src", "build", "versions.tsv")
    chosen = first = None
    with open(table) as f:
        for line in f:
            words = line.split()
            if len(words) == 4 and words[0] == "default" and words[1] == artefact:
                first = first or words[3]
                if int(words[2]) <= minor:
                    chosen = words[3]
    if not (chosen or first):
        raise RuntimeError("no default %s in %s" % (artefact, table))
    return chosen or first


def containerd_digests(www, containerd):
    """{arch: sha256} of the lab's stand-in containerd release (its .sha256sum files)."""
    releases = os.path.join(www, "github.com", "containerd", "containerd", "releases", "download", "v" + containerd)
    digests = {}
    for arch in ("amd64", "arm64"):
        with open(os.path.join(releases, "containerd-%s-linux-%s.tar.gz.sha256sum" % (containerd, arch))) as f:
            digests[arch] = f.read().split()[0]
    return digests


def repositories(cache, version, containerd=None, flannel=None):
    """The lab server's www tree (cached by the stand-ins' content): Debian, pkgs.k8s.io,
    github.com and raw.githubusercontent.com, and the lab key. Runs in parallel make the
    cache one at a time."""
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return make_repositories(cache, version, containerd or pinned_version("containerd", version),
                                 flannel or "v" + pinned_version("flannel", version))


def make_repositories(cache, version, containerd, flannel):
    base = base_image(cache)
    home, public = gpg_key(cache)
    digest = hashlib.sha256()
    for name in sorted(n for n in os.listdir(STANDINS) if os.path.isfile(os.path.join(STANDINS, n))) + ["../image.py"]:
        digest.update(name.encode() + standin(name))
    digest.update(version.encode())
    digest.update((containerd + flannel).encode())
    www = os.path.join(cache, "www-" + digest.hexdigest()[:12])
    if os.path.exists(os.path.join(www, "complete")):
        return base, www
    tmp = www + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)

    # Debian: the image's own .debs, signed by the lab key.
    debian = os.path.join(tmp, "deb.debian.org", "debian")
    os.makedirs(os.path.join(debian, "pool"))
    for name in os.listdir(os.path.join(base, "debs")):
        os.link(os.path.join(base, "debs", name), os.path.join(debian, "pool", name))
    suite = os.path.join(debian, "dists", "bookworm")
    write_packages(debian, "pool", os.path.join(suite, "main", "binary-amd64"))
    release_file(suite, ["main/binary-amd64/Packages", "main/binary-amd64/Packages.gz"], "bookworm", "main")
    sign_release(home, suite)

    # pkgs.k8s.io: stand-in packages in a flat repository.
    minor = kubernetes_minor(version)
    k8s = os.path.join(tmp, "pkgs.k8s.lab", "core:", "stable:", minor, "deb")
    os.makedirs(k8s)
    full = version + "-1.1"
    common = {"/usr/lib/hac-lab/standin.py": (0o755, standin("standin.py"))}
    deb(k8s, "hac-lab-standins", full, "hac boot lab: the stand-ins' shared code", common,
        depends="python3, python3-yaml, openssl")
    deb(k8s, "kubeadm", full, "Command-line utility for administering a Kubernetes cluster (hac lab stand-in)",
        {"/usr/bin/kubeadm": (0o755, wrapper("kubeadm"))}, depends="hac-lab-standins (= %s), kubelet" % full)
    deb(k8s, "kubelet", full, "Node agent for Kubernetes clusters (hac lab stand-in)",
        {"/usr/bin/kubelet": (0o755, wrapper("kubelet")),
         "/lib/systemd/system/kubelet.service": (0o644, KUBELET_UNIT)},
        depends="hac-lab-standins (= %s)" % full)
    deb(k8s, "kubectl", full, "Command-line utility for interacting with a Kubernetes cluster (hac lab stand-in)",
        {"/usr/bin/kubectl": (0o755, wrapper("kubectl"))}, depends="hac-lab-standins (= %s)" % full)
    cni = {"/opt/cni/bin/%s" % p: (0o755, b"#!/bin/sh\necho 'stand-in CNI plugin' >&2\nexit 1\n")
           for p in ("bridge", "host-local", "loopback", "portmap", "flannel")}
    deb(k8s, "kubernetes-cni", "1.7.1-1.1", "Binaries required to provision kubernetes container networking", cni)
    write_packages(k8s, ".", k8s)
    release_file(k8s, ["Packages", "Packages.gz"], "", "")
    sign_release(home, k8s)
    shutil.copy(public, os.path.join(k8s, "Release.key"))

    # github.com: containerd's release (stand-in binaries) and flannel's manifest.
    for arch in ("amd64", "arm64"):
        releases = os.path.join(tmp, "github.com", "containerd", "containerd", "releases", "download", "v" + containerd)
        os.makedirs(releases, exist_ok=True)
        tarball = "containerd-%s-linux-%s.tar.gz" % (containerd, arch)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for tool in ("containerd", "ctr", "containerd-shim-runc-v2"):
                # self-contained: containerd runs before the stand-ins' package is installed
                data = standin("standin.py") if tool != "containerd-shim-runc-v2" else b"#!/bin/sh\nexit 1\n"
                info = tarfile.TarInfo("bin/" + tool)
                info.size, info.mode = len(data), 0o755
                tar.addfile(info, io.BytesIO(data))
        with open(os.path.join(releases, tarball), "wb") as f:
            f.write(buffer.getvalue())
        with open(os.path.join(releases, tarball + ".sha256sum"), "w") as f:
            f.write("%s  %s\n" % (hashlib.sha256(buffer.getvalue()).hexdigest(), tarball))
    raw = os.path.join(tmp, "raw.githubusercontent.com", "containerd", "containerd", "v" + containerd)
    os.makedirs(raw)
    with open(os.path.join(raw, "containerd.service"), "wb") as f:
        f.write(CONTAINERD_UNIT)
    flannel_dir = os.path.join(tmp, "github.com", "flannel-io", "flannel", "releases", "download", flannel)
    os.makedirs(flannel_dir)
    with open(os.path.join(flannel_dir, "kube-flannel.yml"), "wb") as f:
        f.write(FLANNEL_MANIFEST)
    # mirror.lab: the same files again, as a site mirror lays them out (hard links).
    mirror_of(os.path.join(tmp, "pkgs.k8s.lab"), os.path.join(tmp, "mirror.lab", "pkgs.k8s.lab"))
    for upstream in ("github.com", "raw.githubusercontent.com"):
        mirror_of(os.path.join(tmp, upstream), os.path.join(tmp, "mirror.lab", "releases", upstream))
    open(os.path.join(tmp, "complete"), "w").close()
    shutil.rmtree(www, ignore_errors=True)
    os.rename(tmp, www)
    return base, www


def mirror_of(source, target):
    """`target` holds the files of `source`, hard-linked."""
    for directory, _, files in os.walk(source):
        inside = os.path.join(target, os.path.relpath(directory, source))
        os.makedirs(inside, exist_ok=True)
        for name in files:
            os.link(os.path.join(directory, name), os.path.join(inside, name))


def lab_layer(directory, server_address, key_path, kernel_release, base_root, tls):
    """The files the lab lays over the base root for every host."""
    def put(path, text, mode=0o644):
        target = os.path.join(directory, path.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb" if isinstance(text, bytes) else "w") as f:
            f.write(text)
        os.chmod(target, mode)

    put("/etc/apt/sources.list", "deb http://deb.debian.org/debian bookworm main\n")
    with open(key_path, "rb") as f:
        armored = f.read()
    dearmored = subprocess.run(["gpg", "--dearmor"], input=armored, capture_output=True, check=True).stdout
    put("/etc/apt/trusted.gpg.d/hac-lab.gpg", dearmored)
    put("/etc/cloud/cloud.cfg.d/90-hac-lab.cfg",
        "# hac boot lab: the seed is NoCloud; the lab made the network; minbase has no locales.\n"
        "datasource_list: [ NoCloud, None ]\n"
        "network: {config: disabled}\n"
        "locale: false\n"
        "manage_etc_hosts: false\n")
    with open(os.path.join(base_root, "etc/ssl/certs/ca-certificates.crt"), "rb") as f:
        bundle = f.read()
    with open(os.path.join(tls, "ca.crt"), "rb") as f:
        lab_ca = f.read()
    put("/etc/ssl/certs/ca-certificates.crt", bundle + lab_ca)
    put("/usr/local/share/ca-certificates/hac-lab.crt", lab_ca)
    put("/etc/resolv.conf", "nameserver %s\noptions timeout:2 attempts:1\n" % server_address)
    put("/etc/hosts", "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")
    with open(os.path.join(STANDINS, "hac-lab-clock"), "rb") as f:
        put("/usr/local/bin/hac-lab-clock", f.read(), 0o755)
    clock = "[Service]\nEnvironment=HAC_CLOCK=/usr/local/bin/hac-lab-clock\n"
    # Every service (hac-bootstrap, the keeper, cloud-final whose runcmd runs the first
    # bootstrap) runs on the lab clock: a top-level drop-in reaches them all.
    put("/etc/systemd/system/service.d/hac-lab-clock.conf", clock)
    put("/etc/systemd/system/hac-bootstrap.service.d/hac-lab-clock.conf", clock)
    # The kernel's modules are built in here; modprobe finds them in this list.
    put("/usr/lib/modules/%s/modules.builtin" % kernel_release,
        "kernel/fs/overlayfs/overlay.ko\nkernel/net/bridge/br_netfilter.ko\nkernel/net/bridge/bridge.ko\n")
    put("/usr/lib/modules/%s/modules.order" % kernel_release, "")
    put("/etc/systemd/system/hac-lab-depmod.service",
        "[Unit]\nDescription=hac boot lab: index the kernel's built-in modules for modprobe\n"
        "DefaultDependencies=no\nBefore=sysinit.target cloud-init-local.service\n\n"
        "[Service]\nType=oneshot\nExecStart=/sbin/depmod\n")
    link = os.path.join(directory, "etc/systemd/system/sysinit.target.wants/hac-lab-depmod.service")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not os.path.lexists(link):
        os.symlink("/etc/systemd/system/hac-lab-depmod.service", link)
    # A container cannot set kernel-wide sysctls (kernel.*, fs.*); systemd's files that
    # set them are masked so that `sysctl --system` does what it does on a machine.
    # The user-data's own settings (net.*) belong to the host's namespace and apply.
    for name in ("50-pid-max.conf", "99-protect-links.conf"):
        link = os.path.join(directory, "etc/sysctl.d", name)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink("/dev/null", link)
    # Services a container cannot run and the lab does not need.
    # etcd-server's own service is masked: its binary stands in for the etcd image that
    # the kubelet runs as a static pod on external etcd members.
    for unit in ("etcd.service", "systemd-networkd.service", "systemd-resolved.service", "apt-daily.timer",
                 "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer"):
        link = os.path.join(directory, "etc/systemd/system", unit)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink("/dev/null", link)
