"""A turn's routing with a scripted retriever: look-ups start with the turn, settle unsure
guesses, are reused for the answer, and never hold up a decided route."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from services.orchestrator.emotion import emotion_score
from services.orchestrator.intents import IntentRecogniser
from services.orchestrator.merchant import DemoMerchant
from services.orchestrator.planning import Planner
from services.orchestrator.routing import Routing
from shared.events import ChatRequested, Passage, RetrievalCompleted, RetrievalRequested
from shared.llm import ChatMessage

RETURNS = Passage(doc_name="ReturnsAndExchanges.md", title="Returns", text="30 days.", score=0.03)


class ScriptedRetriever:
    """Answers every query with ``passages``; holds replies until ``release`` is set."""

    def __init__(self, passages: list[Passage], strong: bool = False) -> None:
        self.passages = passages
        self.strong = strong
        self.queries: list[str] = []
        self.asked = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, request: RetrievalRequested) -> RetrievalCompleted:
        self.queries.append(request.query)
        self.asked.set()
        await self.release.wait()
        return RetrievalCompleted(
            tenant_id=request.tenant_id,
            correlation_id=request.correlation_id,
            passages=self.passages,
            strong_match=self.strong,
        )


class ScriptedLLM:
    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls = 0

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        self.calls += 1
        yield self.answer


def routing(message: str, retriever: ScriptedRetriever, llm: ScriptedLLM | None = None) -> Routing:
    request = ChatRequested(
        tenant_id="acme",
        correlation_id="turn-1",
        session_id="sess-1",
        user_id="u1",
        channel="api",
        message=message,
        reply_to="replies",
    )
    planner = Planner(retriever, DemoMerchant(), emotion_threshold=0.4)
    return Routing(IntentRecogniser(llm=llm), planner, request, emotion_score(message))


async def test_the_look_up_starts_with_the_turn_and_its_passages_are_answered_from() -> None:
    retriever = ScriptedRetriever([RETURNS])
    route = routing("Tell me about your return and exchange policy", retriever)
    # Asked before anything is decided, while the turn goes on loading its session.
    await asyncio.wait_for(retriever.asked.wait(), timeout=30)
    assert retriever.queries == ["Tell me about your return and exchange policy"]
    [part] = await route.decide(previous="")
    route.close()
    assert part.guess.intent == "knowledge_qa"
    assert part.lookup is not None and part.lookup.passages == [RETURNS]
    assert len(retriever.queries) == 1  # searched once, not again for the answer


async def test_a_strong_match_settles_an_unsure_guess_for_the_help_centre() -> None:
    llm = ScriptedLLM("chitchat")
    route = routing("my heat pump gurgles at night", ScriptedRetriever([RETURNS], True), llm)
    [part] = await route.decide(previous="")
    assert (part.guess.intent, part.guess.source) == ("knowledge_qa", "knowledge")
    assert llm.calls == 0  # its answer could not have changed the route


async def test_without_a_strong_match_the_llm_settles_an_unsure_guess() -> None:
    llm = ScriptedLLM("chitchat")
    [part] = await routing("hi from sunny lisbon", ScriptedRetriever([RETURNS]), llm).decide("")
    assert (part.guess.intent, part.guess.source, llm.calls) == ("chitchat", "llm", 1)
    assert part.lookup is None  # small talk is not answered from passages


async def test_nothing_found_keeps_the_models_lean() -> None:
    [part] = await routing("hi from sunny lisbon", ScriptedRetriever([])).decide("")
    assert part.guess.intent == "chitchat"


async def test_a_decided_route_does_not_wait_for_its_look_up() -> None:
    retriever = ScriptedRetriever([RETURNS])
    retriever.release.clear()  # the retriever never answers
    route = routing("When will my order ship?", retriever)
    [part] = await asyncio.wait_for(route.decide(previous=""), timeout=30)
    route.close()
    assert part.guess.intent == "business_query" and part.lookup is None


@pytest.mark.parametrize("message", ["I want to talk to a human agent", "转人工", "我要投诉"])
async def test_a_take_over_looks_nothing_up(message: str) -> None:
    retriever = ScriptedRetriever([RETURNS])
    [part] = await routing(message, retriever).decide(previous="")
    assert part.guess.intent in ("transfer_to_human", "ticket")
    assert retriever.queries == []


async def test_each_part_of_a_compound_message_is_looked_up_once() -> None:
    retriever = ScriptedRetriever([RETURNS])
    message = "where is my order ORD-2024-001 and how do I return the charger?"
    route = routing(message, retriever)
    parts = await route.decide(previous="")
    route.close()
    assert [(p.text, p.guess.intent) for p in parts] == [
        ("where is my order ORD-2024-001", "business_query"),
        ("how do I return the charger?", "knowledge_qa"),
    ]
    assert sorted(retriever.queries) == sorted(p.text for p in parts)
