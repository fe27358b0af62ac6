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
# pending: waiting for an agent; assigned: an agent holds the session; resolved: done;
# returned: the agent handed the session back to the bot; offline: outside support hours,
# kept as a ticket for when agents are back.
TicketStatus = Literal["pending", "assigned", "resolved", "returned", "offline"]
AgentAction = Literal["claim", "reply", "resolve", "hand_back"]
# Member levels that count as VIP: their hand-offs come sooner and rank higher.
VIP_LEVELS = frozenset({"platinum", "vip"})


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
    member_level: str = "standard"
    bot_tried: list[str] = []


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
    member_level: str = "standard"
    bot_tried: list[str] = []
    status: TicketStatus = "pending"
    agent_id: str | None = None
    queue_position: int | None = None
    agents_back_at: datetime | None = None


class EscalationCreated(Event):
    """A card was stored and the session is waiting for an agent."""

    routing_key = "escalation.created.v1"

    card: EscalationCard


class EscalationUpdated(Event):
    """A ticket changed state (claimed, resolved, returned to the bot)."""

    routing_key = "escalation.updated.v1"

    card: EscalationCard


class AgentCommandRequested(Event):
    """An agent acts on a ticket: claim it, reply, resolve it or hand it back to the bot."""

    routing_key = "agent.command-requested.v1"

    ticket_id: str
    agent_id: str
    action: AgentAction
    text: str = ""


CommandStatus = Literal["ok", "conflict", "not_found", "invalid"]


class AgentCommandCompleted(Event):
    """The outcome of an agent command; ``conflict`` when another agent holds the ticket."""

    routing_key = "agent.command-completed.v1"

    status: CommandStatus
    card: EscalationCard | None = None
    error: str | None = None


class CustomerMessaged(Event):
    """A customer wrote in a session an agent holds; the bot stayed silent."""

    routing_key = "conversation.customer-messaged.v1"

    ticket_id: str
    session_id: str
    agent_id: str
    text: str
