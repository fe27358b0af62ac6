"""The LLM adapter's own logic: the circuit breaker, and reading a streamed completion."""

from __future__ import annotations

import pytest

from shared.errors import DependencyUnavailable
from shared.llm import CircuitBreaker, CircuitOpen, delta_text


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


def test_a_streamed_line_gives_its_text_and_nothing_else() -> None:
    assert delta_text('data: {"choices": [{"delta": {"content": "Hi"}}]}') == "Hi"
    assert delta_text('data: {"choices": [{"delta": {"role": "assistant"}}]}') == ""
    assert delta_text('data: {"choices": []}') == ""
    assert delta_text("data: [DONE]") == ""
    assert delta_text(": keep-alive") == ""


@pytest.mark.parametrize(
    "line", ['data: {"error": {"message": "overloaded"}}', "data: {not json", "data: [1, 2]"]
)
def test_an_error_or_garbage_inside_the_stream_fails_the_call(line: str) -> None:
    with pytest.raises(DependencyUnavailable):
        delta_text(line)
