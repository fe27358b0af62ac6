"""The retriever as a broker service on real RabbitMQ and Redis: documents uploaded for one
tenant are found by that tenant only, and every change makes the tenant's cache stale."""

from __future__ import annotations

import base64

import redis.asyncio as redis
from faststream.rabbit import RabbitQueue

from services.retriever.app import create_retriever
from shared.events import DocumentUploaded, KnowledgeReply, RetrievalCompleted, RetrievalRequested
from shared.messaging import build_broker, start_broker, topology_for
from shared.rpc import RpcClient
from shared.settings import Settings
from shared.stores.hot_cache import RedisHotCache

PAGE = b"# Gift wrapping\n\nGift wrapping costs $4 per item and is done in Lyon."


async def test_tenants_never_see_each_others_documents(
    real_settings: Settings, redis_client: redis.Redis
) -> None:
    settings = real_settings.model_copy(update={"knowledge_dir": ""})
    topology = topology_for(settings)
    broker = build_broker(settings, "test")
    retriever = create_retriever(settings, redis_client)
    broker.include_router(retriever.router)
    rpc = RpcClient(
        broker,
        RabbitQueue(f"{settings.broker_prefix}.test.replies", exclusive=True, auto_delete=True),
    )
    broker.include_router(rpc.router())
    cache = RedisHotCache(redis_client, settings.redis_prefix, 600)
    await start_broker(broker, topology)
    try:
        epoch_before = await cache.epoch("acme")
        upload = DocumentUploaded(
            tenant_id="acme",
            correlation_id="kb-1",
            kb_id="default",
            doc_name="GiftWrapping.md",
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
    finally:
        await broker.stop()
