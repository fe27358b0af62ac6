"""The OpenAI-compatible endpoint, driven by the official openai client against the stack."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.conftest import API_KEY, HEADERS
from tests.support.stack import Stack

SHIPPING = "How long does standard shipping take?"


@pytest.fixture
def gateway(stack: Stack) -> str:
    """The first gateway's base URL."""
    return stack.of("gateway")[0].url


@pytest.fixture
def llm(gateway: str) -> Iterator[openai.OpenAI]:
    """The sync openai client pointed at Frontdesk; no retries, so failures show at once."""
    with openai.OpenAI(base_url=f"{gateway}/v1", api_key=API_KEY, max_retries=0) as client:
        yield client


def _user() -> str:
    return f"oai-{uuid.uuid4().hex[:12]}"


def _frontdesk(gateway: str, path: str, **params: Any) -> Any:
    response = httpx.get(f"{gateway}{path}", headers=HEADERS, params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_sync_completion_answers_a_shipping_question(llm: openai.OpenAI) -> None:
    completion = llm.chat.completions.create(
        model="frontdesk",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": SHIPPING},
        ],
        temperature=0.2,
        user=_user(),
    )
    assert completion.object == "chat.completion"
    assert completion.model == "frontdesk"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert "3-5 business days" in (choice.message.content or "")
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_streamed_text_is_what_the_session_stored(llm: openai.OpenAI, gateway: str) -> None:
    raw = llm.chat.completions.with_raw_response.create(
        model="any-name",
        messages=[{"role": "user", "content": "Which payment methods do you accept?"}],
        stream=True,
        stream_options={"include_usage": True},
        user=_user(),
    )
    session_id = raw.headers["x-session-id"]
    chunks = list(raw.parse())
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.model == "any-name" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0

    page = _frontdesk(gateway, f"/api/v1/sessions/{session_id}/messages", order="desc", limit=1)
    assert page["messages"][0]["role"] == "assistant"
    assert text and text == page["messages"][0]["content"]


async def test_a_resent_history_continues_one_session(gateway: str) -> None:
    client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=API_KEY, max_retries=0)
    user = _user()
    messages: list[Any] = [{"role": "user", "content": SHIPPING}]
    async with client:
        first = await client.chat.completions.with_raw_response.create(
            model="frontdesk", messages=messages, user=user
        )
        reply = first.parse().choices[0].message.content
        messages += [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": "And how much does express shipping cost?"},
        ]
        second = await client.chat.completions.with_raw_response.create(
            model="frontdesk", messages=messages, user=user
        )
    session_id = first.headers["x-session-id"]
    assert second.headers["x-session-id"] == session_id
    assert "14.99" in (second.parse().choices[0].message.content or "")
    assert _frontdesk(gateway, f"/api/v1/sessions/{session_id}")["turn_count"] == 2


def test_identical_chats_of_two_customers_stay_apart(llm: openai.OpenAI) -> None:
    # Same question, same (cached) reply: the resent histories are identical.
    question = [{"role": "user", "content": "Do you ship to Hong Kong?"}]
    firsts = [
        llm.chat.completions.with_raw_response.create(model="m", messages=question) for _ in "ab"
    ]
    sessions = {raw.headers["x-session-id"] for raw in firsts}
    assert len(sessions) == 2
    reply = firsts[0].parse().choices[0].message.content
    assert reply == firsts[1].parse().choices[0].message.content
    follow_up = llm.chat.completions.with_raw_response.create(
        model="m",
        messages=[
            *question,
            {"role": "assistant", "content": reply},
            {"role": "user", "content": "What about Taiwan?"},
        ],
    )
    assert follow_up.headers["x-session-id"] not in sessions


def test_explicit_session_header_wins(llm: openai.OpenAI) -> None:
    session_id = f"sess-oai-{uuid.uuid4().hex[:8]}"
    raw = llm.chat.completions.with_raw_response.create(
        model="frontdesk",
        messages=[{"role": "user", "content": SHIPPING}],
        extra_headers={"X-Session-Id": session_id},
    )
    assert raw.headers["x-session-id"] == session_id
    assert raw.parse().frontdesk["session_id"] == session_id  # type: ignore[attr-defined]


def test_models_lists_frontdesk(llm: openai.OpenAI) -> None:
    assert [m.id for m in llm.models.list()] == ["frontdesk"]


def test_bad_requests_raise_the_clients_errors(llm: openai.OpenAI, gateway: str) -> None:
    wrong = openai.OpenAI(base_url=f"{gateway}/v1", api_key="wrong-key", max_retries=0)
    with wrong, pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(
            model="frontdesk", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.UnprocessableEntityError) as empty:
        llm.chat.completions.create(
            model="frontdesk",
            messages=[
                {"role": "user", "content": SHIPPING},
                {"role": "user", "content": "   "},
            ],
        )
    # The client shows the message of OpenAI's ``error`` object, which Frontdesk adds under /v1.
    assert "the last message must be a user message" in empty.value.message
    with pytest.raises(openai.UnprocessableEntityError):
        llm.chat.completions.create(
            model="frontdesk", messages=[{"role": "assistant", "content": "Hello!"}], stream=True
        )
