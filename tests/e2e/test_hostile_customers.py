"""What one customer can do to others on the distributed stack: nothing of theirs is cached for
someone else, and no id they choose takes the operator's merchant key to another URL.

The stack runs with a fake LLM that, in ``quote_history`` mode, repeats the conversation's
earlier messages back, and with a real local HTTP server as the merchant's order API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import StackFactory, client_of
from tests.support.fake_llm import llm_stats, set_llm_mode
from tests.support.merchant import RecordingMerchant, running_merchant
from tests.support.stack import Stack

SHIPPING = "How long does standard shipping take?"
WARRANTY = "What is the warranty on chargers?"


@pytest.fixture(scope="module")
def fake_llm(stack_factory: StackFactory) -> str:
    return stack_factory.fake_llm(0, 12)


@pytest.fixture(scope="module")
def merchant() -> Iterator[RecordingMerchant]:
    with running_merchant() as server:
        yield server


@pytest.fixture(scope="module")
def hostile_stack(fake_llm: str, merchant: RecordingMerchant, stack_factory: StackFactory) -> Stack:
    return stack_factory(
        llm=fake_llm, ORDERS_API_URL=merchant.url, ORDERS_API_KEY="merchant-operator-key"
    )


@pytest.fixture
def client(hostile_stack: Stack, fake_llm: str) -> Iterator[httpx.Client]:
    set_llm_mode(fake_llm, "quote_history")
    with client_of(hostile_stack) as http:
        yield http
    set_llm_mode(fake_llm, "normal")


def _chat(client: httpx.Client, message: str, user: str, session: str | None = None) -> Any:
    body = {"message": message, "user_id": user, "session_id": session}
    response = client.post("/api/v1/chat", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_one_customer_s_history_never_reaches_another(client: httpx.Client, fake_llm: str) -> None:
    first = _chat(client, "my card ends 4242, I live at 12 Elm Street", "alice")
    alice = _chat(client, SHIPPING, "alice", first["session_id"])
    # The model was given Alice's history and repeated it: this answer is hers alone.
    assert "4242" in alice["reply"] and "Elm Street" in alice["reply"]
    assert alice["data"]["intent"] == "knowledge_qa"

    asked = llm_stats(fake_llm)["requests"]
    bob = _chat(client, SHIPPING, "bob")
    assert "4242" not in bob["reply"] and "Elm" not in bob["reply"]
    assert bob["data"]["sources"] and bob["data"]["turn_count"] == 1
    assert llm_stats(fake_llm)["requests"] > asked  # composed for Bob, not Alice's from cache


def test_a_first_turn_knowledge_answer_is_still_served_to_everyone(
    client: httpx.Client, fake_llm: str
) -> None:
    carol = _chat(client, WARRANTY, "carol")
    asked = llm_stats(fake_llm)["requests"]
    dave = _chat(client, WARRANTY, "dave")
    assert dave["reply"] == carol["reply"] and dave["data"]["sources"]
    assert dave["session_id"] != carol["session_id"]
    assert llm_stats(fake_llm)["requests"] == asked  # from the hot cache: no model call


def test_a_question_carrying_personal_data_is_not_cached(
    client: httpx.Client, fake_llm: str
) -> None:
    question = "My card ends 4242: can I pay for express shipping with it?"
    _chat(client, question, "erin")
    asked = llm_stats(fake_llm)["requests"]
    _chat(client, question, "frank")
    assert llm_stats(fake_llm)["requests"] > asked


def test_a_client_chosen_user_id_never_rewrites_the_merchant_url(
    client: httpx.Client, merchant: RecordingMerchant
) -> None:
    handed_over = _chat(client, "I want to talk to a human agent", "../../admin/export?all=1#")
    assert handed_over["data"]["escalate_to_human"]
    order = _chat(client, "Where is my order ORD-2024-001?", "../../admin/export?all=1#")
    assert "UPS" in order["reply"]
    targets = merchant.targets
    # The member level was looked up for the customer, under their id as one escaped segment.
    assert "/customers/..%2F..%2Fadmin%2Fexport%3Fall%3D1%23" in targets
    assert "/orders/ORD-2024-001" in targets
    assert all(t.startswith(("/customers/", "/orders/")) for t in targets), targets
    assert all(t.count("/") == 2 for t in targets), targets
    assert {r.authorization for r in merchant.requests} == {"Bearer merchant-operator-key"}
