"""Orchestrator subscribers: run each requested turn, and stop turns whose client left."""

from __future__ import annotations

import asyncio
import logging

from faststream.rabbit import RabbitRouter
from faststream.rabbit.annotations import RabbitBroker, RabbitMessage

from services.orchestrator.turns import Turn, TurnDeps
from shared.errors import AppError
from shared.events import ChatRequested, Event, TurnCancelled, TurnFailed
from shared.observability import bind_turn
from shared.topology import Topology

logger = logging.getLogger(__name__)
INTERRUPTED = "This turn was interrupted before it finished; please send your message again."


def build_router(deps: TurnDeps, topology: Topology, instance_id: str) -> RabbitRouter:
    """Subscribers of one orchestrator process."""
    router = RabbitRouter()
    running: dict[str, asyncio.Task[object]] = {}

    @router.subscriber(topology.chat_requests)
    async def on_chat_requested(
        request: ChatRequested, message: RabbitMessage, broker: RabbitBroker
    ) -> None:
        """Run the turn, streaming its events to the gateway that owns it."""
        bind_turn(turn=request.correlation_id, tenant=request.tenant_id, session=request.session_id)

        async def emit(event: Event) -> None:
            await broker.publish(event, queue=request.reply_to, mandatory=False)

        def fail(text: str) -> TurnFailed:
            return TurnFailed(
                tenant_id=request.tenant_id, correlation_id=request.correlation_id, message=text
            )

        if getattr(message.raw_message, "redelivered", False):
            # A worker died mid-turn: its tokens may already be on screen, so replaying the
            # turn would duplicate them. The session was not written (that is the last step).
            logger.warning("turn was redelivered after a worker failure; failing it cleanly")
            await emit(fail(INTERRUPTED))
            return

        task = asyncio.create_task(Turn(request, deps, emit).run())
        running[request.correlation_id] = task
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
            logger.info("turn cancelled by its client")
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
        """Cancel the turn if this process is running it."""
        task = running.get(event.correlation_id)
        if task is not None:
            task.cancel()

    return router
