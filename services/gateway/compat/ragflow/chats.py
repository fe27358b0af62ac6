"""RAGFlow's chat assistants, their sessions and completions, over Frontdesk's assistants,
sessions and turns.

A chat is an assistant (its ``dataset_ids`` are the assistant's knowledge bases; none means
the tenant's ``default``); its prompt, opener, empty response, variables and LLM model,
temperature and max tokens are the assistant's. RAGFlow's retrieval knobs and sampling
penalties do not exist here: only their defaults are accepted. A session is a Frontdesk
session opened through the chat; a completion is a turn, streamed with the answer so far in
each event as RAGFlow's clients expect.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.assistant_routes import AssistantCreate, AssistantUpdate
from services.gateway.chat import ChatService
from services.gateway.chat.render import render
from services.gateway.chat.render.json import answer_of
from services.gateway.chat.render.stream import in_band
from services.gateway.chat.turn import Turn
from services.gateway.compat.ragflow.common import (
    ERRORS,
    MAX_PAGE_SIZE,
    PREFIX,
    TenantCallerDep,
    millis,
    ok,
    page_of,
    validated,
)
from services.gateway.compat.ragflow.datasets import chunk, doc_aggs
from services.gateway.deps import (
    AdminTenantDep,
    AssistantsDep,
    ChatDep,
    ChatSessionsDep,
    DatasetsDep,
)
from services.gateway.schemas import (
    ASSISTANT_ID_PATTERN,
    SESSION_ID_PATTERN,
    ChatRequest,
    ReferenceOut,
)
from services.gateway.session_routes import SessionCreate, start_session
from services.gateway.sse import unnamed
from services.gateway.stores.chat_sessions import RedisChatSessions
from services.gateway.streaming import streamed
from shared.assistant_model import Assistant
from shared.conversation import Session
from shared.errors import InvalidInput, NotFound
from shared.events import Reference, TokensStreamed, TurnCompleted, TurnFailed, TurnStarted
from shared.stores.assistants import RedisAssistantStore

router = APIRouter(prefix=PREFIX, tags=["compat: RAGFlow"], responses=ERRORS)
ChatId = Annotated[str, Path(pattern=ASSISTANT_ID_PATTERN)]
SessionId = Annotated[str, Path(pattern=SESSION_ID_PATTERN)]
Page = Annotated[int, Query(ge=1, le=10_000)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
HISTORY_SHOWN = 100  # messages of each listed session

# RAGFlow settings Frontdesk does not have, with the defaults its SDK sends: only these pass.
UNSUPPORTED_LLM: dict[str, Any] = {"top_p": 0.3, "presence_penalty": 0.4, "frequency_penalty": 0.7}
UNSUPPORTED_PROMPT: dict[str, Any] = {
    "similarity_threshold": 0.2,
    "keywords_similarity_weight": 0.7,
    "top_n": 8,
    "top_k": 1024,
    "rerank_model": "",
    "show_quote": True,
}


class LlmIn(BaseModel):
    """RAGFlow's LLM settings."""

    model_config = ConfigDict(extra="allow")
    model_name: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


class VariableIn(BaseModel):
    """A RAGFlow prompt variable."""

    model_config = ConfigDict(extra="ignore")
    key: str
    optional: bool = True


class PromptIn(BaseModel):
    """RAGFlow's prompt settings."""

    model_config = ConfigDict(extra="allow")
    prompt: str | None = None
    opener: str | None = None
    empty_response: str | None = None
    variables: list[VariableIn] | None = None


class ChatIn(BaseModel):
    """RAGFlow's chat body (create: name required; update: any subset)."""

    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    avatar: str | None = None
    dataset_ids: list[str] | None = None
    llm: LlmIn | None = None
    prompt: PromptIn | None = None


class SessionIn(BaseModel):
    """A session's name."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field("New session", max_length=200)


class Ids(BaseModel):
    """RAGFlow's bulk body: ``null`` means every one, ``[]`` none."""

    model_config = ConfigDict(extra="ignore")
    ids: list[Annotated[str, Field(max_length=128)]] | None = Field(None, max_length=1000)


class CompletionIn(BaseModel):
    """A question to a chat; other string fields are values of its prompt variables."""

    model_config = ConfigDict(extra="allow")
    question: str = Field(min_length=1)
    stream: bool = True
    session_id: str | None = Field(None, pattern=SESSION_ID_PATTERN)


def _refuse(given: dict[str, Any], defaults: dict[str, Any]) -> None:
    for name, default in defaults.items():
        if name in given and given[name] not in (default, None):
            raise InvalidInput(
                f"{name} is not supported by Frontdesk's RAGFlow layer; omit it or send {default!r}"
            )


async def _check_datasets(datasets: DatasetsDep, tenant_id: str, ids: list[str]) -> None:
    for dataset_id in ids:
        if dataset_id != "default":
            await datasets.get(tenant_id, dataset_id)


