"""Each turn's events in a Redis Stream, so a dropped client resumes on any gateway, and a retried
request replays the turn instead of starting another.

Entry ids are ``<seq>-0``: the event's own sequence number, which is also what clients see in
``Last-Event-ID``. Entry ``0-1`` marks the turn as accepted, and names the end user who owns it
(empty for a turn sent with an API key).
"""

from __future__ import annotations

import redis.asyncio as redis

from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

ACCEPTED = "accepted"
ACCEPTED_ID = "0-1"
TURN_LOG_TTL_SECONDS = 3_600  # long enough to resume or replay, short enough to stay small


class RedisTurnLog:
    """Append and follow a turn's events; all keys are tenant-scoped."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._ttl = ttl_seconds

    def _stream(self, tenant_id: str, turn_id: str) -> str:
        return self._key(tenant_id, "turn", "{" + turn_id + "}", "events")

    def _watch(self, tenant_id: str, turn_id: str) -> str:
        return self._key(tenant_id, "turn", "{" + turn_id + "}", "watched")

    def _stop(self, tenant_id: str, turn_id: str) -> str:
        return self._key(tenant_id, "turn", "{" + turn_id + "}", "stop")

    @translate_redis_errors
    async def request_stop(self, tenant_id: str, turn_id: str) -> None:
        """Remember a stop, for a turn still waiting in the queue when it was asked."""
        await self._redis.set(self._stop(tenant_id, turn_id), "1", ex=self._ttl)

    @translate_redis_errors
    async def stop_requested(self, tenant_id: str, turn_id: str) -> bool:
        """True if the turn's client asked it to stop."""
        return bool(await self._redis.exists(self._stop(tenant_id, turn_id)))

    @translate_redis_errors
    async def accept(self, tenant_id: str, turn_id: str, owner: str = "") -> None:
        """Mark the turn as this tenant's (and ``owner``'s) before any worker has touched it."""
        stream = self._stream(tenant_id, turn_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(stream, {"e": ACCEPTED, "u": owner}, id=ACCEPTED_ID)
            pipe.expire(stream, self._ttl)
            await pipe.execute()

    @translate_redis_errors
    async def owner(self, tenant_id: str, turn_id: str) -> str | None:
        """The end user who owns the turn ("" for none); None if the tenant has no such turn."""
        marker = await self._redis.xrange(
            self._stream(tenant_id, turn_id), ACCEPTED_ID, ACCEPTED_ID
        )
        return marker[0][1].get("u", "") if marker else None

    @translate_redis_errors
    async def append(
        self, tenant_id: str, turn_id: str, seq: int, event_json: str, final: bool = False
    ) -> None:
        """Add event ``seq`` (sequence numbers only grow within a turn; ``final``: its last).

        The expiry set on acceptance holds for the events after it; it is set again with the
        first and the final event, in case Redis lost the stream in between (a restart), and
        not with each token: that would be a second command on the token path.
        """
        stream = self._stream(tenant_id, turn_id)
        entry_id = f"{seq}-{1 if seq == 0 else 0}"
        if seq > 1 and not final:
            await self._redis.xadd(stream, {"e": event_json}, entry_id)
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(stream, {"e": event_json}, id=entry_id)
            pipe.expire(stream, self._ttl)
            await pipe.execute()

    @translate_redis_errors
    async def exists(self, tenant_id: str, turn_id: str) -> bool:
        """True if this tenant has such a turn (and it has not expired)."""
        return bool(await self._redis.exists(self._stream(tenant_id, turn_id)))

    @translate_redis_errors
    async def last_seq(self, tenant_id: str, turn_id: str) -> int:
        """The newest event's sequence number (0 when there is none)."""
        newest = await self._redis.xrevrange(self._stream(tenant_id, turn_id), count=1)
        return int(newest[0][0].split("-")[0]) if newest else 0

    @translate_redis_errors
    async def last_event(self, tenant_id: str, turn_id: str) -> tuple[int, str | None]:
        """The newest event's sequence number and JSON; ``(0, None)`` before the first event."""
        newest = await self._redis.xrevrange(self._stream(tenant_id, turn_id), count=1)
        seq = int(newest[0][0].split("-")[0]) if newest else 0
        return (seq, newest[0][1]["e"]) if seq else (0, None)

    @translate_redis_errors
    async def read(
        self, tenant_id: str, turn_id: str, after_seq: int, block_ms: int
    ) -> list[tuple[int, str]]:
        """``(seq, event_json)`` after ``after_seq``, waiting up to ``block_ms`` for the first."""
        found = await self._redis.xread(
            {self._stream(tenant_id, turn_id): f"{after_seq}-1"}, block=block_ms
        )
        return [
            (int(entry_id.split("-")[0]), fields["e"])
            for _, entries in found
            for entry_id, fields in entries
            if fields["e"] != ACCEPTED
        ]

    @translate_redis_errors
    async def watch(self, tenant_id: str, turn_id: str, seconds: float) -> None:
        """Say a reader is following the turn for the next ``seconds``."""
        await self._redis.set(self._watch(tenant_id, turn_id), "1", px=max(1, int(seconds * 1000)))

    @translate_redis_errors
    async def watched(self, tenant_id: str, turn_id: str) -> bool:
        """True if some reader said it follows the turn and has not gone quiet."""
        return bool(await self._redis.exists(self._watch(tenant_id, turn_id)))
