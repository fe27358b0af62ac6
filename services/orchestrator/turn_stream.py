"""A turn's outgoing events: numbered, logged for resumption and relayed to the gateway that
owns the turn; and, for a redelivered turn, where its numbering picks up again.

A turn redelivered because its worker died runs again when its customer has seen nothing
beyond ``meta``; once answer tokens were sent it ends with an ``error`` event instead.
"""

from __future__ import annotations

import json
import logging

from faststream.rabbit.annotations import RabbitBroker

from shared.errors import AppError
from shared.events import ChatRequested, Event, TurnCompleted, TurnFailed, TurnStarted
from shared.events.chat import TurnStreamEvent
from shared.stores.protocols import TurnLog

logger = logging.getLogger(__name__)
INTERRUPTED = "This turn was interrupted before it finished; please send your message again."


class TurnStream:
    """Numbers a turn's events, logs them for resumption and sends them to the gateway.

    A re-run turn (``seq`` and ``meta_sent`` from its log) continues the numbering and does
    not send its meta again.
    """

    def __init__(
        self,
        request: ChatRequested,
        broker: RabbitBroker,
        log: TurnLog,
        seq: int = 0,
        meta_sent: bool = False,
    ) -> None:
        self._request = request
        self._broker = broker
        self._log = log
        self._seq = seq
        self._meta_sent = meta_sent
        self._log_failed = False

    async def emit(self, event: Event) -> None:
        """Relay one event; a turn-log failure costs resumability, never the turn."""
        if not isinstance(event, TurnStreamEvent):
            await self._send(event.model_dump_json())
            return
        if isinstance(event, TurnStarted) and self._meta_sent:
            return  # a re-run turn: its customer has this meta already
        self._seq += 1
        event = event.model_copy(update={"seq": self._seq})
        body = event.model_dump_json()  # once, for the gateway and the log alike
        if isinstance(event, TurnStarted):
            # Sent first, on the way to meta; were it sent and not logged before a crash, the
            # re-run's meta has the same seq and the gateway drops the repeat.
            self._meta_sent = True
            await self._send(body)
            await self._append(event, body)
        else:
            # Logged first: after a crash the log shows all the answer the customer may have
            # seen, which decides whether the turn may run again.
            await self._append(event, body)
            await self._send(body)

    async def _send(self, body: str) -> None:
        await self._broker.publish(body.encode(), queue=self._request.reply_to, mandatory=False)

    async def _append(self, event: TurnStreamEvent, body: str) -> None:
        if self._log_failed:
            return
        try:
            final = isinstance(event, TurnCompleted | TurnFailed)
            await self._log.append(event.tenant_id, event.correlation_id, event.seq, body, final)
        except Exception as exc:  # Redis errors of any kind, including id ordering
            self._log_failed = True
            logger.warning("turn log unavailable, this turn cannot be resumed: %s", exc)


async def resumed_stream(
    request: ChatRequested, broker: RabbitBroker, log: TurnLog
) -> TurnStream | None:
    """For a turn redelivered after its worker died: a stream to run it again with, if its
    customer has seen nothing beyond meta; otherwise None, once the turn has ended."""
    tenant, turn = request.tenant_id, request.correlation_id
    try:
        seq, last = await log.last_event(tenant, turn)
        kind = json.loads(last)["type"] if last else None
    except AppError as exc:
        logger.warning("turn log unreadable (%s); cannot tell what was sent", exc.message)
        seq, kind = 0, "unknown"
    if kind in (None, "meta"):
        logger.warning("turn was redelivered before its answer started; running it again")
        return TurnStream(request, broker, log, seq, meta_sent=kind == "meta")
    if kind not in ("done", "error"):
        # Part of the answer may be on screen: running it again would repeat or contradict it.
        # The session was not written (that is the last step).
        logger.warning("turn was redelivered mid-answer; failing it cleanly")
        failed = TurnFailed(tenant_id=tenant, correlation_id=turn, message=INTERRUPTED)
        await TurnStream(request, broker, log, seq).emit(failed)
    return None
