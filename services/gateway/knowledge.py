"""Knowledge-base administration at the gateway: forwards commands to a retriever."""

from __future__ import annotations

from pydantic import BaseModel

from services.gateway.chat.turn import Publish
from shared.documents import check_document
from shared.errors import InvalidInput, NotFound
from shared.events import (
    DocumentDeletionRequested,
    DocumentInfo,
    DocumentsListRequested,
    DocumentUploaded,
    KnowledgeReply,
    new_id,
)
from shared.rpc import RpcClient
from shared.stores.uploads import RedisUploadStore, UploadJob
from shared.topology import Topology

INGEST_TIMEOUT_SECONDS = 300.0
ADMIN_TIMEOUT_SECONDS = 30.0


class KnowledgeAdmin:
    """Upload, replace, list and delete documents of a tenant's knowledge bases."""

    def __init__(
        self,
        rpc: RpcClient,
        topology: Topology,
        uploads: RedisUploadStore,
        publish_upload: Publish,
    ) -> None:
        self._rpc = rpc
        self._topology = topology
        self._uploads = uploads
        self._publish_upload = publish_upload

    async def _ask(self, command: BaseModel, queue: str, timeout: float) -> KnowledgeReply:
        reply = KnowledgeReply.model_validate_json(await self._rpc.request(command, queue, timeout))
        if reply.status == "invalid":
            raise InvalidInput(reply.error or "invalid document")
        if reply.status == "not_found":
            raise NotFound(reply.error or "no such document")
        return reply

    async def upload(
        self,
        tenant_id: str,
        kb_id: str,
        doc_name: str,
        content: bytes,
        replace_doc_id: str | None = None,
    ) -> KnowledgeReply:
        """Ingest a file and wait; ``replace_doc_id`` requires that document to exist."""
        _, command = await self._queue(tenant_id, kb_id, doc_name, content, replace_doc_id)
        return await self._ask(
            command, self._topology.document_uploads.name, INGEST_TIMEOUT_SECONDS
        )

    async def start_upload(
        self,
        tenant_id: str,
        kb_id: str,
        doc_name: str,
        content: bytes,
        replace_doc_id: str | None = None,
    ) -> UploadJob:
        """Queue a file for ingest and return at once; poll its job with ``upload_job``."""
        job, command = await self._queue(tenant_id, kb_id, doc_name, content, replace_doc_id)
        await self._publish_upload(command)
        return job

    async def upload_job(self, tenant_id: str, kb_id: str, upload_id: str) -> UploadJob:
        """The tenant's upload into ``kb_id`` (NotFound otherwise)."""
        job = await self._uploads.job(tenant_id, upload_id)
        if job is None or job.kb_id != kb_id:
            raise NotFound("No such upload, or it is older than a day")
        return job

    async def _queue(
        self,
        tenant_id: str,
        kb_id: str,
        doc_name: str,
        content: bytes,
        replace_doc_id: str | None,
    ) -> tuple[UploadJob, DocumentUploaded]:
        check_document(doc_name, content)  # before it is kept or a retriever woken
        job = await self._uploads.put(tenant_id, kb_id, doc_name, content)
        command = DocumentUploaded(
            tenant_id=tenant_id,
            correlation_id=new_id("kb"),
            kb_id=kb_id,
            doc_name=doc_name,
            upload_id=job.upload_id,
            replace_doc_id=replace_doc_id,
        )
        return job, command

    async def delete(self, tenant_id: str, kb_id: str, doc_id: str) -> None:
        """Remove a document (NotFound if it is not there)."""
        command = DocumentDeletionRequested(
            tenant_id=tenant_id, correlation_id=new_id("kb"), kb_id=kb_id, doc_id=doc_id
        )
        await self._ask(command, self._topology.document_deletions.name, ADMIN_TIMEOUT_SECONDS)

    async def documents(self, tenant_id: str, kb_id: str) -> list[DocumentInfo]:
        """The knowledge base's documents by name."""
        command = DocumentsListRequested(
            tenant_id=tenant_id, correlation_id=new_id("kb"), kb_id=kb_id
        )
        reply = await self._ask(
            command, self._topology.document_listings.name, ADMIN_TIMEOUT_SECONDS
        )
        return reply.documents
