"""A cluster-wide cap on concurrent LLM calls: leases in a Redis sorted set that expire.

A lease's score is its expiry time, so a process that dies holding one frees it when the
lease runs out instead of leaking capacity forever.
"""

from __future__ import annotations

import time

import redis.asyncio as redis

from shared.stores.redis_client import KeySpace, translate_redis_errors

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
return 1
"""


class RedisLeasePool:
    """At most ``limit`` leases held at once across every process sharing the Redis."""

    def __init__(self, client: redis.Redis, prefix: str, limit: int, lease_seconds: float) -> None:
        self._redis = client
        self._key = KeySpace(prefix)("global", "llm-leases")
        self._limit = limit
        self._lease_seconds = lease_seconds
        self._acquire = client.register_script(_ACQUIRE)

    @translate_redis_errors
    async def acquire(self, holder: str) -> bool:
        """Take a lease for ``holder``; False when the cap is reached."""
        now = time.time()
        granted = await self._acquire(
            keys=[self._key], args=[now, now + self._lease_seconds, self._limit, holder]
        )
        return bool(granted)

    @translate_redis_errors
    async def release(self, holder: str) -> None:
        """Give the lease back; releasing twice is harmless."""
        await self._redis.zrem(self._key, holder)
