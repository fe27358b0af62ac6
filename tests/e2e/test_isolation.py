"""End users of one tenant, over the real stack: each sees only their own turns and retries,
no caller or tenant holds more open streams than its cap, histories stay bounded, and no log
line of any process quotes what was sent or the keys it was sent with."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
from httpx_sse import connect_sse

from tests.e2e.conftest import ALICE_KEY, API_KEY, HEADERS, StackFactory, issue_key
from tests.support.stack import Stack

SECRET = "isolation-signing-secret-0123456789abcdef"
PER_TENANT, PER_CALLER, HISTORY = 3, 2, 6


@pytest.fixture(scope="module")
def stack(stack_factory: StackFactory) -> Stack:
    """End-user tokens on, small connection caps and history, logging at DEBUG."""
    return stack_factory(
        JWT_SECRET=SECRET,
        MAX_CONNECTIONS_PER_TENANT=str(PER_TENANT),
        MAX_CONNECTIONS_PER_USER=str(PER_CALLER),
        MAX_CONNECTIONS_PER_KEY=str(PER_CALLER),
        MAX_HISTORY_MESSAGES=str(HISTORY),
        LOG_LEVEL="DEBUG",
    )


@pytest.fixture
def gateway(stack: Stack) -> Iterator[httpx.Client]:
    """A client of the gateway without credentials (each call brings its own)."""
    with httpx.Client(base_url=stack.of("gateway")[0].url, timeout=30) as http:
        yield http


def _as(sub: str, tenant: str = "default") -> dict[str, str]:
    claims = {"sub": sub, "tenant": tenant, "exp": int(time.time()) + 600}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


def _question() -> dict[str, str]:
    """A question nobody asked before, so it is answered by a turn, not the hot cache."""
    return {"message": f"What is the return policy for item {uuid.uuid4().hex[:8]}?"}


def test_an_end_user_can_neither_read_nor_stop_another_users_turn(gateway: httpx.Client) -> None:
    alice, bob = _as("alice"), _as("bob")
    with connect_sse(gateway, "POST", "/api/v1/chat/stream", json=_question(), headers=alice) as s:
        turn = s.response.headers["x-turn-id"]
        answer = [e.event for e in s.iter_sse()]
    assert answer[-2:] == ["done", "metrics"]

    events, stop = f"/api/v1/turns/{turn}/events", f"/api/v1/turns/{turn}/stop"
    for who in (bob, _as("alice", tenant="globex")):
        assert gateway.get(events, headers=who).status_code == 404
        assert gateway.post(stop, headers=who).status_code == 404
    with connect_sse(gateway, "GET", events, headers=alice) as replay:
        assert [e.event for e in replay.iter_sse()] == answer, "its owner replays it"
    with connect_sse(gateway, "GET", events, headers=HEADERS) as replay:
        assert replay.response.status_code == 200, "the tenant's server-side key may too"


def test_an_end_user_rates_only_their_own_answers(gateway: httpx.Client) -> None:
    alice = _as("alice")
    answer = gateway.post("/api/v1/chat", json=_question(), headers=alice).json()
    feedback = f"/api/v1/turns/{answer['data']['turn_id']}/feedback"
    for who in (_as("bob"), _as("alice", tenant="globex")):
        assert gateway.post(feedback, json={"rating": "down"}, headers=who).status_code == 404
    assert gateway.post(feedback, json={"rating": "up"}, headers=alice).status_code == 204
    assert gateway.post(feedback, json={"rating": "up"}, headers=HEADERS).status_code == 204


def test_idempotency_keys_of_users_whose_ids_hold_separators_never_collide(
    gateway: httpx.Client,
) -> None:
    # Once scoped as "<caller>:<key>", both were "user:a:b:c".
    first = gateway.post(
        "/api/v1/chat", json=_question(), headers={**_as("a:b"), "Idempotency-Key": "c"}
    )
    second = gateway.post(
        "/api/v1/chat", json=_question(), headers={**_as("a"), "Idempotency-Key": "b:c"}
    )
    assert first.status_code == second.status_code == 200
    theirs = second.json()["session_id"]
    assert theirs != first.json()["session_id"], "the second user got the first one's answer"
    owner = gateway.get(f"/api/v1/sessions/{theirs}", headers=_as("a")).json()["user_id"]
    assert owner == "a"


@contextlib.contextmanager
def _held(gateway: httpx.Client, path: str, headers: dict[str, str]) -> Iterator[httpx.Response]:
    """An open stream (its slot is taken once the response has started)."""
    with gateway.stream("GET", path, headers=headers) as response:
        yield response


def _session_of(gateway: httpx.Client, who: dict[str, str]) -> str:
    created = gateway.post("/api/v1/sessions", json={}, headers=who)
    return str(created.json()["session_id"])


def _refused(gateway: httpx.Client, path: str, headers: dict[str, str]) -> str:
    with _held(gateway, path, headers) as refused:
        assert refused.status_code == 429, refused.status_code
        assert refused.headers["retry-after"]
        return str(json.loads(refused.read())["detail"])


def _opens_again(gateway: httpx.Client, path: str, headers: dict[str, str]) -> bool:
    """True once a stream opens: a closed stream's slot is freed right after it ends."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with _held(gateway, path, headers) as again:
            if again.status_code == 200:
                return True
        time.sleep(0.2)
    return False


