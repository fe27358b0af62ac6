"""The tenant-scoped chat REST API and its WebSocket (/compat/chats) over the distributed
stack, with httpx and websockets: chats are a user's sessions, the socket takes {"content"}
frames and answers with the exact event sequence, and other tenants' chats are not found."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import API_KEY, HEADERS, issue_key
from tests.support.stack import Stack

SHIPPING = "How long does standard shipping take?"


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    url = f"{stack.of('gateway')[0].url}/compat/chats"
    with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as client:
        yield client


def _socket(stack: Stack, key: str = API_KEY, **query: str) -> ClientConnection:
    base = stack.of("gateway")[0].url.replace("http://", "ws://", 1)
    return connect(f"{base}/compat/chats/ws/chat?{urlencode({'api_key': key, **query})}")


def _recv(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.recv(timeout=60))
    return frame


def _turn(ws: ClientConnection, content: str) -> list[dict[str, Any]]:
    """The frames one message gets, through message_stream_ended."""
    ws.send(json.dumps({"content": content}))
    frames = [_recv(ws)]
    while frames[-1]["type"] not in ("message_stream_ended", "error"):
        frames.append(_recv(ws))
    return frames


def test_a_chat_lives_through_rest_and_the_socket(api: httpx.Client, stack: Stack) -> None:
    user = f"u-{uuid.uuid4().hex[:6]}"
    created = api.post("/", json={"user_id": user})
    assert created.status_code == 201, created.text
    chat_id = created.json()["id"]
    assert [c["id"] for c in api.get(f"/user/{user}").json()["chats"]] == [chat_id]

    with _socket(stack, chat_id=chat_id) as ws:
        assert _recv(ws)["type"] == "connection_established"
        frames = _turn(ws, SHIPPING)
    kinds = [f["type"] for f in frames]
    assert kinds[:2] == ["message_received", "message_stream_started"]
    assert kinds[-1] == "message_stream_ended" and set(kinds[2:-1]) == {"message_stream_token"}
    answer = frames[-1]["answer"]
    assert answer == "".join(f["content"] for f in frames[2:-1]) and "3-5 business days" in answer

    page = api.get(f"/{chat_id}/messages", params={"order": "desc", "limit": 1}).json()
    assert page["total"] == 2 and page["messages"][0]["content"] == answer
    assert api.get(f"/{chat_id}").json()["message_count"] == 2
    assert api.delete(f"/{chat_id}").status_code == 204
    assert api.get(f"/{chat_id}").status_code == 404


def test_a_socket_without_a_chat_opens_one_for_its_user(api: httpx.Client, stack: Stack) -> None:
    user = f"u-{uuid.uuid4().hex[:6]}"
    with _socket(stack, user_id=user) as ws:
        assert _recv(ws)["type"] == "connection_established"
        opened = _recv(ws)
        assert opened["type"] == "user_created" and opened["user_id"] == user
        ws.send(json.dumps({"contnt": "typo"}))
        assert _recv(ws)["code"] == 400  # a bad frame is an error; the socket stays open
        assert _turn(ws, SHIPPING)[-1]["type"] == "message_stream_ended"
    assert api.get(f"/{opened['chat_id']}").json()["user_id"] == user


def test_another_tenants_chat_is_not_found(api: httpx.Client, stack: Stack) -> None:
    chat_id = api.post("/", json={"user_id": "u-shared"}).json()["id"]
    other = issue_key(stack, f"chats-{uuid.uuid4().hex[:6]}", "client")
    with httpx.Client(base_url=api.base_url, headers={"X-API-Key": other}, timeout=30) as theirs:
        assert theirs.get(f"/{chat_id}").status_code == 404
        assert theirs.get(f"/{chat_id}/messages").status_code == 404
        assert theirs.delete(f"/{chat_id}").status_code == 404
    assert api.get(f"/{chat_id}").status_code == 200, "still there for its own tenant"
    with _socket(stack, key=other, chat_id=chat_id) as ws:
        refused = _recv(ws)
        assert (refused["type"], refused["code"]) == ("error", 404)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
