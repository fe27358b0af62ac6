"""Reading a server-sent event stream the way a client would."""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_sse import connect_sse


def stream_events(
    client: httpx.Client, body: dict[str, Any], path: str = "/api/v1/chat/stream"
) -> tuple[httpx.Response, list[tuple[str, dict[str, Any]]]]:
    """POST ``body`` to the stream endpoint (or GET ``path``, without a body) and collect
    (event, data) pairs until the stream ends."""
    method = "POST" if body else "GET"
    with connect_sse(client, method, path, json=body or None) as source:
        events = [(sse.event, json.loads(sse.data)) for sse in source.iter_sse()]
        return source.response, events
