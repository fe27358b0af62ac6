"""What ops read about each request: one JSON access line (route template, status,
duration, tenant, request id; never a key, a query string or what the customer wrote), and
an X-Request-Id echoed back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.embedded import create_app
from shared.observability import configure_logging
from shared.settings import Settings

KEY = "test-key-0123456789"
ADMIN = {"X-API-Key": KEY}


@pytest.fixture
def client(embedded_settings: Settings, restored_logging: None) -> Iterator[TestClient]:
    with TestClient(create_app(embedded_settings)) as http:
        yield http


def _json_logging() -> None:
    """Log as production does; called in the test, where capsys's stderr is the one set."""
    configure_logging("INFO", "json", service="gateway")


def _access_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"]
    return [line for line in lines if line["logger"] == "frontdesk.access"]


def test_each_request_leaves_one_access_line_with_its_route_template(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    _json_logging()
    client.post("/api/v1/chat", headers=ADMIN, json={"message": "My card 4111 was charged twice"})
    client.get(f"/api/v1/turns/turn_nope/events?api_key={KEY}", headers=ADMIN)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"]
    # The test client's own logger (it is the caller, not the gateway) aside:
    written = json.dumps([line for line in lines if not line["logger"].startswith("httpx")])
    access = [line for line in lines if line["logger"] == "frontdesk.access"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("POST", "/api/v1/chat", 200),
        ("GET", "/api/v1/turns/{turn_id}/events", 422),  # an id of the wrong shape
    ]
    assert all(a["duration_ms"] >= 0 and a["service"] == "gateway" for a in access)
    assert all(a["tenant_id"] == "default" for a in access)
    assert KEY not in written and "4111" not in written and "turn_nope" not in written


def test_a_request_id_is_echoed_kept_when_plain_and_replaced_when_not(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    _json_logging()
    kept = client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.42"})
    assert kept.headers["x-request-id"] == "lb-7f3a.42"
    hostile = client.get("/healthz", headers={"X-Request-Id": "a b\tc" + "x" * 300})
    assert hostile.headers["x-request-id"].startswith("req")
    minted = client.post("/api/v1/chat", headers=ADMIN, json={"message": "hello"})
    rid = minted.headers["x-request-id"]
    assert rid.startswith("req") and rid != hostile.headers["x-request-id"]
    chat = [a for a in _access_lines(capsys) if a["route"] == "/api/v1/chat"]
    assert [a["request_id"] for a in chat] == [rid]
