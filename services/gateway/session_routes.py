"""Session resources: read one, page through its history, reset it, delete it (tenant-scoped:
another tenant's session is simply not found)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from services.gateway.deps import ChatDep, TenantDep
from services.gateway.schemas import ERROR_RESPONSES
from shared.errors import NotFound

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"], responses=ERROR_RESPONSES)


class SessionOut(BaseModel):
    """A session's state."""

    session_id: str
    user_id: str
    channel: str
    created_at: float
    turn_count: int
    failed_attempts: int
    current_intent: str
    emotion_score: float
    agent_status: str


class HistoryPage(BaseModel):
    """A page of a session's messages."""

    messages: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    has_more: bool


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(session_id: str, tenant: TenantDep, chat: ChatDep) -> SessionOut:
    """The session's state; 404 if it does not exist for the caller's tenant."""
    session = await chat.sessions.get(tenant, session_id)
    if session is None:
        raise NotFound("No such session")
    return SessionOut(**{k: getattr(session, k) for k in SessionOut.model_fields})


@router.get("/{session_id}/messages", response_model=HistoryPage)
async def history(
    session_id: str,
    tenant: TenantDep,
    chat: ChatDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    order: Literal["asc", "desc"] = "asc",
) -> HistoryPage:
    """Messages oldest first (``order=desc``: newest first), ``limit`` at a time."""
    if await chat.sessions.get(tenant, session_id) is None:
        raise NotFound("No such session")
    messages, total = await chat.sessions.page(tenant, session_id, offset, limit, order == "desc")
    return HistoryPage(
        messages=[m.__dict__ for m in messages],
        total=total,
        offset=offset,
        limit=limit,
        has_more=offset + len(messages) < total,
    )


@router.post("/{session_id}/reset", status_code=204)
async def reset(session_id: str, tenant: TenantDep, chat: ChatDep) -> Response:
    """Forget the conversation; the session id stays usable."""
    if not await chat.sessions.reset(tenant, session_id):
        raise NotFound("No such session")
    return Response(status_code=204)


@router.delete("/{session_id}", status_code=204)
async def delete(session_id: str, tenant: TenantDep, chat: ChatDep) -> Response:
    """Delete the session and its history."""
    if not await chat.sessions.delete(tenant, session_id):
        raise NotFound("No such session")
    return Response(status_code=204)
