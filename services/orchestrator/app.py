"""Wiring of the orchestrator."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

import redis.asyncio as redis
from faststream.rabbit import RabbitBroker, RabbitRouter
from starlette.applications import Starlette

from services.orchestrator.clients import BrokerEscalation, BrokerRetrieval
from services.orchestrator.generation import Generator
from services.orchestrator.handlers import build_router
from services.orchestrator.orders import DemoOrders
from services.orchestrator.turns import TurnDeps
from shared.events import new_id
from shared.llm import CircuitBreaker, OpenAIChatModel
from shared.messaging import build_broker, declare_topology, topology_for
from shared.ops import ops_routes
from shared.settings import Settings
from shared.stores.hot_cache import RedisHotCache
from shared.stores.redis_client import connect_redis
from shared.stores.sessions import RedisSessionStore


def create_router(settings: Settings, client: redis.Redis, broker: RabbitBroker) -> RabbitRouter:
    """The orchestrator's subscribers; ``broker`` carries its requests to the other workers."""
    topology = topology_for(settings)
    llm = OpenAIChatModel(settings) if settings.llm_enabled else None
    deps = TurnDeps(
        settings=settings,
        sessions=RedisSessionStore(client, settings.redis_prefix, settings.session_ttl_seconds),
        cache=RedisHotCache(client, settings.redis_prefix, settings.cache_ttl_seconds),
        retrieve=BrokerRetrieval(broker, topology),
        escalate=BrokerEscalation(broker, topology),
        orders=DemoOrders(),
        generator=Generator(llm, CircuitBreaker()),
    )
    return build_router(deps, topology, new_id("orch"))


def create_app(settings: Settings | None = None) -> Starlette:
    """The orchestrator as its own process."""
    settings = settings or Settings()
    client = connect_redis(settings)
    broker = build_broker(settings, "orchestrator")
    broker.include_router(create_router(settings, client, broker))

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
