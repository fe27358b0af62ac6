"""The conversation's domain types: sessions, their messages, finished turns and cached answers.

They belong to no store: planning, generation and the gateway use them, and each store
(``shared/stores``) keeps them in its own way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["resolved", "unresolved", "neutral"]
AgentStatus = Literal["bot", "pending", "assigned", "resolved"]
ANONYMOUS = "anonymous"  # the default user id: not one person, so never listed
FailedAttemptsChange = Literal["add_one", "reset", "keep"]

# The counter rule. Failed attempts count the bot's failures since its last success: an
# unresolved turn adds one, a resolved turn wipes them out (the customer got help, so the
# handover threshold starts again), and a neutral turn (small talk, a stop, an agent's turn)
# leaves them. Every turn adds one to ``turn_count``.
FAILED_ATTEMPTS_CHANGE: dict[Outcome, FailedAttemptsChange] = {
    "unresolved": "add_one",
    "resolved": "reset",
    "neutral": "keep",
}


def failed_attempts_after(failed_attempts: int, outcome: Outcome) -> int:
    """The failed-attempts counter once a turn with ``outcome`` is recorded (the counter rule)."""
    change = FAILED_ATTEMPTS_CHANGE[outcome]
    if change == "add_one":
        return failed_attempts + 1
    return 0 if change == "reset" else failed_attempts


@dataclass(frozen=True)
class Session:
    """A conversation's state as stored."""

    session_id: str
    user_id: str
    channel: str
    created_at: float
    turn_count: int = 0
    failed_attempts: int = 0
    current_intent: str = ""
    emotion_score: float = 1.0
    agent_status: AgentStatus = "bot"
    ticket_id: str = ""
    agent_id: str = ""
    name: str = ""


@dataclass(frozen=True)
class Message:
    """One line of a conversation's history."""

    role: str
    content: str
    at: float = field(default_factory=time.time)
    turn_id: str = ""
    stopped: bool = False  # the customer stopped the answer part-way


@dataclass(frozen=True)
class TurnRecord:
    """What a finished turn adds to a session."""

    turn_id: str
    user_message: str
    reply: str  # empty when a human agent, not the bot, answers this session
    intent: str
    emotion_score: float
    outcome: Outcome
    user_id: str = ""
    channel: str = "api"
    stopped: bool = False
    handoff_reason: str = ""  # why it went to an agent, if it did
    no_answer: bool = False  # a knowledge question the help centre could not answer
    ttft_ms: float | None = None  # time to the first token the customer saw


@dataclass(frozen=True)
class TurnCounts:
    """Counters after a turn was recorded; ``recorded`` is False for a duplicate turn id."""

    recorded: bool
    turn_count: int
    failed_attempts: int


@dataclass(frozen=True)
class CachedAnswer:
    """A resolved knowledge answer worth serving again."""

    reply: str
    intent: str
    sources: list[str]
    emotion_score: float
    references: list[dict[str, Any]] = field(default_factory=list)
