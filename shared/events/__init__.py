"""Versioned event schemas: one module per area, all on the common envelope."""

from shared.events.chat import (
    ChatRequested,
    SubTask,
    TokensStreamed,
    TurnCancelled,
    TurnCompleted,
    TurnEvent,
    TurnFailed,
    TurnStarted,
    turn_event_adapter,
)
from shared.events.envelope import Event, new_id
from shared.events.escalation import (
    EscalationCard,
    EscalationCreated,
    EscalationRequested,
    HistoryLine,
)
from shared.events.retrieval import Passage, RetrievalCompleted, RetrievalRequested

ALL_EVENTS: tuple[type[Event], ...] = (
    ChatRequested,
    TurnCancelled,
    TurnStarted,
    TokensStreamed,
    TurnCompleted,
    TurnFailed,
    RetrievalRequested,
    RetrievalCompleted,
    EscalationRequested,
    EscalationCreated,
)

__all__ = [
    "ALL_EVENTS",
    "ChatRequested",
    "EscalationCard",
    "EscalationCreated",
    "EscalationRequested",
    "Event",
    "HistoryLine",
    "Passage",
    "RetrievalCompleted",
    "RetrievalRequested",
    "SubTask",
    "TokensStreamed",
    "TurnCancelled",
    "TurnCompleted",
    "TurnEvent",
    "TurnFailed",
    "TurnStarted",
    "new_id",
    "turn_event_adapter",
]
