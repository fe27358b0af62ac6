"""The orchestrator's subscribers on FastStream's in-memory broker: what the customer's gateway
receives when a turn is redelivered, stopped before it started, or cancelled mid-way."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from faststream.rabbit import RabbitBroker, TestRabbitBroker
from faststream.rabbit.testing import PatchedMessage, build_message

from services.orchestrator.generation import Generator
from services.orchestrator.handlers import CANCELLED, build_router
from services.orchestrator.intents import IntentRecogniser
from services.orchestrator.merchant import DemoMerchant
from services.orchestrator.planning import Planner
from services.orchestrator.turn_stream import INTERRUPTED
from services.orchestrator.turns import TurnDeps
from shared.events import (
    ChatRequested,
    Passage,
    RetrievalCompleted,
    RetrievalRequested,
    TurnCancelled,
    TurnStarted,
)
from shared.llm import CircuitBreaker
from shared.settings import Settings
from shared.stores.hot_cache import RedisHotCache
from shared.stores.redis_client import connect_redis
from shared.stores.sessions import RedisSessionStore
from shared.stores.turn_log import RedisTurnLog
from shared.topology import Topology

QUESTION = "How long does standard shipping take?"
SHIPPING = Passage(
    doc_name="ShippingGuide.md",
    title="Shipping",
    text="Standard shipping takes 3-5 business days.",
    score=0.9,
)
STALL = 30  # seconds: far beyond a turn's normal run, to catch one that never ends


@dataclass
class Knowledge:
    """The retriever: answers at once, or holds every search until released."""

    held: bool = False
    searching: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, request: RetrievalRequested) -> RetrievalCompleted:
        self.searching.set()
        if self.held:
            await self.release.wait()
        return RetrievalCompleted(
            tenant_id=request.tenant_id,
            correlation_id=request.correlation_id,
            passages=[SHIPPING],
            strong_match=True,
        )


@dataclass
class Orchestrator:
    """One orchestrator process on the in-memory broker, and what its gateway received."""

    broker: RabbitBroker
    topology: Topology
    sessions: RedisSessionStore
    log: RedisTurnLog
    knowledge: Knowledge
    received: list[dict[str, Any]]

    def request(self, turn: str = "turn-1") -> ChatRequested:
        return ChatRequested(
            tenant_id="acme",
            correlation_id=turn,
            session_id="s-1",
            user_id="u-1",
            channel="api",
            message=QUESTION,
            reply_to="gateway.g1.replies",
        )

    async def ask(self, request: ChatRequested) -> None:
        await asyncio.wait_for(
            self.broker.publish(request, queue=self.topology.chat_requests), STALL
        )

    def types(self) -> list[str]:
        return [event["type"] for event in self.received]

    async def cancelled_mid_search(self, *reasons: Literal["client_left", "stopped"]) -> None:
        """Ask, and while the turn searches the knowledge base, cancel it for each reason."""
        self.knowledge.held = True
        asking = asyncio.create_task(self.ask(self.request()))
        await asyncio.wait_for(self.knowledge.searching.wait(), STALL)
        await self.cancel("turn-1", *reasons)
        await asking

    async def cancel(self, turn: str, *reasons: Literal["client_left", "stopped"]) -> None:
        for reason in reasons:
            event = TurnCancelled(tenant_id="acme", correlation_id=turn, reason=reason)
            await self.broker.publish(event, exchange=self.topology.turn_control)


@pytest.fixture
async def orchestrator(embedded_settings: Settings) -> AsyncIterator[Orchestrator]:
    client = connect_redis(embedded_settings)
    topology = Topology(prefix="unit")
    sessions = RedisSessionStore(client, "unit", 600)
    knowledge = Knowledge()

    async def no_escalation(request: object) -> Any:
        raise AssertionError("this turn does not hand over")

    async def no_agent(message: object) -> None:
        raise AssertionError("no agent holds this session")

    breaker = CircuitBreaker(3, 30)
    deps = TurnDeps(
        settings=embedded_settings,
        sessions=sessions,
        cache=RedisHotCache(client, "unit", 600),
        intents=IntentRecogniser(breaker=breaker),
        planner=Planner(knowledge, DemoMerchant(), embedded_settings.emotion_escalation_threshold),
        merchant=DemoMerchant(),
        escalate=no_escalation,
        forward_to_agent=no_agent,
        generator=Generator(None, breaker),
    )
    log = RedisTurnLog(client, "unit", 600)
    broker = RabbitBroker()
    broker.include_router(build_router(deps, topology, "o1", log))
    received: list[dict[str, Any]] = []

    @broker.subscriber("gateway.g1.replies")
    async def gateway(event: dict[str, Any]) -> None:
        received.append(event)

    async with TestRabbitBroker(broker):
        yield Orchestrator(broker, topology, sessions, log, knowledge, received)
    await client.aclose()


async def test_a_turn_streams_meta_tokens_and_done_in_order(orchestrator: Orchestrator) -> None:
    await orchestrator.ask(orchestrator.request())
    types = orchestrator.types()
    assert types[0] == "meta" and types[-1] == "done" and "token" in types
    assert [e["seq"] for e in orchestrator.received] == list(range(1, len(types) + 1))
    assert "3-5 business days" in orchestrator.received[-1]["reply"]


async def test_a_turn_redelivered_after_only_its_meta_was_sent_runs_again_without_a_second_meta(
    orchestrator: Orchestrator,
) -> None:
    request = orchestrator.request()
    meta = TurnStarted(tenant_id="acme", correlation_id="turn-1", seq=1, intent="knowledge_qa")
    await orchestrator.log.append("acme", "turn-1", 1, meta.model_dump_json())
    await _redeliver(orchestrator, request)

    assert orchestrator.types()[0] == "token", "the customer has this turn's meta already"
    assert orchestrator.received[0]["seq"] == 2, "numbering continues after the logged meta"
    assert orchestrator.received[-1]["type"] == "done"
    assert "3-5 business days" in orchestrator.received[-1]["reply"]


async def test_a_turn_redelivered_mid_answer_ends_with_an_error_and_is_not_recorded(
    orchestrator: Orchestrator,
) -> None:
    request = orchestrator.request()
    for seq, event in enumerate(
        [{"type": "meta", "intent": "knowledge_qa"}, {"type": "token", "content": "Standard "}],
        start=1,
    ):
        await orchestrator.log.append("acme", "turn-1", seq, json.dumps(event))
    await _redeliver(orchestrator, request)

    assert orchestrator.types() == ["error"]
    assert orchestrator.received[0]["message"] == INTERRUPTED
    assert orchestrator.received[0]["seq"] == 3
    assert await orchestrator.sessions.history("acme", "s-1") == []


async def test_a_stop_asked_while_the_turn_waited_ends_it_stopped_before_any_answer(
    orchestrator: Orchestrator,
) -> None:
    await orchestrator.log.request_stop("acme", "turn-1")
    await orchestrator.ask(orchestrator.request())

    assert "token" not in orchestrator.types()
    done = orchestrator.received[-1]
    assert done["type"] == "done" and done["stopped"] and done["reply"] == ""
    history = await orchestrator.sessions.history("acme", "s-1")
    assert [(m.role, m.content) for m in history] == [("user", QUESTION)]


async def test_a_cancelled_turn_ends_with_an_error_and_is_not_recorded(
    orchestrator: Orchestrator,
) -> None:
    await orchestrator.cancelled_mid_search("client_left")

    assert orchestrator.types()[-1] == "error"
    assert orchestrator.received[-1]["message"] == CANCELLED
    assert await orchestrator.sessions.history("acme", "s-1") == []


async def test_a_stop_is_not_undone_when_its_client_then_leaves(
    orchestrator: Orchestrator,
) -> None:
    await orchestrator.cancelled_mid_search("stopped", "client_left")

    done = orchestrator.received[-1]
    assert done["type"] == "done" and done["stopped"]
    assert [m.role for m in await orchestrator.sessions.history("acme", "s-1")] == ["user"]


async def test_a_cancel_for_a_turn_this_process_does_not_run_changes_nothing(
    orchestrator: Orchestrator,
) -> None:
    await orchestrator.cancel("elsewhere", "stopped")
    await orchestrator.ask(orchestrator.request())
    assert orchestrator.types()[-1] == "done" and not orchestrator.received[-1]["stopped"]


class _Redelivered(PatchedMessage):
    """A delivery RabbitMQ marks redelivered: its first consumer died before acking it."""

    @property
    def redelivered(self) -> bool:  # type: ignore[override]
        return True


async def _redeliver(orchestrator: Orchestrator, request: ChatRequested) -> None:
    """Hand the subscriber the request as RabbitMQ does after its first worker died."""
    queue = orchestrator.topology.chat_requests
    message = await build_message(request.model_dump(mode="json"), queue=queue)
    message.__class__ = _Redelivered
    (subscriber,) = [s for s in orchestrator.broker.subscribers if s.queue.name == queue.name]
    await asyncio.wait_for(subscriber.process_message(message), STALL)
