"""The learning loop: an agent's answer becomes a draft FAQ entry, an admin edits and publishes
it, and the knowledge base answers the next customer who asks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.deps import AdminDep, DrafterDep, DraftsDep, KnowledgeDep
from services.gateway.knowledge import By
from services.gateway.knowledge_routes import KbId, actor_of
from services.gateway.schemas import ERROR_RESPONSES
from services.gateway.stores.drafts import Draft
from shared.errors import Conflict

router = APIRouter(prefix="/api/v1/knowledge-bases", tags=["knowledge"], responses=ERROR_RESPONSES)
DraftId = Annotated[str, Path(pattern=r"^draft-[A-Za-z0-9_-]{1,64}$")]
Question = Annotated[str, Field(min_length=1, max_length=500)]
Answer = Annotated[str, Field(min_length=1, max_length=8000)]


class DraftIn(BaseModel):
    """A customer's question and the answer that helped them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "question": "Do you engrave watches?",
                    "answer": "Yes: engraving costs $10 and adds 3 days.",
                    "ticket_id": "tkt-1a2b3c4d5e6f",
                }
            ]
        },
    )
    question: Question
    answer: Answer
    ticket_id: str = Field("", max_length=64)


class DraftEdit(BaseModel):
    """New wording for a draft's question or answer."""

    model_config = ConfigDict(extra="forbid")
    question: Question | None = None
    answer: Answer | None = None


class DraftOut(BaseModel):
    """A draft and where it stands."""

    draft_id: str
    kb_id: str
    question: str
    answer: str
    status: str
    created_by: str
    created_at: float
    updated_at: float
    ticket_id: str
    doc_id: str
    doc_name: str


class DraftList(BaseModel):
    """The tenant's drafts of a knowledge base, newest first."""

    drafts: list[DraftOut]


class Published(BaseModel):
    """A published draft, the document it became and the knowledge base's new version."""

    draft: DraftOut
    version: int | None


def _out(draft: Draft) -> DraftOut:
    return DraftOut.model_validate(draft.__dict__)


@router.post("/{kb_id}/drafts", response_model=DraftOut, status_code=201)
async def create_draft(
    kb_id: KbId, body: DraftIn, drafter: DrafterDep, drafts: DraftsDep
) -> DraftOut:
    """Draft an FAQ entry (agents, from a conversation they resolved; or admins)."""
    draft = await drafts.create(
        drafter.tenant_id, kb_id, body.question, body.answer, actor_of(drafter), body.ticket_id
    )
    return _out(draft)


@router.get("/{kb_id}/drafts", response_model=DraftList)
async def list_drafts(kb_id: KbId, drafter: DrafterDep, drafts: DraftsDep) -> DraftList:
    """The knowledge base's drafts, published or not, newest first."""
    return DraftList(
        drafts=[_out(d) for d in await drafts.all(drafter.tenant_id) if d.kb_id == kb_id]
    )


@router.patch("/{kb_id}/drafts/{draft_id}", response_model=DraftOut)
async def edit_draft(
    kb_id: KbId, draft_id: DraftId, body: DraftEdit, admin: AdminDep, drafts: DraftsDep
) -> DraftOut:
    """Reword a draft before it is published (409 once it is)."""
    return _out(await drafts.edit(admin.tenant_id, kb_id, draft_id, body.question, body.answer))


@router.post("/{kb_id}/drafts/{draft_id}/publish", response_model=Published)
async def publish_draft(
    kb_id: KbId, draft_id: DraftId, admin: AdminDep, drafts: DraftsDep, knowledge: KnowledgeDep
) -> Published:
    """Ingest the draft as a page of the knowledge base (FAQ-<draft_id>.md), like any upload:
    the next customer who asks is answered from it, citing it."""
    tenant = admin.tenant_id
    draft = await drafts.get(tenant, kb_id, draft_id)
    if draft.status == "published":
        raise Conflict(f"Already published as {draft.doc_name}")
    name, content = draft.document
    reply = await knowledge.upload(
        tenant, kb_id, name, content, by=By(actor_of(admin), action="publish")
    )
    document = reply.documents[0]
    done = await drafts.published(tenant, draft, document.doc_id, document.doc_name)
    version = await knowledge.versions.newest(tenant, kb_id)
    return Published(draft=_out(done), version=version)
