"""A subscriber's own prefetch holds on a real RabbitMQ: with TURN_PREFETCH=1 an orchestrator
runs one turn, and the next waits in the queue (where a stop can still catch it, and another
orchestrator can take it)."""

from __future__ import annotations

import asyncio

import aio_pika
from faststream.rabbit import Channel, RabbitRouter

from shared.messaging import build_broker, start_broker, topology_for
from shared.settings import Settings
from tests.support.cleanup import delete_topology


async def _ready_messages(rabbitmq_url: str, queue_name: str) -> int:
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True, passive=True)
        return int(queue.declaration_result.message_count)


async def test_a_subscriber_with_prefetch_one_takes_one_message_at_a_time(
    real_settings: Settings, rabbitmq_url: str
) -> None:
    topology = topology_for(real_settings)
    router = RabbitRouter()
    started: list[str] = []
    release = asyncio.Event()

    @router.subscriber(topology.chat_requests, channel=Channel(prefetch_count=1))
    async def slow(body: str) -> None:
        started.append(body)
        await release.wait()

    broker = build_broker(real_settings, "test")  # its default channel prefetches more
    broker.include_router(router)
    await start_broker(broker, topology)
    try:
        for n in range(3):
            await broker.publish(f"turn {n}", queue=topology.chat_requests.name)
        for _ in range(100):
            if started:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # time for RabbitMQ to deliver more, were it allowed to
        in_flight, waiting = (
            list(started),
            await _ready_messages(rabbitmq_url, topology.chat_requests.name),
        )
        release.set()
        for _ in range(100):
            if len(started) == 3:
                break
            await asyncio.sleep(0.05)
    finally:
        await broker.stop()
        await delete_topology(rabbitmq_url, topology.prefix)

    assert in_flight == ["turn 0"]
    assert waiting == 2, "the other two wait in the queue"
    assert started == ["turn 0", "turn 1", "turn 2"], "and are taken once the first is done"
