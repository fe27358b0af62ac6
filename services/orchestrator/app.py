"""Wiring of the orchestrator."""

from __future__ import annotations

import redis.asyncio as redis
from faststream.rabbit import RabbitBroker, RabbitRouter
from starlette.applications import Starlette

from services.orchestrator import crosslingual
from services.orchestrator.clients import AgentForwarder, BrokerEscalation, BrokerRetrieval
from services.orchestrator.emotion import warm_up
from services.orchestrator.generation import Generator
from services.orchestrator.handlers import build_router
from services.orchestrator.intents import IntentRecogniser
from services.orchestrator.merchant import DemoMerchant, HttpMerchant
from services.orchestrator.planning import Planner
from services.orchestrator.turns import TurnDeps
from shared.events import new_id
from shared.llm import CircuitBreaker, OpenAIChatModel
from shared.messaging import topology_for
from shared.observability import LLM_BREAKER_OPEN
from shared.rpc import RpcClient
from shared.settings import Settings
from shared.stores.event_log import RedisEventLog
from shared.stores.hot_cache import RedisHotCache
from shared.stores.redis_client import connect_redis
from shared.stores.sessions import RedisSessionStore
from shared.stores.turn_log import TURN_LOG_TTL_SECONDS, RedisTurnLog
from shared.worker import create_worker_app


def create_router(settings: Settings, client: redis.Redis, broker: RabbitBroker) -> RabbitRouter:
    """The orchestrator's subscribers; ``broker`` carries its requests to the other workers."""
    topology = topology_for(settings)
    instance_id = new_id("orch")
    rpc = RpcClient(broker, topology.private_queue(f"orchestrator.{instance_id}.replies"))
    llm = OpenAIChatModel(settings) if settings.llm_enabled else None
    orders = (
        HttpMerchant(settings.orders_api_url, settings.orders_api_key.get_secret_value())
        if settings.orders_api_url
        else DemoMerchant()
    )
    warm_up()
    breaker = CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_cooldown_seconds)
    LLM_BREAKER_OPEN.set_function(lambda: float(breaker.state != "closed"))
    crosslingual.warm_up()
    events = RedisEventLog(client, settings.redis_prefix, settings.session_ttl_seconds)
    deps = TurnDeps(
        settings=settings,
        sessions=RedisSessionStore.for_settings(client, settings),
        cache=RedisHotCache(client, settings.redis_prefix, settings.cache_ttl_seconds),
        intents=IntentRecogniser(llm=llm, breaker=breaker),
        planner=Planner(
            BrokerRetrieval(rpc, topology), orders, settings.emotion_escalation_threshold
        ),
        merchant=orders,
        escalate=BrokerEscalation(rpc, topology),
        forward_to_agent=AgentForwarder(broker, topology, events),
        generator=Generator(llm, breaker, settings.grounding_guard),
    )
    log = RedisTurnLog(client, settings.redis_prefix, TURN_LOG_TTL_SECONDS)
    router = build_router(deps, topology, instance_id, log, settings.turn_prefetch)
    router.include_router(rpc.router())
    return router


def create_app(settings: Settings | None = None) -> Starlette:
    """The orchestrator worker as its own process."""
    settings = settings or Settings()
    client = connect_redis(settings)
    return create_worker_app(
        settings, "orchestrator", lambda broker: create_router(settings, client, broker), client
    )
