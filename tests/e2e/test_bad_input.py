"""Bad requests get a clear 4xx over the real stack, never a 5xx."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import API_KEY
from tests.support.stack import Stack


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"message": ""}, 422, "message"),
        ({"message": "   "}, 422, "empty"),
        ({"message": "x" * 4001}, 422, "limit is 4000"),
        ({"message": "hi", "channel": "carrier-pigeon"}, 422, "channel"),
        ({"channel": "web"}, 422, "message"),
        ({"message": "hi", "session_id": "../../etc"}, 422, "session_id"),
    ],
)
def test_invalid_bodies(client: httpx.Client, body: dict, status: int, says: str) -> None:
    response = client.post("/api/v1/chat", json=body)
    assert response.status_code == status
    assert says in response.json()["detail"]


def test_malformed_json(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/chat", content=b'{"message": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_oversized_body(client: httpx.Client) -> None:
    response = client.post("/api/v1/chat", json={"message": "x" * 100_000})
    assert response.status_code == 413


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer no"}])
def test_wrong_key_is_refused_everywhere(stack: Stack, headers: dict) -> None:
    gateway = stack.of("gateway")[0].url
    for path in ("/api/v1/chat", "/api/v1/chat/stream", "/api/v1/performance/cache/invalidate"):
        response = httpx.post(f"{gateway}{path}", json={"message": "hi"}, headers=headers)
        assert response.status_code == 401, path
        assert "API key" in response.json()["detail"]
    assert httpx.get(f"{gateway}/metrics", headers=headers).status_code == 401


def test_bearer_key_is_accepted(stack: Stack) -> None:
    gateway = stack.of("gateway")[0].url
    response = httpx.post(
        f"{gateway}/api/v1/chat",
        json={"message": "hi"},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    assert response.status_code == 200
