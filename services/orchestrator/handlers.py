"""Orchestrator subscribers: run each requested turn (its events numbered, relayed to the owning
gateway and logged for resumption), and cancel or stop turns on request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from faststream.rabbit import RabbitRouter
from faststream.rabbit.annotations import RabbitBroker, RabbitMessage

from services.orchestrator.turns import Emit, Turn, TurnDeps
from shared.errors import AppError
from shared.events import ChatRequested, Event, TurnCancelled, TurnFailed
from shared.events.chat import TurnStreamEvent
from shared.observability import bind_turn
from shared.stores.turn_log import RedisTurnLog
from shared.topology import Topology

logger = logging.getLogger(__name__)
INTERRUPTED = "This turn was interrupted before it finished; please send your message again."
CANCELLED = "This turn was cancelled: its client left before it finished."


class _TurnStream:
    """Numbers a turn's events and sends them to the gateway; a background writer logs them
    for resumption in order, so the log never holds up the token relay."""

    def __init__(
        self, request: ChatRequested, broker: RabbitBroker, log: RedisTurnLog, seq: int = 0
    ) -> None:
        self._request = request
        self._broker = broker
        self._log = log
        self._seq = seq
        self._unlogged: list[tuple[int, str]] = []
        self._writer: asyncio.Task[None] | None = None
        self._log_failed = False

    async def emit(self, event: Event) -> None:
        """Relay one event, then queue it for the log."""
        if isinstance(event, TurnStreamEvent):
            self._seq += 1
            event = event.model_copy(update={"seq": self._seq})
        await self._broker.publish(event, queue=self._request.reply_to, mandatory=False)
        if isinstance(event, TurnStreamEvent) and not self._log_failed:
            self._unlogged.append((event.seq, event.model_dump_json()))
            if self._writer is None or self._writer.done():
                self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        # Whatever piled up during one round trip goes in the next: batches stay in order.
        while self._unlogged and not self._log_failed:
            batch, self._unlogged = self._unlogged, []
            req = self._request
            try:
                await self._log.append_many(req.tenant_id, req.correlation_id, batch)
            except Exception as exc:  # Redis errors of any kind: resumability, never the turn
                self._log_failed = True
                logger.warning("turn log unavailable, this turn cannot be resumed: %s", exc)

    async def flush(self) -> None:
        """Wait until every event emitted so far is logged (or logging gave up)."""
        if self._writer is not None:
            await asyncio.shield(self._writer)


def build_router(
    deps: TurnDeps, topology: Topology, instance_id: str, log: RedisTurnLog
) -> RabbitRouter:
    """Subscribers of one orchestrator process."""
    router = RabbitRouter()
    running: dict[str, tuple[asyncio.Task[object], Turn]] = {}

    @router.subscriber(topology.chat_requests)
    async def on_chat_requested(
        request: ChatRequested, message: RabbitMessage, broker: RabbitBroker
    ) -> None:
        """Run the turn, streaming its events to the gateway that owns it."""
        bind_turn(turn=request.correlation_id, tenant=request.tenant_id, session=request.session_id)

        def fail(text: str) -> TurnFailed:
            return TurnFailed(
                tenant_id=request.tenant_id, correlation_id=request.correlation_id, message=text
            )

        redelivered = getattr(message.raw_message, "redelivered", False)
        seen = 0
        if redelivered:
            # A worker died mid-turn: its tokens may already be on screen, so replaying the
            # turn would duplicate them. The session was not written (that is the last step).
            logger.warning("turn was redelivered after a worker failure; failing it cleanly")
            seen = await log.last_seq(request.tenant_id, request.correlation_id)
        stream = _TurnStream(request, broker, log, seen)
        try:
            if redelivered:
                await stream.emit(fail(INTERRUPTED))
            else:
                await run_turn(request, stream.emit, fail)
        finally:
            await stream.flush()  # the message is acked only once its events are logged

    async def run_turn(
        request: ChatRequested, emit: Emit, fail: Callable[[str], TurnFailed]
    ) -> None:
        turn = Turn(request, deps, emit)
        if await log.stop_requested(request.tenant_id, request.correlation_id):
            # Stopped while it waited in the queue: end it before any work or LLM call.
            await turn.finish_stopped()
            return
        task = asyncio.create_task(turn.run())
        running[request.correlation_id] = (task, turn)
        try:
            try:
                await task
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise
                if not turn.stop_requested:
                    logger.info("turn cancelled by its client")
                    # Ends the turn's log, so a late resume or retry is told at once.
                    await emit(fail(CANCELLED))
                    return
                logger.info("turn stopped by its client; keeping the partial answer")
                await turn.finish_stopped()  # its failures are the turn's, handled below
        except AppError as exc:
            logger.warning("turn failed: %s", exc.message)
            await emit(fail(exc.message))
        except Exception:
            logger.exception("turn failed unexpectedly")
            await emit(fail("Something went wrong while answering; please try again."))
        finally:
            running.pop(request.correlation_id, None)

    @router.subscriber(
        topology.private_queue(f"orchestrator.{instance_id}.control"), topology.turn_control
    )
    async def on_turn_cancelled(event: TurnCancelled) -> None:
        """Cancel (or stop, keeping the partial answer) the turn if this process runs it."""
        found = running.get(event.correlation_id)
        if found is not None:
            task, turn = found
            # A stop is never undone by a later "client left".
            turn.stop_requested = turn.stop_requested or event.reason == "stopped"
            task.cancel()

    return router
