"""Embedded mode: the same handlers in one process over the in-memory transport and store."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.embedded import create_app
from shared.settings import Settings

HEADERS = {"X-API-Key": "test-key-0123456789"}


@pytest.fixture
def client(embedded_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(embedded_settings), headers=HEADERS) as http:
        yield http


def _events(raw: str) -> list[tuple[str, dict]]:
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_sync_knowledge_answer_cites_its_source(client: TestClient) -> None:
    body = client.post("/api/v1/chat", json={"message": "How much does express shipping cost?"})
    assert body.status_code == 200
    data = body.json()
    assert "$14.99" in data["reply"]
    assert data["data"]["sources"][0] == "ShippingGuide.md"
    assert data["data"]["turn_count"] == 1


def test_stream_order_and_answer(client: TestClient) -> None:
    response = client.post("/api/v1/chat/stream", json={"message": "Can I pay with PayPal?"})
    events = _events(response.text)
    assert [e for e, _ in events][0] == "meta" and [e for e, _ in events][-2:] == [
        "done",
        "metrics",
    ]
    tokens = "".join(d["content"] for e, d in events if e == "token")
    assert events[-2][1]["answer"] == tokens
    assert events[-1][1]["output_tokens"] >= 1


def test_order_number_is_remembered_across_turns(client: TestClient) -> None:
    first = client.post("/api/v1/chat", json={"message": "I want to check my order status"})
    session = first.json()["session_id"]
    assert "order number" in first.json()["reply"]
    second = client.post(
        "/api/v1/chat", json={"message": "The order number is ORD-2024-001", "session_id": session}
    )
    assert "ORD-2024-001" in second.json()["reply"]
    third = client.post(
        "/api/v1/chat", json={"message": "Where is its shipment now?", "session_id": session}
    )
    assert third.json()["data"]["intent"] == "business_query"
    assert "ORD-2024-001" in third.json()["reply"]
    assert third.json()["data"]["turn_count"] == 3


def test_human_request_gets_a_card(client: TestClient) -> None:
    data = client.post("/api/v1/chat", json={"message": "转人工"}).json()["data"]
    assert data["escalate_to_human"] is True
    assert data["escalation_card"]["reason"] == "explicit_request"


def test_ticket_request_returns_the_ticket_id(client: TestClient) -> None:
    body = client.post(
        "/api/v1/chat", json={"message": "Please open a ticket for my broken kettle"}
    )
    card = body.json()["data"]["escalation_card"]
    assert card["reason"] == "ticket"
    assert card["ticket_id"] in body.json()["reply"]


def test_angry_customer_is_handed_over(client: TestClient) -> None:
    body = client.post(
        "/api/v1/chat",
        json={"message": "This is the third time I'm asking, your service is useless!!"},
    ).json()
    assert body["data"]["intent"] == "emotion_sensitive"
    assert body["data"]["escalate_to_human"] is True
    assert body["data"]["escalation_card"]["reason"] == "negative_emotion"
    assert body["reply"].startswith("I'm sorry")


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"message": ""}}, 422),
        ({"json": {"message": "hi", "channel": "fax"}}, 422),
        ({"json": {"message": "hi", "extra": 1}}, 422),
        ({"content": b"{nope", "headers": {"content-type": "application/json"}}, 400),
        ({"content": b"x" * 70_000, "headers": {"content-type": "application/json"}}, 413),
    ],
)
def test_bad_input_is_a_clear_4xx(client: TestClient, kwargs: dict, status: int) -> None:
    response = client.post("/api/v1/chat", **kwargs)
    assert response.status_code == status
    assert response.json()["detail"]


def test_wrong_key(client: TestClient) -> None:
    response = client.post("/api/v1/chat", json={"message": "hi"}, headers={"X-API-Key": "no"})
    assert response.status_code == 401


def test_dev_mode_needs_no_key(embedded_settings: Settings) -> None:
    settings = embedded_settings.model_copy(
        update={"api_key": embedded_settings.api_key.__class__("")}
    )
    with TestClient(create_app(settings)) as http:
        assert http.post("/api/v1/chat", json={"message": "hi"}).status_code == 200


def test_ops_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics", headers={"X-API-Key": ""}).status_code == 401
    assert "frontdesk_cache_lookups_total" in client.get("/metrics").text


def test_repeated_failures_hand_over_once(client: TestClient) -> None:
    session = None
    results = []
    for message in ("xylophone quantum zebra", "flibbertigibbet wombat", "qwzx plorb", "zzkq"):
        body = client.post("/api/v1/chat", json={"message": message, "session_id": session})
        session = body.json()["session_id"]
        results.append(body.json()["data"])
    assert [r["escalate_to_human"] for r in results] == [False, False, True, False]
    assert results[2]["escalation_card"]["reason"] == "failed_attempts"
    assert results[3]["escalation_card"] is None  # already waiting for an agent


def test_ndjson_stream_when_asked_for(client: TestClient) -> None:
    response = client.post(
        "/api/v1/chat/stream",
        json={"message": "Do you take Apple Pay?"},
        headers={"Accept": "application/x-ndjson"},
    )
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["event"] for line in lines][0] == "meta"
    assert [line["event"] for line in lines][-2:] == ["done", "metrics"]
    tokens = "".join(line["data"]["content"] for line in lines if line["event"] == "token")
    assert lines[-2]["data"]["answer"] == tokens
    turn_events = lines[:-1]
    assert all(line["id"].endswith(f":{i}") for i, line in enumerate(turn_events, start=1))


def test_session_resources(client: TestClient) -> None:
    session = client.post("/api/v1/chat", json={"message": "hi"}).json()["session_id"]
    for message in ("How long does shipping take?", "thanks"):
        client.post("/api/v1/chat", json={"message": message, "session_id": session})
    state = client.get(f"/api/v1/sessions/{session}").json()
    assert state["turn_count"] == 3 and state["agent_status"] == "bot"
    page = client.get(f"/api/v1/sessions/{session}/messages?limit=4").json()
    assert (page["total"], page["offset"], page["limit"], page["has_more"]) == (6, 0, 4, True)
    assert [m["role"] for m in page["messages"]] == ["user", "assistant", "user", "assistant"]
    newest = client.get(f"/api/v1/sessions/{session}/messages?order=desc&limit=2").json()
    assert [m["content"] for m in newest["messages"]][1] == "thanks"
    assert newest["has_more"] is True
    assert client.post(f"/api/v1/sessions/{session}/reset").status_code == 204
    assert client.get(f"/api/v1/sessions/{session}/messages").json()["total"] == 0
    assert client.get(f"/api/v1/sessions/{session}").json()["turn_count"] == 0
    assert client.delete(f"/api/v1/sessions/{session}").status_code == 204
    assert client.get(f"/api/v1/sessions/{session}").status_code == 404
    assert client.delete(f"/api/v1/sessions/{session}").status_code == 404
    assert client.get("/api/v1/sessions/nope/messages").status_code == 404


def test_a_retry_while_the_first_is_running_is_refused(client: TestClient) -> None:
    keys = client.app.gateway.idempotency  # type: ignore[attr-defined]
    # As if a first request with this key (the environment's key, id "env") were running.
    client.portal.call(keys.claim, "default", "env", "in-flight")  # type: ignore[union-attr]
    response = client.post(
        "/api/v1/chat", json={"message": "hi"}, headers={"Idempotency-Key": "in-flight"}
    )
    assert response.status_code == 409
    assert "still being processed" in response.json()["detail"]
