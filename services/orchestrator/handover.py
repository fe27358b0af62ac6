"""What an agent is handed when a turn escalates: the conversation so far, the bot's last
reply and what it tried."""

from __future__ import annotations

from services.orchestrator.planning import Plan
from shared.conversation import Message
from shared.events import ChatRequested, EscalationRequested, HistoryLine
from shared.events.escalation import Reason


def escalation_request(
    request: ChatRequested,
    reason: Reason,
    emotion: float,
    history: list[Message],
    reply: str,
    turns: int,
    member_level: str,
    plan: Plan,
) -> EscalationRequested:
    """The escalation of ``request``'s session; ``turns`` were recorded before this one."""
    lines = [
        HistoryLine(role=m.role, content=m.content)  # type: ignore[arg-type]
        for m in history
        if m.role in ("user", "assistant", "agent")
    ]
    lines += [
        HistoryLine(role="user", content=request.message),
        HistoryLine(role="assistant", content=reply or "(handing over)"),
    ]
    tried = [f"{p.intent}: {p.outcome}" for p in plan.parts]
    tried += [f"searched {source}" for source in plan.sources]
    return EscalationRequested(
        tenant_id=request.tenant_id,
        correlation_id=request.correlation_id,
        session_id=request.session_id,
        user_id=request.user_id,
        channel=request.channel,
        reason=reason,
        turn_count=turns + 1,
        emotion_score=emotion,
        history=lines,
        member_level=member_level,
        bot_tried=tried,
    )
