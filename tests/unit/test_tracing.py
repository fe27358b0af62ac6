"""Tracing stays off, adding nothing to any message or request, unless ops ask for it."""

from __future__ import annotations

import pytest

from shared import tracing


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*tracing.ENDPOINT_VARIABLES, "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)


def test_without_an_endpoint_tracing_is_off_and_the_broker_gets_no_middleware() -> None:
    assert tracing.configure_tracing("gateway") is False
    assert tracing.broker_middlewares() == ()
    assert tracing.current_trace_id() is None


@pytest.mark.parametrize("variable", tracing.ENDPOINT_VARIABLES)
def test_either_standard_endpoint_variable_asks_for_tracing(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://127.0.0.1:4318")
    assert tracing.tracing_requested()


def test_the_sdk_switch_wins_over_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.tracing_requested()
