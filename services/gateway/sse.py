"""Stream framing for turn events: server-sent events, or NDJSON when asked for. Every
turn event carries an id, ``<turn_id>:<seq>``, which is what a client resumes from."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from shared.events import TokensStreamed, TurnEvent
from shared.text import tokenize

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
NDJSON = "application/x-ndjson"
MAX_SEQ_DIGITS = 9  # a turn has far fewer events; keeps ids valid for Redis Streams
Framer = Callable[[str, dict[str, Any], str | None], bytes]


def frame(event: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    """One SSE event."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def unnamed(data: dict[str, Any]) -> bytes:
    """One SSE event with only a ``data:`` line (what OpenAI's, Dify's and the JWT API's
    clients read)."""
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def ndjson_line(event: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    """One NDJSON line: ``{"id": ..., "event": ..., "data": {...}}``."""
    line = (
        {"id": event_id, "event": event, "data": data}
        if event_id
        else {"event": event, "data": data}
    )
    return (json.dumps(line, ensure_ascii=False) + "\n").encode()


def framer_for(accept: str) -> tuple[Framer, str]:
    """NDJSON if the client's Accept header asks for it, otherwise SSE."""
    return (ndjson_line, NDJSON) if NDJSON in accept else (frame, "text/event-stream")


def event_id(event: TurnEvent) -> str | None:
    """The id a client quotes in ``Last-Event-ID`` to resume after this event."""
    return f"{event.correlation_id}:{event.seq}" if event.seq else None


def parse_event_id(raw: str, turn_id: str) -> int:
    """The sequence number in a ``Last-Event-ID`` of this turn (0: from the start)."""
    owner, _, seq = raw.rpartition(":")
    valid = owner == turn_id and seq.isascii() and seq.isdigit() and len(seq) <= MAX_SEQ_DIGITS
    return int(seq) if valid else 0


class StreamMetrics:
    """Timings of one streamed reply, measured where the client is: at the gateway."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self._first_token: float | None = None

    def saw(self, event: TurnEvent) -> None:
        """Note an event going out."""
        if isinstance(event, TokensStreamed) and self._first_token is None:
            self._first_token = time.perf_counter()

    def summary(self, answer: str) -> dict[str, Any]:
        """Token count (our tokenizer's estimate) and timings in milliseconds."""
        now = time.perf_counter()
        first = self._first_token or now
        return {
            "output_tokens": len(tokenize(answer, keep_stopwords=True)),
            "time_to_first_token_ms": round((first - self._started) * 1000, 1),
            "total_ms": round((now - self._started) * 1000, 1),
        }
