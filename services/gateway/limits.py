"""Request bodies are bounded while they stream: a body over its limit is refused with 413 the
moment it crosses it, whatever it declares (pure ASGI, so streaming responses stay fast)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.errors import error_body
from services.gateway.stores.rate_limits import rate_limit_headers

MAX_BODY_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = 21 * 1024 * 1024  # a 20 MiB document plus multipart framing


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    detail = f"Request body exceeds {limit} bytes"
    body = json.dumps(error_body(scope["path"], 413, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """413 for a body above the limit (uploads get a larger one), declared or chunked.

    The app never sees more than the limit: once it is crossed the 413 is sent, the app is told
    the client left, and whatever it answers is dropped. Nothing has run yet by then: FastAPI
    reads the whole body before any dependency, auth included.
    """

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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = (
            self.max_upload_bytes
            if scope["path"].startswith(self.large_prefixes)
            else self.max_bytes
        )
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, send, limit)
            return
        received, refused, started = 0, False, False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _too_large(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused and message["type"].startswith("http.response"):
                return  # the 413 is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            # The app failed on the body cut short; the client already has its 413.


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