async def _assistant_fields(body: ChatIn, tenant_id: str, datasets: DatasetsDep) -> dict[str, Any]:
    """The Frontdesk assistant fields a RAGFlow chat body sets (only those it sends)."""
    fields: dict[str, Any] = {}
    if body.avatar:
        raise InvalidInput("avatar is not supported by Frontdesk's RAGFlow layer")
    if body.name is not None:
        fields["name"] = body.name
    if body.dataset_ids is not None:
        await _check_datasets(datasets, tenant_id, body.dataset_ids)
        fields["knowledge_bases"] = list(dict.fromkeys(body.dataset_ids)) or ["default"]
    if body.llm is not None:
        _refuse(body.llm.model_extra or {}, UNSUPPORTED_LLM)
        sent = body.llm.model_dump(exclude_unset=True)
        fields["llm"] = {
            new: sent[old]
            for old, new in (
                ("model_name", "model"),
                ("temperature", "temperature"),
                ("max_tokens", "max_tokens"),
            )
            if old in sent
        }
    if body.prompt is not None:
        _refuse(body.prompt.model_extra or {}, UNSUPPORTED_PROMPT)
        sent = body.prompt.model_dump(exclude_unset=True)
        for old, new in (
            ("prompt", "system_prompt"),
            ("opener", "opener"),
            ("empty_response", "empty_response"),
        ):
            if old in sent:
                fields[new] = sent[old] or None  # RAGFlow's "" is Frontdesk's built-in text
        if body.prompt.variables is not None:
            fields["variables"] = [
                {"name": v.key, "required": not v.optional} for v in body.prompt.variables
            ]
    return fields


def _chat_out(assistant: Assistant) -> dict[str, Any]:
    return {
        "id": assistant.id,
        "name": assistant.name,
        "avatar": "",
        "dataset_ids": assistant.knowledge_bases,
        "llm": {
            "model_name": assistant.llm.model,
            "temperature": assistant.llm.temperature,
            "max_tokens": assistant.llm.max_tokens,
            **UNSUPPORTED_LLM,
        },
        "prompt": {
            "prompt": assistant.system_prompt or "",
            "opener": assistant.opener or "",
            "empty_response": assistant.empty_response or "",
            "variables": [{"key": v.name, "optional": not v.required} for v in assistant.variables],
            **UNSUPPORTED_PROMPT,
        },
        "status": "1",
        "create_time": millis(assistant.created_at),
        "update_time": millis(assistant.updated_at),
    }


async def _chat(assistants: RedisAssistantStore, tenant_id: str, chat_id: str) -> Assistant:
    assistant = await assistants.get(tenant_id, chat_id)
    if assistant is None:
        raise NotFound(f"You don't own the chat {chat_id}")
    return assistant


@router.post("/chats")
async def create_chat(
    body: ChatIn, tenant: AdminTenantDep, assistants: AssistantsDep, datasets: DatasetsDep
) -> dict[str, Any]:
    """A new chat assistant."""
    if body.name is None:
        raise InvalidInput("name: Field required")
    fields = await _assistant_fields(body, tenant, datasets)
    created = validated(AssistantCreate, fields)
    return ok(_chat_out(await assistants.create(tenant, created.model_dump())))


@router.put("/chats/{chat_id}")
async def update_chat(
    chat_id: ChatId,
    body: ChatIn,
    tenant: AdminTenantDep,
    assistants: AssistantsDep,
    datasets: DatasetsDep,
) -> dict[str, Any]:
    """Change some of a chat's settings."""
    await _chat(assistants, tenant, chat_id)
    changes = validated(AssistantUpdate, await _assistant_fields(body, tenant, datasets))
    await assistants.update(tenant, chat_id, changes.model_dump(exclude_unset=True))
    return ok()


@router.get("/chats")
async def list_chats(
    tenant: AdminTenantDep,
    assistants: AssistantsDep,
    page: Page = 1,
    page_size: PageSize = 30,
    orderby: Literal["create_time", "update_time"] = "create_time",
    desc: bool = True,
    id: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """The tenant's chat assistants (every Frontdesk assistant is one)."""
    found = [
        a
        for a in await assistants.list(tenant)
        if (id is None or a.id == id) and (name is None or a.name == name)
    ]
    if (id or name) and not found:
        raise NotFound("The chat doesn't exist")
    attribute = "created_at" if orderby == "create_time" else "updated_at"
    found.sort(key=lambda a: getattr(a, attribute), reverse=desc)
    return ok([_chat_out(a) for a in page_of(found, page, page_size)])


@router.delete("/chats")
async def delete_chats(
    body: Ids,
    tenant: AdminTenantDep,
    assistants: AssistantsDep,
    chat: ChatDep,
    chat_sessions: ChatSessionsDep,
) -> dict[str, Any]:
    """Delete chat assistants and their sessions (``ids: null``: every assistant)."""
    if body.ids is None:
        doomed = [a.id for a in await assistants.list(tenant)]
    else:
        doomed = [(await _chat(assistants, tenant, chat_id)).id for chat_id in body.ids]
    for chat_id in doomed:
        await assistants.delete(tenant, chat_id)
        for session_id in await chat_sessions.drop(tenant, chat_id):
            await chat.sessions.delete(tenant, session_id)
    return ok()


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
    await _chat(assistants, tenant, chat_id)
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
    await _chat(assistants, tenant, chat_id)
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
    await _chat(assistants, tenant, chat_id)
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
    assistant = await _chat(assistants, tenant, chat_id)
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
