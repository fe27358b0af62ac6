"""Turn events: a chat request, and what the orchestrator streams back to the owning gateway."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.events.assistant import AssistantSpec
from shared.events.envelope import Event
from shared.events.retrieval import Reference

Channel = Literal["web", "app", "wechat", "dingtalk", "api"]
Intent = Literal[
    "chitchat", "knowledge_qa", "business_query", "emotion_sensitive", "transfer_to_human", "ticket"
]
# The grounding guard's verdict on a generated answer: every claim checked and supported
# (verified), supported at the second try (regenerated), sent with unsupported claims marked
# (flagged), unsupported text withheld and the help centre quoted instead (replaced), or
# sent unchecked (the guard is off).
Grounding = Literal["verified", "regenerated", "flagged", "replaced", "unchecked"]
GROUNDING_SEVERITY: tuple[Grounding, ...] = (
    "flagged",
    "replaced",
    "regenerated",
    "verified",
    "unchecked",
)


class ChatRequested(Event):
    """A customer message the gateway accepted; correlation_id is the turn id."""

    routing_key = "chat.requested.v1"

    session_id: str
    user_id: str
    channel: Channel
    message: str
    reply_to: str
    # None: the built-in assistant (no tenant default is stored).
    assistant: AssistantSpec | None = None
    # The hot cache's epoch as the gateway read it with its miss, to stamp the answer with
    # (read before the answer is composed, as a put needs); None from an older gateway.
    cache_epoch: int | None = None


class TurnCancelled(Event):
    """Whoever runs the turn should stop: its client went away, or asked to stop generating
    (then the partial answer is kept, marked stopped)."""

    routing_key = "turn.cancelled.v1"

    reason: Literal["client_left", "stopped"] = "client_left"


class SubTask(BaseModel):
    """One part of a compound message and how it was handled."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    text: str
    intent: Intent
    outcome: str


class TurnStreamEvent(Event):
    """An event of a turn's stream; ``seq`` numbers them from 1 so a client can resume."""

    seq: int = 0


class TurnStarted(TurnStreamEvent):
    """Intent and sources are known; sent before any LLM call."""

    routing_key = "turn.started.v1"
    type: Literal["meta"] = "meta"

    intent: Intent
    sources: list[str] = []
    escalate: bool = False
    references: list[Reference] = []


class TokensStreamed(TurnStreamEvent):
    """A coalesced run of reply tokens."""

    routing_key = "turn.tokens.v1"
    type: Literal["token"] = "token"

    content: str


class TurnCompleted(TurnStreamEvent):
    """The turn is committed to the session; carries the whole sync response."""

    routing_key = "turn.completed.v1"
    type: Literal["done"] = "done"

    session_id: str
    reply: str
    intent: Intent
    sources: list[str] = []
    escalate_to_human: bool = False
    escalation_card: dict[str, Any] | None = None
    turn_count: int
    failed_attempts: int
    emotion_score: float
    sub_tasks: list[SubTask] = []
    resolved: bool = False
    references: list[Reference] = []
    stopped: bool = False
    # None: no answer of this turn was generated (extractive, fixed replies, hot cache).
    grounding: Grounding | None = None


class TurnFailed(TurnStreamEvent):
    """The turn could not be answered; the client gets an ``error`` event."""

    routing_key = "turn.failed.v1"
    type: Literal["error"] = "error"

    message: str


TurnEvent = Annotated[
    TurnStarted | TokensStreamed | TurnCompleted | TurnFailed, Field(discriminator="type")
]
turn_event_adapter: TypeAdapter[TurnEvent] = TypeAdapter(TurnEvent)
