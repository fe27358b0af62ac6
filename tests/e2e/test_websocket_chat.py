"""Chat over a WebSocket as a browser widget would use it: one socket, many streamed turns."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import API_KEY, HEADERS, StackFactory
from tests.support.fake_llm import llm_stats, wait_for
from tests.support.stack import Stack

SHIPPING = "How long does standard shipping take?"
Frame = dict[str, Any]


def _url(stack: Stack, query: str = "") -> str:
    base = stack.of("gateway")[0].url.replace("http://", "ws://", 1)
    return f"{base}/api/v1/ws/chat{query}"


def _open(url: str, headers: dict[str, str] | None = HEADERS) -> ClientConnection:
    return connect(url, additional_headers=headers, open_timeout=10)


def _recv(ws: ClientConnection) -> Frame:
    frame: Frame = json.loads(ws.recv(timeout=60))
    return frame


def _established(ws: ClientConnection) -> Frame:
    frame = _recv(ws)
    assert frame["type"] == "connection_established", frame
    return frame


def _ask(ws: ClientConnection, message: str, **fields: Any) -> list[Frame]:
    """Send one message; the frames up to its end or error."""
    ws.send(json.dumps({"type": "message", "message": message, **fields}))
    frames = [_recv(ws)]
    while frames[-1]["type"] not in ("message_stream_ended", "error"):
        frames.append(_recv(ws))
    return frames


def _closed_with(ws: ClientConnection) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


def test_a_message_streams_its_answer_with_metrics_and_lands_in_the_history(stack: Stack) -> None:
    with _open(_url(stack)) as ws:
        hello = _established(ws)
        assert hello["connection_id"] and hello["tenant_id"]
        frames = _ask(ws, SHIPPING, user_id="ws-user", channel="web")

    types = [f["type"] for f in frames]
    assert types[:2] == ["message_received", "message_stream_started"], types
    assert types[-1] == "message_stream_ended", frames[-1]
    assert set(types[2:-1]) == {"message_stream_token"}, types
    received, started, ended = frames[0], frames[1], frames[-1]
    assert received["message_id"] and received["session_id"] == ended["session_id"]
    assert started["intent"] == ended["intent"] and isinstance(started["sources"], list)
    answer = "".join(f["content"] for f in frames[2:-1])
    assert answer and ended["answer"] == answer and "shipping" in answer.lower()
    assert ended["turn_count"] >= 1 and ended["escalate_to_human"] is False
    metrics = ended["metrics"]
    assert metrics["output_tokens"] > 0
    assert metrics["total_ms"] >= metrics["time_to_first_token_ms"] >= 0

    with httpx.Client(base_url=stack.of("gateway")[1].url, headers=HEADERS, timeout=30) as http:
        page = http.get(f"/api/v1/sessions/{ended['session_id']}/messages").json()
    assert [m["content"] for m in page["messages"] if m["role"] == "assistant"] == [answer]


def test_one_socket_carries_a_conversation_across_turns(stack: Stack) -> None:
    session = f"ws-conv-{time.time_ns()}"
    with _open(_url(stack)) as ws:
        _established(ws)
        first = _ask(ws, "Can I return an opened item?", session_id=session)
        second = _ask(ws, "How long does the refund take?", session_id=session)
    assert first[-1]["type"] == second[-1]["type"] == "message_stream_ended", second[-1]
    assert (first[-1]["turn_count"], second[-1]["turn_count"]) == (1, 2)
    assert first[0]["message_id"] != second[0]["message_id"]
    assert second[-1]["session_id"] == session


def test_bad_frames_get_an_error_and_the_socket_keeps_answering(stack: Stack) -> None:
    with _open(_url(stack)) as ws:
        _established(ws)
        ws.send("this is not json")
        assert _recv(ws) == {"type": "error", "code": 400, "message": "Frame is not valid JSON"}
        ws.send(json.dumps({"type": "subscribe"}))
        assert _recv(ws)["code"] == 400
        empty = _ask(ws, "")
        assert empty[-1]["code"] == 422 and "message" in empty[-1]["message"], empty
        blank = _ask(ws, "   ")
        assert blank[-1]["code"] == 422, blank
        unknown_field = _ask(ws, "Hello", colour="blue")
        assert unknown_field[-1]["code"] == 422, unknown_field
        ws.send(json.dumps({"type": "ping"}))
        assert _recv(ws) == {"type": "pong"}
        after = _ask(ws, SHIPPING)
    assert after[-1]["type"] == "message_stream_ended" and after[-1]["answer"], after[-1]


def test_a_socket_without_a_valid_key_is_refused_but_the_query_key_works(stack: Stack) -> None:
    for headers in (None, {"X-API-Key": "wrong"}):
        with _open(_url(stack), headers) as ws:
            refused = _recv(ws)
            assert refused["type"] == "error" and refused["code"] == 401, refused
            assert _closed_with(ws) == 4401

    with _open(_url(stack, f"?api_key={API_KEY}"), None) as ws:
        _established(ws)
        ws.send(json.dumps({"type": "ping"}))
        assert _recv(ws) == {"type": "pong"}


@pytest.fixture(scope="module")
def slow_llm(stack_factory: StackFactory) -> str:
    """A model slow enough (40 tokens at 20/s) to walk away from mid-answer."""
    return stack_factory.fake_llm(20, 40)


@pytest.fixture(scope="module")
def limited(slow_llm: str, stack_factory: StackFactory) -> Stack:
    """A stack with that model, 2 messages a second per socket and 2 sockets per tenant."""
    return stack_factory(llm=slow_llm, WS_MESSAGES_PER_SECOND="2", MAX_CONNECTIONS_PER_TENANT="2")


def test_a_burst_of_messages_is_throttled_without_dropping_the_socket(limited: Stack) -> None:
    with _open(_url(limited)) as ws:
        _established(ws)
        for _ in range(5):
            ws.send(json.dumps({"type": "message", "message": SHIPPING}))
        outcomes: list[Frame] = []
        while len(outcomes) < 5:
            frame = _recv(ws)
            if frame["type"] in ("message_stream_ended", "error"):
                outcomes.append(frame)
        throttled = [f for f in outcomes if f["type"] == "error"]
        assert all(f["code"] == 429 and f["retry_after_ms"] > 0 for f in throttled), throttled
        assert len(throttled) >= 1 and len(outcomes) - len(throttled) >= 1, outcomes
        time.sleep(1.1)
        assert _ask(ws, SHIPPING)[-1]["type"] == "message_stream_ended"


def test_the_tenant_connection_cap_refuses_a_third_socket_until_one_closes(
    limited: Stack,
) -> None:
    url = _url(limited)
    with _open(url) as first, _open(url) as second:
        _established(first)
        _established(second)
        with _open(url) as third:
            refused = _recv(third)
            assert refused["type"] == "error" and refused["code"] == 429, refused
            assert _closed_with(third) == 4429
        first.close()
        deadline = time.monotonic() + 10
        while True:  # the gateway frees the slot once it sees the close
            with _open(url) as again:
                frame = _recv(again)
                if frame["type"] == "connection_established":
                    break
            assert time.monotonic() < deadline, frame
            time.sleep(0.2)
        second.send(json.dumps({"type": "ping"}))
        assert _recv(second) == {"type": "pong"}


def test_closing_the_socket_mid_answer_cancels_the_turn(limited: Stack, slow_llm: str) -> None:
    cancelled = llm_stats(slow_llm)["cancelled"]
    with _open(_url(limited)) as ws:
        _established(ws)
        ws.send(json.dumps({"type": "message", "message": "What is the warranty on chargers?"}))
        tokens = 0
        while tokens < 2:
            frame = _recv(ws)
            assert frame["type"] not in ("message_stream_ended", "error"), frame
            tokens += frame["type"] == "message_stream_token"
    assert wait_for(lambda: llm_stats(slow_llm)["cancelled"] >= cancelled + 1)
