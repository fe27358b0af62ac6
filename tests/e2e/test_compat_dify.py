"""Dify's Service API (/compat/dify/v1) driven by Dify's own client, dify-client-python, over
the distributed stack: blocking and streaming chat continuing a conversation, stop, feedback,
history, errors in Dify's envelope, and other tenants' ids not found."""

from __future__ import annotations

import uuid

import httpx
import pytest
from dify_client import Client, errors, models

from tests.e2e.conftest import StackFactory, issue_key
from tests.support.stack import Stack

SHIPPING = "How much does gift wrapping cost?"
PAGE = "# Gift wrapping\n\nGift wrapping costs $4 per item and is available at checkout."


@pytest.fixture(scope="module")
def stack(stack_factory: StackFactory) -> Stack:
    """A model slow enough (40 tokens at 20/s) to stop mid-answer."""
    return stack_factory(llm=stack_factory.fake_llm(20, 40), TOKEN_FLUSH_MS="100")


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return f"{stack.of('gateway')[0].url}/compat/dify/v1"


@pytest.fixture(scope="module")
def dify(stack: Stack, base: str) -> Client:
    """Dify's client with a client key of a tenant of its own, whose help centre has a page."""
    tenant = f"dify-{uuid.uuid4().hex[:6]}"
    admin = {"X-API-Key": issue_key(stack, tenant, "admin")}
    uploaded = httpx.post(
        f"{stack.of('gateway')[0].url}/api/v1/knowledge-bases/default/documents",
        files={"file": ("Gifts.md", PAGE.encode())},
        headers=admin,
        timeout=60,
    )
    assert uploaded.status_code == 201, uploaded.text
    return Client(api_key=issue_key(stack, tenant, "client"), api_base=base)


def _ask(dify: Client, query: str, mode: models.ResponseMode, user: str, conversation: str = ""):  # type: ignore[no-untyped-def]
    request = models.ChatRequest(
        query=query, inputs={}, response_mode=mode, user=user, conversation_id=conversation
    )
    return dify.chat_messages(request)


def test_streaming_then_blocking_continue_one_conversation(dify: Client, base: str) -> None:
    user = f"u-{uuid.uuid4().hex[:6]}"
    events = list(_ask(dify, SHIPPING, models.ResponseMode.STREAMING, user))
    texts = [e for e in events if e.event == models.StreamEvent.MESSAGE]
    (end,) = [e for e in events if e.event == models.StreamEvent.MESSAGE_END]
    assert texts and end.conversation_id == texts[0].conversation_id
    assert "".join(t.answer for t in texts).strip()
    assert [r.document_name for r in end.metadata.retriever_resources][:1] == ["Gifts.md"]

    answer = _ask(
        dify,
        "Is it available at checkout?",
        models.ResponseMode.BLOCKING,
        user,
        end.conversation_id,
    )
    assert answer.answer and answer.mode == "chat" and answer.message_id.startswith("turn-")

    # Dify's conversation list and history see both turns.
    headers = {"Authorization": f"Bearer {dify.api_key}"}
    listed = httpx.get(f"{base}/conversations", params={"user": user}, headers=headers).json()
    assert [c["id"] for c in listed["data"]] == [end.conversation_id]
    history = httpx.get(
        f"{base}/messages",
        params={"user": user, "conversation_id": end.conversation_id},
        headers=headers,
    ).json()["data"]
    assert [m["query"] for m in history] == [SHIPPING, "Is it available at checkout?"]
    assert history[1]["answer"] == answer.answer


def test_stop_ends_the_stream_early_and_feedback_rates_the_answer(dify: Client) -> None:
    user = f"u-{uuid.uuid4().hex[:6]}"
    question = f"{SHIPPING} (ref {uuid.uuid4().hex[:8]})"  # not cached: the model answers
    stream = _ask(dify, question, models.ResponseMode.STREAMING, user)
    first = next(stream)
    assert first.event == models.StreamEvent.MESSAGE and first.task_id.startswith("turn-")
    stopped = dify.stop_chat_messages(first.task_id, models.StopRequest(user=user))
    assert stopped.result == "success"
    rest = list(stream)
    assert rest[-1].event == models.StreamEvent.MESSAGE_END
    answer = first.answer + "".join(e.answer for e in rest if e.event == models.StreamEvent.MESSAGE)
    assert len(answer.split()) < 40, "stopped before the model's 40 tokens"
    gateway = dify.api_base.removesuffix("/compat/dify/v1")  # type: ignore[union-attr]
    history = httpx.get(
        f"{gateway}/api/v1/sessions/{first.conversation_id}/messages",
        headers={"Authorization": f"Bearer {dify.api_key}"},
    ).json()["messages"]
    assert history[-1]["stopped"] is True, "kept, marked stopped"

    liked = dify.feedback_messages(
        first.message_id, models.FeedbackRequest(rating="like", user=user)
    )
    assert liked.result == "success"
    with pytest.raises(errors.DifyInvalidParam):
        dify.feedback_messages(first.message_id, models.FeedbackRequest(rating=None, user=user))
    with pytest.raises(errors.DifyResourceNotFound):
        dify.feedback_messages("turn-unknown", models.FeedbackRequest(rating="like", user=user))


def test_other_tenants_ids_and_unsupported_features_fail_in_difys_terms(
    dify: Client, stack: Stack, base: str
) -> None:
    user = "u-shared"
    mine = _ask(dify, SHIPPING, models.ResponseMode.BLOCKING, user)
    events = list(_ask(dify, SHIPPING, models.ResponseMode.STREAMING, user))
    conversation = events[-1].conversation_id
    other = Client(
        api_key=issue_key(stack, f"dify-{uuid.uuid4().hex[:6]}", "client"), api_base=base
    )
    with pytest.raises(errors.DifyResourceNotFound):
        _ask(other, "Tell me more", models.ResponseMode.BLOCKING, user, conversation)
    with pytest.raises(errors.DifyResourceNotFound):
        other.feedback_messages(
            mine.message_id, models.FeedbackRequest(rating="dislike", user=user)
        )
    with pytest.raises(errors.DifyAPIError, match="not supported"):
        dify.run_workflows(
            models.WorkflowsRunRequest(inputs={}, response_mode="blocking", user=user)
        )
    with pytest.raises(errors.DifyAPIError, match="401"):
        Client(api_key="wrong-key-0123456789", api_base=base).chat_messages(
            models.ChatRequest(query="hi", inputs={}, response_mode="blocking", user=user)
        )


def test_a_known_path_by_another_method_is_405_not_unsupported(dify: Client, base: str) -> None:
    headers = {"Authorization": f"Bearer {dify.api_key}"}
    wrong = httpx.get(f"{base}/chat-messages", headers=headers, timeout=30)
    assert wrong.status_code == 405
    assert wrong.json()["message"] == "Method Not Allowed"
    workflows = httpx.get(f"{base}/workflows/run", headers=headers, timeout=30)
    assert "workflows/run is not supported" in workflows.json()["message"]
