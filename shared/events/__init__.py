"""Versioned event schemas: one module per area, all on the common envelope."""

from shared.events.assistant import AssistantSpec, LlmSettings
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
    AgentCommandCompleted,
    AgentCommandRequested,
    CustomerMessaged,
    EscalationCard,
    EscalationCreated,
    EscalationRequested,
    EscalationUpdated,
    HistoryLine,
)
from shared.events.knowledge import (
    DocumentDeletionRequested,
    DocumentInfo,
    DocumentsListRequested,
    DocumentUploaded,
    KnowledgeReply,
)
from shared.events.retrieval import Passage, Reference, RetrievalCompleted, RetrievalRequested

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
    EscalationUpdated,
    AgentCommandRequested,
    AgentCommandCompleted,
    CustomerMessaged,
    DocumentUploaded,
    DocumentDeletionRequested,
    DocumentsListRequested,
    KnowledgeReply,
)

__all__ = [
    "ALL_EVENTS",
    "AgentCommandCompleted",
    "AgentCommandRequested",
    "AssistantSpec",
    "CustomerMessaged",
    "EscalationUpdated",
    "ChatRequested",
    "DocumentDeletionRequested",
    "DocumentInfo",
    "DocumentUploaded",
    "DocumentsListRequested",
    "EscalationCard",
    "EscalationCreated",
    "EscalationRequested",
    "Event",
    "HistoryLine",
    "KnowledgeReply",
    "LlmSettings",
    "Passage",
    "Reference",
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
