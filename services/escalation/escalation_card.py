"""Builds the card an agent reads to take over a conversation."""

from __future__ import annotations

import hashlib
from datetime import datetime

from services.escalation.support_hours import SupportHours
from shared.events import EscalationCard, EscalationRequested
from shared.events.escalation import VIP_LEVELS

# The order of the rules is their priority: an explicit request comes first.
PRIORITY_BY_REASON = {
    "explicit_request": "urgent",
    "negative_emotion": "high",
    "failed_attempts": "high",
    "business_system_down": "normal",
    "ticket": "low",
}
PRIORITIES = ("urgent", "high", "normal", "low")
LAST_MESSAGES = 8
SUMMARY_QUOTE_CHARS = 160


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_QUOTE_CHARS else text[: SUMMARY_QUOTE_CHARS - 1] + "…"


def ticket_id_for(request: EscalationRequested) -> str:
    """Stable per turn, so a redelivered request cannot open a second ticket."""
    digest = hashlib.sha256(f"{request.tenant_id}:{request.correlation_id}".encode()).hexdigest()
    return f"tkt-{digest[:12]}"


def priority_for(request: EscalationRequested) -> str:
    """The reason's priority; a VIP member moves one step up."""
    rank = PRIORITIES.index(PRIORITY_BY_REASON[request.reason])
    if request.member_level.lower() in VIP_LEVELS:
        rank = max(0, rank - 1)
    return PRIORITIES[rank]


def summarise(request: EscalationRequested) -> str:
    """A few lines an agent can read at a glance: what the customer wanted, how it went."""
    asked = [line.content for line in request.history if line.role == "user"]
    if not asked:
        return "No messages yet."
    parts = [f'Customer first asked: "{_quote(asked[0])}".']
    if len(asked) > 1:
        parts.append(f'Latest message: "{_quote(asked[-1])}".')
    reason = request.reason.replace("_", " ")
    parts.append(f"{request.turn_count} turn(s) with the bot; escalated for {reason}.")
    return " ".join(parts)


def build_card(request: EscalationRequested, hours: SupportHours, now: datetime) -> EscalationCard:
    """The card for an escalation request; outside support hours it waits as a ticket."""
    on_duty = hours.is_open(now)
    return EscalationCard(
        ticket_id=ticket_id_for(request),
        session_id=request.session_id,
        user_id=request.user_id,
        channel=request.channel,
        reason=request.reason,
        priority=priority_for(request),  # type: ignore[arg-type]
        summary=summarise(request),
        turn_count=request.turn_count,
        emotion_score=request.emotion_score,
        last_messages=request.history[-LAST_MESSAGES:],
        created_at=now,
        member_level=request.member_level,
        bot_tried=request.bot_tried,
        status="pending" if on_duty else "offline",
        agents_back_at=None if on_duty else hours.next_opening(now),
    )
