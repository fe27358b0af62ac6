"""RAGFlow's datasets, their documents and ``/retrieval``, over Frontdesk's knowledge bases.

A dataset is a knowledge base (its id is the knowledge base's id) with a name; a document is
parsed as it is uploaded, so it is at once ``DONE`` and RAGFlow's parse call only checks ids.
"""

from __future__ import annotations

import mimetypes
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.compat.ragflow.common import (
    ERRORS,
    PREFIX,
    Ids,
    OrderBy,
    Page,
    PageSize,
    listing,
    millis,
    ok,
    page_of,
)
from services.gateway.deps import AdminDep, DatasetsDep, KnowledgeDep
from services.gateway.knowledge import By, KnowledgeAdmin
from services.gateway.knowledge_routes import actor_of
from services.gateway.schemas import DatasetName
from services.gateway.stores.datasets import Dataset
from shared.errors import InvalidInput, NotFound
from shared.events import DocumentInfo

router = APIRouter(prefix=PREFIX, tags=["compat: RAGFlow"], responses=ERRORS)
DatasetId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Description = Annotated[str, Field(max_length=2000)]
MAX_UPLOADS = 32  # files in one upload request
MAX_RETRIEVED = 100  # passages one /retrieval can page through

# Settings Frontdesk does not have: only RAGFlow's defaults (or nothing) are accepted.
UNSUPPORTED_DATASET = {"avatar": ("", None), "embedding_model": ("", None)}


class DatasetIn(BaseModel):
    """RAGFlow's dataset body."""

    model_config = ConfigDict(extra="ignore")
    name: DatasetName
    description: Description | None = None
    avatar: str | None = None
    embedding_model: str | None = None
    permission: Literal["me", "team"] = "me"
    chunk_method: Literal["naive"] = "naive"
    parser_config: dict[str, Any] | None = None


class DatasetUpdate(BaseModel):
    """A partial dataset update."""

    model_config = ConfigDict(extra="ignore")
    name: DatasetName | None = None
    description: Description | None = None
    avatar: str | None = None
    embedding_model: str | None = None
    chunk_method: Literal["naive"] | None = None


class ParseIn(BaseModel):
    """Documents to parse."""

    model_config = ConfigDict(extra="ignore")
    document_ids: list[Annotated[str, Field(max_length=128)]] = Field(max_length=1000)


class RetrievalIn(BaseModel):
    """RAGFlow's retrieval body; only the question, datasets, documents and paging count."""

    model_config = ConfigDict(extra="ignore")
    question: str = Field(min_length=1, max_length=4000)
    dataset_ids: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]] = Field(
        min_length=1, max_length=10
    )
    document_ids: list[str] = Field(default_factory=list, max_length=1000)
    page: int = Field(1, ge=1, le=MAX_RETRIEVED)
    page_size: int = Field(30, ge=1, le=MAX_RETRIEVED)


def _refuse_unsupported(fields: dict[str, Any]) -> None:
    for name, accepted in UNSUPPORTED_DATASET.items():
        if fields.get(name) not in accepted:
            raise InvalidInput(f"{name} is not supported by Frontdesk's RAGFlow layer")


def chunk(
    chunk_id: str, content: str, doc_id: str, doc_name: str, dataset_id: str, score: float
) -> dict[str, Any]:
    """A passage as RAGFlow's chunk (one score: Frontdesk fuses its rankings)."""
    return {
        "id": chunk_id,
        "content": content,
        "document_id": doc_id,
        "document_name": doc_name,
        "document_keyword": doc_name,
        "dataset_id": dataset_id,
        "kb_id": dataset_id,
        "image_id": "",
        "important_keywords": [],
        "positions": [],
        "similarity": score,
        "vector_similarity": score,
        "term_similarity": score,
    }


