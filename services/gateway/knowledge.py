"""Knowledge-base administration at the gateway: forwards commands to a retriever."""

from __future__ import annotations

import base64

from pydantic import BaseModel

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
from shared.topology import Topology

INGEST_TIMEOUT_SECONDS = 300.0
ADMIN_TIMEOUT_SECONDS = 30.0


class KnowledgeAdmin:
    """Upload, replace, list and delete documents of a tenant's knowledge bases."""

    def __init__(self, rpc: RpcClient, topology: Topology) -> None:
        self._rpc = rpc
        self._topology = topology

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
        """Ingest a file; ``replace_doc_id`` requires that document to exist already."""
        command = DocumentUploaded(
            tenant_id=tenant_id,
            correlation_id=new_id("kb"),
            kb_id=kb_id,
            doc_name=doc_name,
            content_base64=base64.b64encode(content).decode(),
            replace_doc_id=replace_doc_id,
        )
        return await self._ask(
            command, self._topology.document_uploads.name, INGEST_TIMEOUT_SECONDS
        )

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
