"""Append-only, resumable event logs in Redis Streams: a session's events for its customer,
and a tenant's feed for its agents. A reader that reconnects resumes after the last id it saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis

from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

FEED_MAX_EVENTS = 10_000


@dataclass(frozen=True)
class LoggedEvent:
    """One event as read back: its stream id, type and payload."""

    id: str
    type: str
    data: dict[str, Any]


class RedisEventLog:
    """Session event streams (``session:{id}:events``) and the agents' feed (``agent-feed``)."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._ttl = ttl_seconds

    def session_stream(self, tenant_id: str, session_id: str) -> str:
        """Key of a session's stream (same hash slot as the session's other keys)."""
        return self._key(tenant_id, "session", "{" + session_id + "}", "events")

    def agent_feed(self, tenant_id: str) -> str:
        """Key of the tenant's agent feed."""
        return self._key(tenant_id, "agent-feed")

    @translate_redis_errors
    async def append(self, stream: str, event_type: str, data: dict[str, Any]) -> str:
        """Add an event; returns its id."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                stream,
                {"type": event_type, "data": json.dumps(data, ensure_ascii=False, default=str)},
                maxlen=FEED_MAX_EVENTS,
                approximate=True,
            )
            pipe.expire(stream, self._ttl)
            event_id, _ = await pipe.execute()
        return str(event_id)

    @translate_redis_errors
    async def last_id(self, stream: str) -> str:
        """The newest event's id ("0-0" for an empty stream): "from now on" without a gap."""
        newest = await self._redis.xrevrange(stream, count=1)
        return newest[0][0] if newest else "0-0"

    @translate_redis_errors
    async def read(
        self, stream: str, after: str = "0", block_ms: int | None = None, count: int = 100
    ) -> list[LoggedEvent]:
        """Events after ``after`` (an id, or "0" for all), waiting up to ``block_ms`` for one."""
        found = await self._redis.xread({stream: after}, count=count, block=block_ms)
        return [
            LoggedEvent(event_id, fields["type"], json.loads(fields["data"]))
            for _, entries in found
            for event_id, fields in entries
        ]
