"""The gateway's relay hands each turn's events to its request once, in order: a turn run
again after its worker died repeats its meta, and the customer must not see it twice."""

from __future__ import annotations

from faststream.rabbit import RabbitBroker, TestRabbitBroker

from services.gateway.turn_relay import TurnRelay
from shared.events import TokensStreamed, TurnStarted
from shared.topology import Topology


async def test_a_repeated_event_of_a_turn_is_dropped() -> None:
    relay = TurnRelay(Topology(prefix="unit").private_queue("gateway.g1.replies"))
    broker = RabbitBroker()
    broker.include_router(relay.router())
    turn = {"tenant_id": "acme", "correlation_id": "turn-1"}
    waiter = relay.register("turn-1")
    async with TestRabbitBroker(broker):
        for event in (
            TurnStarted(**turn, seq=1, intent="knowledge_qa"),
            TurnStarted(**turn, seq=1, intent="knowledge_qa"),  # the re-run's meta
            TokensStreamed(**turn, seq=2, content="Orders ship "),
            TokensStreamed(**turn, seq=3, content="in two days."),
        ):
            await broker.publish(event, queue=relay.queue.name)
    received = [waiter.get_nowait() for _ in range(waiter.qsize())]
    assert [(e.type, e.seq) for e in received] == [("meta", 1), ("token", 2), ("token", 3)]
