"""HTTP routes to manage a tenant's knowledge bases (authenticated like the chat API)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.gateway.auth import Principal
from services.gateway.deps import AdminDep, AdminTenantDep, KnowledgeDep
from services.gateway.knowledge import By, KnowledgeAdmin
from services.gateway.schemas import ERROR_RESPONSES
from shared.events import DocumentInfo
from shared.stores.kb_versions import Version
from shared.stores.uploads import UploadJob, UploadStatus

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


class UploadOut(BaseModel):
    """An upload's progress: queued, ingesting, then created, replaced, unchanged or failed."""

    upload_id: str
    kb_id: str
    doc_name: str
    status: UploadStatus
    updated_at: float
    error: str | None = None
    document: DocumentOut | None = None


class DocumentList(BaseModel):
    """A knowledge base's documents."""

    documents: list[DocumentOut]
    total: int


def _out(info: DocumentInfo) -> DocumentOut:
    return DocumentOut.model_validate(info.model_dump())


def _upload_out(job: UploadJob) -> UploadOut:
    return UploadOut.model_validate(job.__dict__)


UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": UploadOut, "description": "With wait=false: queued; poll the Location."}
}
WAIT = Query(
    description="false: answer 202 at once with the upload's job, to poll at "
    "GET /api/v1/knowledge-bases/{kb_id}/uploads/{upload_id}"
)


def actor_of(principal: Principal) -> str:
    """Who a knowledge-base version says made the change (a key's id, never the key)."""
    return principal.agent_id or principal.key_id


async def _upload(
    knowledge: KnowledgeAdmin,
    admin: Principal,
    kb_id: str,
    file: UploadFile,
    response: Response,
    wait: bool,
    replace_doc_id: str | None = None,
) -> UploadResult | JSONResponse:
    content = await file.read()
    name = file.filename or ""
    tenant, by = admin.tenant_id, By(actor_of(admin))
    if not wait:
        job = await knowledge.start_upload(tenant, kb_id, name, content, replace_doc_id, by)
        location = f"/api/v1/knowledge-bases/{kb_id}/uploads/{job.upload_id}"
        body = _upload_out(job).model_dump(mode="json")
        return JSONResponse(body, status_code=202, headers={"Location": location})
    reply = await knowledge.upload(tenant, kb_id, name, content, replace_doc_id, by)
    if reply.status == "created":
        response.status_code = 201
    return UploadResult(status=reply.status, document=_out(reply.documents[0]))  # type: ignore[arg-type]


@router.post(
    "/{kb_id}/documents", response_model=UploadResult, status_code=200, responses=UPLOAD_RESPONSES
)
async def upload_document(
    kb_id: KbId,
    admin: AdminDep,
    knowledge: KnowledgeDep,
    response: Response,
    file: Annotated[UploadFile, File(description="Markdown, text, HTML or PDF")],
    wait: Annotated[bool, WAIT] = True,
) -> UploadResult | JSONResponse:
    """Add a document (201), or replace the one with the same file name (200)."""
    return await _upload(knowledge, admin, kb_id, file, response, wait)


@router.put("/{kb_id}/documents/{doc_id}", response_model=UploadResult, responses=UPLOAD_RESPONSES)
async def replace_document(
    kb_id: KbId,
    doc_id: str,
    admin: AdminDep,
    knowledge: KnowledgeDep,
    response: Response,
    file: Annotated[UploadFile, File(description="The new content")],
    wait: Annotated[bool, WAIT] = True,
) -> UploadResult | JSONResponse:
    """Replace an existing document's content, keeping its id and name."""
    return await _upload(knowledge, admin, kb_id, file, response, wait, replace_doc_id=doc_id)


@router.get("/{kb_id}/uploads/{upload_id}", response_model=UploadOut)
async def upload_progress(
    kb_id: KbId,
    upload_id: Annotated[str, Path(max_length=64)],
    tenant: AdminTenantDep,
    knowledge: KnowledgeDep,
) -> UploadOut:
    """An upload's progress and outcome, for a day (404 for another tenant's)."""
    return _upload_out(await knowledge.upload_job(tenant, kb_id, upload_id))


@router.get("/{kb_id}/documents", response_model=DocumentList)
async def list_documents(
    kb_id: KbId, tenant: AdminTenantDep, knowledge: KnowledgeDep
) -> DocumentList:
    """The knowledge base's documents by name."""
    documents = [_out(d) for d in await knowledge.documents(tenant, kb_id)]
    return DocumentList(documents=documents, total=len(documents))


@router.delete("/{kb_id}/documents/{doc_id}", status_code=204)
async def delete_document(
    kb_id: KbId, doc_id: str, admin: AdminDep, knowledge: KnowledgeDep
) -> Response:
    """Remove a document and its chunks; answers it no longer cites are refreshed at once."""
    await knowledge.delete(admin.tenant_id, kb_id, doc_id, By(actor_of(admin)))
    return Response(status_code=204)


class ChangeOut(BaseModel):
    """One document a version added, replaced or removed."""

    doc_name: str
    doc_id: str
    change: Literal["added or replaced", "removed"]


class VersionOut(BaseModel):
    """A numbered state of a knowledge base: who changed what, when."""

    version: int
    at: str
    actor: str
    action: str
    changes: list[ChangeOut]
    documents: list[str]
    rollback_of: int | None = None


class VersionList(BaseModel):
    """The kept versions, newest first."""

    versions: list[VersionOut]


class RollbackOut(BaseModel):
    """What a rollback did: the version it made, the documents put back and removed."""

    version: int
    restored: list[str]
    removed: list[str]


def _version_out(version: Version) -> VersionOut:
    return VersionOut(
        version=version.version,
        at=dt.datetime.fromtimestamp(version.at, dt.UTC).isoformat(),
        actor=version.actor,
        action=version.action,
        changes=[
            ChangeOut(
                doc_name=c.doc_name,
                doc_id=c.doc_id,
                change="added or replaced" if c.content_hash else "removed",
            )
            for c in version.changes
        ],
        documents=sorted(version.documents),
        rollback_of=version.rollback_of,
    )


@router.get("/{kb_id}/versions", response_model=VersionList)
async def list_versions(
    kb_id: KbId, tenant: AdminTenantDep, knowledge: KnowledgeDep
) -> VersionList:
    """Every kept version of the knowledge base, newest first."""
    versions = await knowledge.versions.versions(tenant, kb_id)
    return VersionList(versions=[_version_out(v) for v in versions])


@router.post("/{kb_id}/versions/{version}/rollback", response_model=RollbackOut)
async def rollback(
    kb_id: KbId,
    version: Annotated[int, Path(ge=1, le=10**12)],
    admin: AdminDep,
    knowledge: KnowledgeDep,
) -> RollbackOut:
    """Put the knowledge base back exactly as it was at that version; the rollback is a new
    version itself, and cached answers are stale at once."""
    done = await knowledge.rollback(admin.tenant_id, kb_id, version, actor_of(admin))
    return RollbackOut(version=done.version, restored=done.restored, removed=done.removed)
