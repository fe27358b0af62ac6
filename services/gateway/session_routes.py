"""Session resources: create, list a user's, read, rename, page through history, reset, delete
(tenant-scoped: another tenant's session is simply not found)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.auth import Principal
from services.gateway.chat import ChatService
from services.gateway.deps import (
    AssistantsDep,
    ChatDep,
    ConnectionsDep,
    EventsDep,
    PrincipalDep,
    TenantDep,
)
from services.gateway.event_streams import follow, resume_from
from services.gateway.schemas import (
    ASSISTANT_ID_PATTERN,
    ERROR_RESPONSES,
    SESSION_ID_PATTERN,
    Channel,
    VariableName,
    VariableValue,
)
from services.gateway.streaming import held_stream
from shared.conversation import Message, Session
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events import new_id
from shared.stores.assistants import RedisAssistantStore

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"], responses=ERROR_RESPONSES)
# Histories and a user's list are bounded far below this; past it a page is a 422, not a 500.
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=200)]
SessionId = Annotated[str, Path(pattern=SESSION_ID_PATTERN)]


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
    name: str


class SessionCreate(BaseModel):
    """A new, empty session."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"user_id": "u-1001", "channel": "web", "name": "Returns"}]
        },
    )

    user_id: str = Field(default="anonymous", min_length=1, max_length=128)
    channel: Channel = "api"
    name: str = Field(default="", max_length=200)
    assistant_id: str | None = Field(
        default=None, pattern=ASSISTANT_ID_PATTERN, description="Whose opener greets the customer."
    )
    variables: dict[VariableName, VariableValue] = Field(default_factory=dict, max_length=32)


class SessionCreated(SessionOut):
    """A new session, with the assistant's opener if it has one (also the first message)."""

    opener: str | None


class SessionRename(BaseModel):
    """A session's new display name."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Refund"}]})

    name: str = Field(max_length=200)


class SessionList(BaseModel):
    """A page of a user's sessions, newest first."""

    sessions: list[SessionOut]
    total: int
    offset: int
    limit: int
    has_more: bool


class HistoryPage(BaseModel):
    """A page of a session's messages."""

    messages: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    has_more: bool


def _out(session: Session | None) -> SessionOut:
    if session is None:
        raise NotFound("No such session")
    return SessionOut(**{k: getattr(session, k) for k in SessionOut.model_fields})


def _user_of(principal: Principal, asked: str | None) -> str:
    """Whose sessions: an end-user token only ever sees its own user's."""
    if principal.user_id is not None:
        return principal.user_id
    if not asked:
        raise InvalidInput("user_id is required")
    return asked


@router.post("", response_model=SessionCreated, status_code=201)
async def create_session(
    body: SessionCreate, principal: PrincipalDep, chat: ChatDep, assistants: AssistantsDep
) -> SessionCreated:
    """Start a session; its id is then passed with each chat message."""
    session, opener = await start_session(
        chat,
        assistants,
        principal.tenant_id,
        body.model_copy(update={"user_id": _user_of(principal, body.user_id)}),
    )
    return SessionCreated(**_out(session).model_dump(), opener=opener)


async def start_session(
    chat: ChatService, assistants: RedisAssistantStore, tenant_id: str, body: SessionCreate
) -> tuple[Session, str | None]:
    """A new session, greeted by its assistant's opener (also its first message) if any."""
    session_id = new_id("sess")
    opener = await assistants.opener_for(tenant_id, body.assistant_id, body.variables)
    await chat.sessions.get_or_create(tenant_id, session_id, body.user_id, body.channel)
    if body.name:
        await chat.sessions.rename(tenant_id, session_id, body.name)
    if opener:
        await chat.sessions.append_message(tenant_id, session_id, Message("assistant", opener))
    session = await chat.sessions.get(tenant_id, session_id)
    if session is None:  # deleted the instant it was made
        raise NotFound("No such session")
    return session, opener


