"""HTTP routes to manage a tenant's knowledge bases (authenticated like the chat API)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Response, UploadFile
from pydantic import BaseModel

from services.gateway.deps import AdminTenantDep, KnowledgeDep
from services.gateway.knowledge import KnowledgeAdmin
from services.gateway.schemas import ERROR_RESPONSES
from shared.events import DocumentInfo

KB_ID = Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Knowledge base id, e.g. default")
KbId = Annotated[str, KB_ID]


router = APIRouter(prefix="/api/v1/knowledge-bases", tags=["knowledge"], responses=ERROR_RESPONSES)


class DocumentOut(BaseModel):
    """A stored document."""

    doc_id: str
    doc_name: str
    chunk_count: int
    content_hash: str
    updated_at: float


class UploadResult(BaseModel):
    """What an upload did: created, replaced, or unchanged (same content as stored)."""

    status: Literal["created", "replaced", "unchanged"]
    document: DocumentOut


class DocumentList(BaseModel):
    """A knowledge base's documents."""

    documents: list[DocumentOut]
    total: int


def _out(info: DocumentInfo) -> DocumentOut:
    return DocumentOut.model_validate(info.model_dump())


async def _upload(
    knowledge: KnowledgeAdmin,
    tenant: str,
    kb_id: str,
    file: UploadFile,
    response: Response,
    replace_doc_id: str | None = None,
) -> UploadResult:
    content = await file.read()
    reply = await knowledge.upload(tenant, kb_id, file.filename or "", content, replace_doc_id)
    if reply.status == "created":
        response.status_code = 201
    return UploadResult(status=reply.status, document=_out(reply.documents[0]))  # type: ignore[arg-type]


@router.post("/{kb_id}/documents", response_model=UploadResult, status_code=200)
async def upload_document(
    kb_id: KbId,
    tenant: AdminTenantDep,
    knowledge: KnowledgeDep,
    response: Response,
    file: Annotated[UploadFile, File(description="Markdown, text, HTML or PDF")],
) -> UploadResult:
    """Add a document (201), or replace the one with the same file name (200)."""
    return await _upload(knowledge, tenant, kb_id, file, response)


@router.put("/{kb_id}/documents/{doc_id}", response_model=UploadResult)
async def replace_document(
    kb_id: KbId,
    doc_id: str,
    tenant: AdminTenantDep,
    knowledge: KnowledgeDep,
    response: Response,
    file: Annotated[UploadFile, File(description="The new content")],
) -> UploadResult:
    """Replace an existing document's content, keeping its id and name."""
    return await _upload(knowledge, tenant, kb_id, file, response, replace_doc_id=doc_id)


@router.get("/{kb_id}/documents", response_model=DocumentList)
async def list_documents(
    kb_id: KbId, tenant: AdminTenantDep, knowledge: KnowledgeDep
) -> DocumentList:
    """The knowledge base's documents by name."""
    documents = [_out(d) for d in await knowledge.documents(tenant, kb_id)]
    return DocumentList(documents=documents, total=len(documents))


@router.delete("/{kb_id}/documents/{doc_id}", status_code=204)
async def delete_document(
    kb_id: KbId, doc_id: str, tenant: AdminTenantDep, knowledge: KnowledgeDep
) -> Response:
    """Remove a document and its chunks; answers it no longer cites are refreshed at once."""
    await knowledge.delete(tenant, kb_id, doc_id)
    return Response(status_code=204)
