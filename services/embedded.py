"""Embedded mode: all four services in one process over FastStream's in-memory transport."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from faststream.rabbit import RabbitRouter, TestRabbitBroker
from faststream.rabbit.annotations import RabbitMessage

from services.escalation.app import create_router as escalation_router
from services.gateway.app import create_app as create_gateway
from services.orchestrator.app import create_router as orchestrator_router
from services.retriever.app import create_retriever
from shared.messaging import build_broker, topology_for
from shared.settings import Settings
from shared.stores.redis_client import connect_redis

logger = logging.getLogger(__name__)


def _announcement_log(settings: Settings) -> RabbitRouter:
    """Stands in for a workbench bound to the escalations exchange, which embedded mode lacks.

    RabbitMQ drops a message no queue is bound for; the in-memory transport refuses it, so
    something must listen. Logging the new ticket is what an operator would want here.
    """
    router = RabbitRouter()
    topology = topology_for(settings)

    @router.subscriber(
        topology.private_queue("embedded.escalations", routing_key="#"),
        topology.escalations,
    )
    async def on_escalation_event(event: dict, message: RabbitMessage) -> None:  # type: ignore[type-arg]
        """Log each announcement (ids only: message bodies stay out of INFO logs)."""
        card = event.get("card") or {}
        logger.info(
            "%s: ticket %s",
            message.raw_message.routing_key,
            card.get("ticket_id") or event.get("ticket_id"),
        )

    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway app with every worker's subscribers on one in-memory broker.

    The handlers are the distributed ones; only the transport (FastStream's in-memory
    broker) and the store (fakeredis unless REDIS_URL is set) differ.
    """
    settings = (settings or Settings()).model_copy(update={"rabbitmq_url": ""})
    broker = build_broker(settings, "embedded")
    client = connect_redis(settings)
    retriever = create_retriever(settings, client)
    broker.include_router(retriever.router)
    broker.include_router(orchestrator_router(settings, client, broker))
    broker.include_router(escalation_router(settings, client))
    broker.include_router(_announcement_log(settings))
    app = create_gateway(settings, broker=broker, client=client, detached_publish=True)

    gateway_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        # TestRabbitBroker is FastStream's in-memory transport: publishes are delivered to the
        # subscribers above in-process, with no RabbitMQ server.
        async with TestRabbitBroker(broker), gateway_lifespan(a):
            await retriever.seed()
            yield
        await client.aclose()

    app.router.lifespan_context = lifespan
    return app
