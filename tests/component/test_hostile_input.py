"""Hostile input through the embedded app: a chunked body within the limit is served, and a
ticket id that would address another key is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.embedded import create_app
from shared.errors import InvalidInput
from shared.settings import Settings

ADMIN = {"X-API-Key": "test-key-0123456789"}


@pytest.fixture
def client(embedded_settings: Settings) -> Iterator[TestClient]:
    settings = embedded_settings.model_copy(update={"agent_keys": SecretStr("alice:alice-key")})
    with TestClient(create_app(settings)) as http:
        yield http


def test_a_chunked_body_within_the_limit_is_served(client: TestClient) -> None:
    body = json.dumps({"message": "How long does shipping take?"}).encode()
    response = client.post(
        "/api/v1/chat",
        content=iter([body[:10], body[10:]]),
        headers={**ADMIN, "content-type": "application/json"},
    )
    assert response.status_code == 200 and response.json()["reply"]


def test_a_ticket_id_that_names_another_key_is_refused_by_the_escalation_worker(
    client: TestClient,
) -> None:
    asked = client.post("/api/v1/chat", headers=ADMIN, json={"message": "I want a human agent"})
    ticket = asked.json()["data"]["escalation_card"]["ticket_id"]
    desk = client.app.gateway.agents  # type: ignore[attr-defined]
    # Straight to the worker, past the gateway's own check: "<id>:state" is the ticket's state.
    with pytest.raises(InvalidInput, match="malformed ticket id"):
        client.portal.call(desk.act, "default", f"{ticket}:state", "alice", "claim")  # type: ignore[union-attr]
    claimed = client.post(
        f"/api/v1/agent/escalations/{ticket}/claim", headers={"X-API-Key": "alice-key"}
    )
    assert claimed.status_code == 200 and claimed.json()["card"]["agent_id"] == "alice"


def test_a_query_parameter_given_twice_is_refused_not_guessed(client: TestClient) -> None:
    # Which user's sessions? The gateway does not pick one of the two for the caller.
    twice = client.get("/api/v1/sessions?user_id=alice&user_id=bob", headers=ADMIN)
    assert twice.status_code == 422
    assert "'user_id' is given more than once" in twice.json()["detail"]
    once = client.get("/api/v1/sessions?user_id=alice&limit=5", headers=ADMIN)
    assert once.status_code == 200
