"""Streams a customer can rely on: resume after a dropped connection on any gateway, stop an
answer part-way, and retry a request without getting a second turn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from tests.e2e.conftest import StackFactory, client_of, issue_key
from tests.support.fake_llm import llm_stats, wait_for
from tests.support.stack import Stack

# Each test asks its own question: an answered one would come from the hot cache.
RESUME_Q = {"message": "How do returns work for opened items?"}
STOP_Q = {"message": "What is the warranty on chargers?"}
RETRY_Q = {"message": "How long does express shipping take?"}
NDJSON_Q = {"message": "How do I track my parcel?"}
QUEUED_Q = {"message": "Can I return a gift without the receipt?"}
BUSY_Q = {"message": "Is there a warranty on cables?"}
NDJSON = {"Accept": "application/x-ndjson"}
Event = tuple[str | None, str, dict[str, Any]]  # (id, event, data)


@pytest.fixture(scope="module")
def slow_llm(stack_factory: StackFactory) -> str:
    """A model slow enough (40 tokens at 20/s) to interrupt mid-answer."""
    return stack_factory.fake_llm(20, 40)


@pytest.fixture(scope="module")
def stack(slow_llm: str, stack_factory: StackFactory) -> Stack:
    return stack_factory(
        gateways=2,
        llm=slow_llm,
        TOKEN_FLUSH_MS="100",
        RESUME_GRACE_SECONDS="3",
        TURN_PREFETCH="1",  # one turn at a time, so a second one waits in the queue
    )


@pytest.fixture
def first(stack: Stack) -> Iterator[httpx.Client]:
    with client_of(stack, 0) as c:
        yield c


@pytest.fixture
def second(stack: Stack) -> Iterator[httpx.Client]:
    with client_of(stack, 1) as c:
        yield c


def _read(source: Any, stop_after_tokens: int | None = None) -> list[Event]:
    events: list[Event] = []
    for sse in source.iter_sse():
        events.append((sse.id or None, sse.event, json.loads(sse.data)))
        tokens = sum(1 for _, name, _ in events if name == "token")
        if stop_after_tokens is not None and tokens >= stop_after_tokens:
            break  # closes the connection, as a phone losing signal would
    return events


def _text(events: list[Event]) -> str:
    return "".join(data["content"] for _, name, data in events if name == "token")


def _last_assistant_message(client: httpx.Client, session_id: str) -> dict[str, Any]:
    page = client.get(f"/api/v1/sessions/{session_id}/messages", params={"order": "desc"}).json()
    return next(m for m in page["messages"] if m["role"] == "assistant")


def test_a_dropped_stream_resumes_on_another_gateway_at_the_exact_next_token(
    first: httpx.Client, second: httpx.Client, slow_llm: str
) -> None:
    cancelled = llm_stats(slow_llm)["cancelled"]
    with connect_sse(first, "POST", "/api/v1/chat/stream", json=RESUME_Q) as source:
        turn_id = source.response.headers["x-turn-id"]
        session_id = source.response.headers["x-session-id"]
        before = _read(source, stop_after_tokens=3)
    last_id = before[-1][0]
    assert last_id == f"{turn_id}:{len(before)}", "ids number the turn's events from 1"

    with connect_sse(
        second, "GET", f"/api/v1/turns/{turn_id}/events", headers={"Last-Event-ID": last_id}
    ) as source:
        assert source.response.status_code == 200
        after = _read(source)

    # The final metrics event has no id of its own (SSE readers repeat the last one).
    ids = [event_id for event_id, name, _ in before + after if name != "metrics"]
    assert ids == [f"{turn_id}:{n}" for n in range(1, len(ids) + 1)], "no gap, no repeat"
    done = next(data for _, name, data in after if name == "done")
    assert _text(before) + _text(after) == done["answer"]
    assert len(done["answer"].split()) == 40, "the whole answer, though the client dropped"
    assert not done["stopped"]
    assert llm_stats(slow_llm)["cancelled"] == cancelled, "a resumed turn is not cancelled"
    assert _last_assistant_message(first, session_id)["content"] == done["answer"]


def test_stop_cancels_the_llm_call_and_keeps_the_partial_answer(
    first: httpx.Client, slow_llm: str
) -> None:
    cancelled = llm_stats(slow_llm)["cancelled"]
    with connect_sse(first, "POST", "/api/v1/chat/stream", json=STOP_Q) as source:
        turn_id = source.response.headers["x-turn-id"]
        session_id = source.response.headers["x-session-id"]
        events: list[Event] = []
        for sse in source.iter_sse():
            events.append((sse.id, sse.event, json.loads(sse.data)))
            if sse.event == "token" and len(events) == 2:  # the customer presses stop
                stop = first.post(f"/api/v1/turns/{turn_id}/stop")
                assert stop.status_code == 202 and stop.json()["status"] == "stopping"

    done = next(data for _, name, data in events if name == "done")
    assert done["stopped"] is True
    assert done["answer"] == _text(events)
    assert 0 < len(done["answer"].split()) < 40, "generation ended early"
    assert wait_for(lambda: llm_stats(slow_llm)["cancelled"] >= cancelled + 1)
    saved = _last_assistant_message(first, session_id)
    assert saved["stopped"] is True and saved["content"] == done["answer"]


def test_a_retried_stream_replays_the_first_turn_instead_of_starting_another(
    first: httpx.Client, second: httpx.Client, slow_llm: str
) -> None:
    requests = llm_stats(slow_llm)["requests"]
    retry = {"Idempotency-Key": "retry-stream-1"}
    with connect_sse(first, "POST", "/api/v1/chat/stream", json=RETRY_Q, headers=retry) as src:
        session_id = src.response.headers["x-session-id"]
        dropped = _read(src, stop_after_tokens=1)  # the network fails; the app retries
    with connect_sse(second, "POST", "/api/v1/chat/stream", json=RETRY_Q, headers=retry) as src:
        replayed = _read(src)

    done = next(data for _, name, data in replayed if name == "done")
    assert replayed[: len(dropped)] == dropped, "the retry starts with the same events"
    assert _text(replayed) == done["answer"] and len(done["answer"].split()) == 40
    assert done["turn_count"] == 1
    assert first.get(f"/api/v1/sessions/{session_id}").json()["turn_count"] == 1
    assert llm_stats(slow_llm)["requests"] == requests + 1, "one LLM call for both requests"


def test_another_tenant_can_neither_resume_nor_stop_a_turn(
    first: httpx.Client, stack: Stack
) -> None:
    with connect_sse(first, "POST", "/api/v1/chat/stream", json={"message": "hi"}) as source:
        turn_id = source.response.headers["x-turn-id"]
        _read(source)
    stranger = {"X-API-Key": issue_key(stack, "globex", "client")}
    gateway = stack.of("gateway")[0].url
    assert httpx.post(f"{gateway}/api/v1/turns/{turn_id}/stop", headers=stranger).status_code == 404
    resumed = httpx.get(f"{gateway}/api/v1/turns/{turn_id}/events", headers=stranger)
    assert resumed.status_code == 404
    assert first.get(f"/api/v1/turns/{turn_id}/events").status_code == 200


def test_ndjson_read_with_plain_httpx_streams_and_resumes(
    first: httpx.Client, second: httpx.Client
) -> None:
    lines: list[dict[str, Any]] = []
    with first.stream("POST", "/api/v1/chat/stream", json=NDJSON_Q, headers=NDJSON) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        turn_id = response.headers["x-turn-id"]
        for line in response.iter_lines():
            lines.append(json.loads(line))
            if sum(1 for seen in lines if seen["event"] == "token") == 2:
                break
    after = int(lines[-1]["id"].rpartition(":")[2])
    with second.stream(
        "GET", f"/api/v1/turns/{turn_id}/events", params={"after": after}, headers=NDJSON
    ) as response:
        lines += [json.loads(line) for line in response.iter_lines() if line]

    assert [line["event"] for line in lines][-2:] == ["done", "metrics"]
    ids = [line["id"] for line in lines[:-1]]
    assert ids == [f"{turn_id}:{n}" for n in range(1, len(ids) + 1)]
    tokens = "".join(line["data"]["content"] for line in lines if line["event"] == "token")
    assert tokens == lines[-2]["data"]["answer"]


def test_a_turn_stopped_while_still_queued_never_reaches_the_llm(
    first: httpx.Client, second: httpx.Client, slow_llm: str
) -> None:
    requests = llm_stats(slow_llm)["requests"]
    with connect_sse(
        first,
        "POST",
        "/api/v1/chat/stream",
        json=BUSY_Q,
    ) as running:
        _read(running, stop_after_tokens=1)  # the only worker slot is busy with this turn
        with connect_sse(second, "POST", "/api/v1/chat/stream", json=QUEUED_Q) as queued:
            turn_id = queued.response.headers["x-turn-id"]
            assert second.post(f"/api/v1/turns/{turn_id}/stop").status_code == 202
            events = _read(queued)
    done = next(data for _, name, data in events if name == "done")
    assert done["stopped"] is True and done["answer"] == ""
    assert llm_stats(slow_llm)["requests"] == requests + 1, "only the running turn called it"
