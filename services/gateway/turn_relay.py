"""Receives turn events on this gateway's own reply queue and hands them to waiting requests."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faststream import AckPolicy
from faststream.message import StreamMessage
from faststream.rabbit import RabbitQueue, RabbitRouter

from shared.events import TurnEvent, TurnStarted, turn_event_adapter
from shared.observability import observe_since

logger = logging.getLogger(__name__)


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    """The body as it came: the handler parses it into its event itself."""
    return message.body


class TurnRelay:
    """Routes events by turn id to the request that owns the turn.

    An event numbered no higher than one already delivered is a repeat (a turn run again
    after its worker died re-sends the meta it may have sent) and is dropped.
    """

    def __init__(self, queue: RabbitQueue) -> None:
        self.queue = queue
        self._turns: dict[str, asyncio.Queue[TurnEvent]] = {}
        self._delivered: dict[str, int] = {}  # turn id -> highest seq handed over

    def router(self) -> RabbitRouter:
        """The subscriber on this gateway's reply queue."""
        router = RabbitRouter()

        # Replies are only useful to a live request; if this process dies the request died
        # with it, so there is nothing to redeliver.
        @router.subscriber(self.queue, ack_policy=AckPolicy.ACK_FIRST, decoder=_raw_body)
        async def on_turn_event(body: bytes) -> None:
            """Deliver one event to its turn's waiter, if it is still waiting."""
            # Parsed once, straight from the bytes: no generic decoding on the token path.
            event = turn_event_adapter.validate_json(body)
            turn_id = event.correlation_id
            waiter = self._turns.get(turn_id)
            if waiter is None:
                return
            if isinstance(event, TurnStarted):
                observe_since("meta_relay", event.occurred_at)
            if event.seq:
                if event.seq <= self._delivered.get(turn_id, 0):
                    return
                self._delivered[turn_id] = event.seq
            waiter.put_nowait(event)

        return router

    def register(self, turn_id: str) -> asyncio.Queue[TurnEvent]:
        """Start collecting a turn's events (before its request is published)."""
        waiter: asyncio.Queue[TurnEvent] = asyncio.Queue()
        self._turns[turn_id] = waiter
        return waiter

    def unregister(self, turn_id: str) -> None:
        """Stop collecting; later events for the turn are dropped."""
        self._turns.pop(turn_id, None)
        self._delivered.pop(turn_id, None)

    @property
    def open_turns(self) -> int:
        """How many turns this gateway is waiting on."""
        return len(self._turns)
