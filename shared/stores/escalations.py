"""Tickets in Redis: the card, its state (who holds it), and a per-tenant queue by priority."""

from __future__ import annotations

import re
from typing import Literal, get_args

import redis.asyncio as redis

from shared.errors import InvalidInput
from shared.events import EscalationCard
from shared.events.escalation import AgentAction
from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
CARD_TTL_SECONDS = 30 * 86_400
Outcome = Literal["ok", "conflict", "not_found"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
# No ":": a ticket id is a key segment, and must never name another key (``<id>:state``).
TICKET_ID_PATTERN = r"^tkt-[A-Za-z0-9_-]{1,64}$"
TICKET_ID = re.compile(TICKET_ID_PATTERN)

# Compare-and-set on a ticket's state, so two agents can never both hold one session.
_TRANSITION = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'not_found' end
local holder = redis.call('HGET', KEYS[1], 'agent_id')
if ARGV[1] == 'claim' then
  if status == 'pending' or status == 'offline' then
    redis.call('HSET', KEYS[1], 'status', 'assigned', 'agent_id', ARGV[2])
    redis.call('ZREM', KEYS[2], ARGV[3])
    return 'ok'
  end
  if status == 'assigned' and holder == ARGV[2] then return 'ok' end
  return 'conflict'
end
if status ~= 'assigned' or holder ~= ARGV[2] then return 'conflict' end
if ARGV[1] == 'resolve' then redis.call('HSET', KEYS[1], 'status', 'resolved') end
if ARGV[1] == 'hand_back' then redis.call('HSET', KEYS[1], 'status', 'returned') end
return 'ok'
"""


class RedisEscalationStore:
    """Cards keyed by ticket id; pending ones ordered by priority, then age."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._ttl = ttl_seconds
        self._transition = self._redis.script(_TRANSITION, "escalation.transition")

    def _card_key(self, tenant_id: str, ticket_id: str) -> str:
        if not TICKET_ID.fullmatch(ticket_id):
            raise InvalidInput("Malformed ticket id; ticket ids look like tkt-1a2b3c4d5e6f")
        return self._key(tenant_id, "escalation", ticket_id)

    def _pending_key(self, tenant_id: str) -> str:
        return self._key(tenant_id, "escalations", "pending")

    @translate_redis_errors
    async def save(self, tenant_id: str, card: EscalationCard) -> bool:
        """Store a new card; False if this ticket id was already stored (a redelivery)."""
        key = self._card_key(tenant_id, card.ticket_id)
        created = await self._redis.set(key, card.model_dump_json(), nx=True, ex=self._ttl)
        if created:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(f"{key}:state", mapping={"status": card.status})
                pipe.expire(f"{key}:state", self._ttl)
                if card.status == "pending":
                    # Lower score = served first: priority dominates, creation time breaks ties.
                    score = PRIORITY_RANK[card.priority] * 1e11 + card.created_at.timestamp()
                    pipe.zadd(self._pending_key(tenant_id), {card.ticket_id: score})
                await pipe.execute()
        return bool(created)

    @translate_redis_errors
    async def get(self, tenant_id: str, ticket_id: str) -> EscalationCard | None:
        """The card with its current state and queue position, or None."""
        key = self._card_key(tenant_id, ticket_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.hgetall(f"{key}:state")
            pipe.zrank(self._pending_key(tenant_id), ticket_id)
            raw, state, rank = await pipe.execute()
        if not raw:
            return None
        card = EscalationCard.model_validate_json(raw)
        return card.model_copy(
            update={
                "status": state.get("status", card.status),
                "agent_id": state.get("agent_id"),
                "queue_position": None if rank is None else rank + 1,
            }
        )

    @translate_redis_errors
    async def pending(self, tenant_id: str, limit: int = 100) -> list[str]:
        """Ticket ids waiting for an agent, most urgent first."""
        return await self._redis.zrange(self._pending_key(tenant_id), 0, limit - 1)

    @translate_redis_errors
    async def apply(
        self, tenant_id: str, ticket_id: str, agent_id: str, action: AgentAction
    ) -> Outcome:
        """Apply an agent action if the ticket's state allows it (atomic)."""
        key = self._card_key(tenant_id, ticket_id)
        result = await self._transition.text(
            keys=[f"{key}:state", self._pending_key(tenant_id)],
            args=[action, agent_id, ticket_id],
        )
        if result in OUTCOMES:
            return result
        raise TypeError(f"The transition script replied {result!r}")
