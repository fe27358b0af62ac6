"""Rejects oversized request bodies before they are read (pure ASGI, so streaming stays fast)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.stores.rate_limits import rate_limit_headers

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


class RateLimitHeaders:
    """Adds ``X-RateLimit-*`` to every response whose request was counted (set by auth)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            decision = scope.get("state", {}).get("rate_limit")
            if message["type"] == "http.response.start" and decision is not None:
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.lower().encode(), value.encode())
                    for name, value in rate_limit_headers(decision).items()
                    if name.lower().encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
