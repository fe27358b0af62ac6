"""Retriever subscribers: search, and keep knowledge bases in step with uploads and deletions."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.rabbit import RabbitRouter

from services.retriever.hybrid_search import HybridSearch
from services.retriever.index import Document
from services.retriever.ingestion import Ingestor
from shared.errors import InvalidInput
from shared.events import (
    DocumentDeletionRequested,
    DocumentInfo,
    DocumentsListRequested,
    DocumentUploaded,
    KnowledgeReply,
    Passage,
    RetrievalCompleted,
    RetrievalRequested,
)
from shared.messaging import settle_errors
from shared.observability import bind_turn, timed_stage
from shared.topology import Topology

logger = logging.getLogger(__name__)
KnowledgeChanged = Callable[[str], Awaitable[object]]


def _info(document: Document) -> DocumentInfo:
    return DocumentInfo(
        doc_id=document.doc_id,
        doc_name=document.doc_name,
        chunk_count=document.chunk_count,
        content_hash=document.content_hash,
        updated_at=document.updated_at,
    )


def build_router(
    search: HybridSearch,
    ingestor: Ingestor,
    topology: Topology,
    knowledge_changed: KnowledgeChanged,
) -> RabbitRouter:
    """Subscribers of the retriever. ``knowledge_changed(tenant)`` runs after every change."""
    router = RabbitRouter()

    def reply(
        event: DocumentUploaded | DocumentDeletionRequested | DocumentsListRequested,
        **fields: Any,
    ) -> KnowledgeReply:
        return KnowledgeReply(
            tenant_id=event.tenant_id, correlation_id=event.correlation_id, **fields
        )

    @router.subscriber(topology.retrieval_requests)
    @settle_errors
    async def on_retrieval_requested(request: RetrievalRequested) -> RetrievalCompleted:
        """Search the knowledge base and reply with the best passages."""
        bind_turn(turn=request.correlation_id, tenant=request.tenant_id, session="-")
        with timed_stage("retrieval_search"):
            result = search.search(
                request.tenant_id,
                request.kb_id,
                request.query,
                request.top_k,
                english_terms=request.english_terms,
            )
        return RetrievalCompleted(
            tenant_id=request.tenant_id,
            correlation_id=request.correlation_id,
            passages=[
                Passage(
                    doc_name=h.chunk.doc_name,
                    title=h.chunk.title,
                    text=h.chunk.text,
                    score=h.score,
                    doc_id=h.chunk.doc_id,
                    chunk_id=h.chunk.chunk_id,
                )
                for h in result.hits
            ],
            degraded=bool(result.failed),
            strong_match=result.strong,
        )

    @router.subscriber(topology.document_uploads)
    @settle_errors
    async def on_document_uploaded(event: DocumentUploaded) -> KnowledgeReply:
        """Ingest the file (parsing and embedding run off the event loop)."""
        try:
            content = base64.b64decode(event.content_base64, validate=True)
        except (binascii.Error, ValueError):
            return reply(event, status="invalid", error="content is not valid base64")
        doc_name = event.doc_name
        if event.replace_doc_id is not None:
            # Replacing keeps the document's identity: its name, hence its id.
            existing = {d.doc_id: d for d in ingestor.index.documents(event.tenant_id, event.kb_id)}
            if event.replace_doc_id not in existing:
                return reply(event, status="not_found", error="no such document")
            doc_name = existing[event.replace_doc_id].doc_name
        try:
            result = await asyncio.to_thread(
                ingestor.ingest, event.tenant_id, event.kb_id, doc_name, content
            )
        except InvalidInput as exc:
            return reply(event, status="invalid", error=exc.message)
        if result.status != "unchanged":
            await knowledge_changed(event.tenant_id)
        logger.info(
            "document %s %s (%d chunks)",
            result.document.doc_id,
            result.status,
            result.document.chunk_count,
        )
        return reply(event, status=result.status, documents=[_info(result.document)])

    @router.subscriber(topology.document_deletions)
    @settle_errors
    async def on_document_deletion_requested(event: DocumentDeletionRequested) -> KnowledgeReply:
        """Remove the document."""
        try:
            deleted = await asyncio.to_thread(
                ingestor.delete, event.tenant_id, event.kb_id, event.doc_id
            )
        except InvalidInput as exc:
            return reply(event, status="invalid", error=exc.message)
        if not deleted:
            return reply(event, status="not_found", error="no such document")
        await knowledge_changed(event.tenant_id)
        return reply(event, status="deleted")

    @router.subscriber(topology.document_listings)
    @settle_errors
    async def on_documents_list_requested(event: DocumentsListRequested) -> KnowledgeReply:
        """List the knowledge base's documents."""
        try:
            documents = ingestor.index.documents(event.tenant_id, event.kb_id)
        except InvalidInput as exc:
            return reply(event, status="invalid", error=exc.message)
        return reply(event, status="listed", documents=[_info(d) for d in documents])

    return router
