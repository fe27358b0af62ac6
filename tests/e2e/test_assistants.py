"""Assistants on the distributed stack with an LLM: what the model is sent follows the named
assistant (its rendered prompt, model and sampling), and the tenant default otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import HEADERS, StackFactory, client_of
from tests.support.fake_llm import llm_stats
from tests.support.sse import stream_events
from tests.support.stack import Stack

BUILTIN_PROMPT = "You are the customer-service assistant of Northwind Goods."
PROMPT = "You are the assistant of {company}. Keep answers {tone}."
MAX_TOKENS = 7


@pytest.fixture(scope="module")
def assistants_llm(stack_factory: StackFactory) -> str:
    return stack_factory.fake_llm(0, 20)


@pytest.fixture(scope="module")
def assistants_stack(assistants_llm: str, stack_factory: StackFactory) -> Stack:
    return stack_factory(llm=assistants_llm)


@pytest.fixture
def http(assistants_stack: Stack) -> Iterator[httpx.Client]:
    with client_of(assistants_stack) as client:
        yield client


@pytest.fixture(scope="module")
def acme(assistants_stack: Stack) -> dict[str, Any]:
    """An assistant with a variable in its prompt and its own model settings."""
    url = assistants_stack.of("gateway")[0].url
    body = {
        "name": "Acme",
        "system_prompt": PROMPT,
        "variables": [
            {"name": "company", "required": True},
            {"name": "tone", "default": "short"},
        ],
        "llm": {"model": "acme-model", "temperature": 0.3, "max_tokens": MAX_TOKENS},
    }
    response = httpx.post(f"{url}/api/v1/assistants", json=body, headers=HEADERS, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _last_request(llm: str) -> dict[str, Any]:
    return httpx.get(f"{llm}/_last_request").json()  # type: ignore[no-any-return]


def test_named_assistant_sends_its_prompt_and_settings(
    http: httpx.Client, assistants_llm: str, acme: dict[str, Any]
) -> None:
    before = llm_stats(assistants_llm)["completed"]
    response = http.post(
        "/api/v1/chat",
        json={
            "message": "What is the warranty on chargers?",
            "assistant_id": acme["id"],
            "variables": {"company": "Acme Outdoor"},
        },
    )
    assert response.status_code == 200, response.text
    sent = _last_request(assistants_llm)
    assert sent["system"].startswith("You are the assistant of Acme Outdoor. Keep answers short.")
    assert "Passages:" in sent["system"] and "{company}" not in sent["system"]
    assert (sent["model"], sent["temperature"], sent["max_tokens"]) == ("acme-model", 0.3, 7)
    assert len(response.json()["reply"].split()) == MAX_TOKENS  # the model honoured the cap
    assert llm_stats(assistants_llm)["completed"] > before


def test_other_variables_are_not_served_from_the_cache(
    http: httpx.Client, assistants_llm: str, acme: dict[str, Any]
) -> None:
    question = "How do returns work for opened items?"
    for company in ("Acme Outdoor", "Globex"):
        _, events = stream_events(
            http,
            {
                "message": question,
                "assistant_id": acme["id"],
                "variables": {"company": company, "tone": "warm"},
            },
        )
        assert [name for name, _ in events][-2:] == ["done", "metrics"]
        # Each asks the model anew: the first answer was cached for Acme Outdoor only.
        expected = f"You are the assistant of {company}. Keep answers warm."
        assert _last_request(assistants_llm)["system"].startswith(expected)


def test_the_default_assistant_is_the_built_in_one_until_one_is_set(
    http: httpx.Client, assistants_llm: str, acme: dict[str, Any]
) -> None:
    assert http.post("/api/v1/chat", json={"message": "Can I pay with PayPal?"}).status_code == 200
    sent = _last_request(assistants_llm)
    assert sent["system"].startswith(BUILTIN_PROMPT)
    assert (sent["model"], sent["temperature"], sent["max_tokens"]) == ("fake-model", None, None)

    url = f"/api/v1/assistants/{acme['id']}"
    assert http.patch(url, json={"is_default": True}).json()["is_default"] is True
    try:
        missing = http.post("/api/v1/chat", json={"message": "Do you ship to Canada?"})
        assert missing.status_code == 422
        assert missing.json() == {"detail": "missing required variable(s): company"}
        answered = http.post(
            "/api/v1/chat",
            json={"message": "Do you ship to Canada?", "variables": {"company": "Initech"}},
        )
        assert answered.status_code == 200
        assert _last_request(assistants_llm)["system"].startswith(
            "You are the assistant of Initech."
        )
    finally:
        http.patch(url, json={"is_default": False})


def test_unknown_assistant_is_404(http: httpx.Client) -> None:
    response = http.post("/api/v1/chat", json={"message": "hi", "assistant_id": "asst-nope"})
    assert response.status_code == 404
    assert response.json() == {"detail": "No such assistant"}
