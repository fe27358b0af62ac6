"""Cluster-wide caps (LLM calls in flight, open connections per tenant and caller): expiring
leases in Redis sorted sets.

A lease's score is its expiry time, so a process that dies holding one frees it when the
lease runs out instead of leaking capacity forever.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import redis.asyncio as redis

from shared.observability import LEASES_HELD
from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[4])
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
return 1
"""


class RedisLeasePool:
    """At most ``limit`` leases held at once across every process sharing the Redis."""

    def __init__(
        self, client: redis.Redis, prefix: str, limit: int, lease_seconds: float, name: str
    ) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._name = name
        self._limit = limit
        self._lease_seconds = lease_seconds
        self._acquire = self._redis.script(_ACQUIRE, "lease.acquire")
        self._held: set[tuple[str, str]] = set()  # (scope, holder), for the gauge
        LEASES_HELD.labels(pool=name).set_function(lambda: len(self._held))

    @translate_redis_errors
    async def acquire(self, holder: str, scope: str = "global") -> bool:
        """Take (or renew) a lease for ``holder``; False when the cap is reached."""
        now = time.time()
        granted = await self._acquire.integer(
            keys=[self._key(scope, self._name)],
            args=[now, now + self._lease_seconds, self._limit, holder],
        )
        if granted:
            self._held.add((scope, holder))
        return bool(granted)

    @translate_redis_errors
    async def release(self, holder: str, scope: str = "global") -> None:
        """Give the lease back; releasing twice is harmless."""
        await self._redis.zrem(self._key(scope, self._name), holder)
        self._held.discard((scope, holder))


# Every cap at once or none: KEYS are the caps' sets, ARGV[3 + i] their limits.
_ACQUIRE_ALL = """
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  if not redis.call('ZSCORE', key, ARGV[3])
     and redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then return i end
end
for _, key in ipairs(KEYS) do redis.call('ZADD', key, ARGV[2], ARGV[3]) end
return 0
"""


class RedisLeaseCaps:
    """A lease counted against several caps at once (a tenant's and one caller's within it),
    taken under all of them or none, in one round trip."""

    def __init__(self, client: redis.Redis, prefix: str, lease_seconds: float, name: str) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._name = name
        self._lease_seconds = lease_seconds
        self._acquire = self._redis.script(_ACQUIRE_ALL, "lease.acquire_all")

    @translate_redis_errors
    async def acquire(self, holder: str, caps: Sequence[tuple[str, int]]) -> int | None:
        """Take (or renew) ``holder``'s lease under each ``(scope, limit)``; None when taken,
        else the index of the first cap that is full (nothing is taken then)."""
        now = time.time()
        full = await self._acquire.integer(
            keys=[self._key(scope, self._name) for scope, _ in caps],
            args=[now, now + self._lease_seconds, holder, *(limit for _, limit in caps)],
        )
        return full - 1 if full else None

    @translate_redis_errors
    async def release(self, holder: str, scopes: Sequence[str]) -> None:
        """Give the lease back under every scope; releasing twice is harmless."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for scope in scopes:
                pipe.zrem(self._key(scope, self._name), holder)
            await pipe.execute()
