"""Server-sent events read from a Redis event log, resumable with Last-Event-ID."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator

from shared.errors import AppError, InvalidInput
from shared.stores.event_log import RedisEventLog

logger = logging.getLogger(__name__)
KEEP_ALIVE_MS = 15_000
# The ids these streams send: Redis Stream ids, <milliseconds>-<sequence>, each part 64-bit.
STREAM_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?")
MAX_ID_PART = 2**64 - 1


def resume_from(last_event_id: str | None, default: str) -> str:
    """Where a reader resumes: after ``Last-Event-ID``, else ``default``; InvalidInput for an id
    these streams never send (checked before the response starts)."""
    if not last_event_id or not last_event_id.strip():
        return default
    matched = STREAM_ID.fullmatch(last_event_id.strip())
    if matched is None or any(int(p) > MAX_ID_PART for p in matched.groups() if p):
        raise InvalidInput("Last-Event-ID must be the id of an event of this stream, like 1-0")
    return matched.group(0)


async def follow(log: RedisEventLog, stream: str, after: str) -> AsyncIterator[bytes]:
    """Every event after ``after`` ("$": from now on), then new ones as they come; a comment
    line keeps idle connections (and their proxies) alive. A failure ends the stream with an
    ``error`` event; the client reconnects with the last id it saw."""
    try:
        if after == "$":
            after = await log.last_id(stream)
        while True:
            events = await log.read(stream, after, block_ms=KEEP_ALIVE_MS)
            if not events:
                yield b": keep-alive\n\n"
                continue
            for event in events:
                after = event.id
                data = json.dumps(event.data, ensure_ascii=False)
                yield f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n".encode()
    except AppError as exc:
        logger.warning("event stream ended: %s", exc.message)
        yield f"event: error\ndata: {json.dumps({'message': exc.message})}\n\n".encode()
