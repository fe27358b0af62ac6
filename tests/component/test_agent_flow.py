"""The hand-off flow end to end in one process: queue, claim, reply, silence, resolve."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.embedded import create_app
from shared.settings import Settings

CLIENT = {"X-API-Key": "test-key-0123456789"}
ALICE = {"X-API-Key": "alice-key"}
BOB = {"Authorization": "Bearer bob-key"}


@pytest.fixture
def client(embedded_settings: Settings) -> Iterator[TestClient]:
    settings = embedded_settings.model_copy(
        update={"agent_keys": type(embedded_settings.agent_keys)("alice:alice-key,bob:bob-key")}
    )
    with TestClient(create_app(settings)) as http:
        yield http


def _events(client: TestClient, path: str, after: str = "0") -> list:  # type: ignore[type-arg]
    """Read what a stream holds now (the endpoint streams forever; read the log directly)."""
    log = client.app.gateway.events  # type: ignore[attr-defined]
    stream = log.session_stream("default", path) if path != "feed" else log.agent_feed("default")
    events = client.portal.call(log.read, stream, after)  # type: ignore[union-attr]
    return [(e.type, e.data) for e in events]


def test_hand_off_claim_reply_silence_resolve(client: TestClient) -> None:
    asked = client.post(
        "/api/v1/chat",
        headers=CLIENT,
        json={"message": "I want to talk to a human agent", "user_id": "vip-7"},
    )
    session = asked.json()["session_id"]
    card = asked.json()["data"]["escalation_card"]
    assert card["member_level"] == "platinum" and card["priority"] == "urgent"

    inbox = client.get("/api/v1/agent/escalations", headers=ALICE).json()["escalations"]
    assert [c["ticket_id"] for c in inbox] == [card["ticket_id"]]
    assert client.get("/api/v1/agent/escalations", headers=CLIENT).status_code == 403, (
        "a client key is not an agent key"
    )

    ticket = f"/api/v1/agent/escalations/{card['ticket_id']}"
    assert client.post(f"{ticket}/claim", headers=ALICE).json()["card"]["agent_id"] == "alice"
    refused = client.post(f"{ticket}/claim", headers=BOB)
    assert refused.status_code == 409 and "held by alice" in refused.json()["detail"]
    assert client.post(f"{ticket}/messages", headers=BOB, json={"text": "hi"}).status_code == 409

    client.post(
        f"{ticket}/messages", headers=ALICE, json={"text": "Hi, I'm Alice. How can I help?"}
    )
    customer_events = _events(client, session)
    assert [t for t, _ in customer_events] == ["queued", "agent_joined", "agent_message"]
    assert customer_events[2][1]["text"] == "Hi, I'm Alice. How can I help?"

    silent = client.post(
        "/api/v1/chat",
        headers=CLIENT,
        json={"message": "How long does shipping take?", "session_id": session},
    )
    assert silent.json()["reply"] == ""  # the bot stays silent while Alice holds the chat
    feed = _events(client, "feed")
    assert (
        "customer_message",
        {
            "ticket_id": card["ticket_id"],
            "session_id": session,
            "agent_id": "alice",
            "text": "How long does shipping take?",
        },
    ) in feed
    history = client.get(ticket, headers=ALICE).json()["history"]
    assert [m["role"] for m in history][-2:] == ["agent", "user"]

    assert client.post(f"{ticket}/resolve", headers=ALICE).json()["card"]["status"] == "resolved"
    assert _events(client, session)[-1][0] == "agent_left"
    back = client.post(
        "/api/v1/chat",
        headers=CLIENT,
        json={"message": "How long does shipping take?", "session_id": session},
    )
    assert back.json()["reply"] and back.json()["data"]["intent"] == "knowledge_qa"
    assert client.get("/api/v1/agent/escalations", headers=ALICE).json()["total"] == 0


def test_outside_support_hours_a_ticket_waits_and_the_customer_is_told(
    embedded_settings: Settings,
) -> None:
    closed = embedded_settings.model_copy(
        update={"support_hours": "00:00-00:01", "support_days": "mon"}
    )
    with TestClient(create_app(closed), headers=CLIENT) as http:
        body = http.post("/api/v1/chat", json={"message": "I want a human agent"}).json()
    card = body["data"]["escalation_card"]
    assert card["status"] == "offline" and card["agents_back_at"]
    assert "Our agents are away right now" in body["reply"]
    assert card["ticket_id"] in body["reply"]


def test_session_events_endpoint_streams_server_sent_events(client: TestClient) -> None:
    asked = client.post("/api/v1/chat", headers=CLIENT, json={"message": "转人工"})
    session = asked.json()["session_id"]
    with client.stream("GET", f"/api/v1/sessions/{session}/events", headers=CLIENT) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = []
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert lines[0].startswith("id: ") and lines[1] == "event: queued"
    assert json.loads(lines[2][6:])["position"] == 1
