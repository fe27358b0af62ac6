"""The hot cache of resolved knowledge answers, per tenant, invalidated by an epoch counter.

Bumping the tenant's epoch (a knowledge-base change or a manual invalidation) makes every
older entry a miss at once; the entries themselves expire with their TTL. Any customer who
asks the same question gets the entry, so the orchestrator writes only answers that belong
to everyone (the orchestrator's cacheability rule).
"""

from __future__ import annotations

import hashlib
import json

import redis.asyncio as redis

from shared.conversation import CachedAnswer
from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

_TRAILING_PUNCT = " ?!.。？！"
# Entries are read only under the current generation's keys. Generation 1 could hold answers
# composed from one customer's history; none of them is ever served again.
GENERATION = "v2"


def normalise_question(text: str) -> str:
    """Case, spacing and trailing punctuation do not make a question different."""
    # str methods rather than a regex: ``[...]+$`` re-reads a run of "?" from each of its
    # characters, which is quadratic in the run's length.
    return " ".join(text.lower().split()).rstrip(_TRAILING_PUNCT)


class RedisHotCache:
    """Answers keyed by tenant and normalised question; one round trip per lookup."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._ttl = ttl_seconds

    def _entry_key(self, tenant_id: str, question: str) -> str:
        digest = hashlib.sha256(normalise_question(question).encode()).hexdigest()
        return self._key(tenant_id, "cache", GENERATION, digest)

    def _epoch_key(self, tenant_id: str) -> str:
        return self._key(tenant_id, "cache-epoch")

    @translate_redis_errors
    async def lookup(self, tenant_id: str, question: str) -> tuple[CachedAnswer | None, int]:
        """The cached answer (None if missing or older than the epoch), and the epoch: one read."""
        epoch_raw, raw = await self._redis.mget(
            self._epoch_key(tenant_id), self._entry_key(tenant_id, question)
        )
        epoch = int(epoch_raw or 0)
        if raw is None:
            return None, epoch
        entry = json.loads(raw)
        if entry.pop("epoch") != epoch:
            return None, epoch
        return CachedAnswer(**entry), epoch

    @translate_redis_errors
    async def epoch(self, tenant_id: str) -> int:
        """The tenant's current epoch; read it before answering, stamp the answer with it."""
        return int(await self._redis.get(self._epoch_key(tenant_id)) or 0)

    @translate_redis_errors
    async def put(self, tenant_id: str, question: str, answer: CachedAnswer, epoch: int) -> None:
        """Store an answer stamped with the epoch read before it was composed.

        An invalidation while the answer was being composed then leaves it already stale.
        """
        entry = json.dumps({"epoch": epoch, **answer.__dict__})
        await self._redis.set(self._entry_key(tenant_id, question), entry, ex=self._ttl)

    @translate_redis_errors
    async def invalidate(self, tenant_id: str) -> int:
        """Make every entry of the tenant stale; returns the new epoch."""
        return await self._redis.incr(self._epoch_key(tenant_id))
