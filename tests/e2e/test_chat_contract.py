"""The seed chat contract, driven over HTTP against the distributed stack."""

from __future__ import annotations

import re
import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import HEADERS
from tests.support.sse import stream_events
from tests.support.stack import Stack


def _metric(base_url: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{base_url}/metrics", headers=HEADERS, timeout=5).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_sync_turn_answers_with_every_seed_field(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/chat",
        json={
            "message": "How much does express shipping cost?",
            "channel": "web",
            "user_id": "u-1",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"session_id", "reply", "status", "data"}
    assert body["status"] == "ok"
    assert body["session_id"].startswith("sess-")
    assert "14.99" in body["reply"]
    data = body["data"]
    assert set(data) >= {
        "intent",
        "sources",
        "escalate_to_human",
        "escalation_card",
        "turn_count",
        "failed_attempts",
        "emotion_score",
        "sub_tasks",
    }
    assert data["intent"] == "knowledge_qa"
    assert "ShippingGuide.md" in data["sources"]
    assert data["escalate_to_human"] is False
    assert data["escalation_card"] is None
    assert data["turn_count"] == 1
    assert data["failed_attempts"] == 0
    assert 0.0 <= data["emotion_score"] <= 1.0
    assert data["sub_tasks"] == []


def test_stream_sends_meta_then_tokens_then_done(client: httpx.Client) -> None:
    response, events = stream_events(client, {"message": "Which payment methods do you accept?"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    names = [name for name, _ in events]
    assert names[0] == "meta"
    assert names[-2:] == ["done", "metrics"]
    assert set(names[1:-2]) == {"token"}
    meta, done, metrics = events[0][1], events[-2][1], events[-1][1]
    assert meta["intent"] == "knowledge_qa"
    assert "PaymentMethods.md" in meta["sources"]
    assert meta["escalate"] is False
    tokens = "".join(data["content"] for name, data in events if name == "token")
    assert done["answer"] == tokens
    assert "card" in tokens.lower()
    assert done["turn_count"] == 1
    assert done["escalate"] is False
    # List bullets ("- ") are no words.
    assert metrics["output_tokens"] >= len([w for w in tokens.split() if w.strip("-")])
    assert 0 <= metrics["time_to_first_token_ms"] <= metrics["total_ms"]


def test_three_turns_in_one_session_count_up(client: httpx.Client) -> None:
    session_id = f"sess-{uuid.uuid4().hex}"
    messages = ["Hello!", "How do I reset my password?", "Thanks, bye"]
    counts = []
    for message in messages:
        body = client.post("/api/v1/chat", json={"message": message, "session_id": session_id})
        assert body.status_code == 200
        assert body.json()["session_id"] == session_id
        counts.append(body.json()["data"]["turn_count"])
    assert counts == [1, 2, 3]


def test_repeated_knowledge_question_is_served_from_the_cache(
    client: httpx.Client, stack: Stack
) -> None:
    gateway = stack.of("gateway")[0].url
    # A fixed question (random suffixes can sway the intent model); start from a cold cache.
    question = "What is the return window for opened electronics?"
    client.post("/api/v1/performance/cache/invalidate").raise_for_status()
    hits_before = _metric(gateway, "frontdesk_cache_lookups_total", outcome="hit")
    first = client.post("/api/v1/chat", json={"message": question}).json()
    turns_after_first = sum(
        _metric(o.url, "frontdesk_turns_total") for o in stack.of("orchestrator")
    )
    second = client.post("/api/v1/chat", json={"message": question.upper() + "?"}).json()

    assert first["data"]["intent"] == "knowledge_qa" and first["data"]["sources"]
    assert second["reply"] == first["reply"]
    assert second["data"]["sources"] == first["data"]["sources"]
    assert _metric(gateway, "frontdesk_cache_lookups_total", outcome="hit") == hits_before + 1
    # No orchestrator saw the second turn: it never left the gateway.
    assert (
        sum(_metric(o.url, "frontdesk_turns_total") for o in stack.of("orchestrator"))
        == turns_after_first
    )


def test_cache_hit_is_a_turn_of_the_session(client: httpx.Client) -> None:
    question = f"Do gift cards expire? {uuid.uuid4().hex[:6]}"
    first = client.post("/api/v1/chat", json={"message": question}).json()
    again = client.post(
        "/api/v1/chat", json={"message": question, "session_id": first["session_id"]}
    ).json()
    assert again["data"]["turn_count"] == 2


def test_cache_invalidation_forces_a_fresh_answer(client: httpx.Client, stack: Stack) -> None:
    gateway = stack.of("gateway")[0].url
    question = f"How long do refunds take? {uuid.uuid4().hex[:6]}"
    client.post("/api/v1/chat", json={"message": question})
    assert client.post("/api/v1/performance/cache/invalidate").status_code == 200
    hits_before = _metric(gateway, "frontdesk_cache_lookups_total", outcome="hit")
    client.post("/api/v1/chat", json={"message": question})
    assert _metric(gateway, "frontdesk_cache_lookups_total", outcome="hit") == hits_before


def test_unanswerable_questions_raise_failed_attempts_then_escalate(client: httpx.Client) -> None:
    session_id = f"sess-{uuid.uuid4().hex}"
    results = [
        client.post("/api/v1/chat", json={"message": message, "session_id": session_id}).json()
        for message in ("xylophone quantum zebra", "flibbertigibbet wombat", "qwzx plorb")
    ]
    assert [r["data"]["failed_attempts"] for r in results[:2]] == [1, 2]
    assert "couldn't find relevant content" in results[0]["reply"]
    assert results[2]["data"]["escalate_to_human"] is True
    assert results[2]["data"]["escalation_card"]["reason"] == "failed_attempts"


def test_both_gateways_serve_turns(stack: Stack) -> None:
    for gateway in stack.of("gateway"):
        with httpx.Client(base_url=gateway.url, headers=HEADERS, timeout=30) as http:
            response, events = stream_events(http, {"message": "How do I cancel my order?"})
            assert response.status_code == 200
            assert [name for name, _ in events][-2:] == ["done", "metrics"]


def test_two_orchestrators_both_take_turns(stack: Stack) -> None:
    orchestrators = stack.of("orchestrator")
    assert len(orchestrators) == 2
    before = [_metric(o.url, "frontdesk_turns_total") for o in orchestrators]
    with httpx.Client(base_url=stack.of("gateway")[0].url, headers=HEADERS, timeout=30) as http:
        for n in range(12):
            reply = http.post("/api/v1/chat", json={"message": f"What is your warranty? #{n}"})
            assert reply.status_code == 200
    after = [_metric(o.url, "frontdesk_turns_total") for o in orchestrators]
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)


def test_session_id_header_on_stream(client: httpx.Client) -> None:
    response, _ = stream_events(client, {"message": "hi"})
    assert re.fullmatch(r"sess-[0-9a-f]{32}", response.headers["x-session-id"])


def test_a_retried_request_with_an_idempotency_key_is_one_turn(client: httpx.Client) -> None:
    session_id = f"sess-{uuid.uuid4().hex}"
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"message": "How do I reset my password?", "session_id": session_id}
    first = client.post("/api/v1/chat", json=body, headers=key)
    retry = client.post("/api/v1/chat", json=body, headers=key)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert first.json()["data"]["turn_count"] == 1
    history = client.get(f"/api/v1/sessions/{session_id}/messages").json()
    assert history["total"] == 2  # one question, one answer: the retry added nothing
    other = client.post("/api/v1/chat", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert other.json()["data"]["turn_count"] == 2
