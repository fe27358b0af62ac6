"""Wiring of the gateway: FastAPI app, broker publisher and reply queue, Redis stores."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

import redis.asyncio as redis
from fastapi import Depends, FastAPI
from faststream.rabbit import RabbitBroker

from services.gateway import openai_compat
from services.gateway.agent_routes import router as agent_router
from services.gateway.agents import AgentDesk, parse_agent_keys
from services.gateway.analytics_routes import router as analytics_router
from services.gateway.analytics_routes import turns_router as feedback_router
from services.gateway.assistant_routes import router as assistants_router
from services.gateway.auth import Authenticator
from services.gateway.chat import ChatService, Publish
from services.gateway.compat import chats, dify, jwt_chat, ragflow
from services.gateway.connections import ConnectionSlots
from services.gateway.draft_routes import router as drafts_router
from services.gateway.errors import install_error_handlers
from services.gateway.http_access import HttpAccess
from services.gateway.knowledge import KnowledgeAdmin
from services.gateway.knowledge_routes import router as knowledge_router
from services.gateway.limits import BodySizeLimit, RateLimitHeaders
from services.gateway.pages import router as pages_router
from services.gateway.query_checks import refuse_repeated_query_parameters
from services.gateway.routes import router
from services.gateway.session_routes import router as sessions_router
from services.gateway.stores.api_keys import RedisApiKeyStore
from services.gateway.stores.chat_sessions import RedisChatSessions
from services.gateway.stores.conversations import ConversationMap
from services.gateway.stores.datasets import RedisDatasetStore
from services.gateway.stores.drafts import RedisDraftStore
from services.gateway.stores.idempotency import RedisIdempotencyStore
from services.gateway.stores.leases import RedisLeasePool
from services.gateway.stores.rate_limits import RedisRateLimiter
from services.gateway.turn_relay import TurnRelay
from services.gateway.turn_routes import router as turns_router
from services.gateway.unicode_text import refuse_lone_surrogates
from services.gateway.websocket_chat import router as websocket_router
from services.gateway.wiring import Gateway, GatewayApp
from shared.events import Event, new_id
from shared.messaging import build_broker, publish_confirmed, start_broker, topology_for
from shared.ops import ops_routes
from shared.rpc import RpcClient
from shared.settings import Settings
from shared.stores.assistants import RedisAssistantStore
from shared.stores.escalations import CARD_TTL_SECONDS, RedisEscalationStore
from shared.stores.event_log import RedisEventLog
from shared.stores.hot_cache import RedisHotCache
from shared.stores.kb_versions import RedisKnowledgeVersions
from shared.stores.redis_client import connect_redis
from shared.stores.sessions import RedisSessionStore
from shared.stores.turn_log import TURN_LOG_TTL_SECONDS, RedisTurnLog
from shared.stores.uploads import RedisUploadStore
from shared.tracing import instrument_http

logger = logging.getLogger(__name__)
LEASE_MARGIN_SECONDS = 30
FEED_SOCKET_TIMEOUT = 30.0
CONNECTION_LEASE_SECONDS = 300  # long-lived sockets renew their slot well within this
IDEMPOTENCY_TTL = 86_400  # retries come within minutes; a day is generous


def _publisher(
    broker: RabbitBroker, detached: bool, mandatory: bool = True, **target: object
) -> Publish:
    """Publish to ``target``, confirmed; an unroutable (``mandatory``) or unconfirmed message
    raises DependencyUnavailable at once, so the caller gets a 503 instead of a silent wait."""
    pending: set[asyncio.Task[object]] = set()

    async def publish(event: Event) -> None:
        await publish_confirmed(broker, event, mandatory=mandatory, persist=True, **target)

    async def publish_detached(event: Event) -> None:
        # The in-memory broker runs subscribers inside publish(); detach so the request
        # can stream while the turn runs.
        task = asyncio.create_task(broker.publish(event, **target))  # type: ignore[arg-type]
        pending.add(task)
        task.add_done_callback(pending.discard)

    return publish_detached if detached else publish


def create_app(
    settings: Settings | None = None,
    *,
    broker: RabbitBroker | None = None,
    client: redis.Redis | None = None,
    detached_publish: bool = False,
) -> GatewayApp:
    """The gateway. Embedded mode passes its shared in-memory broker and store."""
    settings = settings or Settings()
    topology = topology_for(settings)
    owns_broker = broker is None
    broker = broker or build_broker(settings, "gateway")
    client = client or connect_redis(settings)
    # Feed readers block on Redis for seconds at a time: give them their own pool.
    # Their socket timeout must outlast the longest blocking read (15 s keep-alives).
    feeds = (
        connect_redis(settings, max_connections=2_000, socket_timeout=FEED_SOCKET_TIMEOUT)
        if settings.redis_url
        else client
    )

    instance_id = new_id("gw")
    relay = TurnRelay(topology.private_queue(f"gateway.{instance_id}.replies"))
    rpc = RpcClient(broker, topology.private_queue(f"gateway.{instance_id}.rpc"))
    broker.include_router(relay.router())
    broker.include_router(rpc.router())
    assistants = RedisAssistantStore(client, settings.redis_prefix)
    connections = ConnectionSlots(
        client,
        settings.redis_prefix,
        settings.max_connections_per_tenant,
        settings.max_connections_per_user,
        settings.max_connections_per_key,
        CONNECTION_LEASE_SECONDS,
    )
    chat = ChatService(
        settings=settings,
        sessions=RedisSessionStore.for_settings(client, settings),
        cache=RedisHotCache(client, settings.redis_prefix, settings.cache_ttl_seconds),
        leases=RedisLeasePool(
            client,
            settings.redis_prefix,
            settings.max_concurrent_llm_calls,
            settings.turn_timeout_seconds + LEASE_MARGIN_SECONDS,
            name="llm-leases",
        ),
        relay=relay,
        # Resumed readers block on the turn log: it uses the feed readers' pool.
        turn_log=RedisTurnLog(feeds, settings.redis_prefix, TURN_LOG_TTL_SECONDS),
        connections=connections,
        publish_request=_publisher(broker, detached_publish, queue=topology.chat_requests.name),
        # A stop is also remembered in Redis, so no orchestrator being bound is no error.
        publish_control=_publisher(
            broker, detached_publish, mandatory=False, exchange=topology.turn_control
        ),
        assistants=assistants,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owns_broker:
            await start_broker(broker, topology)
        yield
        if owns_broker:
            await broker.stop()
            await client.aclose()
            if feeds is not client:
                await feeds.aclose()

    agent_keys = parse_agent_keys(settings.agent_keys)
    api_keys = RedisApiKeyStore(client, settings.redis_prefix)
    gateway = Gateway(
        settings=settings,
        chat=chat,
        assistants=assistants,
        knowledge=KnowledgeAdmin(
            rpc,
            topology,
            RedisUploadStore(client, settings.redis_prefix),
            _publisher(broker, detached_publish, queue=topology.document_uploads.name),
            RedisKnowledgeVersions(client, settings.redis_prefix),
        ),
        drafts=RedisDraftStore(client, settings.redis_prefix),
        datasets=RedisDatasetStore(client, settings.redis_prefix),
        chat_sessions=RedisChatSessions(client, settings.redis_prefix),
        agents=AgentDesk(
            rpc,
            topology,
            RedisEscalationStore(client, settings.redis_prefix, CARD_TTL_SECONDS),
            chat.sessions,
        ),
        events=RedisEventLog(feeds, settings.redis_prefix, settings.session_ttl_seconds),
        agent_keys=agent_keys,
        connections=connections,
        api_keys=api_keys,
        auth=Authenticator(
            settings,
            api_keys,
            agent_keys,
            RedisRateLimiter(
                client,
                settings.redis_prefix,
                settings.rate_limit_per_key,
                settings.rate_limit_per_tenant,
            ),
        ),
        idempotency=RedisIdempotencyStore(client, settings.redis_prefix, IDEMPOTENCY_TTL),
        conversations=ConversationMap(client, settings.redis_prefix, settings.session_ttl_seconds),
    )
    app = GatewayApp(
        gateway,
        dependencies=[Depends(refuse_lone_surrogates), Depends(refuse_repeated_query_parameters)],
        title="Frontdesk",
        version="1.0.0",
        description="Customer-service chat: intent, RAG answers with sources, streaming, hand-off.",
        lifespan=lifespan,
    )
    app.include_router(router)
    app.include_router(knowledge_router)
    app.include_router(drafts_router)
    app.include_router(assistants_router)
    app.include_router(agent_router)
    app.include_router(sessions_router)
    app.include_router(turns_router)
    app.include_router(feedback_router)
    app.include_router(analytics_router)
    app.include_router(pages_router)
    app.include_router(openai_compat.router)
    app.include_router(jwt_chat.router)
    app.include_router(dify.router)
    app.include_router(chats.router)
    for ragflow_router in ragflow.routers:  # its catch-all for the unsupported comes last
        app.include_router(ragflow_router)
    app.include_router(websocket_router)
    checks = {"redis": client.ping}
    if owns_broker:  # the in-memory transport of embedded mode is always there
        checks["rabbitmq"] = functools.partial(broker.ping, 1.0)
    app.router.routes.extend(ops_routes(checks, settings.api_key))
    install_error_handlers(app)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(BodySizeLimit, large_prefixes=("/api/v1/knowledge-bases",))
    app.add_middleware(HttpAccess)  # outermost: a refused body is counted and logged too
    instrument_http(app)
    return app
