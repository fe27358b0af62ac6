"""Stream framing for the seed's events: server-sent events, or NDJSON when asked for."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shared.events import TurnEvent

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
NDJSON = "application/x-ndjson"
Framer = Callable[[str, dict[str, Any]], bytes]


def frame(event: str, data: dict[str, Any]) -> bytes:
    """One SSE event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def ndjson_line(event: str, data: dict[str, Any]) -> bytes:
    """One NDJSON line: ``{"event": ..., "data": {...}}``."""
    return (json.dumps({"event": event, "data": data}, ensure_ascii=False) + "\n").encode()


def framer_for(accept: str) -> tuple[Framer, str]:
    """NDJSON if the client's Accept header asks for it, otherwise SSE."""
    return (ndjson_line, NDJSON) if NDJSON in accept else (frame, "text/event-stream")


def public_event(event: TurnEvent) -> tuple[str, dict[str, Any]]:
    """The public name and payload of an internal turn event."""
    if event.type == "token":
        return "token", {"content": event.content}
    if event.type == "meta":
        return "meta", {
            "intent": event.intent,
            "sources": event.sources,
            "escalate": event.escalate,
            "references": [r.model_dump() for r in event.references],
        }
    if event.type == "done":
        return "done", {
            "turn_count": event.turn_count,
            "escalate": event.escalate_to_human,
            "answer": event.reply,
        }
    return "error", {"message": event.message}
