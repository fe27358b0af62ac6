"""Tracing as ops see it in a collector: one trace per turn across every process it crosses."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import API_KEY, HEADERS, StackFactory
from tests.support.fake_llm import wait_for
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan, running_otlp_receiver
from tests.support.stack import Stack

SHIPPING = "How long does standard shipping take, for my parcel to Lisbon?"
HUMAN = "I want to talk to a human agent about my parcel to Lisbon"


@pytest.fixture(scope="module")
def traced_stack(stack_factory: StackFactory) -> Iterator[tuple[Stack, OtlpReceiver]]:
    """A stack exporting every span to a receiver on loopback, in batches of 100 ms."""
    with running_otlp_receiver() as (url, receiver):
        stack = stack_factory(
            OTEL_EXPORTER_OTLP_ENDPOINT=url,
            OTEL_BSP_SCHEDULE_DELAY="100",
            LOG_FORMAT="json",
            RATE_LIMIT_PER_KEY="1000",  # on, as in production, for its script's span
        )
        yield stack, receiver


def _request_trace(receiver: OtlpReceiver, name: str, seen: set[str]) -> str:
    """The trace id of the one gateway request span called ``name`` not in ``seen``."""
    found: list[str] = []

    def arrived() -> bool:
        found[:] = [
            s.trace_id
            for s in receiver.snapshot()
            if s.service == "frontdesk-gateway" and s.name == name and s.trace_id not in seen
        ]
        return bool(found)

    assert wait_for(arrived, 30), f"no {name} span reached the receiver"
    assert len(found) == 1, found
    return found[0]


def _services_of(receiver: OtlpReceiver, trace_id: str, wanted: set[str]) -> set[str]:
    """The services with spans in the trace, once all of ``wanted`` are there (or 30 s)."""

    def services() -> set[str]:
        return {s.service for s in receiver.snapshot() if s.trace_id == trace_id}

    wait_for(lambda: wanted <= services(), 30)
    return services()


def _chat(stack: Stack, message: str) -> dict[str, object]:
    url = stack.of("gateway")[0].url
    response = httpx.post(f"{url}/api/v1/chat", json={"message": message}, headers=HEADERS)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _all_values(spans: list[ReceivedSpan]) -> str:
    return json.dumps([[s.name, s.attributes] for s in spans], default=str)


def test_a_knowledge_turn_is_one_trace_across_gateway_orchestrator_and_retriever(
    traced_stack: tuple[Stack, OtlpReceiver],
) -> None:
    stack, receiver = traced_stack
    seen = {s.trace_id for s in receiver.snapshot()}
    _chat(stack, SHIPPING)
    trace_id = _request_trace(receiver, "POST /api/v1/chat", seen)
    wanted = {"frontdesk-gateway", "frontdesk-orchestrator", "frontdesk-retriever"}
    assert _services_of(receiver, trace_id, wanted) == wanted
    spans = [s for s in receiver.snapshot() if s.trace_id == trace_id]
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_span_id not in ids]
    assert [r.name for r in roots] == ["POST /api/v1/chat"], "one root: the gateway's request"
    names = {s.name for s in spans}
    assert any(n.startswith("rpc ") and "retrieval" in n for n in names), names
    # The Redis scripts a turn waits on: the gateway's rate limit, the orchestrator's record.
    assert {"redis rate_limit.hit", "redis session.record_turn"} <= names, names
    # Spans name queues and sizes, never what the customer wrote.
    assert "Lisbon" not in _all_values(spans)


def test_a_hand_off_turn_reaches_the_escalation_worker_in_the_same_trace(
    traced_stack: tuple[Stack, OtlpReceiver],
) -> None:
    stack, receiver = traced_stack
    seen = {s.trace_id for s in receiver.snapshot()}
    body = _chat(stack, HUMAN)
    assert body["data"]["intent"] == "transfer_to_human"  # type: ignore[index]
    trace_id = _request_trace(receiver, "POST /api/v1/chat", seen)
    wanted = {"frontdesk-gateway", "frontdesk-orchestrator", "frontdesk-escalation"}
    assert wanted <= _services_of(receiver, trace_id, wanted)
    spans = [s for s in receiver.snapshot() if s.trace_id == trace_id]
    assert "Lisbon" not in _all_values(spans)
    # The worker's log line about the hand-off names its service and the turn's trace.
    log = stack.of("escalation")[0].log.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    created = [line for line in lines if line["msg"].startswith("escalation ")]
    assert [line["trace_id"] for line in created] == [trace_id], created
    assert {line["service"] for line in lines} == {"escalation"}


def test_a_websocket_key_in_the_query_never_reaches_a_trace(
    traced_stack: tuple[Stack, OtlpReceiver],
) -> None:
    stack, receiver = traced_stack
    seen = {s.trace_id for s in receiver.snapshot()}
    base = stack.of("gateway")[0].url.replace("http://", "ws://", 1)
    with connect(f"{base}/api/v1/ws/chat?api_key={API_KEY}", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "connection_established"
    trace_id = _request_trace(receiver, "HTTP /api/v1/ws/chat", seen)
    spans = [s for s in receiver.snapshot() if s.trace_id == trace_id]
    assert API_KEY not in _all_values(spans)


def test_turns_go_on_and_services_stop_promptly_once_the_collector_is_gone(
    stack_factory: StackFactory,
) -> None:
    with running_otlp_receiver() as (url, receiver):
        stack = stack_factory(OTEL_EXPORTER_OTLP_ENDPOINT=url, OTEL_BSP_SCHEDULE_DELAY="100")
        _chat(stack, SHIPPING)
        assert wait_for(lambda: bool(receiver.snapshot()), 30), "tracing was on"
    # The collector is down: spans are dropped, answers are not.
    for _ in range(3):
        assert _chat(stack, SHIPPING)["data"]["intent"] == "knowledge_qa"  # type: ignore[index]
    for process in stack.processes:
        process.popen.send_signal(signal.SIGTERM)
    for process in stack.processes:
        # A final flush to a dead collector must not hold up a drain (seen: about 0.2 s).
        process.popen.wait(timeout=30)
