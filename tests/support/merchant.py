"""A real HTTP server standing in for the merchant's API, recording every request it gets."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ORDER = {
    "order_id": "ORD-2024-001",
    "status": "Shipped",
    "carrier": "UPS",
    "tracking_number": "1Z999AA10123456784",
    "eta": "expected within 2 business days",
}


@dataclass
class MerchantRequest:
    """One request as it arrived on the wire: the raw request target, not a parsed URL."""

    method: str
    target: str
    authorization: str


@dataclass
class RecordingMerchant:
    """The server's address and what it has received."""

    url: str
    requests: list[MerchantRequest] = field(default_factory=list)

    @property
    def targets(self) -> list[str]:
        """Every request target received, in order."""
        return [r.target for r in self.requests]


@contextlib.contextmanager
def running_merchant() -> Iterator[RecordingMerchant]:
    """A merchant API on a free loopback port: ORD-2024-001 exists, every customer is gold."""
    received: list[MerchantRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
            received.append(
                MerchantRequest("GET", self.path, self.headers.get("Authorization", ""))
            )
            if self.path == "/orders/ORD-2024-001":
                self._reply(200, ORDER)
            elif self.path.startswith("/customers/") and self.path.count("/") == 2:
                self._reply(200, {"member_level": "gold"})
            else:
                self._reply(404, {"detail": "not found"})

        def _reply(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RecordingMerchant(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()
