"""Intent recognition (rules, local model, LLM when unsure), emotion, sub-task splitting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from services.orchestrator.emotion import emotion_score
from services.orchestrator.intents import UNSURE_BELOW, IntentRecogniser
from services.orchestrator.privacy import mask_personal_data
from services.orchestrator.subtasks import split_message
from shared.errors import DependencyUnavailable
from shared.llm import ChatMessage


@pytest.fixture(scope="module")
def recogniser() -> IntentRecogniser:
    return IntentRecogniser()


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("I want to talk to a human agent", "transfer_to_human"),
        ("can i speak to a real person pls", "transfer_to_human"),
        ("转人工", "transfer_to_human"),
        ("I'd like to open a ticket about a broken kettle", "ticket"),
        ("我要投诉", "ticket"),
        ("Where is my order ORD-2024-001?", "business_query"),
        ("has my parcel left the warehouse yet", "business_query"),
        ("Hello!", "chitchat"),
        ("thanks so much", "chitchat"),
        ("你好", "chitchat"),
        ("How long does standard shipping take?", "knowledge_qa"),
        ("do you accept paypal", "knowledge_qa"),
        ("退货需要多少天", "knowledge_qa"),
        ("This is the third time I'm asking, your service is useless!!", "emotion_sensitive"),
        ("你们的服务太差了，气死我了！", "emotion_sensitive"),
    ],
)
def test_recognises_intent(recogniser: IntentRecogniser, message: str, intent: str) -> None:
    assert recogniser.classify(message, emotion_score(message)).intent == intent


def test_follow_up_keeps_an_order_conversation(recogniser: IntentRecogniser) -> None:
    message = "Where is its shipment now?"
    assert recogniser.classify(message, 0.75, previous="business_query").intent == (
        "business_query"
    )


class ScriptedLLM:
    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.calls = 0

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        self.calls += 1
        if self.answer is None:
            raise DependencyUnavailable("down")
        yield self.answer


async def test_llm_is_asked_only_when_the_model_is_unsure() -> None:
    llm = ScriptedLLM("business_query")
    recogniser = IntentRecogniser(llm=llm)
    clear = await recogniser.recognise("I want to talk to a human agent", 0.75)
    assert (clear.source, llm.calls) == ("rule", 0)
    vague = "xylophone quantum zebra"
    assert recogniser.classify(vague, 0.75).confidence < UNSURE_BELOW
    result = await recogniser.recognise(vague, 0.75)
    assert (result.intent, result.source, llm.calls) == ("business_query", "llm", 1)


async def test_an_llm_outage_keeps_the_local_guess() -> None:
    recogniser = IntentRecogniser(llm=ScriptedLLM(None))
    result = await recogniser.recognise("xylophone quantum zebra", 0.75)
    assert (result.intent, result.source) == ("knowledge_qa", "model")  # unsure: look it up


def test_emotion_orders_angry_below_neutral_below_happy() -> None:
    angry = emotion_score("This is the third time I'm asking, your service is useless!!")
    neutral = emotion_score("How long does standard shipping take?")
    happy = emotion_score("Thanks, that was really helpful!")
    assert 0.0 <= angry < 0.4 < neutral < happy <= 1.0
    assert emotion_score("气死我了，什么破快递！！") < 0.4 < emotion_score("退货需要多少天")


@pytest.mark.parametrize(
    ("message", "parts"),
    [
        (
            "where is my order ORD-2024-001 and how do I return the charger?",
            ["where is my order ORD-2024-001", "how do I return the charger?"],
        ),
        (
            "Can I pay with PayPal? Also, do you ship to Hawaii?",
            ["Can I pay with PayPal?", "Also, do you ship to Hawaii?"],
        ),
        (
            "我的订单ORD-2024-001到哪了，还有退货要多少天",
            ["我的订单ORD-2024-001到哪了", "退货要多少天"],
        ),
        ("I bought a kettle and a toaster", ["I bought a kettle and a toaster"]),
    ],
)
def test_compound_messages_split_into_parts(message: str, parts: list[str]) -> None:
    assert split_message(message) == parts


def test_personal_data_is_masked() -> None:
    text = "Call +1 (775) 555-0123 or 13812345678, mail jane.doe@example.com, 221 Baker Street."
    masked = mask_personal_data(text)
    assert "555-0123" not in masked and "0123" in masked and "5678" in masked
    assert "jane.doe" not in masked and "221 Baker Street" not in masked
    assert mask_personal_data("Order ORD-2024-001, tracking 1Z999AA10123456784") == (
        "Order ORD-2024-001, tracking 1Z999AA10123456784"
    )
