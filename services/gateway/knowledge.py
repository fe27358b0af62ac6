"""Knowledge-base administration at the gateway: forwards commands to a retriever."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from services.gateway.chat.turn import Publish
from shared.documents import check_document
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events import (
    DocumentDeletionRequested,
    DocumentInfo,
    DocumentsListRequested,
    DocumentUploaded,
    KnowledgeReply,
    Passage,
    RetrievalCompleted,
    RetrievalRequested,
    new_id,
)
from shared.rpc import RpcClient
from shared.stores.kb_versions import MAX_VERSIONS, Change, RedisKnowledgeVersions
from shared.stores.uploads import RedisUploadStore, UploadJob
from shared.topology import Topology

INGEST_TIMEOUT_SECONDS = 300.0
ADMIN_TIMEOUT_SECONDS = 30.0
SEARCH_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class By:
    """Who changes a knowledge base, and how the change is versioned."""

    actor: str = ""
    action: Literal["upload", "publish"] = "upload"
    versioned: bool = True


ANYONE = By()


@dataclass(frozen=True)
class Rollback:
    """What a rollback did: the new version, the documents put back and those removed."""

    version: int
    restored: list[str]
    removed: list[str]


class KnowledgeAdmin:
    """Upload, replace, list and delete documents of a tenant's knowledge bases."""

    def __init__(
        self,
        rpc: RpcClient,
        topology: Topology,
        uploads: RedisUploadStore,
        publish_upload: Publish,
        versions: RedisKnowledgeVersions,
    ) -> None:
        self._rpc = rpc
        self._topology = topology
        self._uploads = uploads
        self._publish_upload = publish_upload
        self.versions = versions

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
        by: By = ANYONE,
    ) -> KnowledgeReply:
        """Ingest a file and wait; ``replace_doc_id`` requires that document to exist."""
        _, command = await self._queue(tenant_id, kb_id, doc_name, content, replace_doc_id, by)
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
        by: By = ANYONE,
    ) -> UploadJob:
        """Queue a file for ingest and return at once; poll its job with ``upload_job``."""
        job, command = await self._queue(tenant_id, kb_id, doc_name, content, replace_doc_id, by)
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
        by: By,
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
            actor=by.actor,
            action=by.action,
            versioned=by.versioned,
        )
        return job, command

    async def delete(self, tenant_id: str, kb_id: str, doc_id: str, by: By = ANYONE) -> None:
        """Remove a document (NotFound if it is not there)."""
        command = DocumentDeletionRequested(
            tenant_id=tenant_id,
            correlation_id=new_id("kb"),
            kb_id=kb_id,
            doc_id=doc_id,
            actor=by.actor,
            versioned=by.versioned,
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

    async def search(self, tenant_id: str, kb_id: str, query: str, top_k: int) -> list[Passage]:
        """The knowledge base's passages for ``query``, best first, as a turn retrieves them."""
        request = RetrievalRequested(
            tenant_id=tenant_id, correlation_id=new_id("kb"), kb_id=kb_id, query=query, top_k=top_k
        )
        queue = self._topology.retrieval_requests.name
        body = await self._rpc.request(request, queue, SEARCH_TIMEOUT_SECONDS)
        return RetrievalCompleted.model_validate_json(body).passages

    async def rollback(self, tenant_id: str, kb_id: str, version: int, actor: str) -> Rollback:
        """Put the knowledge base back as it was at ``version``, as a new version."""
        target = await self.versions.get(tenant_id, kb_id, version)
        if target is None:
            raise NotFound(f"No such version (the newest {MAX_VERSIONS} are kept)")
        current = {d.doc_name: d for d in await self.documents(tenant_id, kb_id)}
        restore = [
            c
            for name, c in target.documents.items()
            if name not in current or current[name].content_hash != c.content_hash
        ]
        contents = {}
        for change in restore:  # all of them first: a rollback that cannot finish never starts
            content = await self.versions.content(tenant_id, change.content_hash)
            if content is None:
                raise Conflict(f"Cannot restore {change.doc_name}: its contents were not kept")
            contents[change.doc_name] = content
        steps = By(actor, versioned=False)  # the rollback is the version, not each step
        removed = [d for name, d in current.items() if name not in target.documents]
        for document in removed:
            await self.delete(tenant_id, kb_id, document.doc_id, steps)
        for change in restore:
            await self.upload(
                tenant_id, kb_id, change.doc_name, contents[change.doc_name], by=steps
            )
        changes = [Change(d.doc_name, d.doc_id) for d in removed] + restore
        new = await self.versions.record(
            tenant_id,
            kb_id,
            action="rollback",
            actor=actor,
            changes=changes,
            documents=target.documents,
            rollback_of=version,
        )
        return Rollback(new, [c.doc_name for c in restore], [d.doc_name for d in removed])
