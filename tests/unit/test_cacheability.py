"""What the hot cache may keep: answers that belong to everyone, never one customer's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from services.orchestrator.cacheability import cacheable, has_personal_data
from services.orchestrator.coalescer import TokenCoalescer
from services.orchestrator.generation import HISTORY_CHAR_BUDGET, Generator
from shared.conversation import Message
from shared.events import Passage
from shared.llm import ChatMessage, CircuitBreaker

KNOWLEDGE_ANSWER: dict[str, Any] = {
    "question": "How long does standard shipping take?",
    "intent": "knowledge_qa",
    "outcome": "resolved",
    "parts": 1,
    "escalated": False,
    "used_history": False,
    "used_order": False,
}
PASSAGES = [Passage(doc_name="ShippingGuide.md", title="Shipping", text="3-5 days.", score=1.0)]


def test_a_first_turn_knowledge_answer_is_cached() -> None:
    assert cacheable(**KNOWLEDGE_ANSWER)


@pytest.mark.parametrize(
    "change",
    [
        {"used_history": True},  # composed with the session's earlier messages (or an agent's)
        {"used_order": True},  # an order was looked up for this customer
        {"escalated": True},
        {"parts": 2},
        {"outcome": "unresolved"},
        {"outcome": "neutral"},
        {"intent": "business_query"},
        {"intent": "emotion_sensitive"},
        {"intent": "chitchat"},
        {"question": "My card ends 4242, how long does standard shipping take?"},
        {"question": "I live at 12 Elm Street, how long does standard shipping take?"},
        {"question": "Can you send the shipping times to jane.doe@example.com?"},
        {"question": "Call me on +44 20 7946 0958 about shipping times"},
        {"question": "How long does shipping take for ORD-2024-001?"},
    ],
)
def test_an_answer_that_is_someone_s_own_is_not_cached(change: dict[str, Any]) -> None:
    assert not cacheable(**(KNOWLEDGE_ANSWER | change))


def test_personal_data_is_recognised_in_questions() -> None:
    assert has_personal_data("my card ends 4242, I live at 12 Elm Street")
    assert has_personal_data("我住在长安街10号")
    assert not has_personal_data("Can I return opened headphones within 30 days?")
    assert not has_personal_data("退货政策是什么？")


class RecordingModel:
    """An LLM stand-in that answers "ok" and keeps the prompts it was sent."""

    def __init__(self) -> None:
        self.prompts: list[list[ChatMessage]] = []

    async def stream(self, messages: Sequence[ChatMessage], **_: Any) -> AsyncIterator[str]:
        self.prompts.append(list(messages))
        yield "ok"


async def _answer(generator: Generator, history: list[Message]) -> Any:
    async def emit(_: str) -> None:
        return None

    return await generator.answer(
        "How long does shipping take?", PASSAGES, history, TokenCoalescer(emit, 0)
    )


async def test_the_generator_says_when_history_went_into_the_prompt() -> None:
    model = RecordingModel()
    generator = Generator(model, CircuitBreaker())
    alone = await _answer(generator, [])
    history = [Message("user", "my card ends 4242"), Message("assistant", "Noted.")]
    with_history = await _answer(generator, history)
    assert (alone.text, alone.grounded, alone.used_history) == ("ok", True, False)
    assert with_history.used_history
    assert any("4242" in m["content"] for m in model.prompts[1])


async def test_history_that_did_not_fit_the_prompt_was_not_used() -> None:
    model = RecordingModel()
    huge = [Message("user", "x" * (HISTORY_CHAR_BUDGET + 1))]
    generated = await _answer(Generator(model, CircuitBreaker()), huge)
    assert not generated.used_history
    assert len(model.prompts[0]) == 2  # the system prompt and the question only


async def test_the_extractive_answerer_never_uses_history() -> None:
    generated = await _answer(Generator(None, CircuitBreaker()), [Message("user", "4242")])
    assert generated.grounded and not generated.used_history
    assert "4242" not in generated.text
