"""The retriever as a broker service on real RabbitMQ and Redis: documents uploaded for one
tenant are found by that tenant only, and every change makes the tenant's cache stale."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator

import redis.asyncio as redis
from faststream.rabbit import RabbitQueue

from services.retriever.app import create_retriever
from shared.events import DocumentUploaded, KnowledgeReply, RetrievalCompleted, RetrievalRequested
from shared.messaging import build_broker, start_broker, topology_for
from shared.rpc import RpcClient
from shared.settings import Settings
from shared.stores.hot_cache import RedisHotCache
from shared.stores.uploads import RedisUploadStore
from shared.topology import Topology

PAGE = b"# Gift wrapping\n\nGift wrapping costs $4 per item and is done in Lyon."


@contextlib.asynccontextmanager
async def retriever_over_broker(
    real_settings: Settings, redis_client: redis.Redis
) -> AsyncIterator[tuple[Settings, Topology, RpcClient]]:
    """A retriever (no knowledge folder) on real RabbitMQ, and a client of its queues."""
    settings = real_settings.model_copy(update={"knowledge_dir": ""})
    topology = topology_for(settings)
    broker = build_broker(settings, "test")
    broker.include_router(create_retriever(settings, redis_client).router)
    rpc = RpcClient(
        broker,
        RabbitQueue(f"{settings.broker_prefix}.test.replies", exclusive=True, auto_delete=True),
    )
    broker.include_router(rpc.router())
    await start_broker(broker, topology)
    try:
        yield settings, topology, rpc
    finally:
        await broker.stop()


async def test_tenants_never_see_each_others_documents(
    real_settings: Settings, redis_client: redis.Redis
) -> None:
    async with retriever_over_broker(real_settings, redis_client) as (settings, topology, rpc):
        cache = RedisHotCache(redis_client, settings.redis_prefix, 600)
        epoch_before = await cache.epoch("acme")
        upload = DocumentUploaded(
            tenant_id="acme",
            correlation_id="kb-1",
            kb_id="default",
            doc_name="GiftWrapping.md",
            # As a gateway of the previous release sends it: the file inside the message.
            content_base64=base64.b64encode(PAGE).decode(),
        )
        reply = KnowledgeReply.model_validate_json(
            await rpc.request(upload, topology.document_uploads.name, 60)
        )
        assert reply.status == "created"
        assert await cache.epoch("acme") == epoch_before + 1  # acme's cached answers are stale
        assert await cache.epoch("globex") == 0  # nobody else's

        async def search(
            tenant: str, query: str = "how much is gift wrapping"
        ) -> RetrievalCompleted:
            request = RetrievalRequested(tenant_id=tenant, correlation_id="t-1", query=query)
            body = await rpc.request(request, topology.retrieval_requests.name, 10)
            return RetrievalCompleted.model_validate_json(body)

        found = await search("acme")
        assert [p.doc_name for p in found.passages] == ["GiftWrapping.md"]
        assert found.strong_match  # the page clearly answers: routing may rely on it
        assert (await search("globex")).passages == []
        chat = await search("acme", "hi there, how are you doing today?")
        assert not chat.strong_match


async def test_an_upload_travels_as_a_key_and_is_dropped_once_ingested(
    real_settings: Settings, redis_client: redis.Redis
) -> None:
    async with retriever_over_broker(real_settings, redis_client) as (settings, topology, rpc):
        uploads = RedisUploadStore(redis_client, settings.redis_prefix)

        async def ingest(upload_id: str) -> KnowledgeReply:
            upload = DocumentUploaded(
                tenant_id="acme",
                correlation_id="kb-2",
                kb_id="default",
                doc_name="GiftWrapping.md",
                upload_id=upload_id,
            )
            body = await rpc.request(upload, topology.document_uploads.name, 60)
            return KnowledgeReply.model_validate_json(body)

        job = await uploads.put("acme", "default", "GiftWrapping.md", PAGE)
        first = await ingest(job.upload_id)
        assert first.status == "created"
        assert await uploads.get("acme", job.upload_id) is None  # not kept once answered
        done = await uploads.job("acme", job.upload_id)
        assert done is not None and done.status == "created"
        assert done.document is not None and done.document["doc_id"] == first.documents[0].doc_id
        # A redelivery of the same command gets the same answer, without the file.
        assert (await ingest(job.upload_id)).documents == first.documents
        # acme's command naming globex's file finds nothing: files are kept per tenant.
        other = await uploads.put("globex", "default", "GiftWrapping.md", PAGE)
        refused = await ingest(other.upload_id)
        assert refused.status == "invalid" and "upload it again" in (refused.error or "")
