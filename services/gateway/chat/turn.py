"""A turn as the protocols see it, and the published turn whose events this gateway collects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import cast

from services.gateway.chat.wire import is_last
from services.gateway.schemas import ChatResponse
from services.gateway.stores.leases import RedisLeasePool
from services.gateway.turn_relay import TurnRelay
from shared.errors import DependencyTimeout
from shared.events import (
    ChatRequested,
    Event,
    Reference,
    TokensStreamed,
    TurnCancelled,
    TurnCompleted,
    TurnEvent,
    TurnStarted,
)
from shared.events.chat import Intent
from shared.stores.turn_log import RedisTurnLog

logger = logging.getLogger(__name__)

Publish = Callable[[Event], Awaitable[None]]
TurnEvents = AsyncIterator[TurnEvent]  # the one stream every protocol renders


@dataclass(frozen=True)
class Turn:
    """An open turn: its ids and its events, ending with completion or failure."""

    turn_id: str
    session_id: str  # "" when only the turn is known: a retried stream replaying it
    events: TurnEvents
    # Set when the hot cache answered: the turn is already recorded and nothing can resume it.
    cached: ChatResponse | None = None

    def headers(self) -> dict[str, str]:
        """``X-Session-Id`` if known, and ``X-Turn-Id`` if the turn can be stopped or resumed."""
        session = {"X-Session-Id": self.session_id} if self.session_id else {}
        return {**session, **({"X-Turn-Id": self.turn_id} if self.cached is None else {})}


def answered(tenant_id: str, turn_id: str, response: ChatResponse) -> TurnEvents:
    """A turn already answered (from the cache) as the events a published turn streams."""
    return _answered(tenant_id, turn_id, response)


async def _answered(tenant_id: str, turn_id: str, response: ChatResponse) -> TurnEvents:
    data, reply = response.data, response.reply
    intent = cast(Intent, data.intent)  # it came from a turn event; the models check it again
    references = [Reference.model_validate(r.model_dump()) for r in data.references]
    yield TurnStarted(
        tenant_id=tenant_id,
        correlation_id=turn_id,
        seq=1,
        intent=intent,
        sources=data.sources,
        references=references,
    )
    yield TokensStreamed(tenant_id=tenant_id, correlation_id=turn_id, seq=2, content=reply)
    yield TurnCompleted(
        tenant_id=tenant_id,
        correlation_id=turn_id,
        seq=3,
        intent=intent,
        sources=data.sources,
        references=references,
        session_id=response.session_id,
        reply=reply,
        turn_count=data.turn_count,
        failed_attempts=data.failed_attempts,
        emotion_score=data.emotion_score,
        resolved=True,
    )


@dataclass(frozen=True)
class Plumbing:
    """What a published turn uses: the relay, the LLM leases, the turn log, the broker."""

    relay: TurnRelay
    leases: RedisLeasePool | None  # None: no LLM, so no lease is taken
    turn_log: RedisTurnLog
    publish_request: Publish
    publish_control: Publish


class PublishedTurn:
    """A turn sent to the workers; it alone knows whether it finished, and closes itself."""

    def __init__(self, plumbing: Plumbing, tenant_id: str, turn_id: str) -> None:
        self.tenant_id = tenant_id
        self.turn_id = turn_id
        self._plumbing = plumbing
        self._queue = plumbing.relay.register(turn_id)
        self._sent = False
        self._finished = False
        self._closed = False

    async def publish(self, request: ChatRequested) -> None:
        """Send the turn to the workers (registered first, so no event is missed)."""
        await self._plumbing.publish_request(request)
        self._sent = True

    async def _next(self) -> TurnEvent:
        event = await self._queue.get()
        self._finished = is_last(event)
        return event

    async def events(self, timeout: float) -> TurnEvents:
        """The turn's events up to and including its completion or failure."""
        while not self._finished:
            try:
                event = await asyncio.wait_for(self._next(), timeout)
            except TimeoutError as exc:
                raise DependencyTimeout(
                    f"The assistant did not answer within {timeout:.0f} seconds"
                ) from exc
            yield event

    async def close(self, linger: float = 0) -> None:
        """Release the lease and the relay; tell the workers to stop if the turn did not finish.

        With ``linger``, an unfinished turn first runs on for as long as some reader (on any
        gateway) keeps resuming it, checked every ``linger`` seconds. Safe to call twice.
        """
        if self._closed:
            return
        self._closed = True
        plumbing = self._plumbing
        clock = asyncio.get_running_loop().time
        check_at = clock() + linger
        while linger and self._sent and not self._finished:
            if clock() >= check_at:
                if not await plumbing.turn_log.watched(self.tenant_id, self.turn_id):
                    break
                check_at = clock() + linger
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._next(), check_at - clock())
        plumbing.relay.unregister(self.turn_id)
        if plumbing.leases is not None:
            await plumbing.leases.release(self.turn_id)
        if self._sent and not self._finished:
            logger.info("client left before the turn finished; cancelling it")
            await plumbing.publish_control(
                TurnCancelled(tenant_id=self.tenant_id, correlation_id=self.turn_id)
            )
