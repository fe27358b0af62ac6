"""The turns one orchestrator process is running: each is started, may be cancelled or
stopped by its client, and is finished here.

A stop keeps the partial answer the customer saw (the turn is recorded, marked stopped); a
cancel (the client left) drops it. A stop is never undone by a later cancel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from services.orchestrator.turns import StoppedBeforeAnswer, Turn

logger = logging.getLogger(__name__)
Ending = Literal["completed", "stopped", "cancelled"]
CancelReason = Literal["stopped", "client_left"]


@dataclass
class _Running:
    task: asyncio.Task[object]
    stopped: bool = False


class RunningTurns:
    """Turns running in this process, by turn id."""

    def __init__(self) -> None:
        self._turns: dict[str, _Running] = {}

    async def run(self, turn: Turn, stop_requested: Callable[[], Awaitable[bool]]) -> Ending:
        """Run ``turn`` to its end; ``stop_requested`` says whether a stop came while it waited.

        A stopped turn is finished with its partial answer before this returns; its failures,
        and the turn's own, are raised.
        """
        turn_id = turn.request.correlation_id
        # Checked while the turn starts, off the path to meta: a stop asked while the turn
        # waited in the queue ends it like a live stop, as soon as the check says so (before
        # the LLM is asked anything), and in any case before its answer starts.
        stop_check = asyncio.ensure_future(stop_requested())
        turn.answer_after(stop_check)
        running = self._turns[turn_id] = _Running(asyncio.create_task(turn.run()))
        stop_check.add_done_callback(lambda check: self._stop_if_asked(turn_id, check))
        try:
            try:
                await running.task
            except StoppedBeforeAnswer:
                logger.info("turn stopped by its client before it was answered")
                await turn.finish_stopped()
                return "stopped"
            except asyncio.CancelledError:
                if not running.task.cancelled():
                    raise  # this handler itself is being cancelled (the worker shuts down)
                if not running.stopped:
                    logger.info("turn cancelled by its client")
                    return "cancelled"
                logger.info("turn stopped by its client; keeping the partial answer")
                await turn.finish_stopped()
                return "stopped"
            return "completed"
        finally:
            if self._turns.get(turn_id) is running:
                del self._turns[turn_id]
            running.task.cancel()  # a no-op once it finished
            stop_check.cancel()  # a turn that ended before its answer never awaited it
            if stop_check.done() and not stop_check.cancelled():
                stop_check.exception()  # retrieved, so asyncio does not report it as lost

    def _stop_if_asked(self, turn_id: str, check: asyncio.Future[bool]) -> None:
        if not check.cancelled() and check.exception() is None and check.result():
            self.cancel(turn_id, "stopped")

    def cancel(self, turn_id: str, reason: CancelReason) -> None:
        """Cancel the turn if it runs here; after a stop it keeps its partial answer."""
        running = self._turns.get(turn_id)
        if running is None:
            return
        running.stopped = running.stopped or reason == "stopped"
        running.task.cancel()