def test_session_event_streams_count_against_the_tenant_cap(gateway: httpx.Client) -> None:
    users = [_as(f"cap-user-{i}", tenant="capped") for i in range(2)]
    streams = [f"/api/v1/sessions/{_session_of(gateway, u)}/events" for u in users]
    with contextlib.ExitStack() as open_now:
        held = [
            open_now.enter_context(_held(gateway, streams[0], users[0])),
            open_now.enter_context(_held(gateway, streams[1], users[1])),
            open_now.enter_context(_held(gateway, streams[1], users[1])),
        ]
        assert [r.status_code for r in held] == [200] * PER_TENANT
        detail = _refused(gateway, streams[0], users[0])
        assert detail == "Too many open connections for this tenant"
        chat = gateway.post("/api/v1/chat/stream", json=_question(), headers=users[0])
        assert chat.status_code == 429, "a chat stream needs a slot too"
    assert _opens_again(gateway, streams[0], users[0])


def test_one_caller_cannot_take_all_of_its_tenants_slots(gateway: httpx.Client) -> None:
    greedy, other = _as("greedy", tenant="shared"), _as("other", tenant="shared")
    mine, theirs = (f"/api/v1/sessions/{_session_of(gateway, u)}/events" for u in (greedy, other))
    with contextlib.ExitStack() as open_now:
        for _ in range(PER_CALLER):
            assert open_now.enter_context(_held(gateway, mine, greedy)).status_code == 200
        assert (
            _refused(gateway, mine, greedy) == "Too many open connections for this API key or user"
        )
        with _held(gateway, theirs, other) as fine:
            assert fine.status_code == 200, "another user of the tenant still gets in"


def test_agent_feeds_count_against_the_callers_cap(stack: Stack, gateway: httpx.Client) -> None:
    agent = {"X-API-Key": issue_key(stack, "feeds", "agent", name="carol")}
    with contextlib.ExitStack() as open_now:
        for _ in range(PER_CALLER):
            feed = open_now.enter_context(_held(gateway, "/api/v1/agent/feed", agent))
            assert feed.status_code == 200
        assert "Too many open connections" in _refused(gateway, "/api/v1/agent/feed", agent)
    assert _opens_again(gateway, "/api/v1/agent/feed", agent)


def test_a_history_keeps_its_newest_messages_and_counts_every_turn(
    gateway: httpx.Client,
) -> None:
    session = f"long-{uuid.uuid4().hex[:8]}"
    questions = [f"Question number {n}: do you ship to Norway?" for n in range(5)]
    for question in questions:
        body = {"message": question, "session_id": session}
        assert gateway.post("/api/v1/chat", json=body, headers=HEADERS).status_code == 200
    page = gateway.get(f"/api/v1/sessions/{session}/messages", headers=HEADERS).json()
    assert page["total"] == HISTORY
    kept = [m["content"] for m in page["messages"] if m["role"] == "user"]
    assert kept == questions[-HISTORY // 2 :], "the oldest turns went first"
    state = gateway.get(f"/api/v1/sessions/{session}", headers=HEADERS).json()
    assert state["turn_count"] == len(questions)


def test_an_end_user_token_with_an_overlong_subject_is_refused(gateway: httpx.Client) -> None:
    too_long, longest = _as("u" * 129), _as("u" * 128)
    completion = {"model": "frontdesk", "messages": [{"role": "user", "content": "hello"}]}
    for method, path, body in [
        ("POST", "/v1/chat/completions", completion),
        ("POST", "/api/v1/chat", {"message": "hello"}),
        ("POST", "/api/v1/sessions", {}),
        ("GET", "/api/v1/sessions", None),
    ]:
        refused = gateway.request(method, path, json=body, headers=too_long)
        assert refused.status_code == 401, (path, refused.text)
        assert "sub must be 1-128" in refused.json()["detail"]
    assert gateway.post("/v1/chat/completions", json=completion, headers=longest).is_success


def test_no_log_line_quotes_a_message_a_user_id_or_a_key(
    stack: Stack, gateway: httpx.Client
) -> None:
    marker = f"quokka{uuid.uuid4().hex[:10]}"
    token = _as(f"{marker}-user")
    lone = "\\ud800"
    bad_json = {"content-type": "application/json"}
    sent = [
        gateway.post("/api/v1/chat", json={"message": f"{marker} shipping?"}, headers=token),
        gateway.post(
            "/v1/chat/completions",
            content=(
                f'{{"model": "m", "messages": [{{"role": "user", "content": "{marker}{lone}"}}]}}'
            ).encode(),
            headers={**token, **bad_json},
        ),
        gateway.post(
            "/api/v1/chat",
            content=f'{{"message": "{marker}", "user_id": "{marker}{lone}"}}'.encode(),
            headers={**HEADERS, **bad_json},
        ),
        gateway.post("/api/v1/chat", json={"message": marker, "colour": marker}, headers=HEADERS),
        gateway.post("/api/v1/chat", json={"message": marker * 1000}, headers=HEADERS),
        gateway.post("/v1/chat/completions", json={"model": marker, "messages": []}, headers=token),
        gateway.post("/api/v1/chat", json={"message": marker}, headers=_as(marker * 10)),
        gateway.post("/api/v1/chat", json={"message": marker}, headers={"X-API-Key": marker}),
        gateway.post(
            "/api/v1/agent/escalations/tkt-000000000000/messages",
            json={"text": marker},
            headers={"X-API-Key": ALICE_KEY},
        ),
    ]
    time.sleep(1)  # let every process write what it logs about these
    for process in stack.processes:
        logged = process.log.read_text(errors="replace")
        for secret in (marker, API_KEY, ALICE_KEY, SECRET, token["Authorization"][7:]):
            assert secret not in logged, f"{process.name} logged {secret[:20]}"
    assert [r.status_code for r in sent] == [200, 422, 422, 422, 422, 422, 401, 401, 404]
