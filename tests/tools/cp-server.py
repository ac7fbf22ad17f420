#!/usr/bin/env python3
"""A control-plane server for tests: the HTTP contract of DESIGN.md.

usage: cp-server.py FIXTURE.json [PORT]

Listens on 127.0.0.1, PORT (default 0: any), and prints the port on stdout.
Exits when its stdin reaches EOF (so it dies with the test that started it).

The fixture:
  {"token": "T" (optional: then "Authorization: Bearer T" is required, else 401),
   "peers": {"<64 hex>": {"behaviour": B, "reply": {...}, "retry_after": "7"}}}

Behaviours: "ok" (200 + reply), "404", "429" (Retry-After from retry_after
unless it is absent), "500", "hang" (held until released, then answered as
"ok"), "badjson", "wrongkey" (200 with another public_key), "big" (a 1 MiB
body). An entry's "delay" (seconds) is waited before answering. Keys not in
the fixture get the fixture's "default" entry, or 404 without one.

Test endpoints:
  GET  /_stats        {"count": look-up requests for any key}
  GET  /_stats/HEX    {"count": requests, "open": requests not yet answered,
                       "auth": last Authorization, "accept": last Accept}
  POST /_set/HEX      the body replaces that key's fixture entry
  POST /_release/HEX  lets held ("hang") requests for that key go on
  POST /_token        the body is the token required from now on
"""

import base64
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG_LIMIT = 60.0  # seconds: a held request is answered at the latest then

lock = threading.Lock()
fixture = {}
stats = {}
total = 0
releases = {}


def stat(key):
    return stats.setdefault(key, {"count": 0, "open": 0, "auth": None, "accept": None})


def release_event(key):
    with lock:
        return releases.setdefault(key, threading.Event())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle and the
    # client's delayed ACK add 40 ms to every answer.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    counted_key = None

    def answered(self):
        # Before the first byte goes out, so a client never sees its answer still open.
        if self.counted_key is not None:
            with lock:
                stat(self.counted_key)["open"] -= 1
            self.counted_key = None

    def send(self, code, body=b"", headers=()):
        self.answered()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global total
        if self.path == "/_stats":
            with lock:
                body = json.dumps({"count": total}).encode()
            return self.send(200, body)
        m = re.fullmatch(r"/_stats/([0-9a-f]{64})", self.path)
        if m:
            with lock:
                body = json.dumps(stat(m.group(1))).encode()
            return self.send(200, body)
        m = re.fullmatch(r"/peers/([0-9a-f]{64})", self.path)
        if not m:
            return self.send(400, b'{"error": "bad path"}')
        key = m.group(1)
        with lock:
            s = stat(key)
            s["count"] += 1
            total += 1
            s["open"] += 1
            s["auth"] = self.headers.get("Authorization")
            s["accept"] = self.headers.get("Accept")
            entry = dict(fixture.get("peers", {}).get(
                key, fixture.get("default", {"behaviour": "404"})))
            token = fixture.get("token")
        self.counted_key = key
        try:
            self.answer(key, entry, token)
        finally:
            self.answered()

    def answer(self, key, entry, token):
        if token is not None and self.headers.get("Authorization") != "Bearer " + token:
            return self.send(401, b'{"error": "unauthorized"}')
        behaviour = entry.get("behaviour", "ok")
        if "delay" in entry:
            time.sleep(float(entry["delay"]))
        if behaviour == "hang":
            release_event(key).wait(HANG_LIMIT)
            behaviour = "ok"
        if behaviour == "404":
            return self.send(404, b'{"error": "unknown key"}')
        if behaviour == "429":
            headers = []
            if "retry_after" in entry:
                headers.append(("Retry-After", str(entry["retry_after"])))
            return self.send(429, b'{"error": "slow down"}', headers)
        if behaviour == "500":
            return self.send(500, b'{"error": "internal"}')
        if behaviour == "badjson":
            return self.send(200, b'{"public_key": "')
        if behaviour == "big":
            return self.send(200, b" " * (1 << 20) + b"{}")
        reply = dict(entry.get("reply", {}))
        if behaviour == "wrongkey":
            other = bytes(b ^ 0xFF for b in bytes.fromhex(key))
            reply["public_key"] = base64.b64encode(other).decode()
        else:
            reply.setdefault("public_key", base64.b64encode(bytes.fromhex(key)).decode())
        reply.setdefault("allowed_ips", ["10.0.0.1/32"])
        return self.send(200, json.dumps(reply).encode())

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/_token":
            with lock:
                fixture["token"] = body.decode()
            return self.send(200, b"{}")
        m = re.fullmatch(r"/_(set|release)/([0-9a-f]{64})", self.path)
        if not m:
            return self.send(400, b'{"error": "bad path"}')
        what, key = m.groups()
        if what == "set":
            with lock:
                fixture.setdefault("peers", {})[key] = json.loads(body)
        else:
            release_event(key).set()
        return self.send(200, b"{}")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # A client's burst of connections must not meet a full backlog (its
    # SYNs would be retried after a second).
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # A client that gave up (timeouts, size caps) is part of the tests.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    global fixture
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        fixture = json.load(f)
    Server.allow_reuse_address = True
    server = Server(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) == 3 else 0), Handler)
    print(server.server_address[1], flush=True)

    def watch_stdin():
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
