"""The first-stage intent recogniser and the emotion score."""

from __future__ import annotations

import pytest

from services.orchestrator.emotion import emotion_score
from services.orchestrator.intents import recognise


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("I want to talk to a human agent", "transfer_to_human"),
        ("can i speak to a real person pls", "transfer_to_human"),
        ("转人工", "transfer_to_human"),
        ("I'd like to open a ticket about a broken kettle", "ticket"),
        ("我要投诉", "ticket"),
        ("Where is my order ORD-2024-001?", "business_query"),
        ("what's the status of my order", "business_query"),
        ("我的订单到哪了", "business_query"),
        ("Hello!", "chitchat"),
        ("thanks so much", "chitchat"),
        ("你好", "chitchat"),
        ("How long does standard shipping take?", "knowledge_qa"),
        ("退货需要多少天", "knowledge_qa"),
        ("This is the third time I'm asking, your service is useless!!", "emotion_sensitive"),
    ],
)
def test_recognises_intent(message: str, intent: str) -> None:
    assert recognise(message, emotion_score(message)) == intent


def test_emotion_orders_angry_below_neutral_below_happy() -> None:
    angry = emotion_score("This is the third time I'm asking, your service is useless!!")
    neutral = emotion_score("How long does standard shipping take?")
    happy = emotion_score("Thanks, that was really helpful!")
    assert 0.0 <= angry < 0.4 < neutral < happy <= 1.0
