"""Deciding each part of a turn's route, with its knowledge-base look-up started at once.

A turn that no rule takes over looks every part up as soon as it starts, while the session
loads and the message is classified, so that an unsure guess can be settled by what the
knowledge base holds at no cost to ``meta``; the passages found are the ones answered from.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.orchestrator.intent_model import content_terms
from services.orchestrator.intents import IntentGuess, IntentRecogniser, settle
from services.orchestrator.planning import Lookup, Planner
from services.orchestrator.subtasks import split_message
from shared.events import ChatRequested


@dataclass(frozen=True)
class Routed:
    """One part's text, its decided intent, and the look-up of that same text if one ran."""

    text: str
    guess: IntentGuess
    lookup: Lookup | None


class Routing:
    """One turn's routing; creating it starts the look-ups, ``close`` ends any still running."""

    def __init__(
        self, intents: IntentRecogniser, planner: Planner, request: ChatRequested, emotion: float
    ) -> None:
        self._intents = intents
        self._planner = planner
        self._request = request
        self._emotion = emotion
        message = request.message
        self._take_over = intents.take_over(message, emotion)
        if self._take_over is None:
            texts = split_message(message)
        elif planner.answers_from_knowledge(self._take_over.intent, emotion):
            texts = [message]  # upset, not furious: answered from the knowledge base, kindly
        else:
            texts = []
        self._lookups = {text: self._start(text) for text in dict.fromkeys(texts)}

    def _start(self, text: str) -> asyncio.Task[Lookup]:
        req = self._request
        return asyncio.create_task(
            self._planner.look_up(text, req.tenant_id, req.correlation_id, req.assistant)
        )

    def close(self) -> None:
        """Stop the look-ups nobody needs any more; a failed one nobody awaited is let go."""
        for task in self._lookups.values():
            if task.done() and not task.cancelled():
                task.exception()  # retrieved, so asyncio does not report it as lost
            task.cancel()

    async def decide(self, previous: str) -> list[Routed]:
        """Every part of the message with its intent; a take-over intent plans the whole.

        ``previous`` is the session's last intent, for follow-ups in an order conversation.
        """
        message = self._request.message
        whole = self._take_over or self._intents.classify(message, self._emotion, previous)
        if whole.takes_over:
            return [await self._settled(message, whole)]
        texts = split_message(message)
        guesses = [whole]
        if len(texts) > 1:
            guesses = [self._intents.classify(t, self._emotion, previous) for t in texts]
            if any(g.takes_over for g in guesses):
                texts, guesses = [message], [whole]
        return list(await asyncio.gather(*map(self._settled, texts, guesses)))

    async def _settled(self, text: str, guess: IntentGuess) -> Routed:
        """The part with its abstention settled, and its look-up when it answers from it."""
        # Small talk with a topic word ("what is your favourite investment?") may be a page of
        # the help centre: its look-up, already running, is awaited for settle to judge.
        maybe_a_page = guess.intent == "chitchat" and text in self._lookups and content_terms(text)
        knowledge = self._planner.answers_from_knowledge(guess.intent, self._emotion)
        if guess.sure and not knowledge and not maybe_a_page:
            return Routed(text, guess, None)
        if text not in self._lookups:
            self._lookups[text] = self._start(text)  # the whole of a message split in vain
        lookup = await self._lookups[text]
        llm = None
        if not guess.sure and not lookup.strong:
            # Only now can the LLM's answer change the route; None at once without one.
            llm = await self._intents.consult(text, guess.candidates)
        guess = settle(guess, lookup.strong, bool(lookup.passages), llm)
        keep = self._planner.answers_from_knowledge(guess.intent, self._emotion)
        return Routed(text, guess, lookup if keep else None)
