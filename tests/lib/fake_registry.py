#!/usr/bin/env python3
"""A registry that answers wrongly on purpose, for bad-input tests:
usage fake_registry.py PORT. /v2/ answers 200; manifests by repository name:
  malformed/x:1   200, an OCI manifest Content-Type, a body that is not JSON
  mediatype/x:1   200, Content-Type text/html
  mismatch/x:1    200, an OCI manifest whose mediaType says it is an index"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port = int(sys.argv[1])
OCI = "application/vnd.oci.image.manifest.v1+json"
cases = {
    "/v2/malformed/x/manifests/1": (OCI, b'{"schemaVersion": 2, "config": '),
    "/v2/mediatype/x/manifests/1": ("text/html", b"<html>hello</html>"),
    "/v2/mismatch/x/manifests/1": (OCI, b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'),
}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake: " + (fmt % args) + "\n")

    def do_GET(self):
        ct, body = cases.get(self.path, ("application/json", b"{}"))
        if self.path not in cases and self.path not in ("/", "/v2/"):
            body = b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}'
            self.send_response(404)
        else:
            self.send_response(200)
        self.send_header("Content-Type", ct)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
