"""Removes what a test left on the shared RabbitMQ and Redis: queues, exchanges and keys.

Quorum queues outlive their test (they are durable on purpose); hundreds of them left behind
slow RabbitMQ to a halt, so every stack and fixture that declares them deletes them.
"""

from __future__ import annotations

import asyncio

import aio_pika
import redis

from shared.topology import Topology


def durable_queues(topology: Topology) -> tuple[str, ...]:
    """The queues that outlive their connection: what ``declare_topology`` declares."""
    return tuple(q.name for q in (*topology.work_queues, topology.dead_letter_queue))


async def delete_topology(url: str, prefix: str) -> None:
    """Delete every queue and exchange named by this prefix's topology (from async code)."""
    topology = Topology(prefix=prefix)
    connection = await aio_pika.connect(url, timeout=10)
    async with connection:
        for name in durable_queues(topology):
            channel = await connection.channel()
            await channel.queue_delete(name)
        for exchange in topology.exchanges:
            channel = await connection.channel()
            await channel.exchange_delete(exchange.name)


def purge_broker(url: str, prefix: str) -> None:
    """Delete every queue and exchange named by this prefix's topology."""
    asyncio.run(delete_topology(url, prefix))


def purge_redis(url: str, prefix: str) -> None:
    """Delete every key under this prefix."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()
