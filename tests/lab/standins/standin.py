#!/usr/bin/python3
"""Stand-ins for what the boot lab cannot have offline: kubeadm, kubelet, kubectl, the
API server (run by the kubelet from kubeadm's static-pod manifest) and containerd/ctr.

They implement exactly the invocations the generated scripts make (docs/lab.md lists
them) and fail loudly on anything else: exit 2 with `stand-in: unsupported: <argv>`.

Cluster state (what etcd holds in a real cluster: nodes, bootstrap tokens with their
expirations, the uploaded control-plane certificates, ConfigMaps and other applied
objects, and a log of every `kubeadm init`) lives in /var/lib/hac-lab/cluster, a
directory the lab bind-mounts into every control plane, guarded by a file lock.
Workers reach it only through the API stand-in, over TLS, through the endpoint.
Times (token TTLs, the certificates' 2 h) are lab time: see hac-lab-clock.
"""
import base64
import fcntl
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
import urllib.error
import urllib.request

import yaml

CLUSTER_DIR = "/var/lib/hac-lab/cluster"
CLOCK = "/var/lib/hac-lab/clock/clock.json"
PKI = "/etc/kubernetes/pki"
MANIFESTS = "/etc/kubernetes/manifests"
APISERVER_MANIFEST = MANIFESTS + "/kube-apiserver.yaml"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
CONTAINERD_CONFIG = "/etc/containerd/config.toml"
# Where the containerd stand-in records the sandbox image of the configuration it loaded.
CONTAINERD_SANDBOX_RECORD = "/run/containerd/hac-lab-sandbox-image"
VERSION = os.environ.get("HAC_LAB_KUBERNETES_VERSION", "v1.36.1")
CERT_TTL = 2 * 3600  # kubeadm deletes the uploaded certificates 2 h after the upload
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


class Unsupported(Exception):
    pass


class Failure(Exception):
    """A failure the real tool reports the same way: message on stderr, exit 1."""


def unsupported(argv):
    raise Unsupported(" ".join(argv))


def lab_now():
    for _ in range(50):
        try:
            with open(CLOCK) as f:
                c = json.load(f)
            return c["lab"] + (time.time() - c["real"]) * c["rate"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.05)
    raise Failure("cannot read the lab clock " + CLOCK)


def lab_rate():
    try:
        with open(CLOCK) as f:
            return float(json.load(f)["rate"])
    except (OSError, ValueError, KeyError):
        return 1.0


def lab_sleep(seconds):
    end = lab_now() + seconds
    while lab_now() < end:
        time.sleep(min(0.5, max(0.02, (end - lab_now()) / lab_rate())))


def say(text):
    print(text, flush=True)


def parse_duration(text):
    total, found = 0.0, False
    for number, unit in re.findall(r"([0-9.]+)(h|ms|m|s)", text or ""):
        found = True
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    if not found:
        raise Failure("invalid duration %r" % text)
    return total


# ---------------------------------------------------------------- shared cluster state


class ClusterState:
    """The shared directory standing in for etcd: one JSON document under a lock."""

    def __init__(self, directory=CLUSTER_DIR):
        self.directory = directory
        self.path = os.path.join(directory, "state.json")

    def __enter__(self):
        if not os.path.isdir(self.directory):
            raise Failure("no cluster store at %s on this host (only control planes have it)" % self.directory)
        self.lock = open(os.path.join(self.directory, "state.lock"), "a")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            with open(self.path) as f:
                self.data = json.load(f)
        except FileNotFoundError:
            self.data = {}
        for key, empty in (("nodes", {}), ("tokens", {}), ("objects", {}), ("certs", None), ("ca", None)):
            self.data.setdefault(key, empty)
        return self

    def __exit__(self, kind, value, trace):
        if kind is None:
            fd, tmp = tempfile.mkstemp(dir=self.directory)
            with os.fdopen(fd, "w") as f:
                json.dump(self.data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, self.path)
        self.lock.close()
        return False

    def valid_token(self, bearer):
        """The bootstrap token `id.secret` if the cluster knows it and it has not expired."""
        match = re.fullmatch(r"([a-z0-9]{6})\.([a-z0-9]{16})", bearer or "")
        if not match:
            return None
        token = self.data["tokens"].get(match.group(1))
        if not token or not hmac.compare_digest(token["secret"], match.group(2)):
            return None
        if token.get("expires") is not None and token["expires"] <= lab_now():
            return None
        return token

    def expire(self):
        """What kubeadm's token cleaner does: expired tokens and the certificates go."""
        now = lab_now()
        for tid in [t for t, v in self.data["tokens"].items() if v.get("expires") is not None and v["expires"] <= now]:
            del self.data["tokens"][tid]
        certs = self.data.get("certs")
        if certs and certs["uploaded"] + CERT_TTL <= now:
            self.data["certs"] = None
        # The CSR cleaner: approved requests (the kubelets') go after 1 h, others after 24 h.
        for key, obj in list(self.data["objects"].items()):
            if obj.get("kind") == "CertificateSigningRequest":
                ttl = 3600 if obj["spec"].get("signerName") == KUBELET_SIGNER else 86400
                if obj["metadata"]["creationTimestamp"] + ttl <= now:
                    del self.data["objects"][key]


def record_event(kind, **fields):
    fields.update(kind=kind, lab_time=lab_now(), real_time=time.time(), host=socket.gethostname())
    with open(os.path.join(CLUSTER_DIR, "events.log"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(fields, sort_keys=True) + "\n")


# ---------------------------------------------------------------- PKI helpers


def openssl(*args, stdin=None):
    result = subprocess.run(["openssl", *args], input=stdin, capture_output=True)
    if result.returncode != 0:
        raise Failure("openssl %s: %s" % (args[0], result.stderr.decode(errors="replace").strip()))
    return result.stdout


def ca_hash(ca_pem):
    """kubeadm's discovery hash: sha256 of the CA's DER SubjectPublicKeyInfo."""
    public = openssl("x509", "-noout", "-pubkey", stdin=ca_pem.encode())
    der = openssl("pkey", "-pubin", "-outform", "DER", stdin=public)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def issue(name, subject, sans=None, ca="ca"):
    """A key and certificate under /etc/kubernetes/pki signed by the CA there."""
    key, crt = "%s/%s.key" % (PKI, name), "%s/%s.crt" % (PKI, name)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    os.chmod(key, 0o600)
    csr = openssl("req", "-new", "-key", key, "-subj", subject)
    with tempfile.NamedTemporaryFile("w", suffix=".ext") as ext:
        ext.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n")
        ext.write("extendedKeyUsage=serverAuth,clientAuth\n")
        if sans:
            ext.write("subjectAltName=" + ",".join(sans) + "\n")
        ext.flush()
        openssl("x509", "-req", "-CA", "%s/%s.crt" % (PKI, ca), "-CAkey", "%s/%s.key" % (PKI, ca),
                "-CAcreateserial", "-days", "365", "-extfile", ext.name, "-out", crt, stdin=csr)
    return key, crt


def new_ca(name, common_name):
    key, crt = "%s/%s.key" % (PKI, name), "%s/%s.crt" % (PKI, name)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", crt, "-days", "3650", "-subj", "/CN=" + common_name)
    os.chmod(key, 0o600)


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.chmod(path + ".tmp", mode)
    os.rename(path + ".tmp", path)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def kubeconfig(server, user, cert=None, key=None, token=None):
    entry = {}
    if cert:
        entry = {"client-certificate-data": b64(read(cert)), "client-key-data": b64(read(key))}
    if token:
        entry = {"token": token}
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "kubernetes", "cluster": {
            "certificate-authority-data": b64(read(PKI + "/ca.crt")), "server": "https://" + server}}],
        "contexts": [{"name": user + "@kubernetes", "context": {"cluster": "kubernetes", "user": user}}],
        "current-context": user + "@kubernetes",
        "users": [{"name": user, "user": entry}],
    })


# ---------------------------------------------------------------- the API stand-in


