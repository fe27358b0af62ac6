"""Removes what a test left on the shared RabbitMQ and Redis: queues, exchanges and keys.

Quorum queues outlive their test (they are durable on purpose); hundreds of them left behind
slow RabbitMQ to a halt, so every stack and fixture that declares them deletes them.
"""

from __future__ import annotations

import asyncio

import aio_pika
import redis

from shared.topology import Topology

WORK_QUEUES = (
    "chat_requests",
    "retrieval_requests",
    "escalation_requests",
    "agent_commands",
    "document_uploads",
    "document_deletions",
    "document_listings",
    "dead_letter_queue",
)
EXCHANGES = ("dead_letter_exchange", "escalations", "turn_control")


async def _purge_broker(url: str, prefix: str) -> None:
    topology = Topology(prefix=prefix)
    connection = await aio_pika.connect(url, timeout=10)
    async with connection:
        for name in [getattr(topology, q).name for q in WORK_QUEUES]:
            channel = await connection.channel()
            await channel.queue_delete(name)
        for name in [getattr(topology, e).name for e in EXCHANGES]:
            channel = await connection.channel()
            await channel.exchange_delete(name)


def purge_broker(url: str, prefix: str) -> None:
    """Delete every queue and exchange named by this prefix's topology."""
    asyncio.run(_purge_broker(url, prefix))


def purge_redis(url: str, prefix: str) -> None:
    """Delete every key under this prefix."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()
