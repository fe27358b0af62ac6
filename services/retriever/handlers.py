"""Retriever subscribers: search, and keep knowledge bases in step with uploads and deletions."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.rabbit import RabbitRouter

from services.retriever.hybrid_search import HybridSearch
from services.retriever.index import Document
from services.retriever.ingestion import Ingestor
from services.retriever.versioning import VersionRecorder
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
from shared.stores.uploads import (
    UPLOAD_TTL_SECONDS,
    RedisUploadStore,
    UploadJob,
    UploadStatus,
)
from shared.topology import Topology

logger = logging.getLogger(__name__)
KnowledgeChanged = Callable[[str], Awaitable[object]]
UPLOAD_GONE = (
    f"the uploaded file is gone (kept {UPLOAD_TTL_SECONDS // 60} minutes for a retriever); "
    "upload it again"
)


def _info(document: Document) -> DocumentInfo:
    return DocumentInfo(
        doc_id=document.doc_id,
        doc_name=document.doc_name,
        chunk_count=document.chunk_count,
        content_hash=document.content_hash,
        updated_at=document.updated_at,
    )


def _job(upload_id: str, event: DocumentUploaded, status: UploadStatus, **fields: Any) -> UploadJob:
    return UploadJob(upload_id, event.kb_id, event.doc_name, status, time.time(), **fields)


def _outcome(upload_id: str, event: DocumentUploaded, answer: KnowledgeReply) -> UploadJob:
    """The upload's job as the ingest's answer leaves it."""
    if answer.status in ("created", "replaced", "unchanged"):
        document = answer.documents[0].model_dump()
        return _job(upload_id, event, answer.status, document=document)
    return _job(upload_id, event, "failed", error=answer.error or answer.status)


def build_router(
    search: HybridSearch,
    ingestor: Ingestor,
    topology: Topology,
    knowledge_changed: KnowledgeChanged,
    uploads: RedisUploadStore,
    versions: VersionRecorder,
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
                overview=request.overview,
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
        """Ingest the file (parsing and embedding run off the event loop), recording how the
        upload is doing for a client that polls it."""
        if event.upload_id is None:  # from a gateway of an earlier release
            try:
                content = base64.b64decode(event.content_base64, validate=True)
            except (binascii.Error, ValueError):
                return reply(event, status="invalid", error="content is not valid base64")
            return await ingest(event, content)
        upload_id, tenant_id = event.upload_id, event.tenant_id
        stored = await uploads.get(tenant_id, upload_id)
        if stored is None:
            # A redelivery after the ingest was answered gets the same answer again.
            done = await uploads.job(tenant_id, upload_id)
            if done is not None and done.document is not None:
                info = DocumentInfo.model_validate(done.document)
                return reply(event, status=done.status, documents=[info])
            answer = reply(event, status="invalid", error=UPLOAD_GONE)
        else:
            await uploads.record(tenant_id, _job(upload_id, event, "ingesting"))
            answer = await ingest(event, stored)
        # Answered, so done with; a failure that raised instead keeps it for the retry.
        await uploads.finish(tenant_id, _outcome(upload_id, event, answer))
        return answer

    async def ingest(event: DocumentUploaded, content: bytes) -> KnowledgeReply:
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
            if event.versioned:
                added = [(result.document, content)]
                await versions.ingested(
                    event.tenant_id, event.kb_id, added, event.action, event.actor
                )
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
        tenant_id, kb_id = event.tenant_id, event.kb_id
        existing: list[Document] = []
        try:
            if event.versioned:  # its version names the document, which is gone once deleted
                existing = await asyncio.to_thread(ingestor.index.documents, tenant_id, kb_id)
            deleted = await asyncio.to_thread(ingestor.delete, tenant_id, kb_id, event.doc_id)
        except InvalidInput as exc:
            return reply(event, status="invalid", error=exc.message)
        if not deleted:
            return reply(event, status="not_found", error="no such document")
        if event.versioned:
            document = next(d for d in existing if d.doc_id == event.doc_id)
            await versions.deleted(tenant_id, kb_id, document, event.actor)
        await knowledge_changed(tenant_id)
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
