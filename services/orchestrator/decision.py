"""What a turn decides, as a function of plain values: whether and why it hands over to a
human, what its meta says, whether its answer may be cached, and its failed-attempts count.

The turn asks twice: before answering, with the planned outcome, for the meta's ``escalate``;
after answering, with the outcome the answer earned (an ungrounded answer is unresolved), for
the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.orchestrator.cacheability import cacheable
from shared.conversation import AgentStatus, Outcome, failed_attempts_after
from shared.events.chat import Grounding
from shared.events.escalation import VIP_LEVELS, Reason


@dataclass(frozen=True)
class Standing:
    """Where the session stood before this turn, and how many failures it may take."""

    agent_status: AgentStatus
    failed_attempts: int
    member_level: str
    failed_attempts_threshold: int

    @property
    def threshold(self) -> int:
        """Failures that hand a session over: one is enough for a VIP."""
        return 1 if self.member_level in VIP_LEVELS else self.failed_attempts_threshold

    @property
    def last_chance(self) -> bool:
        """One more failure reaches the threshold, so this turn hands over unless it succeeds.

        A session already waiting for (or held by) an agent is not queued twice.
        """
        failed = failed_attempts_after(self.failed_attempts, "unresolved")
        return self.agent_status == "bot" and failed >= self.threshold


@dataclass(frozen=True)
class Answered:
    """What went into the answer, as far as caching it is concerned."""

    question: str
    intent: str
    parts: int
    used_history: bool
    used_order: bool
    grounding: Grounding | None


@dataclass(frozen=True)
class Decision:
    """What the turn does about handover, caching and its counter."""

    reason: Reason | None  # why it hands over to a human; None when it does not
    cacheable: bool
    failed_attempts: int  # the session's count once this turn is recorded

    @property
    def escalate(self) -> bool:
        """The meta's ``escalate``: the customer is told a human is coming."""
        return self.reason is not None


def decide(
    standing: Standing,
    asked: Reason | None,
    outcome: Outcome,
    answered: Answered | None = None,
) -> Decision:
    """The turn's decision; ``asked`` is a handover the plan asked for (the customer asked
    for a human, is upset, or wants a ticket). Without ``answered`` nothing is cached."""
    reason = asked or (
        "failed_attempts" if standing.last_chance and outcome == "unresolved" else None
    )
    may_cache = answered is not None and cacheable(
        question=answered.question,
        intent=answered.intent,
        outcome=outcome,
        parts=answered.parts,
        escalated=reason is not None,
        used_history=answered.used_history,
        used_order=answered.used_order,
        grounding=answered.grounding,
    )
    return Decision(reason, may_cache, failed_attempts_after(standing.failed_attempts, outcome))
