"""WebSocket: each event as a JSON frame of the socket protocol."""

from __future__ import annotations

import logging
from typing import Any

from services.gateway.chat.wire import wire_names
from services.gateway.sse import StreamMetrics
from shared.events import TokensStreamed, TurnCompleted, TurnFailed, TurnStarted

logger = logging.getLogger(__name__)
Frame = dict[str, Any]


class SocketFrames:
    """One turn's frames; ``metrics`` timed from the message's receipt."""

    def __init__(self, metrics: StreamMetrics) -> None:
        self._metrics = metrics

    async def started(self, event: TurnStarted) -> list[Frame]:
        """``message_stream_started``."""
        references = [r.model_dump() for r in event.references]
        return [
            {
                "type": wire_names(event).websocket,
                "intent": event.intent,
                "sources": event.sources,
                "references": references,
                "escalate": event.escalate,
            }
        ]

    async def tokens(self, event: TokensStreamed) -> list[Frame]:
        """``message_stream_token``."""
        self._metrics.saw(event)
        return [{"type": wire_names(event).websocket, "content": event.content}]

    async def completed(self, event: TurnCompleted) -> list[Frame]:
        """``message_stream_ended``, with the metrics."""
        return [
            {
                "type": wire_names(event).websocket,
                "answer": event.reply,
                "session_id": event.session_id,
                "turn_count": event.turn_count,
                "escalate_to_human": event.escalate_to_human,
                "intent": event.intent,
                "stopped": event.stopped,
                "metrics": self._metrics.summary(event.reply),
            }
        ]

    async def failed(self, event: TurnFailed) -> list[Frame]:
        """An ``error`` frame with code 503."""
        logger.warning("websocket turn failed: %s", event.message)
        return [{"type": wire_names(event).websocket, "code": 503, "message": event.message}]
