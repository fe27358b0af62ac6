"""Builds the card an agent reads to take over a conversation."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from shared.events import EscalationCard, EscalationRequested

PRIORITY_BY_REASON = {
    "explicit_request": "high",
    "negative_emotion": "high",
    "failed_attempts": "normal",
    "ticket": "low",
    "business_system_down": "high",
}
LAST_MESSAGES = 6
SUMMARY_QUOTE_CHARS = 160


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_QUOTE_CHARS else text[: SUMMARY_QUOTE_CHARS - 1] + "…"


def ticket_id_for(request: EscalationRequested) -> str:
    """Stable per turn, so a redelivered request cannot open a second ticket."""
    digest = hashlib.sha256(f"{request.tenant_id}:{request.correlation_id}".encode()).hexdigest()
    return f"tkt-{digest[:12]}"


def summarise(request: EscalationRequested) -> str:
    """A few lines an agent can read at a glance: what the customer wanted, how it went."""
    asked = [line.content for line in request.history if line.role == "user"]
    if not asked:
        return "No messages yet."
    parts = [f'Customer first asked: "{_quote(asked[0])}".']
    if len(asked) > 1:
        parts.append(f'Latest message: "{_quote(asked[-1])}".')
    parts.append(
        f"{request.turn_count} turn(s) with the bot; escalated for {request.reason.replace('_', ' ')}."
    )
    return " ".join(parts)


def build_card(request: EscalationRequested) -> EscalationCard:
    """The card for an escalation request."""
    return EscalationCard(
        ticket_id=ticket_id_for(request),
        session_id=request.session_id,
        user_id=request.user_id,
        channel=request.channel,
        reason=request.reason,
        priority=PRIORITY_BY_REASON[request.reason],  # type: ignore[arg-type]
        summary=summarise(request),
        turn_count=request.turn_count,
        emotion_score=request.emotion_score,
        last_messages=request.history[-LAST_MESSAGES:],
        created_at=datetime.now(UTC),
    )
