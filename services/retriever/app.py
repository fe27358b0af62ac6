"""Wiring of the retriever: index, embedder, search and ingestion, subscribers, seeding."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as redis
from faststream.rabbit import RabbitRouter
from starlette.applications import Starlette

from services.retriever.embeddings import (
    CachedEmbedder,
    Embedder,
    OpenAIEmbedder,
    default_embedder,
    vector_space,
)
from services.retriever.handlers import build_router
from services.retriever.hybrid_search import HybridSearch
from services.retriever.index import KnowledgeIndex
from services.retriever.ingestion import Ingestor
from services.retriever.isolated_parsing import IsolatedParser, ParseLimits
from services.retriever.sqlite_index import SqliteIndex
from services.retriever.versioning import VersionRecorder
from shared import segmentation
from shared.errors import AppError
from shared.messaging import topology_for
from shared.settings import Settings
from shared.stores.hot_cache import RedisHotCache
from shared.stores.kb_versions import RedisKnowledgeVersions
from shared.stores.redis_client import connect_redis
from shared.stores.uploads import RedisUploadStore
from shared.worker import create_worker_app

logger = logging.getLogger(__name__)
DEFAULT_KB = "default"


@dataclass(frozen=True)
class Retriever:
    """The retriever's subscribers and its start-up task."""

    router: RabbitRouter
    seed: Callable[[], Awaitable[None]]


def build_embedder(settings: Settings) -> Embedder | None:
    """The configured embedding provider (None: lexical search only)."""
    if settings.embedding_provider == "none":
        return None
    if settings.embedding_provider == "openai":
        return CachedEmbedder(
            OpenAIEmbedder(
                model=settings.embedding_model,
                api_key=settings.openai_api_key.get_secret_value(),
                base_url=settings.openai_base_url or None,
            )
        )
    return default_embedder()


def build_index(settings: Settings, embedder: Embedder | None) -> KnowledgeIndex:
    """Weaviate when configured, otherwise the embedded SQLite index."""
    if settings.weaviate_url:
        from services.retriever.weaviate_index import LEXICAL_ONLY, WeaviateIndex

        return WeaviateIndex(
            settings.weaviate_url,
            settings.weaviate_api_key.get_secret_value(),
            vector_model=vector_space(embedder) if embedder is not None else LEXICAL_ONLY,
        )
    return SqliteIndex(settings.index_dir)


def warm_up(settings: Settings, embedder: Embedder | None) -> None:
    """Load the Chinese dictionary and the model now, not on the first question."""
    segmentation.warm_up(Path(settings.index_dir) / "jieba")
    if embedder is not None:
        try:
            embedder.embed(["warm up"])
        except AppError as exc:
            logger.warning("embedding model not ready, searching lexically: %s", exc.message)


def create_retriever(settings: Settings, client: redis.Redis) -> Retriever:
    """The retriever over the configured index and embedder."""
    embedder = build_embedder(settings)
    parser = IsolatedParser(ParseLimits.from_settings(settings))
    ingestor = Ingestor(build_index(settings, embedder), embedder, parser)
    cache = RedisHotCache(client, settings.redis_prefix, settings.cache_ttl_seconds)
    versions = VersionRecorder(
        RedisKnowledgeVersions(client, settings.redis_prefix), ingestor.index
    )

    async def knowledge_changed(tenant_id: str) -> None:
        # Cached answers may quote the old text: make them all stale at once.
        await cache.invalidate(tenant_id)

    async def seed() -> None:
        await asyncio.to_thread(warm_up, settings, embedder)
        # Knowledge embedded by another model (or while the model was down) is embedded
        # again, so vector search never compares vectors of two models.
        for tenant_id in await asyncio.to_thread(ingestor.refresh_all_vectors):
            await knowledge_changed(tenant_id)
        folder = settings.knowledge_folder
        if folder is None:
            return
        results = await asyncio.to_thread(
            ingestor.sync_directory, settings.tenant_id, DEFAULT_KB, folder
        )
        changed = [r for r in results if r.status != "unchanged"]
        logger.info("knowledge folder synced: %d documents, %d changed", len(results), len(changed))
        if changed:
            await versions.synced(settings.tenant_id, DEFAULT_KB, folder, changed)
            await knowledge_changed(settings.tenant_id)

    search = HybridSearch(ingestor.index, ingestor.embedder)
    uploads = RedisUploadStore(client, settings.redis_prefix)
    router = build_router(
        search, ingestor, topology_for(settings), knowledge_changed, uploads, versions
    )
    return Retriever(router, seed)


def create_app(settings: Settings | None = None) -> Starlette:
    """The retriever as its own process."""
    settings = settings or Settings()
    client = connect_redis(settings)
    retriever = create_retriever(settings, client)
    return create_worker_app(
        settings, "retriever", lambda _: retriever.router, client, on_start=retriever.seed
    )
