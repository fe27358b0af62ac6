"""Work queues on a real RabbitMQ: retryable failures are retried a bounded number of times,
permanent ones are dead-lettered at once, and nothing is retried forever."""

from __future__ import annotations

import asyncio

import aio_pika
from faststream.rabbit import RabbitRouter

from shared.errors import DependencyUnavailable, InvalidInput
from shared.events import RetrievalRequested
from shared.messaging import build_broker, settle_errors, start_broker, topology_for
from shared.settings import Settings
from tests.support.cleanup import delete_topology


async def _dead_letters(rabbitmq_url: str, queue_name: str, expected: int) -> int:
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True, passive=True)
        for _ in range(100):
            if queue.declaration_result.message_count >= expected:
                break
            await asyncio.sleep(0.1)
            queue = await channel.declare_queue(queue_name, durable=True, passive=True)
        return int(queue.declaration_result.message_count)


async def test_poison_messages_end_in_the_dead_letter_queue(
    real_settings: Settings, rabbitmq_url: str
) -> None:
    settings = real_settings.model_copy(update={"max_deliveries": 3})
    topology = topology_for(settings)
    attempts: dict[str, int] = {}
    router = RabbitRouter()

    @router.subscriber(topology.retrieval_requests)
    @settle_errors
    async def flaky(request: RetrievalRequested) -> None:
        attempts[request.query] = attempts.get(request.query, 0) + 1
        if request.query == "retry":
            raise DependencyUnavailable("index is down")
        raise InvalidInput("unusable request")

    broker = build_broker(settings, "test")
    broker.include_router(router)
    await start_broker(broker, topology)
    try:
        for query in ("retry", "permanent"):
            await broker.publish(
                RetrievalRequested(tenant_id="acme", correlation_id=f"t-{query}", query=query),
                queue=topology.retrieval_requests.name,
            )
        count = await _dead_letters(rabbitmq_url, topology.dead_letter_queue.name, expected=2)
    finally:
        await broker.stop()
        await delete_topology(rabbitmq_url, topology.prefix)

    assert count == 2
    assert attempts["permanent"] == 1
    # Quorum queues count the first delivery too: 1 + (limit) redeliveries at most.
    assert 2 <= attempts["retry"] <= settings.max_deliveries + 1
