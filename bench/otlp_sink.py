"""A trace collector stand-in for bench/turns.py --tracing: takes OTLP/HTTP exports and drops them.

Run:    python bench/otlp_sink.py --port 4318
GET /_stats  {"exports", "bytes"}: how much the services sent.
It answers each export at once, as a collector on another machine would; decoding is left
out so that the sink's own CPU stays small on the shared cores.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STATS = {"exports": 0, "bytes": 0}


class Sink(BaseHTTPRequestHandler):
    """POST /v1/traces is counted and dropped; GET /_stats reports the counts."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's session expects

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        size = int(self.headers.get("content-length", 0))
        self.rfile.read(size)
        STATS["exports"] += 1
        STATS["bytes"] += size
        self._reply(200, b"", "application/x-protobuf")

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._reply(200, json.dumps(STATS).encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    args = parser.parse_args()
    ThreadingHTTPServer((args.host, args.port), Sink).serve_forever()


if __name__ == "__main__":
    main()
