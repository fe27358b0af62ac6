"""Publishing on a real RabbitMQ: whoever publishes declares the whole topology, so a request
never goes where no queue takes it; and when none does, the caller hears so at once."""

from __future__ import annotations

import asyncio
import time

import aio_pika
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from shared.messaging import topology_for
from shared.settings import Settings


async def _queue_depths(rabbitmq_url: str, names: list[str]) -> dict[str, int]:
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        depths = {}
        for name in names:
            channel = await connection.channel()  # a missing queue closes its channel
            queue = await channel.declare_queue(name, passive=True)
            depths[name] = int(queue.declaration_result.message_count)
        return depths


async def _delete_queue(rabbitmq_url: str, name: str) -> None:
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


def test_a_gateway_alone_declares_every_queue_and_its_turns_wait_there(
    real_settings: Settings, rabbitmq_url: str
) -> None:
    topology = topology_for(real_settings)
    names = [queue.name for queue in topology.work_queues]
    with TestClient(create_app(real_settings)) as client:
        with client.stream("POST", "/api/v1/chat/stream", json={"message": "Hi there"}) as r:
            assert r.status_code == 200  # published; no worker exists to answer yet
            depths = asyncio.run(_queue_depths(rabbitmq_url, names))
    assert set(depths) == set(names)
    assert depths[topology.chat_requests.name] == 1  # kept for the first worker to come


def test_a_turn_no_queue_takes_is_a_503_at_once(real_settings: Settings, rabbitmq_url: str) -> None:
    chat_queue = topology_for(real_settings).chat_requests.name
    with TestClient(create_app(real_settings)) as client:
        asyncio.run(_delete_queue(rabbitmq_url, chat_queue))  # as an operator's mistake would
        started = time.monotonic()
        response = client.post("/api/v1/chat", json={"message": "How long is shipping?"})
        waited = time.monotonic() - started
    assert response.status_code == 503
    assert response.json() == {"detail": f"No queue takes messages for {chat_queue}"}
    assert waited < 30  # not the 60-s wait for an answer that would never come
