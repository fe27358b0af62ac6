"""Server-sent event framing for the seed's stream events."""

from __future__ import annotations

import json
from typing import Any

from shared.events import TurnEvent

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(event: str, data: dict[str, Any]) -> bytes:
    """One SSE event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def frame_turn_event(event: TurnEvent) -> bytes:
    """The public SSE form of an internal turn event."""
    if event.type == "token":
        return frame("token", {"content": event.content})
    if event.type == "meta":
        return frame(
            "meta",
            {
                "intent": event.intent,
                "sources": event.sources,
                "escalate": event.escalate,
                "references": [r.model_dump() for r in event.references],
            },
        )
    if event.type == "done":
        return frame(
            "done",
            {
                "turn_count": event.turn_count,
                "escalate": event.escalate_to_human,
                "answer": event.reply,
            },
        )
    return frame("error", {"message": event.message})
