"""Every request once it ends: counted by route template and status, timed, logged as an
access line, and tagged with an ``X-Request-Id`` that is echoed back; open streams gauged."""

from __future__ import annotations

import logging
import re
import time

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.events import new_id
from shared.observability import HTTP_REQUESTS, HTTP_SECONDS, OPEN_STREAMS, request_id

access_log = logging.getLogger("frontdesk.access")
STREAM_TYPES = (b"text/event-stream", b"application/x-ndjson")
# Requests that matched no route share one label: paths a scanner invents stay out of the
# label set.
UNMATCHED = "unmatched"
# A caller's own id is kept when it is a plain token, so it can be quoted in a log line
# and a header as it is; anything else gets an id of ours.
_CALLER_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})  # probes: DEBUG, not INFO


def _route_of(scope: Scope) -> str:
    """The matched route's template (``/api/v1/turns/{turn_id}/events``), never the raw path."""
    route = scope.get("route")  # FastAPI's routes say which they are
    if route is None and "endpoint" in scope:  # a plain Starlette route (the ops endpoints)
        route = next((r for r in scope["app"].routes if r.matches(scope)[0] == Match.FULL), None)
    return getattr(route, "path", UNMATCHED)


def _request_id(scope: Scope) -> str:
    presented = dict(scope.get("headers", [])).get(b"x-request-id", b"")
    return presented.decode() if _CALLER_ID.fullmatch(presented) else new_id("req")


class HttpAccess:
    """The outermost middleware: what ops read about each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = _request_id(scope)
        request_id.set(rid)  # on every log line of this request
        status, streaming = "", False

        async def observed_send(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = str(message["status"])
                headers = message.setdefault("headers", [])
                content_type = dict(headers).get(b"content-type", b"")
                streaming = content_type.startswith(STREAM_TYPES)
                message["headers"] = [*headers, (b"x-request-id", rid.encode())]
            elif message["type"] == "websocket.accept":
                status, streaming = "101", True
                headers = message.get("headers", [])
                message["headers"] = [*headers, (b"x-request-id", rid.encode())]
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
            seconds = time.perf_counter() - started
            route, method = _route_of(scope), scope.get("method", "WS")
            status = status or "499"  # the client left before any response
            HTTP_REQUESTS.labels(route=route, method=method, status=status).inc()
            HTTP_SECONDS.labels(route=route, method=method).observe(seconds)
            level = logging.DEBUG if route in _QUIET_ROUTES else logging.INFO
            if access_log.isEnabledFor(level):
                fields = {"method": method, "route": route, "status": int(status)}
                access_log.log(
                    level,
                    "%s %s %s %.1fms",
                    method,
                    route,
                    status,
                    seconds * 1000,
                    extra={"http": {**fields, "duration_ms": round(seconds * 1000, 1)}},
                )
