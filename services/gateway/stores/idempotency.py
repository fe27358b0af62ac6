"""Idempotency keys: a retried request with the same key gets the first one's answer."""

from __future__ import annotations

import hashlib

import redis.asyncio as redis

from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

PENDING = "pending"


class RedisIdempotencyStore:
    """Remembers, per tenant, caller and key, that a request started and what it answered.

    A caller (an API key, or an end user) never shares keys with another, even when its id
    holds the separators another's key would need to collide.
    """

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._ttl = ttl_seconds

    def _name(self, tenant_id: str, caller: str, key: str) -> str:
        scoped = f"{len(caller)}:{caller}:{key}"  # the length prefix makes the split unambiguous
        return self._key(tenant_id, "idempotency", hashlib.sha256(scoped.encode()).hexdigest())

    @translate_redis_errors
    async def claim(self, tenant_id: str, caller: str, key: str) -> str | None:
        """None if this key is new (now claimed); otherwise what is stored for it."""
        name = self._name(tenant_id, caller, key)
        if await self._redis.set(name, PENDING, nx=True, ex=self._ttl):
            return None
        return await self._redis.get(name) or PENDING

    @translate_redis_errors
    async def complete(
        self,
        tenant_id: str,
        caller: str,
        key: str,
        response_json: str,
        ttl_seconds: int | None = None,
    ) -> None:
        """Store the answer for retries (for ``ttl_seconds`` if the answer lives less long)."""
        name = self._name(tenant_id, caller, key)
        await self._redis.set(name, response_json, ex=ttl_seconds or self._ttl)

    @translate_redis_errors
    async def release(self, tenant_id: str, caller: str, key: str) -> None:
        """Forget a key whose request failed, so a retry runs again."""
        await self._redis.delete(self._name(tenant_id, caller, key))
