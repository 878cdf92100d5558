#!/usr/bin/env python3
"""A receiver that takes an OTLP/HTTP request and answers 200 at once,
keeping nothing: what bench/otel.sh measures wf's own cost of export
against (a real receiver's ingest time comes on top). Standard library
only. Usage: otlp_sink.py PORT"""

import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
