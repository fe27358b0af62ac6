"""Which sessions were opened through an assistant, newest first: RAGFlow lists a chat
assistant's sessions, while a Frontdesk session belongs to a user, not an assistant."""

from __future__ import annotations

import time

import redis.asyncio as redis

from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

MAX_SESSIONS = 10_000  # per assistant: past it the oldest leave the list (they still work)


class RedisChatSessions:
    """One sorted set per assistant: session ids by when they were opened."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)

    def _set(self, tenant_id: str, assistant_id: str) -> str:
        return self._key(tenant_id, "assistant-sessions", assistant_id)

    @translate_redis_errors
    async def add(self, tenant_id: str, assistant_id: str, session_id: str) -> None:
        """Note a session opened through the assistant."""
        key = self._set(tenant_id, assistant_id)
        async with self._redis.pipeline() as pipe:
            pipe.zadd(key, {session_id: time.time()})
            pipe.zremrangebyrank(key, 0, -MAX_SESSIONS - 1)
            await pipe.execute()

    @translate_redis_errors
    async def has(self, tenant_id: str, assistant_id: str, session_id: str) -> bool:
        """Whether the session was opened through the assistant."""
        return await self._redis.zscore(self._set(tenant_id, assistant_id), session_id) is not None

    @translate_redis_errors
    async def page(self, tenant_id: str, assistant_id: str, offset: int, limit: int) -> list[str]:
        """Session ids, newest first."""
        key = self._set(tenant_id, assistant_id)
        return await self._redis.zrevrange(key, offset, offset + limit - 1)

    @translate_redis_errors
    async def remove(self, tenant_id: str, assistant_id: str, *session_ids: str) -> None:
        """Forget sessions (deleted, or expired)."""
        if session_ids:
            await self._redis.zrem(self._set(tenant_id, assistant_id), *session_ids)

    @translate_redis_errors
    async def drop(self, tenant_id: str, assistant_id: str) -> list[str]:
        """Forget the assistant's list, returning every session id it held."""
        key = self._set(tenant_id, assistant_id)
        ids = await self._redis.zrange(key, 0, -1)
        await self._redis.delete(key)
        return ids
