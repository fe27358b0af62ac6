"""Wiring of the retriever: index the knowledge base, subscribe, serve ops endpoints."""

from __future__ import annotations

from faststream.rabbit import RabbitRouter
from starlette.applications import Starlette

from services.retriever.chunking import load_directory
from services.retriever.handlers import build_router
from services.retriever.hybrid_search import HybridIndex
from shared.messaging import topology_for
from shared.settings import Settings
from shared.worker import create_worker_app


def create_router(settings: Settings) -> RabbitRouter:
    """The retriever's subscribers over an index of ``KNOWLEDGE_DIR``."""
    index = HybridIndex(load_directory(settings.knowledge_dir))
    return build_router(index, topology_for(settings))


def create_app(settings: Settings | None = None) -> Starlette:
    """The retriever as its own process."""
    settings = settings or Settings()
    return create_worker_app(settings, "retriever", lambda _: create_router(settings))
