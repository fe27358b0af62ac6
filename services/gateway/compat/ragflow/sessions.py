"""RAGFlow's sessions and completions over Frontdesk's sessions and turns.

A session is a Frontdesk session opened through a chat (another chat's is not found); a
completion is a turn, streamed with the whole answer so far in each event, as RAGFlow's
clients expect, and the last one carrying the reference.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.chat import ChatService
from services.gateway.chat.render import render
from services.gateway.chat.render.json import answer_of
from services.gateway.chat.render.stream import in_band
from services.gateway.chat.turn import Turn
from services.gateway.compat.ragflow.chats import ChatId, chat_of
from services.gateway.compat.ragflow.common import (
    ERRORS,
    PREFIX,
    Ids,
    Page,
    PageSize,
    TenantCallerDep,
    millis,
    ok,
    validated,
)
from services.gateway.compat.ragflow.datasets import chunk, doc_aggs
from services.gateway.deps import AssistantsDep, ChatDep, ChatSessionsDep
from services.gateway.schemas import SESSION_ID_PATTERN, ChatRequest, ReferenceOut
from services.gateway.session_routes import SessionCreate, start_session
from services.gateway.sse import unnamed
from services.gateway.stores.chat_sessions import RedisChatSessions
from services.gateway.streaming import streamed
from shared.conversation import Session
from shared.errors import NotFound
from shared.events import Reference, TokensStreamed, TurnCompleted, TurnFailed, TurnStarted
from shared.stores.assistants import RedisAssistantStore

router = APIRouter(prefix=PREFIX, tags=["compat: RAGFlow"], responses=ERRORS)
SessionId = Annotated[str, Path(pattern=SESSION_ID_PATTERN)]
HISTORY_SHOWN = 100  # messages of each listed session


class SessionIn(BaseModel):
    """A session's name."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field("New session", max_length=200)


class CompletionIn(BaseModel):
    """A question to a chat; other string fields are values of its prompt variables."""

    model_config = ConfigDict(extra="allow")
    question: str = Field(min_length=1)
    stream: bool = True
    session_id: str | None = Field(None, pattern=SESSION_ID_PATTERN)


async def _session_out(
    chat: ChatService, tenant_id: str, chat_id: str, session: Session
) -> dict[str, Any]:
    history, _ = await chat.sessions.page(
        tenant_id, session.session_id, 0, HISTORY_SHOWN, newest_first=False
    )
    return {
        "id": session.session_id,
        "name": session.name,
        "chat_id": chat_id,
        "user_id": session.user_id,
        "messages": [{"role": m.role, "content": m.content} for m in history],
        "create_time": millis(session.created_at),
        "update_time": millis(session.created_at),
    }


async def _open_session(
    chat: ChatService,
    assistants: RedisAssistantStore,
    chat_sessions: RedisChatSessions,
    tenant_id: str,
    chat_id: str,
    name: str,
) -> Session:
    body = SessionCreate(name=name, assistant_id=chat_id)
    session, _ = await start_session(chat, assistants, tenant_id, body)
    await chat_sessions.add(tenant_id, chat_id, session.session_id)
    return session


async def _session(
    chat: ChatService,
    chat_sessions: RedisChatSessions,
    tenant_id: str,
    chat_id: str,
    session_id: str,
) -> Session:
    session = await chat.sessions.get(tenant_id, session_id)
    if session is None or not await chat_sessions.has(tenant_id, chat_id, session_id):
        raise NotFound(f"The chat doesn't own the session {session_id}")
    return session


@router.post("/chats/{chat_id}/sessions")
async def create_session(
    chat_id: ChatId,
    body: SessionIn,
    caller: TenantCallerDep,
    chat: ChatDep,
    assistants: AssistantsDep,
    chat_sessions: ChatSessionsDep,
) -> dict[str, Any]:
    """A new session with the chat, greeted by its opener."""
    tenant = caller.tenant_id
    await chat_of(assistants, tenant, chat_id)
    session = await _open_session(chat, assistants, chat_sessions, tenant, chat_id, body.name)
    return ok(await _session_out(chat, tenant, chat_id, session))


