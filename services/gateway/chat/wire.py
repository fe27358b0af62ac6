"""The one name of each turn event (its class) and the names each protocol sends it under.

The internal discriminator (``type``) and the broker routing key live on the classes in
``shared.events.chat``; every gateway module names an event by its class and looks up a
protocol's name here, never by comparing strings.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events import Event, TokensStreamed, TurnCompleted, TurnEvent, TurnFailed, TurnStarted


@dataclass(frozen=True)
class WireNames:
    """What one event is called on the wire."""

    stream: str  # SSE ``event:`` and NDJSON ``"event"``
    websocket: str  # a WebSocket frame's ``"type"``


WIRE_NAMES: dict[type[Event], WireNames] = {
    TurnStarted: WireNames(stream="meta", websocket="message_stream_started"),
    TokensStreamed: WireNames(stream="token", websocket="message_stream_token"),
    TurnCompleted: WireNames(stream="done", websocket="message_stream_ended"),
    TurnFailed: WireNames(stream="error", websocket="error"),
}


def wire_names(event: TurnEvent) -> WireNames:
    """The protocol names of ``event``."""
    return WIRE_NAMES[type(event)]


def is_last(event: TurnEvent) -> bool:
    """A turn's stream ends with its completion or its failure."""
    return isinstance(event, TurnCompleted | TurnFailed)
