#!/usr/bin/env python3
"""An HTTP proxy in front of a loopback registry that breaks blob downloads,
for tests: usage cut_proxy.py PORT UPSTREAM_PORT CUT_BYTES MODE
Requests are forwarded to http://127.0.0.1:UPSTREAM_PORT (headers, Range
included). A GET of /v2/.../blobs/<digest> answering more than CUT_BYTES is
sent with its full Content-Length but only CUT_BYTES of its body, then the
connection is closed: MODE "once" does this to the first such download of
each blob, "always" to every one. MODE "redirect" answers every blob GET
with a 307 to the upstream registry instead (as registries that keep blobs
in object storage do). Counts are logged to stderr."""
import http.client, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, upstream, cut, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cut_done = set()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("proxy: " + (fmt % args) + "\n")

    def forward(self, method):
        if mode == "redirect" and method == "GET" and "/blobs/sha256:" in self.path:
            sys.stderr.write("proxy: redirecting %s\n" % self.path)
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:%d%s" % (upstream, self.path))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        c = http.client.HTTPConnection("127.0.0.1", upstream)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c.request(method, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("connection", "transfer-encoding", "content-length"):
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        is_blob = method == "GET" and "/blobs/sha256:" in self.path and r.status in (200, 206)
        if is_blob and len(data) > cut and (mode == "always" or self.path not in cut_done):
            cut_done.add(self.path)
            sys.stderr.write("proxy: cutting %s after %d of %d bytes\n" % (self.path, cut, len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self.forward("GET")

    def do_HEAD(self):
        self.forward("HEAD")


ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
