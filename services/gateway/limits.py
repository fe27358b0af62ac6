"""Rejects oversized request bodies before they are read (pure ASGI, so streaming stays fast)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = 21 * 1024 * 1024  # a 20 MiB document plus multipart framing


class BodySizeLimit:
    """413 for a declared Content-Length above the limit (uploads get a larger one)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = MAX_BODY_BYTES,
        large_prefixes: tuple[str, ...] = (),
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.large_prefixes = large_prefixes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = (
                self.max_upload_bytes
                if scope["path"].startswith(self.large_prefixes)
                else self.max_bytes
            )
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > limit):
                body = json.dumps({"detail": f"Request body exceeds {limit} bytes"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 413,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
