"""Intent recognition: precise cue rules, then a small local model; the LLM only when unsure."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from services.orchestrator.intent_model import IntentModel
from shared.errors import AppError
from shared.events.chat import Intent
from shared.llm import ChatModel

logger = logging.getLogger(__name__)

TRAINING_FILE = Path(__file__).resolve().parent / "data" / "intent_training.jsonl"
INTENTS: tuple[str, ...] = get_args(Intent)
ORDER_ID = re.compile(r"\bORD-\d{4}-\d{3,}\b", re.IGNORECASE)
# Clearly furious messages are handled as upset whatever they ask; milder negativity
# ("broken kettle", 麻烦) is left to the model, which has seen upset and calm examples.
FURIOUS_BELOW = 0.3
UNSURE_BELOW = 0.3
# A hand-off or a ticket changes things for people: the model must be sure before either.
ACTS = ("transfer_to_human", "ticket")
ACT_AT_LEAST = 0.4
LLM_ANSWER_CHARS = 40

_HUMAN = re.compile(
    r"\b(human|real person|live (agent|person)|(customer service |support )?"
    r"(agent|representative|rep|operator)|(speak|talk) to (someone|somebody|a person)|"
    r"get me (a|an|some) ?(person|someone|somebody|human|agent)|real (employee|staff))\b|"
    r"转人工|人工客服|找人工|要人工|真人客服|转客服|客服人员",
    re.IGNORECASE,
)
_TICKET = re.compile(
    r"\b(open|raise|file|submit|create|log|make|register|start)\b.{0,25}"
    r"\b(ticket|complaint|case|claim|investigation)\b|"
    r"\b(ticket|case|claim)\b.{0,15}\b(opened|open|logged|filed|raised)\b|"
    r"\bticket\b|\bformal complaint\b|\b(call|ring|phone) me( back)?\b|\bcallback\b|"
    r"工单|投诉|回电话|回个电话",
    re.IGNORECASE,
)
_FOLLOW_UP = re.compile(
    r"\b(it|its|it's|that|shipment|parcel|package|delivery|order|tracking|where|when)\b|它|那个",
    re.IGNORECASE,
)


@functools.cache
def _trained(examples: Path) -> IntentModel:
    """The model trained on ``examples``; trained once per process (it never changes)."""
    rows = [json.loads(line) for line in examples.read_text().splitlines() if line.strip()]
    model = IntentModel(INTENTS)
    model.fit([r["text"] for r in rows], [r["intent"] for r in rows])
    return model


@dataclass(frozen=True)
class IntentGuess:
    """An intent, how sure we are, and what decided it."""

    intent: Intent
    confidence: float
    source: Literal["rule", "model", "llm"]


class IntentRecogniser:
    """Six intents, English and Chinese, without an LLM for the clear cases."""

    def __init__(self, examples: Path = TRAINING_FILE, llm: ChatModel | None = None) -> None:
        self._model = _trained(examples)
        self._llm = llm

    def classify(self, message: str, emotion: float, previous: str = "") -> IntentGuess:
        """The local decision: a cue rule if one fires, otherwise the model.

        ``previous`` is the session's last intent: a short follow-up such as "where is it
        now?" continues an order conversation rather than starting a new question.
        """
        if _HUMAN.search(message):
            return IntentGuess("transfer_to_human", 1.0, "rule")
        if _TICKET.search(message):
            return IntentGuess("ticket", 1.0, "rule")
        if emotion < FURIOUS_BELOW:
            return IntentGuess("emotion_sensitive", 1.0, "rule")
        if ORDER_ID.search(message):
            return IntentGuess("business_query", 1.0, "rule")
        intent, confidence = self._model.predict(message)
        if previous == "business_query" and intent != "chitchat" and _FOLLOW_UP.search(message):
            return IntentGuess("business_query", max(confidence, 0.9), "rule")
        if confidence < UNSURE_BELOW or (intent in ACTS and confidence < ACT_AT_LEAST):
            # Unsure: look it up rather than open a ticket or a hand-off on a guess; the
            # knowledge base says plainly when it has nothing relevant.
            return IntentGuess("knowledge_qa", confidence, "model")
        return IntentGuess(intent, confidence, "model")  # type: ignore[arg-type]

    async def recognise(self, message: str, emotion: float, previous: str = "") -> IntentGuess:
        """``classify``, asking the LLM (when configured) only if the model is unsure."""
        guess = self.classify(message, emotion, previous)
        if guess.confidence >= UNSURE_BELOW or self._llm is None:
            return guess
        prompt = (
            "Classify the customer-service message into exactly one intent: "
            + ", ".join(INTENTS)
            + ". knowledge_qa = general policy questions; business_query = the customer's own "
            "order, shipment or refund. Answer with the intent name only."
        )
        answer = ""
        stream = self._llm.stream(
            [{"role": "system", "content": prompt}, {"role": "user", "content": message}]
        )
        try:
            # aclosing: breaking out early must also end the upstream request.
            async with contextlib.aclosing(stream):  # type: ignore[type-var]
                async for piece in stream:
                    answer += piece.lower()
                    # The label is all we need: stop as soon as the model has said one (or
                    # enough to show it will not), since meta waits for this.
                    if any(i in answer for i in INTENTS) or len(answer) > LLM_ANSWER_CHARS:
                        break
        except AppError as exc:
            logger.info("LLM intent check unavailable, keeping the local guess: %s", exc.message)
            return guess
        chosen = next((i for i in INTENTS if i in answer), None)
        return IntentGuess(chosen, 0.9, "llm") if chosen else guess  # type: ignore[arg-type]
