"""The distributed stack with an LLM: a fake OpenAI-compatible server that streams, fails and
is cancelled, so we can see what customers would see."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.e2e.conftest import HEADERS, StackFactory, client_of
from tests.support.fake_llm import llm_stats, wait_for
from tests.support.sse import stream_events
from tests.support.stack import Stack

LLM_CAP = 2


@pytest.fixture(scope="module")
def fake_llm(stack_factory: StackFactory) -> str:
    return stack_factory.fake_llm(20, 40)


@pytest.fixture(scope="module")
def llm_stack(fake_llm: str, stack_factory: StackFactory) -> Stack:
    return stack_factory(
        orchestrators=2,
        llm=fake_llm,
        MAX_CONCURRENT_LLM_CALLS=str(LLM_CAP),
        TOKEN_FLUSH_MS="200",
        TURN_TIMEOUT_SECONDS="3",
        LLM_BREAKER_FAILURES="2",
        LLM_BREAKER_COOLDOWN_SECONDS="2",
        RESUME_GRACE_SECONDS="1",
    )


@pytest.fixture
def llm_client(llm_stack: Stack) -> Iterator[httpx.Client]:
    with client_of(llm_stack) as c:
        yield c


@pytest.fixture(autouse=True)
def normal_llm(fake_llm: str) -> Iterator[None]:
    httpx.post(f"{fake_llm}/_control", json={"mode": "normal"})
    yield
    httpx.post(f"{fake_llm}/_control", json={"mode": "normal"})


def test_answer_streams_from_the_llm(llm_client: httpx.Client, fake_llm: str) -> None:
    before = llm_stats(fake_llm)["completed"]
    response, events = stream_events(llm_client, {"message": "What is the warranty on chargers?"})
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-2:] == ["done", "metrics"]
    assert "WarrantyAndRepairs.md" in events[0][1]["sources"]
    tokens = "".join(d["content"] for n, d in events if n == "token")
    assert events[-2][1]["answer"] == tokens
    assert len(tokens.split()) == 40  # every token the model produced reached the client
    # Coalescing: 40 tokens over 2 s with a 200 ms window arrive in far fewer events.
    assert 2 <= names.count("token") <= 20
    assert llm_stats(fake_llm)["completed"] == before + 1


def test_client_disconnect_cancels_the_llm_call(llm_stack: Stack, fake_llm: str) -> None:
    before = llm_stats(fake_llm)["cancelled"]
    gateway = llm_stack.of("gateway")[0].url
    with httpx.Client(base_url=gateway, headers=HEADERS, timeout=30) as http:
        with http.stream(
            "POST", "/api/v1/chat/stream", json={"message": "How do returns work for opened items?"}
        ) as response:
            turn_id = response.headers["x-turn-id"]
            for line in response.iter_lines():
                if line.startswith("event: token"):
                    break  # the customer closes the tab mid-answer
        assert wait_for(lambda: llm_stats(fake_llm)["cancelled"] >= before + 1)
        # Nobody resumed within the grace period; a late resume learns why the answer stops.
        _, events = stream_events(http, {}, path=f"/api/v1/turns/{turn_id}/events")
    assert events[-1][0] == "error" and "cancelled" in events[-1][1]["message"]


def test_llm_cap_answers_429_before_publishing(llm_stack: Stack, fake_llm: str) -> None:
    gateway = llm_stack.of("gateway")[0].url
    open_streams = []  # dropping a line iterator closes its connection, so keep them
    with ExitStack() as held:
        for n in range(LLM_CAP):
            http = held.enter_context(httpx.Client(base_url=gateway, headers=HEADERS, timeout=30))
            response = held.enter_context(
                http.stream(
                    "POST",
                    "/api/v1/chat/stream",
                    json={"message": f"How long do refunds take? {n}"},
                )
            )
            lines = response.iter_lines()
            open_streams.append(lines)
            next(line for line in lines if line.startswith("event: meta"))
        refused = httpx.post(
            f"{gateway}/api/v1/chat",
            headers=HEADERS,
            json={"message": "How long do refunds take? extra"},
            timeout=30,
        )
        assert refused.status_code == 429
        assert refused.json() == {"detail": "Too many requests, please retry later"}
        assert int(refused.headers["retry-after"]) >= 1
    # Closing the held streams gives the capacity back.
    assert wait_for(
        lambda: (
            httpx.post(
                f"{gateway}/api/v1/chat",
                headers=HEADERS,
                timeout=30,
                json={"message": "How long do refunds take? after"},
            ).status_code
            == 200
        )
    )


def test_llm_outage_uses_fallback_phrasing(llm_client: httpx.Client, fake_llm: str) -> None:
    httpx.post(f"{fake_llm}/_control", json={"mode": "error"})
    body = llm_client.post("/api/v1/chat", json={"message": "Can I pay with WeChat Pay?"})
    assert body.status_code == 200
    reply = body.json()["reply"]
    assert reply.startswith("I'm having trouble composing a full answer right now.")
    assert "WeChat Pay" in reply  # still grounded in the help centre
    assert body.json()["data"]["failed_attempts"] == 1


def test_a_stalled_llm_times_out_with_a_clear_error(
    llm_client: httpx.Client, fake_llm: str
) -> None:
    httpx.post(f"{fake_llm}/_control", json={"mode": "stall", "stall_seconds": 6})
    before = llm_stats(fake_llm)["cancelled"]
    sync = llm_client.post("/api/v1/chat", json={"message": "How do I claim warranty? sync"})
    assert sync.status_code == 504
    assert sync.json() == {"detail": "The assistant did not answer within 3 seconds"}

    response, events = stream_events(llm_client, {"message": "How do I claim warranty? stream"})
    assert response.status_code == 200
    assert [name for name, _ in events] == ["meta", "error"]
    assert "did not answer within 3 seconds" in events[-1][1]["message"]
    # Both abandoned turns were cancelled upstream too, not left running.
    assert wait_for(lambda: llm_stats(fake_llm)["cancelled"] >= before + 2)


def test_a_worker_killed_mid_turn_fails_the_turn_cleanly(
    llm_stack: Stack, llm_client: httpx.Client
) -> None:
    session_id = f"sess-kill-{int(time.time() * 1000)}"
    with llm_client.stream(
        "POST",
        "/api/v1/chat/stream",
        json={"message": "How do I reset my password?", "session_id": session_id},
    ) as response:
        lines = response.iter_lines()
        next(line for line in lines if line.startswith("event: token"))
        # Kill -9 whichever orchestrator is running this turn (its log names the session).
        victim = next(p for p in llm_stack.of("orchestrator") if session_id in p.log.read_text())
        victim.popen.kill()
        rest = list(lines)
    assert "event: error" in rest
    assert any("interrupted" in line for line in rest)
    llm_stack.processes.remove(victim)
    # The interrupted turn was never written: the next turn of the session is its first.
    again = llm_client.post("/api/v1/chat", json={"message": "Thanks!", "session_id": session_id})
    assert again.json()["data"]["turn_count"] == 1
    llm_stack.start("orchestrator")
    llm_stack.wait_ready()


def test_breaker_opens_on_repeated_failures_and_closes_on_recovery(
    llm_client: httpx.Client, fake_llm: str
) -> None:
    httpx.post(f"{fake_llm}/_control", json={"mode": "error"})
    open_seen = False
    for n in range(12):  # each orchestrator opens its own breaker after 2 failures
        before = llm_stats(fake_llm)["requests"]
        body = llm_client.post("/api/v1/chat", json={"message": f"Do you sell gift cards? {n}"})
        assert body.json()["reply"].startswith("I'm having trouble")
        if llm_stats(fake_llm)["requests"] == before:
            open_seen = True  # answered with fallback phrasing without calling the model
            break
    assert open_seen
    httpx.post(f"{fake_llm}/_control", json={"mode": "normal"})
    time.sleep(2.5)  # the cooldown: the next call is a trial that closes the breaker
    recovered = False
    for n in range(8):
        reply = llm_client.post("/api/v1/chat", json={"message": f"Gift card limits? {n}"})
        if not reply.json()["reply"].startswith("I'm having trouble"):
            recovered = True
            break
    assert recovered
