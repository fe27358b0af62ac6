"""Request rate limits per API key and per tenant: fixed one-minute windows in Redis."""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as redis

from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

WINDOW_SECONDS = 60

# Both counters move in one round trip; a refused request still counts, so hammering a
# limit does not reopen it early.
_HIT = """
local key_count = redis.call('INCR', KEYS[1])
if key_count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local tenant_count = redis.call('INCR', KEYS[2])
if tenant_count == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return {key_count, tenant_count}
"""


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one request against the tighter of its two limits."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # unix seconds when the window rolls over

    @property
    def retry_after(self) -> int:
        """Seconds until a refused request may succeed."""
        return max(1, self.reset_at - int(time.time()))


class RedisRateLimiter:
    """``per_key`` and ``per_tenant`` requests a minute; 0 switches a limit off."""

    def __init__(self, client: redis.Redis, prefix: str, per_key: int, per_tenant: int) -> None:
        self._key = KeySpace(prefix)
        self._per_key = per_key
        self._per_tenant = per_tenant
        self._hit = TextRedis(client).script(_HIT, "rate_limit.hit")

    @property
    def enabled(self) -> bool:
        """False when both limits are off, so no Redis call is made."""
        return bool(self._per_key or self._per_tenant)

    @translate_redis_errors
    async def hit(self, tenant_id: str, key_id: str) -> RateDecision:
        """Count one request and decide on it."""
        window = int(time.time()) // WINDOW_SECONDS
        reset_at = (window + 1) * WINDOW_SECONDS
        key_count, tenant_count = await self._hit.integers(
            keys=[
                self._key(tenant_id, "rate", f"key:{key_id}", str(window)),
                self._key(tenant_id, "rate", "tenant", str(window)),
            ],
            args=[WINDOW_SECONDS + 1],
        )
        candidates = [
            (limit, limit - count)
            for limit, count in ((self._per_key, key_count), (self._per_tenant, tenant_count))
            if limit
        ]
        limit, remaining = min(candidates, key=lambda c: c[1])
        return RateDecision(remaining >= 0, limit, max(0, remaining), reset_at)


def rate_limit_headers(decision: RateDecision) -> dict[str, str]:
    """The ``X-RateLimit-*`` headers for a decision."""
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset_at),
    }
