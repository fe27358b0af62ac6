"""Intent recognition on evidence: rules for explicit requests, then a calibrated local model
that abstains when unsure; what the knowledge base finds, or the LLM, settles an abstention."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from services.orchestrator.evidence import ORDER_ID as ORDER_ID  # where it used to live
from services.orchestrator.evidence import Evidence, read
from services.orchestrator.intent_model import (
    IntentModel,
    cross_validated_temperature,
    stored_temperature,
)
from shared.errors import AppError
from shared.events.chat import Intent
from shared.llm import ChatModel, CircuitBreaker, CircuitOpen

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
TRAINING_FILE = DATA / "intent_training.jsonl"
CALIBRATION_FILE = DATA / "intent_calibration.json"
INTENTS: tuple[Intent, ...] = get_args(Intent)
# These take the whole message over, whatever else it asks.
TAKE_OVER: tuple[Intent, ...] = ("transfer_to_human", "ticket", "emotion_sensitive")
# The model decides only when, among the intents the evidence allows, its choice is more
# likely right than wrong (calibrated), and it knows the message's words: it abstains when
# two or more of them, and more than half, are new to it.
SURE_ABOVE = 0.5
UNFAMILIAR_WORDS = 2
# The LLM is asked only to settle an abstention, before meta: it must answer quickly or not at all.
LLM_TIMEOUT_SECONDS = 1.5
LLM_ANSWER_CHARS = 40

# Like the emotion score, the intent reads the message's first 4,000 characters (the default
# message limit), so its cost stays bounded whatever limit is configured.
CLASSIFIED_CHARS = 4_000

_FOLLOW_UP = re.compile(
    r"\b(it|its|it's|that|shipment|parcel|package|delivery|order|tracking|where|when)\b|它|那个",
    re.IGNORECASE,
)


@functools.cache
def _trained(examples: Path) -> IntentModel:
    """The model trained on ``examples``, calibrated; built once per process (it never changes)."""
    rows = [json.loads(line) for line in examples.read_text().splitlines() if line.strip()]
    texts, labels = [r["text"] for r in rows], [r["intent"] for r in rows]
    model = IntentModel(INTENTS)
    model.fit(texts, labels)
    temperature = stored_temperature(CALIBRATION_FILE, examples)
    if temperature is None:
        # Cross-validation takes a few seconds; bench/intents.py --calibrate stores its result.
        logger.info("no stored calibration for %s; calibrating now", examples.name)
        temperature = cross_validated_temperature(INTENTS, texts, labels)
    model.temperature = temperature
    return model


@dataclass(frozen=True)
class IntentGuess:
    """An intent, how sure we are, and what decided it.

    ``sure`` False means the model abstained: ``intent`` is then knowledge_qa (look it up),
    ``lean`` the model's best guess, and ``candidates`` what the evidence would allow.
    """

    intent: Intent
    confidence: float
    source: Literal["rule", "model", "knowledge", "llm"]
    sure: bool = True
    lean: Intent | None = None
    candidates: tuple[Intent, ...] = ()

    @property
    def takes_over(self) -> bool:
        """A hand-off, ticket or upset customer, decided: it takes the whole message."""
        return self.sure and self.intent in TAKE_OVER


def take_over(evidence: Evidence) -> IntentGuess | None:
    """The rules that decide a turn outright: an explicit request for a person or a ticket,
    then a furious customer."""
    if evidence.asks_for_person:
        return IntentGuess("transfer_to_human", 1.0, "rule")
    if evidence.asks_for_ticket:
        return IntentGuess("ticket", 1.0, "rule")
    if evidence.furious:
        return IntentGuess("emotion_sensitive", 1.0, "rule")
    return None


def judge(
    evidence: Evidence,
    probabilities: dict[str, float],
    unfamiliar: tuple[int, int],
    follow_up: bool,
) -> IntentGuess:
    """The local decision from the evidence and the model's calibrated probabilities.

    The model may choose only what the evidence allows (a hand-off needs a person to come up
    outside a question about people, an order query the customer's own order, and so on); its
    probabilities are renormalised over those intents.
    """
    ruled = take_over(evidence)
    if ruled is not None:
        return ruled
    if evidence.order_id is not None:
        return IntentGuess("business_query", 1.0, "rule")
    allowed = tuple(i for i in INTENTS if evidence.allows(i))
    if len(allowed) == 1:
        return IntentGuess(allowed[0], 1.0, "rule")  # nothing left for the model to decide
    total = sum(probabilities[i] for i in allowed) or 1.0
    best = max(allowed, key=probabilities.__getitem__)
    confidence = probabilities[best] / total
    if follow_up and best != "chitchat":
        # "where is it now?" after an order question continues the order conversation.
        return IntentGuess("business_query", max(confidence, 0.9), "rule")
    new, words = unfamiliar
    if confidence > SURE_ABOVE and not (new >= UNFAMILIAR_WORDS and new * 2 > words):
        return IntentGuess(best, confidence, "model", candidates=allowed)
    return IntentGuess("knowledge_qa", confidence, "model", False, best, allowed)


def settle(guess: IntentGuess, strong_match: bool, found: bool, llm: str | None) -> IntentGuess:
    """An abstention settled by what the knowledge base found and, if asked, the LLM.

    A strong match decides for knowledge_qa, for an abstention and for small talk that turns
    out to be a page of the help centre. Then the LLM's pick counts, if the evidence allows
    it. With neither, passages found are answered from; with none, the model's lean is kept
    unless it would hand over or open a ticket, which needs more than a lean. Any other sure
    guess stands.
    """
    if strong_match and (not guess.sure or guess.intent == "chitchat"):
        return IntentGuess("knowledge_qa", guess.confidence, "knowledge")
    if guess.sure:
        return guess
    if llm in guess.candidates:
        return IntentGuess(llm, guess.confidence, "llm")
    if not found and guess.lean in ("chitchat", "business_query", "emotion_sensitive"):
        return IntentGuess(guess.lean, guess.confidence, "model")
    return guess


class IntentRecogniser:
    """Six intents, English and Chinese, without an LLM for the clear cases."""

    def __init__(
        self,
        examples: Path = TRAINING_FILE,
        llm: ChatModel | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._model = _trained(examples)
        self._llm = llm
        # The answers' breaker: an LLM that keeps failing is not asked before meta either.
        self._breaker = breaker or CircuitBreaker()

    def take_over(self, message: str, emotion: float) -> IntentGuess | None:
        """The decision when a rule takes the whole turn over, before anything is looked up."""
        return take_over(read(message[:CLASSIFIED_CHARS], emotion))

    def classify(self, message: str, emotion: float, previous: str = "") -> IntentGuess:
        """The local decision: a rule if one fires, otherwise the model, which may abstain.

        ``previous`` is the session's last intent: a short follow-up such as "where is it
        now?" continues an order conversation rather than starting a new question.
        """
        message = message[:CLASSIFIED_CHARS]
        return judge(
            read(message, emotion),
            self._model.probabilities(message),
            self._model.unfamiliar(message),
            previous == "business_query" and _FOLLOW_UP.search(message) is not None,
        )

    async def consult(self, message: str, candidates: tuple[Intent, ...]) -> str | None:
        """The LLM's pick among ``candidates``; None without an LLM, on failure or when slow."""
        if self._llm is None or len(candidates) < 2:
            return None  # nothing it says could change the route
        try:
            self._breaker.check()
        except CircuitOpen:
            return None  # it has been failing: meta does not wait for it
        prompt = (
            "Classify the customer-service message into exactly one intent: "
            + ", ".join(candidates)
            + ". knowledge_qa = a question the help centre answers, on any topic; "
            "business_query = the customer's own order, shipment or refund; chitchat = small "
            "talk. Answer with the intent name only."
        )
        answer = ""
        stream = self._llm.stream(
            [{"role": "system", "content": prompt}, {"role": "user", "content": message}]
        )
        try:
            async with asyncio.timeout(LLM_TIMEOUT_SECONDS):
                # aclosing: breaking out early must also end the upstream request.
                async with contextlib.aclosing(stream):  # type: ignore[type-var]
                    async for piece in stream:
                        answer += piece.lower()
                        # The label is all we need: stop as soon as the model has said one (or
                        # enough to show it will not), since meta waits for this.
                        if any(i in answer for i in candidates) or len(answer) > LLM_ANSWER_CHARS:
                            break
        except (TimeoutError, AppError) as exc:
            self._breaker.record_failure()
            reason = exc.message if isinstance(exc, AppError) else "too slow"
            logger.info("LLM intent check failed, keeping the local guess: %s", reason)
            return None
        self._breaker.record_success()
        return next((i for i in candidates if i in answer), None)