@router.get("/chats/{chat_id}/sessions")
async def list_sessions(
    chat_id: ChatId,
    caller: TenantCallerDep,
    chat: ChatDep,
    assistants: AssistantsDep,
    chat_sessions: ChatSessionsDep,
    page: Page = 1,
    page_size: PageSize = 30,
    id: Annotated[str | None, Query(max_length=128)] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The chat's sessions, newest first, with their messages."""
    tenant = caller.tenant_id
    await chat_of(assistants, tenant, chat_id)
    if id is not None:
        sessions = [await _session(chat, chat_sessions, tenant, chat_id, id)]
    else:
        ids = await chat_sessions.page(tenant, chat_id, (page - 1) * page_size, page_size)
        found = {i: await chat.sessions.get(tenant, i) for i in ids}
        await chat_sessions.remove(tenant, chat_id, *(i for i, s in found.items() if s is None))
        sessions = [s for s in found.values() if s is not None]
    sessions = [s for s in sessions if name is None or s.name == name]
    return ok([await _session_out(chat, tenant, chat_id, s) for s in sessions])


@router.put("/chats/{chat_id}/sessions/{session_id}")
async def rename_session(
    chat_id: ChatId,
    session_id: SessionId,
    body: SessionIn,
    caller: TenantCallerDep,
    chat: ChatDep,
    chat_sessions: ChatSessionsDep,
) -> dict[str, Any]:
    """Rename a session."""
    await _session(chat, chat_sessions, caller.tenant_id, chat_id, session_id)
    await chat.sessions.rename(caller.tenant_id, session_id, body.name)
    return ok()


@router.delete("/chats/{chat_id}/sessions")
async def delete_sessions(
    chat_id: ChatId,
    body: Ids,
    caller: TenantCallerDep,
    chat: ChatDep,
    assistants: AssistantsDep,
    chat_sessions: ChatSessionsDep,
) -> dict[str, Any]:
    """Delete sessions and their histories (``ids: null``: every session of the chat)."""
    tenant = caller.tenant_id
    await chat_of(assistants, tenant, chat_id)
    if body.ids is None:
        doomed = await chat_sessions.drop(tenant, chat_id)
    else:
        doomed = [
            (await _session(chat, chat_sessions, tenant, chat_id, i)).session_id for i in body.ids
        ]
        await chat_sessions.remove(tenant, chat_id, *doomed)
    for session_id in doomed:
        await chat.sessions.delete(tenant, session_id)
    return ok()


def _reference(
    references: Sequence[Reference | ReferenceOut], dataset_ids: list[str]
) -> dict[str, Any]:
    """Citations as RAGFlow's reference (the dataset is named when the chat has one)."""
    dataset = dataset_ids[0] if len(dataset_ids) == 1 else ""
    chunks = [
        chunk(r.chunk_id, r.snippet, r.doc_id, r.doc_name, dataset, r.score) for r in references
    ]
    return {"total": len(chunks), "chunks": chunks, "doc_aggs": doc_aggs(chunks)}


def _message(turn: Turn, answer: str, reference: dict[str, Any]) -> dict[str, Any]:
    return {
        "answer": answer,
        "reference": reference,
        "id": turn.turn_id,
        "session_id": turn.session_id,
        "audio_binary": None,
    }


class RagflowStream:
    """RAGFlow's completion stream: each event holds the whole answer so far; the last one
    its reference; then ``data: true``."""

    def __init__(self, turn: Turn, dataset_ids: list[str]) -> None:
        self._turn = turn
        self._dataset_ids = dataset_ids
        self._answer: list[str] = []

    async def started(self, event: TurnStarted) -> list[bytes]:
        """Nothing: RAGFlow has no such event."""
        return []

    async def tokens(self, event: TokensStreamed) -> list[bytes]:
        """The answer so far."""
        self._answer.append(event.content)
        return [unnamed(ok(_message(self._turn, "".join(self._answer), {})))]

    async def completed(self, event: TurnCompleted) -> list[bytes]:
        """The whole answer with its reference, then the end."""
        reference = _reference(event.references, self._dataset_ids)
        return [unnamed(ok(_message(self._turn, event.reply, reference))), unnamed(ok(True))]

    async def failed(self, event: TurnFailed) -> list[bytes]:
        """RAGFlow's in-stream error."""
        return [error_event(event.message)]


def error_event(message: str) -> bytes:
    """An error inside the stream, as RAGFlow sends one."""
    text = f"**ERROR**: {message}"
    return unnamed({"code": 100, "message": text, "data": {"answer": text, "reference": {}}})


COMPLETION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/json": {}, "text/event-stream": {}},
        "description": "stream false: the answer; true: the answer so far per event.",
    }
}


@router.post("/chats/{chat_id}/completions", response_model=None, responses=COMPLETION_RESPONSES)
async def completions(
    chat_id: ChatId,
    body: CompletionIn,
    caller: TenantCallerDep,
    chat: ChatDep,
    assistants: AssistantsDep,
    chat_sessions: ChatSessionsDep,
) -> dict[str, Any] | StreamingResponse:
    """Ask the chat; without a session id a new session is opened."""
    tenant = caller.tenant_id
    assistant = await chat_of(assistants, tenant, chat_id)
    if body.session_id is None:
        session = await _open_session(
            chat, assistants, chat_sessions, tenant, chat_id, "New session"
        )
    else:
        session = await _session(chat, chat_sessions, tenant, chat_id, body.session_id)
    variables = {k: v for k, v in (body.model_extra or {}).items() if isinstance(v, str)}
    request = validated(
        ChatRequest,
        {
            "message": body.question,
            "session_id": session.session_id,
            "user_id": session.user_id,
            "assistant_id": chat_id,
            "variables": variables,
        },
    )
    if not body.stream:
        async with chat.open_turn(caller, request) as turn:
            answer = await answer_of(turn)
        reference = _reference(answer.data.references, assistant.knowledge_bases)
        return ok(_message(turn, answer.reply, reference))
    async with contextlib.AsyncExitStack() as stack:
        turn = await stack.enter_async_context(chat.open_turn(caller, request, hold_slot=True))
        held = stack.pop_all()
    frames = in_band(
        render(turn.events, RagflowStream(turn, assistant.knowledge_bases)), error_event
    )
    return streamed(frames, "text/event-stream", {}, held)