def doc_aggs(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How many chunks each document gave, in first-cited order."""
    counts: dict[str, dict[str, Any]] = {}
    for c in chunks:
        agg = counts.setdefault(
            c["document_id"],
            {"doc_id": c["document_id"], "doc_name": c["document_name"], "count": 0},
        )
        agg["count"] += 1
    return list(counts.values())


def _document(info: DocumentInfo, dataset_id: str) -> dict[str, Any]:
    suffix = info.doc_name.rsplit(".", 1)[-1].lower() if "." in info.doc_name else ""
    return {
        "id": info.doc_id,
        "name": info.doc_name,
        "dataset_id": dataset_id,
        "chunk_method": "naive",
        "source_type": "local",
        "type": "pdf" if suffix == "pdf" else "doc",
        "chunk_count": info.chunk_count,
        "token_count": 0,
        "progress": 1.0,
        "progress_msg": "Parsed on upload",
        "run": "DONE",
        "status": "1",
        "meta_fields": {},
        "create_time": millis(info.updated_at),
        "update_time": millis(info.updated_at),
    }


async def _dataset_out(
    dataset: Dataset, tenant_id: str, knowledge: KnowledgeAdmin
) -> dict[str, Any]:
    documents = await knowledge.documents(tenant_id, dataset.id)
    return {
        "id": dataset.id,
        "name": dataset.name,
        "description": dataset.description,
        "avatar": "",
        "tenant_id": tenant_id,
        "embedding_model": "",
        "permission": "me",
        "chunk_method": "naive",
        "parser_config": {},
        "document_count": len(documents),
        "chunk_count": sum(d.chunk_count for d in documents),
        "create_time": millis(dataset.created_at),
        "update_time": millis(dataset.updated_at),
    }


@router.post("/datasets")
async def create_dataset(
    body: DatasetIn, admin: AdminDep, datasets: DatasetsDep, knowledge: KnowledgeDep
) -> dict[str, Any]:
    """A new, empty dataset."""
    _refuse_unsupported(body.model_dump())
    dataset = await datasets.create(admin.tenant_id, body.name, body.description or "")
    return ok(await _dataset_out(dataset, admin.tenant_id, knowledge))


@router.get("/datasets")
async def list_datasets(
    admin: AdminDep,
    datasets: DatasetsDep,
    knowledge: KnowledgeDep,
    page: Page = 1,
    page_size: PageSize = 30,
    orderby: OrderBy = "create_time",
    desc: bool = True,
    id: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """The tenant's datasets, with their document and chunk counts."""
    everyone = await datasets.all(admin.tenant_id)
    chosen = listing(
        everyone, id, name, "You don't own the dataset", orderby, desc, page, page_size
    )
    return ok([await _dataset_out(d, admin.tenant_id, knowledge) for d in chosen])


@router.put("/datasets/{dataset_id}")
async def update_dataset(
    dataset_id: DatasetId,
    body: DatasetUpdate,
    admin: AdminDep,
    datasets: DatasetsDep,
    knowledge: KnowledgeDep,
) -> dict[str, Any]:
    """Rename or redescribe a dataset."""
    _refuse_unsupported(body.model_dump())
    dataset = await datasets.update(admin.tenant_id, dataset_id, body.name, body.description)
    return ok(await _dataset_out(dataset, admin.tenant_id, knowledge))


async def _delete_documents(
    knowledge: KnowledgeAdmin, admin: AdminDep, dataset_id: str, ids: list[str] | None
) -> None:
    held = {d.doc_id for d in await knowledge.documents(admin.tenant_id, dataset_id)}
    wanted = sorted(held) if ids is None else ids
    missing = [doc_id for doc_id in wanted if doc_id not in held]
    if missing:  # checked first, so a bad id deletes nothing
        raise NotFound(f"Documents not found: {', '.join(missing[:10])}")
    for doc_id in dict.fromkeys(wanted):
        await knowledge.delete(admin.tenant_id, dataset_id, doc_id, By(actor_of(admin)))


@router.delete("/datasets")
async def delete_datasets(
    body: Ids, admin: AdminDep, datasets: DatasetsDep, knowledge: KnowledgeDep
) -> dict[str, Any]:
    """Delete datasets and their documents (``ids: null``: all of the tenant's datasets)."""
    tenant = admin.tenant_id
    if body.ids is None:
        doomed = await datasets.all(tenant)
    else:
        doomed = [await datasets.get(tenant, dataset_id) for dataset_id in body.ids]
    for dataset in doomed:
        await _delete_documents(knowledge, admin, dataset.id, None)
        await datasets.delete(tenant, dataset)
    return ok()


@router.post("/datasets/{dataset_id}/documents")
async def upload_documents(
    dataset_id: DatasetId,
    admin: AdminDep,
    datasets: DatasetsDep,
    knowledge: KnowledgeDep,
    file: Annotated[list[UploadFile], File(description="Markdown, text, HTML or PDF")],
) -> dict[str, Any]:
    """Upload and parse documents (one with a stored name replaces it)."""
    await datasets.get(admin.tenant_id, dataset_id)
    if len(file) > MAX_UPLOADS:
        raise InvalidInput(f"At most {MAX_UPLOADS} files per upload")
    uploaded = []
    for upload in file:
        reply = await knowledge.upload(
            admin.tenant_id,
            dataset_id,
            upload.filename or "",
            await upload.read(),
            by=By(actor_of(admin)),
        )
        uploaded.append(_document(reply.documents[0], dataset_id))
    return ok(uploaded)


@router.get("/datasets/{dataset_id}/documents")
async def list_documents(
    dataset_id: DatasetId,
    admin: AdminDep,
    datasets: DatasetsDep,
    knowledge: KnowledgeDep,
    page: Page = 1,
    page_size: PageSize = 30,
    orderby: OrderBy = "create_time",
    desc: bool = True,
    id: Annotated[str | None, Query(max_length=128)] = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    keywords: Annotated[str | None, Query(max_length=255)] = None,
) -> dict[str, Any]:
    """A dataset's documents; ``keywords`` matches their names."""
    await datasets.get(admin.tenant_id, dataset_id)
    documents = [
        d
        for d in await knowledge.documents(admin.tenant_id, dataset_id)
        if (id is None or d.doc_id == id)
        and (name is None or d.doc_name == name)
        and (not keywords or keywords.lower() in d.doc_name.lower())
    ]
    documents.sort(key=lambda d: d.updated_at, reverse=desc)
    docs = [_document(d, dataset_id) for d in page_of(documents, page, page_size)]
    return ok({"docs": docs, "total": len(documents)})


@router.get("/datasets/{dataset_id}/documents/{document_id}", response_model=None)
async def download_document(
    dataset_id: DatasetId,
    document_id: Annotated[str, Path(max_length=128)],
    admin: AdminDep,
    datasets: DatasetsDep,
    knowledge: KnowledgeDep,
) -> Response:
    """The document's file, as uploaded."""
    await datasets.get(admin.tenant_id, dataset_id)
    documents = await knowledge.documents(admin.tenant_id, dataset_id)
    info = next((d for d in documents if d.doc_id == document_id), None)
    if info is None:
        raise NotFound(f"The dataset does not have the document {document_id}")
    content = await knowledge.versions.content(admin.tenant_id, info.content_hash)
    if content is None:
        raise NotFound("The document's file was not kept")
    kind = mimetypes.guess_type(info.doc_name)[0] or "application/octet-stream"
    return Response(content, media_type=kind)


@router.delete("/datasets/{dataset_id}/documents")
async def delete_documents(
    dataset_id: DatasetId,
    body: Ids,
    admin: AdminDep,
    datasets: DatasetsDep,
    knowledge: KnowledgeDep,
) -> dict[str, Any]:
    """Delete documents and their chunks (``ids: null``: every document of the dataset)."""
    await datasets.get(admin.tenant_id, dataset_id)
    await _delete_documents(knowledge, admin, dataset_id, body.ids)
    return ok()


@router.post("/datasets/{dataset_id}/chunks")
async def parse_documents(
    dataset_id: DatasetId,
    body: ParseIn,
    admin: AdminDep,
    datasets: DatasetsDep,
    knowledge: KnowledgeDep,
) -> dict[str, Any]:
    """Parsing: already done at upload, so only the ids are checked."""
    await datasets.get(admin.tenant_id, dataset_id)
    held = {d.doc_id for d in await knowledge.documents(admin.tenant_id, dataset_id)}
    missing = [doc_id for doc_id in body.document_ids if doc_id not in held]
    if missing:
        raise NotFound(f"Documents not found: {', '.join(missing[:10])}")
    return ok()


@router.post("/retrieval")
async def retrieval(
    body: RetrievalIn, admin: AdminDep, datasets: DatasetsDep, knowledge: KnowledgeDep
) -> dict[str, Any]:
    """The datasets' best chunks for the question, merged by score, one page of them."""
    wanted = set(body.document_ids)
    chunks = []
    depth = min(body.page * body.page_size, MAX_RETRIEVED)
    for dataset_id in dict.fromkeys(body.dataset_ids):
        await datasets.get(admin.tenant_id, dataset_id)
        for p in await knowledge.search(admin.tenant_id, dataset_id, body.question, depth):
            if not wanted or p.doc_id in wanted:
                chunks.append(chunk(p.chunk_id, p.text, p.doc_id, p.doc_name, dataset_id, p.score))
    chunks.sort(key=lambda c: -float(c["similarity"]))
    shown = page_of(chunks, body.page, body.page_size)
    return ok({"chunks": shown, "doc_aggs": doc_aggs(shown), "total": len(chunks)})
