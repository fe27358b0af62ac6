"""Escalation events: the orchestrator's request and the card published for workbenches."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events.chat import Channel
from shared.events.envelope import Event

Reason = Literal[
    "explicit_request", "failed_attempts", "negative_emotion", "ticket", "business_system_down"
]
Priority = Literal["urgent", "high", "normal", "low"]


class HistoryLine(BaseModel):
    """One message of a conversation as an agent sees it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    role: Literal["user", "assistant", "agent"]
    content: str


class EscalationRequested(Event):
    """The orchestrator decided a human should take over this session."""

    routing_key = "escalation.requested.v1"

    session_id: str
    user_id: str
    channel: Channel
    reason: Reason
    turn_count: int
    emotion_score: float
    history: list[HistoryLine]


class EscalationCard(BaseModel):
    """Everything an agent needs at a glance to take over a conversation."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ticket_id: str
    session_id: str
    user_id: str
    channel: Channel
    reason: Reason
    priority: Priority
    summary: str
    turn_count: int
    emotion_score: float
    last_messages: list[HistoryLine]
    created_at: datetime


class EscalationCreated(Event):
    """A card was stored and the session is waiting for an agent."""

    routing_key = "escalation.created.v1"

    card: EscalationCard
