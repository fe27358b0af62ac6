"""Which Frontdesk session an OpenAI-style conversation continues, keyed by its history's hash."""

from __future__ import annotations

import redis.asyncio as redis

from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

AMBIGUOUS = "-"  # two sessions produced the same conversation: continue neither


class ConversationMap:
    """Which session an OpenAI-style conversation (its whole history, hashed) continues."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._ttl = ttl_seconds

    @translate_redis_errors
    async def find(self, tenant_id: str, digest: str) -> str | None:
        """The session a conversation with this digest continues, if it is known and unique."""
        found = await self._redis.get(self._key(tenant_id, "openai-conversation", digest))
        return None if found in (None, AMBIGUOUS) else found

    @translate_redis_errors
    async def remember(self, tenant_id: str, digest: str, session_id: str) -> None:
        """Map a conversation to its session; a digest two sessions share maps to neither."""
        key = self._key(tenant_id, "openai-conversation", digest)
        if await self._redis.set(key, session_id, nx=True, ex=self._ttl):
            return
        # Identical short chats (same question, same cached reply) are common across customers.
        if await self._redis.get(key) != session_id:
            await self._redis.set(key, AMBIGUOUS, ex=self._ttl)
