#!/usr/bin/python3
"""The boot lab's network services, run by the harness inside the lab's bridge namespace
on the lab server's address:

- HTTP on port 80 and HTTPS on 443 (a certificate from the lab's CA, which the image
  trusts, for the names the lab stands in for): the lab's package repositories (Debian's packages for the image, a
  pkgs.k8s.io-shaped repository with the stand-in Kubernetes packages) and the files the
  user-data downloads from github.com and raw.githubusercontent.com. The Host header picks
  the tree: www/<host>/<path>.
- DNS on port 53 (UDP): the names of the lab (the repositories, the emulated download
  sites, the cluster's endpoint name) from a table; any other name does not exist.

Faults are read from faults.json at every request, so the harness can change them while
the cluster boots: per client address, `dns_fail` (the next N queries get NXDOMAIN),
`http_502` (the next N requests get 502 Bad Gateway) and `delay` (seconds before each
answer). Refused connections are made by the harness with iptables in the same
namespace, because only the kernel can refuse a connection.
"""
import argparse
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNTERS = {}


def log(state, line):
    with LOCK, open(os.path.join(state, "server.log"), "a") as f:
        f.write("%.3f %s\n" % (time.time(), line))


def fault(state, client, kind, name=None):
    """Spend one unit of fault `kind` for `client`; true when this request must fail.
    `dns_names`, when given, limits the DNS fault to those names."""
    try:
        with open(os.path.join(state, "faults.json")) as f:
            faults = json.load(f)
    except (OSError, ValueError):
        return False, 0
    mine = faults.get(client, {})
    if name is not None and mine.get("dns_names") and name not in mine["dns_names"]:
        return False, 0
    delay = float(mine.get("delay", 0))
    limit = int(mine.get(kind, 0))
    with LOCK:
        used = COUNTERS.get((client, kind), 0)
        if used < limit:
            COUNTERS[(client, kind)] = used + 1
            return True, delay
    return False, delay


def flapping(state, client, name):
    """`dns_flap`: {"pass": K, "seconds": S}: for the names in `dns_names`, the first K
    queries are answered, then every query fails for S seconds (a resolver that answered
    once and then went away, as while a network comes up)."""
    try:
        with open(os.path.join(state, "faults.json")) as f:
            mine = json.load(f).get(client, {})
    except (OSError, ValueError):
        return False
    flap = mine.get("dns_flap")
    if not flap or name not in mine.get("dns_names", []):
        return False
    with LOCK:
        seen = COUNTERS.get((client, "flap_seen"), 0)
        COUNTERS[(client, "flap_seen")] = seen + 1
        if seen < int(flap["pass"]):
            return False
        started = COUNTERS.setdefault((client, "flap_started"), time.time())
    return time.time() - started < float(flap["seconds"])


def make_handler(state):
    www = os.path.join(state, "www")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def do_HEAD(self):
            self.serve(body=False)

        def do_GET(self):
            self.serve(body=True)

        def serve(self, body):
            client = self.client_address[0]
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            failing, delay = fault(state, client, "http_502")
            if delay:
                time.sleep(delay)
            if failing:
                log(state, "%s %s %s%s 502 (fault)" % (client, self.command, host, path))
                self.send_response(502)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            root = os.path.realpath(os.path.join(www, host))
            target = os.path.realpath(os.path.join(root, path.lstrip("/")))
            if not target.startswith(root + os.sep) or not os.path.isfile(target):
                log(state, "%s %s %s%s 404" % (client, self.command, host, path))
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            size = os.path.getsize(target)
            log(state, "%s %s %s%s 200 %d" % (client, self.command, host, path, size))
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if body:
                with open(target, "rb") as f:
                    while True:
                        chunk = f.read(1 << 16)
                        if not chunk:
                            break
                        self.wfile.write(chunk)

    return Handler


def dns_answer(state, table, data, client):
    if len(data) < 12:
        return None
    ident, flags, qd = struct.unpack(">HHH", data[:6])
    if qd != 1:
        return None
    pos, labels = 12, []
    while pos < len(data) and data[pos]:
        n = data[pos]
        labels.append(data[pos + 1 : pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    question = data[12 : pos + 5]
    qtype = struct.unpack(">H", data[pos + 1 : pos + 3])[0]
    name = ".".join(labels).lower().rstrip(".")
    rd = flags & 0x0100
    failing, delay = fault(state, client, "dns_fail", name)
    failing = failing or flapping(state, client, name)
    if delay:
        time.sleep(delay)
    address = table.get(name)
    if failing or address is None:
        rcode = 3  # NXDOMAIN
        answers = b""
        count = 0
        log(state, "%s DNS %s %s" % (client, name, "NXDOMAIN (fault)" if failing else "NXDOMAIN"))
    elif qtype == 1:
        rcode = 0
        answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 5, 4) + socket.inet_aton(address)
        count = 1
    else:
        rcode, answers, count = 0, b"", 0  # the name exists, with no record of that type
    header = struct.pack(">HHHHHH", ident, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1, count, 0, 0)
    return header + question + answers


def serve_dns(state, address):
    table_path = os.path.join(state, "dns.json")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 53))
    while True:
        data, peer = sock.recvfrom(512)
        try:
            with open(table_path) as f:
                table = json.load(f)
            reply = dns_answer(state, table, data, peer[0])
        except Exception as error:  # a malformed query must not stop the lab's DNS
            log(state, "%s DNS error %r" % (peer[0], error))
            reply = None
        if reply:
            sock.sendto(reply, peer)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--tls", required=True, help="directory with server.crt and server.key")
    args = parser.parse_args()
    threading.Thread(target=serve_dns, args=(args.state, args.address), daemon=True).start()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer((args.address, 80), make_handler(args.state))
    secure = ThreadingHTTPServer((args.address, 443), make_handler(args.state))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(args.tls, "server.crt"), os.path.join(args.tls, "server.key"))
    secure.socket = context.wrap_socket(secure.socket, server_side=True, do_handshake_on_connect=False)
    secure.handle_error = lambda request, address: None
    threading.Thread(target=secure.serve_forever, daemon=True).start()
    with open(os.path.join(args.state, "server.ready"), "w") as f:
        f.write(str(os.getpid()))
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