@router.get("", response_model=SessionList)
async def list_sessions(
    principal: PrincipalDep,
    chat: ChatDep,
    user_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> SessionList:
    """A user's live sessions, newest first."""
    user = _user_of(principal, user_id)
    sessions, total = await chat.sessions.of_user(principal.tenant_id, user, offset, limit)
    return SessionList(
        sessions=[_out(s) for s in sessions],
        total=total,
        offset=offset,
        limit=limit,
        has_more=offset + len(sessions) < total,
    )


async def session_of(
    principal: Principal, chat: ChatService, session_id: str, missing: str = "No such session"
) -> Session:
    """The session; NotFound for another tenant's, or another user's under an end-user token."""
    session = await chat.sessions.get(principal.tenant_id, session_id)
    if session is None or principal.user_id not in (None, session.user_id):
        raise NotFound(missing)
    return session


async def owned_session(session_id: SessionId, principal: PrincipalDep, chat: ChatDep) -> Session:
    """The addressed session (see session_of)."""
    return await session_of(principal, chat, session_id)


SessionDep = Annotated[Session, Depends(owned_session)]


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(session: SessionDep) -> SessionOut:
    """The session's state; 404 if it does not exist for the caller's tenant."""
    return _out(session)


@router.patch("/{session_id}", response_model=SessionOut)
async def rename(
    session: SessionDep, body: SessionRename, tenant: TenantDep, chat: ChatDep
) -> SessionOut:
    """Rename the session."""
    return _out(await chat.sessions.rename(tenant, session.session_id, body.name))


@router.get("/{session_id}/messages", response_model=HistoryPage)
async def history(
    session: SessionDep,
    tenant: TenantDep,
    chat: ChatDep,
    offset: Offset = 0,
    limit: Limit = 50,
    order: Literal["asc", "desc"] = "asc",
) -> HistoryPage:
    """Messages oldest first (``order=desc``: newest first), ``limit`` at a time."""
    messages, total = await chat.sessions.page(
        tenant, session.session_id, offset, limit, order == "desc"
    )
    return HistoryPage(
        messages=[m.__dict__ for m in messages],
        total=total,
        offset=offset,
        limit=limit,
        has_more=offset + len(messages) < total,
    )


class AgentScore(BaseModel):
    """How satisfied the customer was with the agent who helped (1 to 5)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"score": 5}]})
    score: int = Field(ge=1, le=5)


@router.post("/{session_id}/csat", status_code=204, response_class=Response)
async def rate_agent(
    session: SessionDep, body: AgentScore, tenant: TenantDep, chat: ChatDep
) -> Response:
    """Score the human agent of this conversation; a later score replaces the earlier one.
    409 when no agent took part."""
    if not await chat.sessions.rate_agent(tenant, session.session_id, body.score):
        raise Conflict("No agent took part in this conversation")
    return Response(status_code=204)


@router.post("/{session_id}/reset", status_code=204)
async def reset(session: SessionDep, tenant: TenantDep, chat: ChatDep) -> Response:
    """Forget the conversation; the session id stays usable."""
    await chat.sessions.reset(tenant, session.session_id)
    return Response(status_code=204)


@router.delete("/{session_id}", status_code=204)
async def delete(session: SessionDep, tenant: TenantDep, chat: ChatDep) -> Response:
    """Delete the session and its history."""
    await chat.sessions.delete(tenant, session.session_id)
    return Response(status_code=204)


@router.get("/{session_id}/events", response_class=StreamingResponse, tags=["chat"])
async def session_events(
    session: SessionDep,
    principal: PrincipalDep,
    events: EventsDep,
    slots: ConnectionsDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Live hand-off events for the customer: queued, agent_joined, agent_message, agent_left.

    Starts from the session's first event unless Last-Event-ID says otherwise, so a widget
    that reconnects (or opens late) never misses an agent's message. Holds a connection slot.
    """
    after = resume_from(last_event_id, "0")
    stream = events.session_stream(principal.tenant_id, session.session_id)
    frames = follow(events, stream, after)
    return await held_stream(slots, principal, frames, "text/event-stream", {})