def node_object(name, node, state):
    ready = any(o.get("kind") == "DaemonSet" for o in state.data["objects"].values())
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": node["labels"],
                     "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(node["registered"]))},
        "status": {"addresses": [{"type": "InternalIP", "address": node.get("address", "")}],
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                   "reason": "KubeletReady" if ready else "NetworkPluginNotReady"}]},
    }


def cluster_info(state, server):
    """kube-public/cluster-info: the CA and endpoint, signed (JWS, HS256) with each
    bootstrap token the cluster knows, which is how `kubeadm join` tells a valid token."""
    config = yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "", "cluster": {"certificate-authority-data": b64(state.data["ca"]),
                                               "server": "https://" + server}}],
    })
    data = {"kubeconfig": config}
    for tid, token in state.data["tokens"].items():
        data["jws-kubeconfig-" + tid] = jws(config, tid, token["secret"])
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cluster-info", "namespace": "kube-public"}, "data": data}


def jws(payload, tid, secret):
    def enc(raw):
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    header = enc(json.dumps({"alg": "HS256", "kid": tid}).encode())
    body = enc(payload.encode())
    signature = hmac.new(secret.encode(), ("%s.%s" % (header, body)).encode(), hashlib.sha256).digest()
    return "%s..%s" % (header, enc(signature))


class Api(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hac-lab-apiserver"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def status(self, code, message):
        self.reply(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code})

    def who(self, state):
        """`admin` (a client certificate in system:masters), `token` (a valid bootstrap
        token), None (anonymous) or False (a bearer token the cluster does not know)."""
        cert = self.connection.getpeercert()
        if cert:
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "organizationName" and value == "system:masters":
                        return "admin"
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            self.bearer_id = auth[7:].strip().split(".")[0]
            return "token" if state.valid_token(auth[7:].strip()) else False
        return None

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def do_DELETE(self):
        self.handle_request("DELETE")

    def do_PATCH(self):
        self.handle_request("PATCH")

    def handle_request(self, method):
        path = self.path.split("?")[0]
        if method == "GET" and path in ("/readyz", "/healthz", "/livez"):
            return self.reply(200, "ok")
        try:
            with ClusterState() as state:
                state.expire()
                if state.data.get("generation") != self.server.generation:
                    return self.status(503, "this API server's cluster was replaced by another kubeadm init")
                who = self.who(state)
                if who is False:
                    return self.status(401, "Unauthorized")
                answer = self.route(method, path, who, state)
        except Failure as error:
            return self.status(500, str(error))
        self.reply(*answer)

    def route(self, method, path, who, state):
        nodes = state.data["nodes"]
        m = re.fullmatch(r"/api/v1/nodes/([a-z0-9.-]+)", path)
        if method == "GET" and m:
            if who not in ("admin", "token"):
                return 403, "forbidden"
            node = nodes.get(m.group(1))
            if not node:
                return 404, {"kind": "Status", "code": 404, "message": 'nodes "%s" not found' % m.group(1)}
            return 200, node_object(m.group(1), node, state)
        if method == "GET" and path == "/api/v1/nodes":
            if who != "admin":
                return 403, "forbidden"
            return 200, {"kind": "NodeList", "items": [node_object(n, v, state) for n, v in sorted(nodes.items())]}
        if method == "POST" and path == "/api/v1/nodes":
            if who not in ("admin", "token"):
                return 403, "forbidden"
            node = self.body()
            name = node["name"]
            labels = {"kubernetes.io/hostname": name}
            labels.update(node.get("labels", {}))
            nodes[name] = {"labels": labels, "address": node.get("address"), "registered": lab_now()}
            record_event("node-registered", node=name, labels=labels)
            return 201, node_object(name, nodes[name], state)
        if method == "GET" and path == "/api/v1/namespaces/kube-public/configmaps/cluster-info":
            return 200, cluster_info(state, self.server.endpoint)
        if method == "GET" and path == "/api/v1/namespaces/kube-system/configmaps/kubeadm-config":
            if who not in ("admin", "token"):
                return 403, "forbidden"
            images = state.data.get("images") or {}
            config = {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration",
                      "kubernetesVersion": images.get("version", VERSION)}
            if images.get("repository"):
                config["imageRepository"] = images["repository"]
            return 200, {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
                         "data": {"ClusterConfiguration": yaml.safe_dump(config)}}
        if method == "GET" and path == "/api/v1/namespaces/kube-system/secrets/kubeadm-certs":
            if who not in ("admin", "token"):
                return 403, "forbidden"
            if not state.data["certs"]:
                return 404, {"kind": "Status", "code": 404, "message": 'secrets "kubeadm-certs" not found'}
            return 200, state.data["certs"]
        if method == "POST" and path == "/apis/hac-lab/v1/upload-certs":
            if who != "admin":
                return 403, "forbidden"
            state.data["certs"] = dict(self.body(), uploaded=lab_now())
            record_event("certs-uploaded")
            return 201, {"uploaded": state.data["certs"]["uploaded"]}
        if path == "/apis/hac-lab/v1/bootstraptokens":
            if who != "admin":
                return 403, "forbidden"
            if method == "GET":
                return 200, state.data["tokens"]
            if method == "POST":
                token = self.body()
                if token["id"] in state.data["tokens"]:
                    return 409, {"kind": "Status", "code": 409, "message": "bootstrap token %s exists" % token["id"]}
                state.data["tokens"][token["id"]] = {k: v for k, v in token.items() if k != "id"}
                record_event("token-created", id=token["id"], expires=token.get("expires"))
                return 201, {"id": token["id"]}
        m = re.fullmatch(r"/apis/hac-lab/v1/bootstraptokens/([a-z0-9]{6})", path)
        if m and method == "DELETE":
            if who != "admin":
                return 403, "forbidden"
            if state.data["tokens"].pop(m.group(1), None) is None:
                return 404, {"kind": "Status", "code": 404, "message": "bootstrap token %s not found" % m.group(1)}
            record_event("token-deleted", id=m.group(1))
            return 200, {"deleted": m.group(1)}
        if method == "POST" and path == "/apis/hac-lab/v1/apply":
            if who != "admin":
                return 403, "forbidden"
            applied = []
            objects = self.body()
            for obj in objects:
                if obj.get("kind") == "DaemonSet":
                    containers = obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
                    if not containers or any(not c.get("image") for c in containers):
                        return 422, {"kind": "Status", "code": 422, "reason": "Invalid",
                                     "message": "DaemonSet.apps \"%s\" is invalid: spec.template.spec.containers"
                                                "[*].image: Required value" % obj.get("metadata", {}).get("name")}
            for obj in objects:
                meta = obj.get("metadata", {})
                key = "%s/%s/%s" % (obj.get("kind"), meta.get("namespace", ""), meta.get("name"))
                state.data["objects"][key] = obj
                applied.append(key)
            return 200, applied
        answer = objects_route(method, path, who, state, self.body if method in ("POST", "PATCH") else None,
                               getattr(self, "bearer_id", ""))
        if answer:
            return answer
        return 404, {"kind": "Status", "code": 404, "message": "the stand-in API has no %s %s" % (method, path)}


KINDS = {  # URL resource -> (kind, namespaced)
    "secrets": ("Secret", True), "configmaps": ("ConfigMap", True), "daemonsets": ("DaemonSet", True),
    "certificatesigningrequests": ("CertificateSigningRequest", False),
}
KUBELET_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"


def not_found(resource, name):
    return 404, {"kind": "Status", "code": 404, "reason": "NotFound",
                 "message": '%s "%s" not found' % (resource, name)}


def token_secret(tid, token):
    data = {"token-id": tid, "token-secret": token["secret"], "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true", "description": token.get("description", "")}
    if token.get("expires") is not None:
        data["expiration"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(token["expires"]))
    return {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": "bootstrap-token-" + tid, "namespace": "kube-system"},
            "data": {k: b64(v) for k, v in data.items()}}


