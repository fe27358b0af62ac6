"""Knowledge-base administration over the broker: upload, delete and list documents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import Event


class DocumentInfo(BaseModel):
    """A stored document as the API shows it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    doc_id: str
    doc_name: str
    chunk_count: int
    content_hash: str
    updated_at: float


class DocumentUploaded(Event):
    """A file to add to a knowledge base, replacing a document of the same name.

    The file itself waits in Redis under ``upload_id`` (shared/stores/uploads.py).
    ``content_base64`` is what gateways of earlier releases send instead; retrievers still
    read it, so a rolling deploy loses no upload.
    """

    routing_key = "knowledge.document-uploaded.v1"

    kb_id: str
    doc_name: str
    upload_id: str | None = None
    content_base64: str = ""
    replace_doc_id: str | None = None
    # For the knowledge base's versions: who asked, as what, and whether this change is a
    # version of its own (a rollback's steps are not: the rollback records one).
    actor: str = ""
    action: Literal["upload", "publish"] = "upload"
    versioned: bool = True


class DocumentDeletionRequested(Event):
    """Remove one document from a knowledge base."""

    routing_key = "knowledge.document-deletion-requested.v1"

    kb_id: str
    doc_id: str
    actor: str = ""
    versioned: bool = True


class DocumentsListRequested(Event):
    """List a knowledge base's documents."""

    routing_key = "knowledge.documents-list-requested.v1"

    kb_id: str


class KnowledgeReply(Event):
    """The retriever's answer to any knowledge command; ``error`` set when it was refused."""

    routing_key = "knowledge.reply.v1"

    status: Literal["created", "replaced", "unchanged", "deleted", "listed", "not_found", "invalid"]
    documents: list[DocumentInfo] = []
    error: str | None = None
