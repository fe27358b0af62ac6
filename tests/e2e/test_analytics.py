"""Outcome analytics on the distributed stack: scripted conversations of a new tenant give
exactly the summary and knowledge gaps a support lead should read, and ratings are scoped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import HEADERS, issue_key
from tests.support.stack import Stack

PAGE = "# Gift wrapping\n\nGift wrapping costs $4 per item and is available at checkout."
ANSWERED = "How much does gift wrapping cost?"
UNANSWERABLE = ("Do you offer engraving on watches?", "do you offer ENGRAVING on watches")


@pytest.fixture
def tenant(stack: Stack) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """A tenant nobody else uses (its counters start at zero): its client and admin."""
    name = f"analytics-{uuid.uuid4().hex[:8]}"
    url = stack.of("gateway")[0].url
    client, admin = (
        httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {issue_key(stack, name, role)}"},
            timeout=30,
        )
        for role in ("client", "admin")
    )
    upload = admin.post(
        "/api/v1/knowledge-bases/default/documents", files={"file": ("Gifts.md", PAGE.encode())}
    )
    assert upload.status_code == 201, upload.text
    yield client, admin
    client.close()
    admin.close()


def _ask(client: httpx.Client, message: str) -> dict[str, Any]:
    """One turn in a new session: its ``data``, with the session's id."""
    response = client.post("/api/v1/chat", json={"message": message})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    assert data["turn_id"].startswith("turn-")
    return {**data, "session_id": response.json()["session_id"]}


def _score_agent(client: httpx.Client, session_id: str, score: int) -> httpx.Response:
    return client.post(f"/api/v1/sessions/{session_id}/csat", json={"score": score})


def _rate(client: httpx.Client, turn_id: str, rating: str) -> httpx.Response:
    return client.post(f"/api/v1/turns/{turn_id}/feedback", json={"rating": rating})


def test_scripted_conversations_give_the_exact_summary_and_gaps(
    tenant: tuple[httpx.Client, httpx.Client], stack: Stack
) -> None:
    client, admin = tenant
    assert admin.get("/api/v1/analytics/summary").json()["turns"] == 0
    first = _ask(client, ANSWERED)
    again = _ask(client, ANSWERED.lower())  # the hot cache answers it: still a resolved turn
    assert first["intent"] == again["intent"] == "knowledge_qa"
    assert first["sources"] == ["Gifts.md"]
    for question in UNANSWERABLE:
        assert _ask(client, question)["sources"] == []
    handoff = _ask(client, "I want to talk to a human agent")
    assert handoff["escalate_to_human"] is True

    assert _rate(client, first["turn_id"], "down").status_code == 204
    assert _rate(client, first["turn_id"], "up").status_code == 204  # replaces the down
    assert _rate(client, again["turn_id"], "down").status_code == 204
    assert _score_agent(client, handoff["session_id"], 3).status_code == 204
    assert _score_agent(client, handoff["session_id"], 5).status_code == 204  # replaces the 3
    assert _score_agent(client, handoff["session_id"], 6).status_code == 422
    assert _score_agent(client, first["session_id"], 5).status_code == 409  # no agent there

    summary = admin.get("/api/v1/analytics/summary").json()
    expected = {
        "conversations": 5,
        "turns": 5,
        "resolved_by_bot": 2,
        "reopened": 0,
        "handed_off": 1,
        "handoff_reasons": {"explicit_request": 1},
        "no_answer_turns": 2,
        "containment_rate": 0.8,
        "feedback": {"up": 1, "down": 1},
        "agent_csat": {"mean": 5.0, "count": 1},
    }
    assert {k: summary[k] for k in expected} == expected
    assert summary["median_time_to_first_token_ms"] > 0
    (today,) = [day for day in summary["by_day"] if day["turns"]]
    assert {k: today[k] for k in expected} == expected

    gaps = admin.get("/api/v1/analytics/knowledge-gaps").json()["gaps"]
    assert [(g["count"], g["examples"]) for g in gaps] == [
        (2, list(UNANSWERABLE)),  # one gap: case and punctuation do not count
        (1, [ANSWERED.lower()]),  # rated down
    ]
    assert gaps[0]["question"] == UNANSWERABLE[0]

    # Analytics are the admin's, and per tenant: the default tenant's admin sees none of it.
    assert client.get("/api/v1/analytics/summary").status_code == 403
    gateway = stack.of("gateway")[0].url
    theirs = httpx.get(f"{gateway}/api/v1/analytics/knowledge-gaps", headers=HEADERS).json()
    assert not any(g["question"] == UNANSWERABLE[0] for g in theirs["gaps"])


def test_ratings_are_checked_and_scoped_to_the_turns_tenant(
    tenant: tuple[httpx.Client, httpx.Client], stack: Stack
) -> None:
    client, _ = tenant
    turn_id = _ask(client, ANSWERED)["turn_id"]
    assert _rate(client, turn_id, "meh").status_code == 422
    assert _rate(client, "turn-doesnotexist", "up").status_code == 404
    other_tenant = httpx.post(
        f"{stack.of('gateway')[0].url}/api/v1/turns/{turn_id}/feedback",
        json={"rating": "up"},
        headers=HEADERS,
    )
    assert other_tenant.status_code == 404


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"since": "yesterday"}, "ISO 8601"),
        ({"since": "2026-12-02", "until": "2026-12-01"}, "after"),
        ({"since": "2020-01-01", "until": "2026-01-01"}, "366 days"),
        ({"since": "9999-12-31T23:00:00-05:00"}, "out of range"),
    ],
)
def test_a_bad_period_is_refused_clearly(
    tenant: tuple[httpx.Client, httpx.Client], params: dict[str, str], problem: str
) -> None:
    _, admin = tenant
    response = admin.get("/api/v1/analytics/summary", params=params)
    assert response.status_code == 422
    assert problem in response.text


def test_the_first_and_last_days_of_the_calendar_are_no_error(
    tenant: tuple[httpx.Client, httpx.Client],
) -> None:
    _, admin = tenant
    for params in ({"until": "0001-01-02"}, {"since": "9999-12-31", "until": "9999-12-31"}):
        response = admin.get("/api/v1/analytics/summary", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["turns"] == 0
    assert (
        admin.get("/api/v1/analytics/knowledge-gaps", params={"until": "0001-01-01"}).json()["gaps"]
        == []
    )
