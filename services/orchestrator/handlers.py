"""Orchestrator subscribers: run each requested turn (its events numbered, relayed to the owning
gateway and logged for resumption, turn_stream.py), and cancel or stop turns on request
(running_turns.py)."""

from __future__ import annotations

import logging

from faststream.rabbit import Channel, RabbitRouter
from faststream.rabbit.annotations import RabbitBroker, RabbitMessage

from services.orchestrator.running_turns import RunningTurns
from services.orchestrator.turn_stream import TurnStream, resumed_stream
from services.orchestrator.turns import Turn, TurnDeps
from shared.errors import AppError
from shared.events import ChatRequested, TurnCancelled, TurnFailed
from shared.observability import bind_turn
from shared.stores.protocols import TurnLog
from shared.topology import Topology

logger = logging.getLogger(__name__)
CANCELLED = "This turn was cancelled: its client left before it finished."


def build_router(
    deps: TurnDeps, topology: Topology, instance_id: str, log: TurnLog, turn_prefetch: int = 32
) -> RabbitRouter:
    """Subscribers of one orchestrator process; it runs up to ``turn_prefetch`` turns at once."""
    router = RabbitRouter()
    running = RunningTurns()

    @router.subscriber(topology.chat_requests, channel=Channel(prefetch_count=turn_prefetch))
    async def on_chat_requested(
        request: ChatRequested, message: RabbitMessage, broker: RabbitBroker
    ) -> None:
        """Run the turn, streaming its events to the gateway that owns it."""
        bind_turn(turn=request.correlation_id, tenant=request.tenant_id, session=request.session_id)

        def fail(text: str) -> TurnFailed:
            return TurnFailed(
                tenant_id=request.tenant_id, correlation_id=request.correlation_id, message=text
            )

        if getattr(message.raw_message, "redelivered", False):
            stream = await resumed_stream(request, broker, log)
            if stream is None:
                return
        else:
            stream = TurnStream(request, broker, log)
        emit = stream.emit
        try:
            ending = await running.run(
                Turn(request, deps, emit),
                lambda: log.stop_requested(request.tenant_id, request.correlation_id),
            )
            if ending == "cancelled":
                # Ends the turn's log, so a late resume or retry is told at once.
                await emit(fail(CANCELLED))
        except AppError as exc:
            logger.warning("turn failed: %s", exc.message)
            await emit(fail(exc.message))
        except Exception:
            logger.exception("turn failed unexpectedly")
            await emit(fail("Something went wrong while answering; please try again."))

    @router.subscriber(
        topology.private_queue(f"orchestrator.{instance_id}.control"), topology.turn_control
    )
    async def on_turn_cancelled(event: TurnCancelled) -> None:
        """Cancel (or stop, keeping the partial answer) the turn if this process runs it."""
        running.cancel(event.correlation_id, event.reason)

    return router
