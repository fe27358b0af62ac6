"""A turn's decision: when it hands over to a human, what its meta promises, whether its
answer may be cached, and how it moves the failed-attempts counter."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.orchestrator.decision import Answered, Standing, decide
from shared.conversation import failed_attempts_after

THRESHOLD = 3
KNOWLEDGE = Answered(
    question="How long does standard shipping take?",
    intent="knowledge_qa",
    parts=1,
    used_history=False,
    used_order=False,
    grounding="verified",
)


def standing(failed: int, level: str = "standard", status: str = "bot") -> Standing:
    return Standing(status, failed, level, THRESHOLD)  # type: ignore[arg-type]


def test_a_failure_below_the_threshold_does_not_hand_over() -> None:
    decision = decide(standing(failed=1), None, "unresolved", KNOWLEDGE)
    assert decision.reason is None and not decision.escalate
    assert decision.failed_attempts == 2


def test_the_failure_that_reaches_the_threshold_hands_over() -> None:
    decision = decide(standing(failed=THRESHOLD - 1), None, "unresolved", KNOWLEDGE)
    assert decision.reason == "failed_attempts" and decision.escalate
    assert not decision.cacheable


def test_one_failure_is_enough_for_a_vip() -> None:
    assert decide(standing(failed=0, level="platinum"), None, "unresolved").reason == (
        "failed_attempts"
    )
    assert decide(standing(failed=0, level="gold"), None, "unresolved").reason is None


def test_the_last_chance_turn_that_succeeds_does_not_hand_over_and_resets_the_count() -> None:
    decision = decide(standing(failed=THRESHOLD - 1), None, "resolved", KNOWLEDGE)
    assert decision.reason is None and decision.failed_attempts == 0
    assert decision.cacheable


@pytest.mark.parametrize("status", ["pending", "assigned", "resolved"])
def test_a_session_already_with_agents_is_not_queued_again_for_failures(status: str) -> None:
    assert decide(standing(failed=5, status=status), None, "unresolved").reason is None


def test_a_handover_the_plan_asked_for_wins_whatever_the_count() -> None:
    decision = decide(standing(failed=0), "explicit_request", "resolved", KNOWLEDGE)
    assert decision.reason == "explicit_request" and decision.escalate
    assert not decision.cacheable, "an answer that hands over is never served again"


def test_meta_before_the_answer_promises_a_handover_only_on_the_planned_outcome() -> None:
    before = decide(standing(failed=THRESHOLD - 1), None, "resolved")
    after = decide(standing(failed=THRESHOLD - 1), None, "unresolved", KNOWLEDGE)
    assert not before.escalate, "a planned answer is given its chance"
    assert after.reason == "failed_attempts", "an ungrounded answer still hands over"


def test_nothing_is_cached_before_the_answer_is_known() -> None:
    assert not decide(standing(failed=0), None, "resolved").cacheable


def test_an_answer_from_history_or_with_personal_data_is_not_cached() -> None:
    for answered in (
        replace(KNOWLEDGE, used_history=True),
        replace(KNOWLEDGE, question="Does card 4242 work for shipping?"),
        replace(KNOWLEDGE, grounding="flagged"),
    ):
        assert not decide(standing(failed=0), None, "resolved", answered).cacheable


@pytest.mark.parametrize(
    ("failed", "outcome", "after"),
    [(0, "unresolved", 1), (2, "unresolved", 3), (2, "resolved", 0), (2, "neutral", 2)],
)
def test_the_counter_rule(failed: int, outcome: str, after: int) -> None:
    assert failed_attempts_after(failed, outcome) == after  # type: ignore[arg-type]
