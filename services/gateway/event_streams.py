"""Server-sent events read from a Redis event log, resumable with Last-Event-ID."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from shared.stores.event_log import RedisEventLog

KEEP_ALIVE_MS = 15_000


async def follow(log: RedisEventLog, stream: str, after: str) -> AsyncIterator[bytes]:
    """Every event after ``after`` ("$": from now on), then new ones as they come; a comment
    line keeps idle connections (and their proxies) alive."""
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
