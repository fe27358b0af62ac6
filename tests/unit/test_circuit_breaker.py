"""The LLM circuit breaker opens on repeated failures and closes when the LLM recovers."""

from __future__ import annotations

import pytest

from shared.llm import CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_and_recovers_after_a_good_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown_seconds=30, clock=clock)
    for _ in range(2):
        breaker.check()
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen):
        breaker.check()
    clock.now = 31
    assert breaker.state == "half_open"
    breaker.check()  # the trial call is let through...
    with pytest.raises(CircuitOpen):
        breaker.check()  # ...but only one at a time
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.check()


def test_failed_trial_reopens() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown_seconds=10, clock=clock)
    breaker.record_failure()
    clock.now = 11
    breaker.check()
    breaker.record_failure()
    assert breaker.state == "open"
