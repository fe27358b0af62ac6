"""The process shell every broker worker shares: broker lifecycle plus ops endpoints.

On SIGTERM (uvicorn runs the lifespan's shutdown) a worker drains: it stops taking work and
finishes the messages in hand, for up to ``TURN_TIMEOUT_SECONDS``, before it disconnects.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as redis
from faststream.rabbit import RabbitBroker, RabbitRouter
from starlette.applications import Starlette

from shared.messaging import build_broker, drain, start_broker, topology_for
from shared.ops import ReadinessCheck, ops_routes
from shared.settings import Settings


def create_worker_app(
    settings: Settings,
    service: str,
    subscribers: Callable[[RabbitBroker], RabbitRouter],
    client: redis.Redis | None = None,
    on_start: Callable[[], Awaitable[None]] | None = None,
) -> Starlette:
    """A worker process: ``subscribers(broker)`` on RabbitMQ, and /healthz, /readyz, /metrics."""
    broker = build_broker(settings, service)
    broker.include_router(subscribers(broker))
    topology = topology_for(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await start_broker(broker, topology)
        if on_start is not None:
            await on_start()
        yield
        work = {queue.name for queue in topology.work_queues}
        await drain(broker, work, settings.turn_timeout_seconds)
        await broker.stop()
        if client is not None:
            await client.aclose()

    checks: dict[str, ReadinessCheck] = {"rabbitmq": functools.partial(broker.ping, 1.0)}
    if client is not None:
        checks["redis"] = client.ping
    return Starlette(routes=ops_routes(checks, settings.api_key), lifespan=lifespan)
