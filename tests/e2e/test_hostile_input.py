"""Hostile input over the real stack: oversized streamed bodies, text no store can hold, values
past every bound, ids that would address other keys. Each gets a clear 4xx (or a well-formed
stream), never a 5xx or a dropped connection."""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.conftest import ALICE_KEY, HEADERS
from tests.support.stack import Stack

AGENT = {"X-API-Key": ALICE_KEY}
LONE = "\\ud800"  # as JSON writes it: a high surrogate with no low one after it


def _raw_json(client: httpx.Client, method: str, path: str, text: str, **headers: str) -> Any:
    """Send ``text`` as the JSON body byte for byte (httpx would not write a lone surrogate)."""
    return client.request(
        method, path, content=text.encode(), headers={"content-type": "application/json", **headers}
    )


def test_a_chunked_body_without_a_key_is_refused_as_soon_as_it_crosses_the_limit(
    stack: Stack, client: httpx.Client
) -> None:
    url = urlparse(stack.of("gateway")[0].url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as raw:
        raw.sendall(
            b"POST /api/v1/chat HTTP/1.1\r\nHost: gateway\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 8 * 1024
        for _ in range(9):  # 72 KiB, just past the limit, and the body never ends
            raw.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        # Were the gateway waiting for the whole body, this would time out.
        answer = b""
        with contextlib.suppress(ConnectionResetError):  # it closes on an unread body
            while received := raw.recv(65536):
                answer += received
    head, _, body = answer.decode("latin-1").partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 413"), head
    assert json.loads(body) == {"detail": "Request body exceeds 65536 bytes"}
    assert client.post("/api/v1/chat", json={"message": "hi"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("POST", "/api/v1/chat", f'{{"message": "hi {LONE}"}}', HEADERS),
        ("POST", "/api/v1/chat/stream", f'{{"message": "hi {LONE}"}}', HEADERS),
        ("POST", "/api/v1/chat", f'{{"message": "hi", "variables": {{"{LONE}": "x"}}}}', HEADERS),
        (
            "POST",
            "/v1/chat/completions",
            f'{{"model": "m", "messages": [{{"role": "user", "content": "hi {LONE}"}}]}}',
            HEADERS,
        ),
        (
            "POST",
            "/v1/chat/completions",
            '{"model": "m", "messages": [{"role": "user", "content": '
            f'[{{"type": "text", "text": "{LONE}"}}]}}]}}',
            HEADERS,
        ),
        ("POST", "/api/v1/sessions", f'{{"user_id": "u-lone", "name": "{LONE}"}}', HEADERS),
        ("POST", "/api/v1/assistants", f'{{"name": "Ava", "system_prompt": "{LONE}"}}', HEADERS),
        (
            "POST",
            "/api/v1/agent/escalations/tkt-000000000000/messages",
            f'{{"text": "{LONE}"}}',
            AGENT,
        ),
    ],
)
def test_a_lone_surrogate_anywhere_in_a_body_is_a_422(
    client: httpx.Client, method: str, path: str, body: str, headers: dict[str, str]
) -> None:
    response = _raw_json(client, method, path, body, **headers)
    assert response.status_code == 422, response.text
    assert "valid Unicode" in response.json()["detail"]


def test_a_body_nested_too_deeply_to_parse_is_a_400_in_each_apis_envelope(
    client: httpx.Client,
) -> None:
    ours = _raw_json(client, "POST", "/api/v1/chat", "[" * 60_000)
    assert ours.status_code == 400 and ours.json() == {
        "detail": "There was an error parsing the body"
    }
    openai = _raw_json(client, "POST", "/v1/chat/completions", "[" * 60_000)
    assert openai.status_code == 400
    assert openai.json()["error"]["type"] == "invalid_request_error"


def test_nothing_is_half_written_by_a_refused_body(client: httpx.Client) -> None:
    refused = _raw_json(
        client, "POST", "/api/v1/sessions", f'{{"user_id": "u-half", "name": "a{LONE}"}}'
    )
    assert refused.status_code == 422
    assert client.get("/api/v1/sessions", params={"user_id": "u-half"}).json()["total"] == 0


def test_paging_past_any_history_is_a_422_and_the_last_page_is_empty(
    client: httpx.Client,
) -> None:
    session = client.post("/api/v1/chat", json={"message": "hi", "user_id": "u-pages"}).json()
    messages = f"/api/v1/sessions/{session['session_id']}/messages"
    for params in ({"offset": 10**30}, {"offset": 10**30, "order": "desc"}, {"limit": 10**30}):
        response = client.get(messages, params=params)
        assert response.status_code == 422, (params, response.text)
        assert "query." in response.json()["detail"]
    listed = client.get("/api/v1/sessions", params={"user_id": "u-pages", "offset": 10**30})
    assert listed.status_code == 422
    last = client.get(messages, params={"offset": 1_000_000}).json()
    assert last["messages"] == [] and last["total"] >= 2 and not last["has_more"]


@pytest.mark.parametrize("last_event_id", ["garbage", "1-2-3", "-1", "99999999999999999999999-0"])
def test_a_malformed_last_event_id_is_a_422_before_any_stream_starts(
    client: httpx.Client, last_event_id: str
) -> None:
    session = client.post("/api/v1/sessions", json={"user_id": "u-ids"}).json()["session_id"]
    for path, headers in (
        (f"/api/v1/sessions/{session}/events", HEADERS),
        ("/api/v1/agent/feed", AGENT),
    ):
        response = client.get(path, headers={**headers, "Last-Event-ID": last_event_id})
        assert response.status_code == 422, (path, response.text)
        assert "Last-Event-ID" in response.json()["detail"]


def test_a_valid_last_event_id_resumes_the_session_stream(client: httpx.Client) -> None:
    session = client.post("/api/v1/sessions", json={"user_id": "u-ok-ids"}).json()["session_id"]
    path = f"/api/v1/sessions/{session}/events"
    with client.stream("GET", path, headers={"Last-Event-ID": "0-0"}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")


def test_ids_that_could_address_other_keys_are_refused_and_the_ticket_is_untouched(
    client: httpx.Client,
) -> None:
    asked = client.post("/api/v1/chat", json={"message": "I want to talk to a human agent"})
    ticket = asked.json()["data"]["escalation_card"]["ticket_id"]
    base = f"/api/v1/agent/escalations/{ticket}:state"  # the key of the ticket's own state
    for method, path, body in [
        ("GET", base, None),
        ("POST", f"{base}/claim", None),
        ("POST", f"{base}/messages", {"text": "hello"}),
        ("POST", f"{base}/resolve", None),
        ("POST", f"{base}/hand-back", None),
    ]:
        response = client.request(method, path, json=body, headers=AGENT)
        assert response.status_code == 422, (method, path, response.text)
    for path in ("/api/v1/sessions/a}b{c", "/api/v1/turns/a}b{c/events", "/api/v1/turns/x:1/stop"):
        method = "POST" if path.endswith("stop") else "GET"
        assert client.request(method, path).status_code == 422, path
    claimed = client.post(f"/api/v1/agent/escalations/{ticket}/claim", headers=AGENT)
    assert claimed.status_code == 200 and claimed.json()["card"]["status"] == "assigned"


def test_a_deeply_nested_or_unencodable_frame_gets_an_error_and_the_socket_stays(
    stack: Stack,
) -> None:
    url = stack.of("gateway")[0].url.replace("http://", "ws://", 1) + "/api/v1/ws/chat"
    with connect(url, additional_headers=HEADERS, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "connection_established"
        ws.send("[" * 60_000)
        nested = json.loads(ws.recv(timeout=30))
        assert nested == {"type": "error", "code": 400, "message": "Frame is nested too deeply"}
        ws.send(f'{{"type": "message", "message": "hi {LONE}"}}')
        lone = json.loads(ws.recv(timeout=30))
        assert lone["type"] == "error" and lone["code"] == 422, lone
        assert "valid Unicode" in lone["message"]
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=30)) == {"type": "pong"}


def test_a_frame_too_large_to_buffer_closes_the_socket_with_1009(stack: Stack) -> None:
    url = stack.of("gateway")[0].url.replace("http://", "ws://", 1) + "/api/v1/ws/chat"
    with connect(url, additional_headers=HEADERS, open_timeout=10, max_size=None) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "connection_established"
        ws.send(json.dumps({"type": "message", "message": "x" * 200_000}))
        oversized = json.loads(ws.recv(timeout=30))
        assert oversized["type"] == "error" and oversized["code"] == 413, "small enough to answer"
        ws.send("x" * (2 * 1024 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
