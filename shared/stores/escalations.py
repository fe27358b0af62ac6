"""Escalation cards in Redis: one record per ticket and a per-tenant queue of pending ones."""

from __future__ import annotations

import redis.asyncio as redis

from shared.events import EscalationCard
from shared.stores.redis_client import KeySpace, translate_redis_errors

PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


class RedisEscalationStore:
    """Cards keyed by ticket id; pending ones ordered by priority, then age."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int) -> None:
        self._redis = client
        self._key = KeySpace(prefix)
        self._ttl = ttl_seconds

    @translate_redis_errors
    async def save(self, tenant_id: str, card: EscalationCard) -> bool:
        """Store a new card; False if this ticket id was already stored (a redelivery)."""
        created = await self._redis.set(
            self._key(tenant_id, "escalation", card.ticket_id),
            card.model_dump_json(),
            nx=True,
            ex=self._ttl,
        )
        if created:
            # Lower score = served first: priority dominates, creation time breaks ties.
            score = PRIORITY_RANK[card.priority] * 1e11 + card.created_at.timestamp()
            await self._redis.zadd(
                self._key(tenant_id, "escalations", "pending"), {card.ticket_id: score}
            )
        return bool(created)

    @translate_redis_errors
    async def get(self, tenant_id: str, ticket_id: str) -> EscalationCard | None:
        """A stored card, or None."""
        raw = await self._redis.get(self._key(tenant_id, "escalation", ticket_id))
        return EscalationCard.model_validate_json(raw) if raw else None

    @translate_redis_errors
    async def pending(self, tenant_id: str, limit: int = 50) -> list[str]:
        """Ticket ids waiting for an agent, most urgent first."""
        return list(
            await self._redis.zrange(self._key(tenant_id, "escalations", "pending"), 0, limit - 1)
        )
