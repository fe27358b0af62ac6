"""Wiring of the retriever: index the knowledge base, subscribe, serve ops endpoints."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

from faststream.rabbit import RabbitRouter
from starlette.applications import Starlette

from services.retriever.chunking import load_directory
from services.retriever.handlers import build_router
from services.retriever.hybrid_search import HybridIndex
from shared.messaging import build_broker, declare_topology, topology_for
from shared.ops import ops_routes
from shared.settings import Settings


def create_router(settings: Settings) -> RabbitRouter:
    """The retriever's subscribers over an index of ``KNOWLEDGE_DIR``."""
    index = HybridIndex(load_directory(settings.knowledge_dir))
    return build_router(index, topology_for(settings))


def create_app(settings: Settings | None = None) -> Starlette:
    """The retriever as its own process: a broker consumer plus ops endpoints."""
    settings = settings or Settings()
    broker = build_broker(settings, "retriever")
    broker.include_router(create_router(settings))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await broker.connect()
        await declare_topology(broker, topology_for(settings))
        await broker.start()
        yield
        await broker.stop()

    return Starlette(
        routes=ops_routes({"rabbitmq": functools.partial(broker.ping, 1.0)}, settings.api_key),
        lifespan=lifespan,
    )
