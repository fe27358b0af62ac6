"""The JWT chat API contract (/compat/jwt) over the distributed stack, with httpx: run and
stream, conversations continued, and each user held to their own conversations."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.e2e.conftest import StackFactory
from tests.support.stack import Stack

SECRET = "compat-jwt-signing-secret-0123456789abcdef"
SHIPPING = "How long does standard shipping take?"


@pytest.fixture(scope="module")
def stack(stack_factory: StackFactory) -> Stack:
    """End-user tokens on."""
    return stack_factory(JWT_SECRET=SECRET)


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{stack.of('gateway')[0].url}/compat/jwt", timeout=30) as http:
        yield http


def _as(sub: str, tenant: str = "default") -> dict[str, str]:
    claims = {"sub": sub, "tenant": tenant, "exp": int(time.time()) + 600}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


def test_run_answers_and_continues_the_conversation(api: httpx.Client, stack: Stack) -> None:
    first = api.post("/chat/run", json={"message": SHIPPING}, headers=_as("ann"))
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"response", "conversation_id"}
    assert "3-5 business days" in body["response"]
    again = api.post(
        "/chat/run",
        json={"message": "And what about returns?", "conversation_id": body["conversation_id"]},
        headers=_as("ann"),
    )
    assert again.json()["conversation_id"] == body["conversation_id"]
    # The conversation is a Frontdesk session: the native API sees both turns.
    gateway = stack.of("gateway")[0].url
    session = httpx.get(f"{gateway}/api/v1/sessions/{body['conversation_id']}", headers=_as("ann"))
    assert session.json()["turn_count"] == 2


def test_stream_sends_text_then_one_final_line_with_metrics(api: httpx.Client) -> None:
    lines = []
    with api.stream("POST", "/chat/stream", json={"message": SHIPPING}, headers=_as("bea")) as s:
        assert s.status_code == 200
        conversation = s.headers["x-conversation-id"]
        for line in s.iter_lines():
            if line.startswith("data: "):
                lines.append(json.loads(line.removeprefix("data: ")))
    *text, final = lines
    assert text and all(set(t) == {"content", "is_final", "metrics"} for t in lines)
    assert not any(t["is_final"] for t in text) and final["is_final"] is True
    assert "3-5 business days" in "".join(t["content"] for t in text)
    assert final["metrics"]["conversation_id"] == conversation
    assert final["metrics"]["time_to_first_token_ms"] >= 0


def test_a_user_continues_only_their_own_conversations(api: httpx.Client) -> None:
    mine = api.post("/chat/run", json={"message": SHIPPING}, headers=_as("cat")).json()
    theirs = {"message": "Tell me more", "conversation_id": mine["conversation_id"]}
    for who in (_as("dan"), _as("cat", tenant="globex")):
        assert api.post("/chat/run", json=theirs, headers=who).status_code == 404
    unknown = {"message": SHIPPING, "conversation_id": "sess-nobodysever"}
    assert api.post("/chat/stream", json=unknown, headers=_as("cat")).status_code == 404
    assert api.post("/chat/run", json={"message": SHIPPING}).status_code == 401
    assert api.post("/chat/run", json={"text": SHIPPING}, headers=_as("cat")).status_code == 422
