"""SSE and NDJSON: every event as a frame with its resume id, then the stream's metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from services.gateway.chat.render import render
from services.gateway.chat.turn import TurnEvents
from services.gateway.chat.wire import wire_names
from services.gateway.sse import Framer, StreamMetrics, event_id
from shared.errors import AppError
from shared.events import TokensStreamed, TurnCompleted, TurnEvent, TurnFailed, TurnStarted

logger = logging.getLogger(__name__)


class StreamFrames:
    """One stream's frames, SSE or NDJSON by ``frame``."""

    def __init__(self, frame: Framer) -> None:
        self._frame = frame
        self._metrics = StreamMetrics()

    def _out(self, event: TurnEvent, data: dict[str, Any]) -> bytes:
        self._metrics.saw(event)
        return self._frame(wire_names(event).stream, data, event_id(event))

    async def started(self, event: TurnStarted) -> list[bytes]:
        """``meta``: intent, sources, references."""
        references = [r.model_dump() for r in event.references]
        data = {"intent": event.intent, "sources": event.sources, "escalate": event.escalate}
        return [self._out(event, {**data, "references": references})]

    async def tokens(self, event: TokensStreamed) -> list[bytes]:
        """``token``: a run of text."""
        return [self._out(event, {"content": event.content})]

    async def completed(self, event: TurnCompleted) -> list[bytes]:
        """``done``, then ``metrics``."""
        done = {
            "turn_id": event.correlation_id,  # to rate it, even when the hot cache answered
            "turn_count": event.turn_count,
            "escalate": event.escalate_to_human,
            "answer": event.reply,
            "stopped": event.stopped,
            "grounding": event.grounding,
        }
        metrics = self._frame("metrics", self._metrics.summary(event.reply), None)
        return [self._out(event, done), metrics]

    async def failed(self, event: TurnFailed) -> list[bytes]:
        """``error``."""
        return [self._out(event, {"message": event.message})]


def stream_frames(events: TurnEvents, frame: Framer) -> AsyncIterator[bytes]:
    """A turn's events as frames; failures stay in-band."""
    frames = render(events, StreamFrames(frame))
    return in_band(frames, lambda message: frame("error", {"message": message}, None))


async def in_band(
    frames: AsyncIterator[bytes], error: Callable[[str], bytes]
) -> AsyncIterator[bytes]:
    """``frames``, then, if they fail, ``error(message)`` as the last frame."""
    try:
        async for output in frames:
            yield output
    except AppError as exc:
        # Headers are sent; the public contract reports failures in-band with HTTP 200.
        yield error(exc.message)
    except Exception:
        logger.exception("stream failed unexpectedly")
        yield error("Internal error; it has been logged")
