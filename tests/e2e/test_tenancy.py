"""Tenants: keys issued with the CLI resolve to a tenant and a role, and no resource of one
tenant is visible to another (it is "not found", never "forbidden")."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.conftest import issue_key
from tests.support.stack import REPO, Stack


@pytest.fixture(scope="module")
def keys(stack: Stack) -> dict[str, str]:
    """Client, admin and agent keys for two tenants."""
    return {
        f"{tenant}-{role}": issue_key(stack, tenant, role, name=f"{tenant}-{role}")
        for tenant in ("acme", "globex")
        for role in ("client", "admin", "agent")
    }


@pytest.fixture(scope="module")
def as_(stack: Stack, keys: dict[str, str]) -> Iterator[dict[str, httpx.Client]]:
    """An HTTP client per key name, e.g. ``as_["acme-client"]``."""
    url = stack.of("gateway")[0].url
    clients = {
        name: httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        for name, key in keys.items()
    }
    yield clients
    for client in clients.values():
        client.close()


def _keys_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "keys", *args],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_keys_are_shown_once_listed_without_secrets_and_revocable(stack: Stack) -> None:
    key = issue_key(stack, "initech", "client", name="kiosk")
    gateway = stack.of("gateway")[0].url
    headers = {"X-API-Key": key}
    assert httpx.post(f"{gateway}/api/v1/chat", json={"message": "hi"}, headers=headers).is_success

    listed = _keys_cli(stack, "list", "--tenant", "initech", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["tenant_id"], r["role"], r["name"]) for r in rows] == [
        ("initech", "client", "kiosk")
    ]
    assert key not in listed.stdout, "a key is never shown again"

    assert _keys_cli(stack, "revoke", rows[0]["key_id"]).returncode == 0
    refused = httpx.post(f"{gateway}/api/v1/chat", json={"message": "hi"}, headers=headers)
    assert refused.status_code == 401
    assert _keys_cli(stack, "revoke", rows[0]["key_id"]).returncode == 1


def test_roles_are_enforced(as_: dict[str, httpx.Client]) -> None:
    assert as_["acme-client"].get("/api/v1/knowledge-bases/default/documents").status_code == 403
    assert as_["acme-client"].get("/api/v1/agent/escalations").status_code == 403
    assert as_["acme-agent"].post("/api/v1/chat", json={"message": "hi"}).status_code == 403
    assert as_["acme-admin"].get("/api/v1/knowledge-bases/default/documents").status_code == 200


def test_sessions_of_another_tenant_are_not_found(as_: dict[str, httpx.Client]) -> None:
    acme, globex = as_["acme-client"], as_["globex-client"]
    started = acme.post("/api/v1/chat", json={"message": "hi", "user_id": "u-shared"}).json()
    session = started["session_id"]
    for method, path, body in [
        ("GET", f"/api/v1/sessions/{session}", None),
        ("GET", f"/api/v1/sessions/{session}/messages", None),
        ("GET", f"/api/v1/sessions/{session}/events", None),
        ("PATCH", f"/api/v1/sessions/{session}", {"name": "mine now"}),
        ("POST", f"/api/v1/sessions/{session}/reset", None),
        ("DELETE", f"/api/v1/sessions/{session}", None),
    ]:
        response = globex.request(method, path, json=body)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"detail": "No such session"}
    assert globex.get("/api/v1/sessions", params={"user_id": "u-shared"}).json()["total"] == 0

    # The same session id under another tenant is a different conversation.
    globex.post("/api/v1/chat", json={"message": "hello", "session_id": session})
    assert acme.get(f"/api/v1/sessions/{session}").json()["turn_count"] == 1
    listed = acme.get("/api/v1/sessions", params={"user_id": "u-shared"}).json()
    assert [s["session_id"] for s in listed["sessions"]] == [session]


def test_knowledge_and_cached_answers_stay_with_their_tenant(
    as_: dict[str, httpx.Client],
) -> None:
    acme, globex = as_["acme-admin"], as_["globex-admin"]
    page = "# Acme loyalty\n\nAcme Rocket Points double on every Tuesday purchase.\n"
    uploaded = acme.post(
        "/api/v1/knowledge-bases/default/documents",
        files={"file": ("AcmeLoyalty.md", page.encode())},
    )
    assert uploaded.status_code == 201, uploaded.text
    doc_id = uploaded.json()["document"]["doc_id"]
    question = {"message": "When do Acme Rocket Points double?"}
    for _ in range(2):  # the second answer comes from acme's hot cache
        answer = acme.post("/api/v1/chat", json=question).json()
        assert "AcmeLoyalty.md" in answer["data"]["sources"]
    assert "tuesday" in answer["reply"].lower()

    theirs = globex.post("/api/v1/chat", json=question).json()
    assert "AcmeLoyalty.md" not in theirs["data"]["sources"]
    assert "tuesday" not in theirs["reply"].lower()
    names = [
        d["doc_name"]
        for d in globex.get("/api/v1/knowledge-bases/default/documents").json()["documents"]
    ]
    assert "AcmeLoyalty.md" not in names
    assert globex.delete(f"/api/v1/knowledge-bases/default/documents/{doc_id}").status_code == 404
    assert acme.delete(f"/api/v1/knowledge-bases/default/documents/{doc_id}").status_code == 204


def test_idempotency_keys_are_per_tenant(as_: dict[str, httpx.Client]) -> None:
    retry = {"Idempotency-Key": "same-key-everywhere"}
    body = {"message": "Do you ship to Canada?"}
    ours = as_["acme-client"].post("/api/v1/chat", json=body, headers=retry).json()
    theirs = as_["globex-client"].post("/api/v1/chat", json=body, headers=retry).json()
    assert ours["session_id"] != theirs["session_id"]


def test_agents_see_only_their_tenants_tickets(as_: dict[str, httpx.Client]) -> None:
    asked = as_["acme-client"].post(
        "/api/v1/chat", json={"message": "I want to talk to a human agent", "user_id": "u-7"}
    )
    ticket = asked.json()["data"]["escalation_card"]["ticket_id"]
    ours = as_["acme-agent"].get("/api/v1/agent/escalations").json()["escalations"]
    assert ticket in [c["ticket_id"] for c in ours]
    theirs = as_["globex-agent"].get("/api/v1/agent/escalations").json()["escalations"]
    assert ticket not in [c["ticket_id"] for c in theirs]
    assert as_["globex-agent"].get(f"/api/v1/agent/escalations/{ticket}").status_code == 404
    claimed = as_["globex-agent"].post(f"/api/v1/agent/escalations/{ticket}/claim")
    assert claimed.status_code == 404
    claimed = as_["acme-agent"].post(f"/api/v1/agent/escalations/{ticket}/claim")
    assert claimed.json()["card"]["agent_id"] == "acme-agent"


# Messages shaped like the ones that once stalled the orchestrator's event loop for minutes
# (a backtracking pattern on long runs of spaces, question marks or digits), at the size a
# client may send.
STALLING_MESSAGES = [
    "a" + " " * 3_000 + "b",
    "?" * 3_990 + "x",
    "1" * 3_990 + "x",
    "#" + " " * 3_000 + "x",
    "where is my order" + " ," * 1_900 + " and how do I return it",
]


def test_a_message_built_to_stall_the_bot_never_holds_another_tenant(
    as_: dict[str, httpx.Client],
) -> None:
    # The clients' 30-s timeout is the stall bound: these turns take well under a second.
    with ThreadPoolExecutor(len(STALLING_MESSAGES) + 1) as pool:
        hostile = [
            pool.submit(as_["acme-client"].post, "/api/v1/chat", json={"message": m})
            for m in STALLING_MESSAGES
        ]
        hello = pool.submit(as_["globex-client"].post, "/api/v1/chat", json={"message": "hello"})
        greeted = hello.result()
        answered = [f.result() for f in hostile]
    assert greeted.status_code == 200 and greeted.json()["reply"]
    assert [r.status_code for r in answered] == [200] * len(STALLING_MESSAGES)
    assert all(r.json()["reply"] for r in answered)