def secret_to_token(obj):
    data = dict(obj.get("stringData") or {})
    for k, v in (obj.get("data") or {}).items():
        data[k] = base64.b64decode(v).decode()
    expires = None
    if data.get("expiration"):
        expires = time.mktime(time.strptime(data["expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    return data["token-id"], {"secret": data["token-secret"], "expires": expires,
                              "description": data.get("description", "")}


def objects_route(method, path, who, state, body, bearer_id):
    """Secrets (bootstrap tokens are the secrets kube-system/bootstrap-token-ID),
    ConfigMaps and CertificateSigningRequests: get, list, create, merge-patch, delete."""
    m = re.fullmatch(r"(?:/api/v1/namespaces/([a-z0-9-]+)|/apis/apps/v1/namespaces/([a-z0-9-]+)"
                     r"|/apis/certificates\.k8s\.io/v1)/"
                     r"(secrets|configmaps|daemonsets|certificatesigningrequests)(?:/([a-z0-9.:-]+))?", path)
    if not m:
        return None
    namespace, resource, name = m.group(1) or m.group(2) or "", m.group(3), m.group(4)
    if (resource == "daemonsets") != bool(m.group(2)):
        return None
    kind, namespaced = KINDS[resource]
    if namespaced != bool(namespace):
        return None
    objects = state.data["objects"]
    creating_csr = method == "POST" and resource == "certificatesigningrequests" and name is None
    # Bootstrappers may create CSRs (kubeadm's RBAC); everything else here is for admins.
    if who != "admin" and not (who == "token" and creating_csr):
        return 403, {"kind": "Status", "code": 403, "message": "forbidden"}
    token_name = namespace == "kube-system" and resource == "secrets" and name and name.startswith("bootstrap-token-")
    if method == "GET" and name:
        if token_name:
            token = state.data["tokens"].get(name[len("bootstrap-token-"):])
            return (200, token_secret(name[len("bootstrap-token-"):], token)) if token else not_found(resource, name)
        obj = objects.get("%s/%s/%s" % (kind, namespace, name))
        return (200, obj) if obj else not_found(resource, name)
    if method == "GET":
        items = [o for k, o in sorted(objects.items()) if k.startswith("%s/%s/" % (kind, namespace))]
        if resource == "secrets" and namespace == "kube-system":
            items += [token_secret(t, v) for t, v in sorted(state.data["tokens"].items())]
        return 200, {"kind": kind + "List", "apiVersion": "v1", "items": items}
    if method == "POST" and name is None:
        obj = body()
        obj_name = obj.get("metadata", {}).get("name")
        if obj.get("kind") != kind or not obj_name:
            return 400, {"kind": "Status", "code": 400, "message": "a %s with a name is needed" % kind}
        if obj.get("type") == "bootstrap.kubernetes.io/token" and namespace == "kube-system":
            tid, token = secret_to_token(obj)
            if obj_name != "bootstrap-token-" + tid:
                return 400, {"kind": "Status", "code": 400, "message": "bootstrap token secret name mismatch"}
            if tid in state.data["tokens"]:
                return 409, {"kind": "Status", "code": 409, "reason": "AlreadyExists",
                             "message": 'secrets "%s" already exists' % obj_name}
            state.data["tokens"][tid] = token
            record_event("token-created", id=tid, expires=token["expires"])
            return 201, token_secret(tid, token)
        key = "%s/%s/%s" % (kind, namespace, obj_name)
        if key in objects:
            return 409, {"kind": "Status", "code": 409, "reason": "AlreadyExists",
                         "message": '%s "%s" already exists' % (resource, obj_name)}
        obj.setdefault("metadata", {})["creationTimestamp"] = lab_now()
        if namespace:
            obj["metadata"]["namespace"] = namespace
        if kind == "CertificateSigningRequest":
            obj["spec"]["username"] = "kubernetes-admin" if who == "admin" else "system:bootstrap:" + bearer_id
            record_event("csr-created", name=obj_name, signer=obj["spec"].get("signerName"),
                         username=obj["spec"]["username"])
        objects[key] = obj
        return 201, obj
    if method == "PATCH" and name:
        key = "%s/%s/%s" % (kind, namespace, name)
        if key not in objects:
            return not_found(resource, name)
        merge(objects[key], body())
        return 200, objects[key]
    if method == "DELETE" and name:
        if token_name:
            if state.data["tokens"].pop(name[len("bootstrap-token-"):], None) is None:
                return not_found(resource, name)
            record_event("token-deleted", id=name[len("bootstrap-token-"):])
            return 200, {"kind": "Status", "status": "Success"}
        if objects.pop("%s/%s/%s" % (kind, namespace, name), None) is None:
            return not_found(resource, name)
        return 200, {"kind": "Status", "status": "Success"}
    return None


def apiserver(argv):
    options = dict(re.fullmatch(r"--([a-z-]+)=(.*)", a).groups() for a in argv if a.startswith("--"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(options["tls-cert-file"], options["tls-private-key-file"])
    context.load_verify_locations(options["client-ca-file"])
    context.verify_mode = ssl.CERT_OPTIONAL
    http.server.ThreadingHTTPServer.daemon_threads = True
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    server = http.server.ThreadingHTTPServer((options["advertise-address"], int(options["secure-port"])), Api)
    server.endpoint = options["hac-lab-endpoint"]
    server.generation = options["hac-lab-generation"]
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.handle_error = lambda request, address: None
    server.serve_forever()


# ---------------------------------------------------------------- the kubelet stand-in


def pod_command(manifest_text):
    """What the kubelet runs for a static pod: the API server stand-in for kubeadm's
    kube-apiserver, Debian's etcd for the etcd image (the lab's stand-in for pulling
    registry.k8s.io/etcd); any other pod is not one the lab can run."""
    spec = yaml.safe_load(manifest_text)["spec"]["containers"][0]
    command = spec["command"]
    if command[0] == "kube-apiserver":
        return ["/usr/bin/python3", "/usr/lib/hac-lab/standin.py", "kube-apiserver", *command[1:]]
    if command[0] == "etcd" and spec.get("image", "").startswith("registry.k8s.io/etcd:"):
        return ["/usr/bin/etcd", *command[1:]]
    raise Unsupported("static pod %s with command %s" % (spec.get("image"), command[0]))


def pod_file(pod, kind):
    return "/run/hac-lab-pod-%s.%s" % (pod, kind)


def pod_process(pod):
    """The pid of the static pod's process while it runs, else None."""
    try:
        pid = int(read(pod_file(pod, "pid")))
    except (OSError, ValueError):
        return None
    return None if process_gone(pid) else pid


def process_gone(pid):
    """True once the process has exited: a zombie has already closed its sockets."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def stop_pod(pod, sig=signal.SIGTERM, grace=30):
    """Stop a static pod's process and wait until it has exited, as the kubelet and
    `kubeadm reset` wait for a container to stop: its successor binds the same port,
    which a process still exiting holds."""
    pid = pod_process(pod)
    if pid is not None:
        try:
            os.kill(pid, sig)
            deadline = time.monotonic() + grace
            while not process_gone(pid):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    deadline = float("inf")
                time.sleep(0.05)
        except ProcessLookupError:
            pass
    for kind in ("pid", "manifest"):
        try:
            os.unlink(pod_file(pod, kind))
        except FileNotFoundError:
            pass


def start_pod(pod, manifest):
    with open("/var/log/hac-lab-pod-%s.log" % pod, "ab") as log:
        child = subprocess.Popen(pod_command(manifest), start_new_session=True,
                                 stdout=log, stderr=subprocess.STDOUT)
    write(pod_file(pod, "manifest"), manifest)
    write(pod_file(pod, "pid"), str(child.pid))


def kubelet(argv):
    """The kubelet's part here: run the static pods of the manifest directory (kubeadm's
    /etc/kubernetes/manifests, or `staticPodPath` of `--config`), restart one whose
    manifest changed or whose process died, stop one whose manifest went. What runs is
    read from /run, not remembered, so a restarted kubelet reconciles the pods it finds
    with the manifests as they are now."""
    manifests = MANIFESTS
    if argv:
        if len(argv) != 1 or not argv[0].startswith("--config="):
            unsupported(["kubelet", *argv])
        manifests = yaml.safe_load(read(argv[0][len("--config="):])).get("staticPodPath", MANIFESTS)
    # `systemctl restart kubelet` (KillMode=process) must not stop this loop between
    # starting a pod and writing down its pid, or the next kubelet starts it twice.
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    while not stopping:
        wanted = {}
        if os.path.isdir(manifests):
            for name in sorted(os.listdir(manifests)):
                if name.endswith(".yaml"):
                    try:
                        wanted[name[:-5]] = read(os.path.join(manifests, name))
                    except OSError:
                        pass
        known = {name[len("hac-lab-pod-"):-len(".pid")] for name in os.listdir("/run")
                 if name.startswith("hac-lab-pod-") and name.endswith(".pid")}
        for pod in sorted(known | set(wanted)):
            try:
                started_from = read(pod_file(pod, "manifest"))
            except OSError:
                started_from = None
            running = pod_process(pod) is not None
            if not running or wanted.get(pod) != started_from:
                stop_pod(pod)
                running = False
            if pod in wanted and not running:
                start_pod(pod, wanted[pod])
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        time.sleep(1)


# ---------------------------------------------------------------- kubeadm


def load_config(path):
    try:
        docs = [d for d in yaml.safe_load_all(read(path)) if d]
    except (OSError, yaml.YAMLError) as error:
        raise Failure("unable to read config from %r: %s" % (path, error))
    known = {"InitConfiguration", "ClusterConfiguration", "JoinConfiguration", "KubeletConfiguration",
             "KubeProxyConfiguration"}
    for doc in docs:
        if doc.get("kind") not in known:
            raise Failure("unknown configuration kind %r in %s" % (doc.get("kind"), path))
        if doc.get("apiVersion") not in ("kubeadm.k8s.io/v1beta4", "kubelet.config.k8s.io/v1beta1",
                                          "kubeproxy.config.k8s.io/v1alpha1"):
            raise Failure("unsupported apiVersion %r in %s" % (doc.get("apiVersion"), path))
    return {d["kind"]: d for d in docs}


def config_flag(argv):
    if len(argv) == 2 and argv[0] == "--config":
        return argv[1]
    return None


def kubeadm_images(version, repository=None):
    """What `kubeadm config images list` prints for `version` (kubeadm's own image
    tags for its minor) from `repository` (registry.k8s.io when None): CoreDNS keeps
    its `coredns/` path only on registry.k8s.io."""
    match = re.fullmatch(r"v?1\.(\d+)\.(\d+)", version or "")
    if not match:
        raise Failure("couldn't parse Kubernetes version %r" % version)
    minor = int(match.group(1))
    if minor < 33:
        raise Failure("stand-in: no image tags for Kubernetes %s" % version)
    pause, coredns, etcd = ("3.10", "v1.12.0", "3.5.21-0") if minor == 33 else ("3.10.1", "v1.13.1", "3.6.6-0")
    tag = "v" + version.lstrip("v")
    default = repository in (None, "", "registry.k8s.io")
    repo = "registry.k8s.io" if default else repository.rstrip("/")
    images = ["%s/%s:%s" % (repo, name, tag)
              for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")]
    images.append("%s/%s:%s" % (repo, "coredns/coredns" if default else "coredns", coredns))
    images.append("%s/pause:%s" % (repo, pause))
    images.append("%s/etcd:%s" % (repo, etcd))
    return images


def kubeadm_images_list(argv):
    command = ["kubeadm", "config", "images", "list"]
    values, _ = flags(argv, command, {"--kubernetes-version": str, "--image-repository": str})
    if "--kubernetes-version" not in values:
        # Without it the real kubeadm asks dl.k8s.io for the stable release: no network here.
        unsupported(command + argv)
    for image in kubeadm_images(values["--kubernetes-version"], values.get("--image-repository")):
        say(image)


def pause_image(version, repository):
    return next(i for i in kubeadm_images(version, repository) if i.rsplit("/", 1)[-1].startswith("pause:"))


def require_sandbox_image(expected):
    """kubeadm's preflight compares the runtime's sandbox image with its own pause image
    and only warns; the lab refuses the mismatch, so a host that would pull another pause
    image than the one kubeadm pre-pulled fails here."""
    try:
        loaded = read(CONTAINERD_SANDBOX_RECORD).strip()
    except OSError:
        raise Failure("stand-in: containerd recorded no sandbox image in %s" % CONTAINERD_SANDBOX_RECORD)
    if loaded != expected:
        raise Failure("[preflight] Some fatal errors occurred:\n\t[ERROR SandboxImage]: the sandbox image %r of the "
                      "container runtime is inconsistent with that used by kubeadm (%r)" % (loaded, expected))


def require_runtime():
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(CONTAINERD_SOCKET)
    except OSError:
        raise Failure("[preflight] Some fatal errors occurred:\n\t[ERROR CRI]: container runtime is not running: "
                      "validate service connection: dial unix %s: connect: no such file or directory" % CONTAINERD_SOCKET)


def preflight(control_plane, pause=None):
    problems = []
    if os.path.exists("/etc/kubernetes/kubelet.conf"):
        problems.append("[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists")
    if control_plane and os.path.exists(APISERVER_MANIFEST):
        problems.append("[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: %s already exists" % APISERVER_MANIFEST)
    if problems:
        raise Failure("[preflight] Some fatal errors occurred:\n\t" + "\n\t".join(problems))
    require_runtime()
    if pause:
        require_sandbox_image(pause)


def https(url, method="GET", body=None, token=None, ca=None, cert=None, timeout=10):
    context = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
    if cert:
        context.load_cert_chain(*cert)
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"null")
        except ValueError:
            return error.code, None


def join_request(phase, url, method="GET", body=None, token=None, ca=None):
    """A request of `kubeadm join` after discovery. A connection that fails (the
    load balancer's backend restarting, say) fails the phase, as it does in
    kubeadm: exit 1 with the error, for the host's retry to take up."""
    try:
        return https(url, method, body, token=token, ca=ca)
    except (OSError, urllib.error.URLError) as error:
        raise Failure("error execution phase %s: %s \"%s\": %s" % (phase, method.capitalize(), url, error))


def wait_api_ready(address, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen("https://%s:6443/readyz" % address, timeout=3,
                                        context=ssl.create_default_context(cafile=PKI + "/ca.crt")) as r:
                if r.read() == b"ok":
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.5)
    raise Failure("[wait-control-plane] the API server at %s:6443 did not become ready" % address)


def apiserver_cert(address, endpoint, sans, name):
    host = endpoint.rsplit(":", 1)[0]
    names = {"DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
             "DNS:kubernetes.default.svc.cluster.local", "DNS:" + name, "IP:10.96.0.1", "IP:" + address}
    for san in [host, *sans]:
        names.add(("IP:" if re.fullmatch(r"[0-9.]+|[0-9a-f:]+", san) else "DNS:") + san)
    issue("apiserver", "/CN=kube-apiserver", sorted(names))


def control_plane_files(address, endpoint, sans, name, generation):
    apiserver_cert(address, endpoint, sans, name)
    issue("admin", "/O=system:masters/CN=kubernetes-admin")
    write("/etc/kubernetes/admin.conf", kubeconfig(endpoint, "kubernetes-admin", PKI + "/admin.crt", PKI + "/admin.key"), 0o600)
    write("/etc/kubernetes/super-admin.conf", read("/etc/kubernetes/admin.conf"), 0o600)
    write(APISERVER_MANIFEST, yaml.safe_dump({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kube-apiserver", "namespace": "kube-system"},
        "spec": {"hostNetwork": True, "containers": [{
            "name": "kube-apiserver", "image": "registry.k8s.io/kube-apiserver:" + VERSION,
            "command": ["kube-apiserver", "--advertise-address=" + address, "--secure-port=6443",
                        "--tls-cert-file=%s/apiserver.crt" % PKI, "--tls-private-key-file=%s/apiserver.key" % PKI,
                        "--client-ca-file=%s/ca.crt" % PKI, "--hac-lab-endpoint=" + endpoint,
                        "--hac-lab-generation=" + generation]}]},
    }), 0o600)


SHARED_CERTS = ["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key",
                "etcd/ca.crt", "etcd/ca.key", "apiserver-etcd-client.crt", "apiserver-etcd-client.key"]


def shared_certs():
    """What `--upload-certs` uploads: the CAs and keys the control planes share (with
    external etcd, its CA certificate and the API server's client certificate)."""
    files = {f: read(PKI + "/" + f) for f in SHARED_CERTS if os.path.exists(PKI + "/" + f)}
    for required in ("ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt"):
        if required not in files:
            raise Failure("error execution phase upload-certs: failed to read %s/%s" % (PKI, required))
    return files


def seal(key, files):
    """The uploaded certificates, as kubeadm-certs holds them: readable only with the key."""
    digest = hashlib.sha256(bytes.fromhex(key)).hexdigest()
    return {"key_sha256": digest, "files": files}


def require_host_paths(cluster):
    """The kubelet starts no static pod whose `File` host path is missing (hostPath type
    check): the API server would never come up, and kubeadm init would time out."""
    for component in ("apiServer", "controllerManager", "scheduler"):
        for volume in cluster.get(component, {}).get("extraVolumes", []):
            if volume.get("pathType") == "File" and not os.path.isfile(volume["hostPath"]):
                raise Failure("[wait-control-plane] the kubelet cannot start the %s static pod: hostPath type check "
                              "failed: %s is not a file" % (component, volume["hostPath"]))


def kubeadm_init(argv):
    if len(argv) != 3 or argv[0] != "--config" or argv[2] != "--upload-certs":
        unsupported(["kubeadm", "init", *argv])
    config = load_config(argv[1])
    init, cluster = config.get("InitConfiguration", {}), config.get("ClusterConfiguration", {})
    address = init["localAPIEndpoint"]["advertiseAddress"]
    name = init["nodeRegistration"]["name"]
    endpoint = cluster.get("controlPlaneEndpoint") or address + ":6443"
    images = {"version": cluster.get("kubernetesVersion", VERSION), "repository": cluster.get("imageRepository")}
    preflight(control_plane=True, pause=pause_image(images["version"], images["repository"]))
    require_host_paths(cluster)
    os.makedirs(PKI + "/etcd", exist_ok=True)
    if not (os.path.exists(PKI + "/ca.crt") and os.path.exists(PKI + "/ca.key")):
        new_ca("ca", "kubernetes")
    external_etcd = bool(cluster.get("etcd", {}).get("external"))
    for ca, cn in (("front-proxy-ca", "front-proxy-ca"), ("etcd/ca", "etcd-ca")):
        if ca == "etcd/ca" and external_etcd:
            continue  # the external etcd's CA and client certificate come with the host
        if not os.path.exists("%s/%s.crt" % (PKI, ca)):
            new_ca(ca, cn)
    if not os.path.exists(PKI + "/sa.key"):
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", PKI + "/sa.key")
        write(PKI + "/sa.pub", openssl("pkey", "-in", PKI + "/sa.key", "-pubout").decode(), 0o600)
    generation = "%s-%d" % (name, time.time_ns())
    control_plane_files(address, endpoint, cluster.get("apiServer", {}).get("certSANs", []), name, generation)
    now = lab_now()
    with ClusterState() as state:
        # A new etcd: whatever an earlier init left is gone for this cluster.
        state.data.update(nodes={}, tokens={}, objects={}, ca=read(PKI + "/ca.crt"), generation=generation,
                          images=images)
        for token in init.get("bootstrapTokens", []):
            tid, secret = token["token"].split(".")
            ttl = parse_duration(token.get("ttl", "24h"))
            state.data["tokens"][tid] = {"secret": secret, "expires": None if ttl == 0 else now + ttl,
                                         "description": token.get("description", "")}
        state.data["certs"] = dict(seal(init["certificateKey"], shared_certs()), uploaded=now)
        record_event("kubeadm-init", node=name, generation=generation)
    start_kubelet()
    say("[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods")
    wait_api_ready(address)
    with ClusterState() as state:
        state.data["nodes"][name] = {"labels": {"kubernetes.io/hostname": name, CONTROL_PLANE_LABEL: ""},
                                     "address": address, "registered": lab_now()}
        record_event("node-registered", node=name, labels=state.data["nodes"][name]["labels"])
    write("/etc/kubernetes/kubelet.conf", kubeconfig(endpoint, "system:node:" + name, PKI + "/admin.crt", PKI + "/admin.key"), 0o600)
    say("[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace")
    say("Your Kubernetes control-plane has initialized successfully!")


def discover(discovery, deadline):
    """Token discovery as kubeadm does it: cluster-info without trusting the server, the
    JWS signature made with our token, the CA pinned by its public-key hash."""
    endpoint = discovery["apiServerEndpoint"]
    token = discovery["token"]
    tid, secret = token.split(".")
    last = ""
    while True:
        try:
            status, info = https("https://%s/api/v1/namespaces/kube-public/configmaps/cluster-info" % endpoint)
            if status != 200:
                last = "cluster-info: HTTP %d" % status
            else:
                config = info["data"]["kubeconfig"]
                signature = info["data"].get("jws-kubeconfig-" + tid)
                if signature is None:
                    last = "token id %r is invalid for this cluster or it has expired. Use \"kubeadm token create\" on the control-plane node to create a new valid token" % tid
                elif not hmac.compare_digest(signature, jws(config, tid, secret)):
                    last = "failed to verify JWS signature of received cluster info object, can't trust this API Server"
                else:
                    ca = base64.b64decode(yaml.safe_load(config)["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
                    found = ca_hash(ca)
                    if found not in discovery.get("caCertHashes", []):
                        raise Failure("error execution phase preflight: couldn't validate the identity of the API Server: "
                                      "cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"%s\" are pinned" % found)
                    return ca
        except (OSError, urllib.error.URLError, ValueError, KeyError) as error:
            last = "Get \"https://%s/api/v1/namespaces/kube-public/configmaps/cluster-info\": %s" % (endpoint, error)
        if lab_now() >= deadline:
            raise Failure("error execution phase preflight: couldn't validate the identity of the API Server: " + last)
        say("[discovery] " + last + "; retrying")
        lab_sleep(5)


def kubeadm_join(argv):
    path = config_flag(argv)
    if path is None:
        unsupported(["kubeadm", "join", *argv])
    join = load_config(path).get("JoinConfiguration")
    if join is None:
        raise Failure("no JoinConfiguration in " + path)
    name = join["nodeRegistration"]["name"]
    control_plane = join.get("controlPlane")
    discovery = join["discovery"]["bootstrapToken"]
    endpoint, token = discovery["apiServerEndpoint"], discovery["token"]
    timeout = parse_duration(join.get("timeouts", {}).get("discovery", "5m0s"))
    preflight(control_plane=bool(control_plane))
    ca = discover(discovery, lab_now() + timeout)
    os.makedirs(PKI + "/etcd", exist_ok=True)
    write(PKI + "/ca.crt", ca)
    base = "https://" + endpoint
    # Like kubeadm, check the runtime's sandbox image against the cluster's
    # ClusterConfiguration (kubeadm-config), which the bootstrap token may read.
    status, answer = join_request("preflight", base + "/api/v1/namespaces/kube-system/configmaps/kubeadm-config",
                                  token=token, ca=PKI + "/ca.crt")
    if status != 200:
        raise Failure("unable to fetch the kubeadm-config ConfigMap: status %s" % status)
    cluster = yaml.safe_load(answer["data"]["ClusterConfiguration"])
    require_sandbox_image(pause_image(cluster["kubernetesVersion"], cluster.get("imageRepository")))
    labels = {}
    if control_plane:
        status, certs = join_request("control-plane-prepare/download-certs",
                                     base + "/api/v1/namespaces/kube-system/secrets/kubeadm-certs",
                                     token=token, ca=PKI + "/ca.crt")
        if status == 404:
            raise Failure("error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading "
                          "the secret: Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might "
                          "have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to "
                          "generate a new one")
        if status != 200:
            raise Failure("error downloading certs: HTTP %d" % status)
        if certs["key_sha256"] != hashlib.sha256(bytes.fromhex(control_plane["certificateKey"])).hexdigest():
            raise Failure("error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding "
                          "secret data with provided key: cipher: message authentication failed")
        for file, text in certs["files"].items():
            write(PKI + "/" + file, text, 0o600 if file.endswith(".key") else 0o644)
        address = control_plane["localAPIEndpoint"]["advertiseAddress"]
        with ClusterState() as state:
            generation = state.data.get("generation", "")
        control_plane_files(address, endpoint, [], name, generation)
        start_kubelet()
        wait_api_ready(address)
        labels[CONTROL_PLANE_LABEL] = ""
    node_address = None
    for arg in join["nodeRegistration"].get("kubeletExtraArgs", []):
        if arg.get("name") == "node-ip":
            node_address = arg["value"]
    # The kubelet's TLS bootstrap: a CSR as the bootstrap token (auto-approved).
    status, answer = join_request("kubelet-start", base + "/apis/certificates.k8s.io/v1/certificatesigningrequests", "POST", {
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": "csr-" + os.urandom(3).hex()},
        "spec": {"signerName": KUBELET_SIGNER, "usages": ["client auth"], "request": ""}}, token=token, ca=PKI + "/ca.crt")
    if status != 201:
        raise Failure("error execution phase kubelet-start: the kubelet's certificate request failed: HTTP %d %s" % (status, answer))
    status, answer = join_request("kubelet-start", base + "/api/v1/nodes", "POST",
                                  {"name": name, "labels": labels, "address": node_address},
                                  token=token, ca=PKI + "/ca.crt")
    if status != 201:
        raise Failure("error execution phase kubelet-start: the TLS bootstrap of the kubelet failed: HTTP %d %s" % (status, answer))
    write("/etc/kubernetes/kubelet.conf", kubeconfig(endpoint, "system:node:" + name, token=token), 0o600)
    if not control_plane:
        start_kubelet()
    say("This node has joined the cluster")


def start_kubelet():
    """kubeadm's kubelet-start phase: (re)start the kubelet service."""
    say("[kubelet-start] Starting the kubelet")
    subprocess.run(["systemctl", "daemon-reload"], check=False)
    if subprocess.run(["systemctl", "restart", "kubelet"]).returncode != 0:
        raise Failure("[kubelet-start] the kubelet service could not be started")


def kubeadm_reset(argv):
    if argv != ["-f"]:
        unsupported(["kubeadm", "reset", *argv])
    say("[reset] Stopping the kubelet service")
    subprocess.run(["systemctl", "stop", "kubelet"], check=False)
    for pod in ("kube-apiserver", "etcd"):
        stop_pod(pod, signal.SIGKILL)
    for path in ["/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf", "/etc/kubernetes/kubelet.conf",
                 APISERVER_MANIFEST]:
        if os.path.exists(path):
            os.unlink(path)
    subprocess.run(["rm", "-rf", PKI, "/var/lib/kubelet"], check=True)
    say("[reset] Deleted contents of the etcd data directory, certificates and kubeconfig files")


def flags(argv, command, known, positional_max=0):
    """argv's --flag value / --flag=value pairs (only `known` ones) and positionals."""
    values, positional, i = {}, [], 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-"):
            name, _, inline = a.partition("=")
            if name not in known:
                unsupported(command + argv)
            if known[name] is bool:
                values[name] = True
                i += 1
            elif inline:
                values[name] = inline
                i += 1
            elif i + 1 < len(argv):
                values[name] = argv[i + 1]
                i += 2
            else:
                unsupported(command + argv)
        else:
            positional.append(a)
            i += 1
    if len(positional) > positional_max:
        unsupported(command + argv)
    return values, positional


def admin_client(values):
    path = values.get("--kubeconfig", "/etc/kubernetes/admin.conf")
    try:
        return client_from_kubeconfig(yaml.safe_load(read(path)))
    except OSError:
        raise Failure("failed to load admin kubeconfig: open %s: no such file or directory" % path)


TOKEN_FLAGS = {"--kubeconfig": str, "--ttl": str, "--description": str, "--groups": str, "--usages": str,
               "--print-join-command": bool}


def kubeadm_token(argv):
    command = ["kubeadm", "token"]
    if argv[:1] == ["create"]:
        values, positional = flags(argv[1:], command + ["create"], TOKEN_FLAGS, 1)
        token = positional[0] if positional else "%s.%s" % (os.urandom(3).hex(), os.urandom(8).hex())
        match = re.fullmatch(r"([a-z0-9]{6})\.([a-z0-9]{16})", token)
        if not match:
            raise Failure("the bootstrap token %r was not of the form \"[a-z0-9]{6}.[a-z0-9]{16}\"" % token)
        ttl = parse_duration(values.get("--ttl", "24h"))
        status, answer = admin_client(values).call("/apis/hac-lab/v1/bootstraptokens", "POST", {
            "id": match.group(1), "secret": match.group(2), "expires": None if ttl == 0 else lab_now() + ttl,
            "description": values.get("--description", "")})
        if status == 409:
            raise Failure("failed to create bootstrap token with name \"bootstrap-token-%s\": secrets \"bootstrap-token-%s\" "
                          "already exists" % (match.group(1), match.group(1)))
        if status != 201:
            raise Failure("failed to create bootstrap token: %s" % answer)
        if values.get("--print-join-command"):
            unsupported(command + argv)
        say(token)
        return
    if argv[:1] == ["list"]:
        values, _ = flags(argv[1:], command + ["list"], {"--kubeconfig": str, "-o": str, "--output": str})
        output = values.get("-o", values.get("--output", "text"))
        status, tokens = admin_client(values).call("/apis/hac-lab/v1/bootstraptokens")
        if status != 200:
            raise Failure("failed to list bootstrap tokens: %s" % tokens)
        now = lab_now()
        if output == "json":
            for tid, t in sorted(tokens.items()):
                if t.get("expires") is not None and t["expires"] <= now:
                    continue
                obj = {"kind": "BootstrapToken", "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
                       "token": "%s.%s" % (tid, t["secret"]), "description": t.get("description", ""),
                       "usages": ["authentication", "signing"],
                       "groups": ["system:bootstrappers:kubeadm:default-node-token"]}
                if t.get("expires") is not None:
                    obj["expires"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t["expires"]))
                say(json.dumps(obj, indent=2))
            return
        if output != "text":
            unsupported(command + argv)
        say("TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION")
        for tid, t in sorted(tokens.items()):
            if t.get("expires") is not None and t["expires"] <= now:
                continue
            ttl = "<forever>" if t.get("expires") is None else "%dh" % ((t["expires"] - now) // 3600)
            expires = "<never>" if t.get("expires") is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t["expires"]))
            say("%s.%s   %-11s %-22s %-24s %s" % (tid, t["secret"], ttl, expires, "authentication,signing",
                                                  t.get("description", "")))
        return
    if argv[:1] == ["delete"]:
        values, positional = flags(argv[1:], command + ["delete"], {"--kubeconfig": str}, 64)
        if not positional:
            unsupported(command + argv)
        client = admin_client(values)
        for token in positional:
            tid = token.split(".")[0]
            status, answer = client.call("/apis/hac-lab/v1/bootstraptokens/" + tid, "DELETE")
            if status != 200:
                raise Failure("failed to delete bootstrap token %r: %s" % (tid, answer))
            say("bootstrap token %r deleted" % tid)
        return
    unsupported(command + argv)


def kubeadm_upload_certs(argv):
    command = ["kubeadm", "init", "phase", "upload-certs"]
    values, _ = flags(argv, command, {"--upload-certs": bool, "--certificate-key": str, "--config": str,
                                      "--kubeconfig": str})
    if not values.get("--upload-certs"):
        unsupported(command + argv)
    key = values.get("--certificate-key")
    if key is None and values.get("--config"):
        key = load_config(values["--config"]).get("InitConfiguration", {}).get("certificateKey")
    if not key or not re.fullmatch(r"[0-9a-f]{64}", key):
        raise Failure("invalid certificate key: a 32-byte key in hex is needed")
    files = shared_certs()
    status, answer = admin_client(values).call("/apis/hac-lab/v1/upload-certs", "POST", seal(key, files))
    if status != 201:
        raise Failure("error execution phase upload-certs: %s" % answer)
    say("[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace")
    say("[upload-certs] Using certificate key:")
    say(key)


def kubeadm(argv):
    if argv[:1] == ["token"]:
        return kubeadm_token(argv[1:])
    if argv[:3] == ["init", "phase", "upload-certs"]:
        return kubeadm_upload_certs(argv[3:])
    if argv[:2] == ["config", "validate"] and config_flag(argv[2:]):
        load_config(argv[3])
        say("ok")
        return
    if argv[:3] == ["config", "images", "pull"] and config_flag(argv[3:]):
        load_config(argv[4])
        require_runtime()
        for image in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"):
            say("[config/images] Pulled registry.k8s.io/%s:%s" % (image, VERSION))
        return
    if argv[:3] == ["config", "images", "list"]:
        return kubeadm_images_list(argv[3:])
    if argv[:1] == ["init"]:
        return kubeadm_init(argv[1:])
    if argv[:1] == ["join"]:
        return kubeadm_join(argv[1:])
    if argv[:1] == ["reset"]:
        return kubeadm_reset(argv[1:])
    if argv[:1] == ["version"] and argv[1:] in ([], ["-o", "short"]):
        say(VERSION)
        return
    unsupported(["kubeadm", *argv])


# ---------------------------------------------------------------- kubectl


class Client:
    def __init__(self, server, ca, cert, key, timeout):
        self.server, self.ca, self.cert, self.key, self.timeout = server, ca, cert, key, timeout

    def call(self, path, method="GET", body=None):
        try:
            return https(self.server + path, method, body, ca=self.ca, cert=(self.cert, self.key), timeout=self.timeout)
        except (OSError, urllib.error.URLError) as error:
            raise Failure("Unable to connect to the server: %s" % error)


def client_from_kubeconfig(config, timeout=30):
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    directory = tempfile.mkdtemp(prefix="kubectl-")
    paths = []
    for name, field in (("ca", cluster["certificate-authority-data"]), ("cert", user["client-certificate-data"]),
                        ("key", user["client-key-data"])):
        path = os.path.join(directory, name)
        write(path, base64.b64decode(field).decode(), 0o600)
        paths.append(path)
    return Client(cluster["server"], *paths, timeout)


def jsonpath(obj, expression):
    """The jsonpath expressions the scripts use (others are unsupported): a field path
    with escaped dots, the Ready condition's status, and two ranges over a list."""
    if expression == '{.status.conditions[?(@.type=="Ready")].status}':
        return " ".join(c["status"] for c in obj.get("status", {}).get("conditions", []) if c["type"] == "Ready")
    m = re.fullmatch(r'\{range \.items\[\?\(@\.spec\.signerName=="([^"]+)"\)\]\}\{\.metadata\.name\}\{"\\n"\}\{end\}', expression)
    if m:
        return "".join(i["metadata"]["name"] + "\n" for i in obj.get("items", []) if i["spec"].get("signerName") == m.group(1))
    if expression == r'{range .items[*]}{.spec.username}{"\n"}{end}':
        return "".join(i["spec"].get("username", "") + "\n" for i in obj.get("items", []))
    m = re.fullmatch(r"\{((?:\.(?:[A-Za-z0-9_-]|\\\.)+)+)\}", expression)
    if m:
        value = obj
        for part in re.findall(r"\.((?:[A-Za-z0-9_-]|\\\.)+)", m.group(1)):
            value = value.get(part.replace("\\.", "."), "") if isinstance(value, dict) else ""
        # kubectl prints a map or a list as Go's encoding/json does: compact.
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    raise Unsupported("jsonpath " + expression)


def kustomize(directory):
    spec = yaml.safe_load(read(os.path.join(directory, "kustomization.yaml")))
    if set(spec) - {"apiVersion", "kind", "resources", "patches"}:
        raise Unsupported("kustomization fields %s" % sorted(set(spec) - {"apiVersion", "kind", "resources", "patches"}))
    objects = []
    for resource in spec.get("resources", []):
        objects += [o for o in yaml.safe_load_all(read(os.path.join(directory, resource))) if o]
    for patch in spec.get("patches", []):
        for p in yaml.safe_load_all(read(os.path.join(directory, patch["path"]))):
            target = [o for o in objects if o["kind"] == p["kind"] and o["metadata"]["name"] == p["metadata"]["name"]]
            if not target:
                raise Failure("error: no matches for Id %s.%s" % (p["kind"], p["metadata"]["name"]))
            strategic_merge(target[0], p)
    return objects


def merge(base, patch):
    """A JSON merge patch (`kubectl patch --type merge`): maps merge, lists and values
    are replaced."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value


def strategic_merge(base, patch):
    """A strategic merge as kustomize makes one for the lists the scripts patch: lists
    of named objects (containers, env) merge element by element by `name`; other lists
    and values are replaced."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            strategic_merge(base[key], value)
        elif named_list(value) and named_list(base.get(key)):
            for element in value:
                same = [b for b in base[key] if b["name"] == element["name"]]
                if same:
                    strategic_merge(same[0], element)
                else:
                    base[key].append(element)
        else:
            base[key] = value


def named_list(value):
    return isinstance(value, list) and value and all(isinstance(e, dict) and "name" in e for e in value)


RESOURCES = {  # kubectl's names -> (URL resource, namespaced, singular)
    "node": ("nodes", False, "node"), "nodes": ("nodes", False, "node"),
    "secret": ("secrets", True, "secret"), "secrets": ("secrets", True, "secret"),
    "configmap": ("configmaps", True, "configmap"), "configmaps": ("configmaps", True, "configmap"),
    "daemonset": ("daemonsets", True, "daemonset.apps"), "daemonsets": ("daemonsets", True, "daemonset.apps"),
    "ds": ("daemonsets", True, "daemonset.apps"),
    "csr": ("certificatesigningrequests", False, "certificatesigningrequest"),
    "certificatesigningrequest": ("certificatesigningrequests", False, "certificatesigningrequest"),
}


def resource_url(resource, namespace, name=None):
    url_resource, namespaced, _ = RESOURCES[resource]
    if url_resource == "nodes":
        base = "/api/v1/nodes"
    elif url_resource == "daemonsets":
        base = "/apis/apps/v1/namespaces/%s/daemonsets" % (namespace or "default")
    elif url_resource == "certificatesigningrequests":
        base = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
    else:
        base = "/api/v1/namespaces/%s/%s" % (namespace or "default", url_resource)
    return base + ("/" + name if name else "")


def kubectl(argv):
    """kubectl's global flags anywhere, then: get, create -f -, create configmap,
    patch --type merge, delete [--ignore-not-found], apply -k."""
    args, options = [], {"kubeconfig": os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")}
    value_flags = {"--kubeconfig": "kubeconfig", "-n": "namespace", "--namespace": "namespace", "-o": "output",
                   "--output": "output", "-f": "file", "--filename": "file", "--type": "type", "-p": "patch",
                   "--patch": "patch", "--from-literal": "literal", "--request-timeout": "timeout", "-k": "kustomize"}
    bool_flags = {"--ignore-not-found": "ignore"}
    i = 0
    while i < len(argv):
        a = argv[i]
        name, eq, inline = a.partition("=")
        if a.startswith("-") and name in value_flags:
            key = value_flags[name]
            if eq:
                value, i = inline, i + 1
            elif i + 1 < len(argv):
                value, i = argv[i + 1], i + 2
            else:
                unsupported(["kubectl", *argv])
            if key == "literal":
                options.setdefault("literals", []).append(value)
            else:
                options[key] = value
        elif a.startswith("-") and name in bool_flags and not eq:
            options[bool_flags[name]] = True
            i += 1
        elif a.startswith("-"):
            unsupported(["kubectl", *argv])
        else:
            args.append(a)
            i += 1
    try:
        config = yaml.safe_load(read(options["kubeconfig"]))
    except OSError:
        raise Failure("error: stat %s: no such file or directory" % options["kubeconfig"])
    client = client_from_kubeconfig(config, parse_duration(options.get("timeout", "30s")))
    namespace, output = options.get("namespace"), options.get("output")
    verb = args[0] if args else None

    def need(condition):
        if not condition:
            unsupported(["kubectl", *argv])

    def fail_from(status, answer, what):
        reason = (answer or {}).get("reason") if isinstance(answer, dict) else None
        message = (answer or {}).get("message") if isinstance(answer, dict) else answer
        raise Failure("Error from server%s: %s" % (" (%s)" % reason if reason else "", message or "HTTP %d %s" % (status, what)))

    if verb == "apply":
        need(len(args) == 1 and "kustomize" in options and namespace is None and output is None)
        objects = kustomize(options["kustomize"])
        status, answer = client.call("/apis/hac-lab/v1/apply", "POST", objects)
        if status != 200:
            fail_from(status, answer, "apply")
        for key in answer:
            kind, _, name = key.split("/")
            say("%s/%s configured" % (kind.lower(), name))
        return
    if verb == "get":
        need(len(args) in (2, 3) and args[1] in RESOURCES)
        name = args[2] if len(args) == 3 else None
        status, answer = client.call(resource_url(args[1], namespace, name))
        if status != 200:
            if status == 404 and name:
                raise Failure('Error from server (NotFound): %s "%s" not found' % (RESOURCES[args[1]][0], name))
            fail_from(status, answer, "get")
        if output == "name":
            singular = RESOURCES[args[1]][2]
            names = [answer["metadata"]["name"]] if name else [o["metadata"]["name"] for o in answer["items"]]
            for n in names:
                say("%s/%s" % (singular, n))
            return
        need(output is not None and output.startswith("jsonpath="))
        sys.stdout.write(jsonpath(answer, output[len("jsonpath="):]))
        return
    if verb == "create" and len(args) == 1:
        need(options.get("file") == "-" and output is None)
        text = sys.stdin.read()
        for obj in [o for o in yaml.safe_load_all(text) if o]:
            resource = obj.get("kind", "").lower()
            need(resource in RESOURCES)
            ns = namespace or obj.get("metadata", {}).get("namespace")
            status, answer = client.call(resource_url(resource, ns), "POST", obj)
            if status != 201:
                fail_from(status, answer, "create")
            say("%s/%s created" % (RESOURCES[resource][2], obj["metadata"]["name"]))
        return
    if verb == "create" and len(args) == 3 and args[1] == "configmap":
        need(output is None and "file" not in options)
        data = {}
        for literal in options.get("literals", []):
            key, eq, value = literal.partition("=")
            need(eq)
            data[key] = value
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": args[2]}, "data": data}
        status, answer = client.call(resource_url("configmap", namespace), "POST", obj)
        if status != 201:
            fail_from(status, answer, "create")
        say("configmap/%s created" % args[2])
        return
    if verb == "patch":
        need(len(args) == 3 and args[1] in RESOURCES and options.get("type") == "merge" and "patch" in options)
        status, answer = client.call(resource_url(args[1], namespace, args[2]), "PATCH", json.loads(options["patch"]))
        if status != 200:
            fail_from(status, answer, "patch")
        say("%s/%s patched" % (RESOURCES[args[1]][2], args[2]))
        return
    if verb == "delete":
        need(len(args) == 3 and args[1] in RESOURCES and output is None)
        status, answer = client.call(resource_url(args[1], namespace, args[2]), "DELETE")
        if status == 404 and options.get("ignore"):
            return
        if status != 200:
            if status == 404:
                raise Failure('Error from server (NotFound): %s "%s" not found' % (RESOURCES[args[1]][0], args[2]))
            fail_from(status, answer, "delete")
        say('%s "%s" deleted' % (RESOURCES[args[1]][2], args[2]))
        return
    unsupported(["kubectl", *argv])


# ---------------------------------------------------------------- containerd and ctr


def containerd(argv):
    if argv in (["--version"], ["-v"]):
        say("containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376")
        return
    if argv and argv != ["--config", CONTAINERD_CONFIG]:
        unsupported(["containerd", *argv])
    os.makedirs(os.path.dirname(CONTAINERD_SOCKET), exist_ok=True)
    write(CONTAINERD_SANDBOX_RECORD, containerd_sandbox_image() + "\n")
    if os.path.exists(CONTAINERD_SOCKET):
        os.unlink(CONTAINERD_SOCKET)
    server = socket.socket(socket.AF_UNIX)
    server.bind(CONTAINERD_SOCKET)
    server.listen(16)
    say("containerd successfully booted")
    # Like containerd, tell systemd it is ready (its unit is `Type=notify`).
    notify = os.environ.get("NOTIFY_SOCKET")
    if notify:
        address = "\0" + notify[1:] if notify.startswith("@") else notify
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as ready:
            ready.connect(address)
            ready.sendall(b"READY=1")
    while True:
        connection, _ = server.accept()
        connection.close()


def containerd_sandbox_image():
    """The sandbox image of the configuration, read as containerd 2.1 reads it: invalid
    TOML stops containerd, and without a setting it uses its built-in default."""
    try:
        with open(CONTAINERD_CONFIG, "rb") as f:
            config = tomllib.load(f)
    except FileNotFoundError:
        config = {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise Failure("containerd: failed to load TOML from %s: %s" % (CONTAINERD_CONFIG, error))
    plugins = config.get("plugins", {})
    if config.get("version") == 2:
        image = plugins.get("io.containerd.grpc.v1.cri", {}).get("sandbox_image")
    else:
        image = plugins.get("io.containerd.cri.v1.images", {}).get("pinned_images", {}).get("sandbox")
    return image or "registry.k8s.io/pause:3.10"


def ctr(argv):
    if argv != ["plugins", "ls"]:
        unsupported(["ctr", *argv])
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(CONTAINERD_SOCKET)
    except OSError as error:
        raise Failure("ctr: failed to dial \"%s\": %s" % (CONTAINERD_SOCKET, error))
    say("TYPE                                      ID                       PLATFORMS      STATUS")
    say("io.containerd.content.v1                  content                  -              ok")
    say("io.containerd.snapshotter.v1              overlayfs                linux/amd64    ok")
    say("io.containerd.grpc.v1                     cri                      -              ok")


def main():
    tool = os.path.basename(sys.argv[0])
    if tool.endswith(".py") and tool != "standin.py":
        tool = tool[:-3]
    argv = sys.argv[1:]
    if tool == "standin.py":
        tool, argv = argv[0], argv[1:]
    commands = {"kubeadm": kubeadm, "kubelet": kubelet, "kubectl": kubectl, "kube-apiserver": apiserver,
                "containerd": containerd, "ctr": ctr}
    try:
        if tool not in commands:
            unsupported([tool, *argv])
        commands[tool](argv)
    except Unsupported as error:
        print("stand-in: unsupported: %s" % error, file=sys.stderr)
        try:
            with open("/var/log/hac-lab-unsupported.log", "a") as f:
                f.write("%s\n" % error)
        except OSError:
            pass
        return 2
    except Failure as error:
        print(str(error), file=sys.stderr)
        return 1
    except Exception:
        # A stand-in's own bug must not pass for a failure the real tool would have.
        print("stand-in: internal error: %s\n%s" % (" ".join(sys.argv), traceback.format_exc()), file=sys.stderr)
        try:
            with open("/var/log/hac-lab-unsupported.log", "a") as f:
                f.write("internal error in %s: %s\n" % (" ".join(sys.argv), traceback.format_exc().splitlines()[-1]))
        except OSError:
            pass
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
