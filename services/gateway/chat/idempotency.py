"""Idempotency-Key: a retried chat request never starts a second turn; it gets the first's
answer, or the first's stream replayed from its start."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from services.gateway.auth import Principal
from services.gateway.chat.service import ChatService
from services.gateway.chat.turn import Turn, answered
from services.gateway.schemas import ChatResponse
from services.gateway.stores.idempotency import PENDING, RedisIdempotencyStore
from shared.errors import Conflict
from shared.events import new_id
from shared.stores.turn_log import TURN_LOG_TTL_SECONDS

TURN_MARKER = "turn:"  # what an Idempotency-Key holds for a turn first sent as a stream


def _turn_of(stored: str) -> str | None:
    """The turn a stored Idempotency-Key value names, if it names one."""
    return stored.removeprefix(TURN_MARKER) if stored.startswith(TURN_MARKER) else None


@dataclass(frozen=True)
class Retry:
    """One caller's Idempotency-Key: another API key (or end user) never shares it."""

    keys: RedisIdempotencyStore
    principal: Principal
    key: str

    async def claim(self) -> str | None:
        """None for a new key (now claimed), else what it holds; Conflict while its first runs."""
        stored = await self.keys.claim(self.principal.tenant_id, self.principal.key_id, self.key)
        if stored == PENDING:
            raise Conflict("A request with this Idempotency-Key is still being processed")
        return stored

    async def complete(self, answer: str, ttl_seconds: int | None = None) -> None:
        """Remember what a retry gets."""
        tenant, caller = self.principal.tenant_id, self.principal.key_id
        await self.keys.complete(tenant, caller, self.key, answer, ttl_seconds)

    async def release(self) -> None:
        """Forget the key: the request failed, so a retry runs it again."""
        await self.keys.release(self.principal.tenant_id, self.principal.key_id, self.key)

    @contextlib.asynccontextmanager
    async def released_on_failure(self) -> AsyncIterator[None]:
        """Forget the key if the block fails."""
        try:
            yield
        except BaseException:
            await self.release()
            raise

    async def complete_with(self, turn: Turn) -> None:
        """Remember a cached answer itself, or the turn to replay (while its log lives)."""
        if turn.cached is not None:
            await self.complete(turn.cached.model_dump_json())
        else:
            await self.complete(TURN_MARKER + turn.turn_id, TURN_LOG_TTL_SECONDS)


async def replayed_answer(
    stored: str, principal: Principal, service: ChatService
) -> Turn | ChatResponse:
    """What a retry gets: the answer remembered, or the first request's turn from its start."""
    if turn_id := _turn_of(stored):  # first sent as a stream
        return Turn(turn_id, "", await service.follow(principal, turn_id))
    return ChatResponse.model_validate_json(stored)


async def replayed_stream(stored: str, principal: Principal, service: ChatService) -> Turn:
    """What a retried stream gets: a remembered answer as a turn's events, or the first turn."""
    replay = await replayed_answer(stored, principal, service)
    if isinstance(replay, Turn):
        return replay
    turn_id = new_id("turn")
    events = answered(principal.tenant_id, turn_id, replay)
    return Turn(turn_id, replay.session_id, events, cached=replay)
