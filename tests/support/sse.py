"""Reading a server-sent event stream the way a client would."""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_sse import connect_sse


def stream_events(
    client: httpx.Client, body: dict[str, Any]
) -> tuple[httpx.Response, list[tuple[str, dict[str, Any]]]]:
    """POST to the stream endpoint and collect (event, data) pairs until the stream ends."""
    with connect_sse(client, "POST", "/api/v1/chat/stream", json=body) as source:
        events = [(sse.event, json.loads(sse.data)) for sse in source.iter_sse()]
        return source.response, events
