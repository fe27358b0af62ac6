"""Requests by route template and status, their duration, and the streams still open."""

from __future__ import annotations

import time

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability import HTTP_REQUESTS, HTTP_SECONDS, OPEN_STREAMS

STREAM_TYPES = (b"text/event-stream", b"application/x-ndjson")
# Requests that matched no route share one label: paths a scanner invents stay out of the
# label set.
UNMATCHED = "unmatched"


def _route_of(scope: Scope) -> str:
    """The matched route's template (``/api/v1/turns/{turn_id}/events``), never the raw path."""
    route = scope.get("route")  # FastAPI's routes say which they are
    if route is None and "endpoint" in scope:  # a plain Starlette route (the ops endpoints)
        route = next((r for r in scope["app"].routes if r.matches(scope)[0] == Match.FULL), None)
    return getattr(route, "path", UNMATCHED)


class HttpMetrics:
    """Counts every HTTP request and WebSocket once it ends; open streams while they last."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, streaming = "", False

        async def observed_send(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = str(message["status"])
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                streaming = content_type.startswith(STREAM_TYPES)
            elif message["type"] == "websocket.accept":
                status, streaming = "101", True
            elif message["type"] == "websocket.close" and not status:
                status = "403"  # closed before it was accepted: refused
            if streaming and message["type"] in ("http.response.start", "websocket.accept"):
                OPEN_STREAMS.inc()
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            status = status or "500"
            raise
        finally:
            if streaming:
                OPEN_STREAMS.dec()
            route = _route_of(scope)
            method = scope.get("method", "WS")
            status = status or "499"  # the client left before any response
            HTTP_REQUESTS.labels(route=route, method=method, status=status).inc()
            HTTP_SECONDS.labels(route=route, method=method).observe(time.perf_counter() - started)
