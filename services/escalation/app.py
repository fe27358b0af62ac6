"""Wiring of the escalation worker."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

import redis.asyncio as redis
from faststream.rabbit import RabbitRouter
from starlette.applications import Starlette

from services.escalation.handlers import build_router
from shared.messaging import build_broker, declare_topology, topology_for
from shared.ops import ops_routes
from shared.settings import Settings
from shared.stores.escalations import RedisEscalationStore
from shared.stores.redis_client import connect_redis
from shared.stores.sessions import RedisSessionStore

CARD_TTL_SECONDS = 30 * 86_400


def create_router(settings: Settings, client: redis.Redis) -> RabbitRouter:
    """The escalation worker's subscribers over the given Redis."""
    return build_router(
        RedisEscalationStore(client, settings.redis_prefix, CARD_TTL_SECONDS),
        RedisSessionStore(client, settings.redis_prefix, settings.session_ttl_seconds),
        topology_for(settings),
    )


def create_app(settings: Settings | None = None) -> Starlette:
    """The escalation worker as its own process."""
    settings = settings or Settings()
    client = connect_redis(settings)
    broker = build_broker(settings, "escalation")
    broker.include_router(create_router(settings, client))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await broker.connect()
        await declare_topology(broker, topology_for(settings))
        await broker.start()
        yield
        await broker.stop()
        await client.aclose()

    checks = {"rabbitmq": functools.partial(broker.ping, 1.0), "redis": client.ping}
    return Starlette(routes=ops_routes(checks, settings.api_key), lifespan=lifespan)
