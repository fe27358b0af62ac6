"""Dify's Service API for chat apps (``/compat/dify/v1``), as `dify-client-python` calls it.

A Dify conversation is a Frontdesk session (``conversation_id`` is its id), a message and a
task are a Frontdesk turn (``message_id`` and ``task_id`` are its id), ``user`` is the
customer's user id, ``inputs`` are the assistant's prompt variables, and feedback is a rating
of the turn. Errors use Dify's ``{"status", "code", "message"}`` (services/gateway/errors.py);
what a chat app cannot do here (workflows, completion apps, files, audio) says so.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.analytics_routes import AnalyticsDep, rate
from services.gateway.auth import Principal
from services.gateway.chat import ChatService
from services.gateway.chat.render import render
from services.gateway.chat.render.json import answer_of
from services.gateway.chat.render.stream import in_band
from services.gateway.chat.turn import Turn
from services.gateway.compat import refuse_another_method
from services.gateway.deps import ChatDep, PrincipalDep
from services.gateway.schemas import (
    ERROR_RESPONSES,
    SESSION_ID_PATTERN,
    TURN_ID_PATTERN,
    ChatRequest,
    ReferenceOut,
    VariableName,
    VariableValue,
)
from services.gateway.session_routes import session_of
from services.gateway.sse import frame, unnamed
from services.gateway.streaming import streamed
from shared.errors import InvalidInput
from shared.events import Reference, TokensStreamed, TurnCompleted, TurnFailed, TurnStarted
from shared.stores.analytics import Rating

PREFIX = "/compat/dify/v1"
router = APIRouter(prefix=PREFIX, tags=["compat: Dify"], responses=ERROR_RESPONSES)
TaskId = Annotated[str, Path(pattern=TURN_ID_PATTERN, description="task_id or message_id")]
UNSUPPORTED = (
    "completion-messages",
    "workflows/run",
    "files/upload",
    "audio-to-text",
    "text-to-audio",
)


class ChatMessageIn(BaseModel):
    """Dify's chat-messages body."""

    model_config = ConfigDict(extra="ignore")
    query: str = Field(min_length=1)
    inputs: dict[VariableName, VariableValue] = Field(default_factory=dict)
    response_mode: Literal["blocking", "streaming"] = "blocking"
    user: str = Field(min_length=1, max_length=128)
    conversation_id: str | None = Field(None, pattern=rf"{SESSION_ID_PATTERN}|^$")
    files: list[dict[str, Any]] = Field(default_factory=list)


class UserIn(BaseModel):
    """Dify's body for stop: who asks."""

    model_config = ConfigDict(extra="ignore")
    user: str = Field(min_length=1, max_length=128)


class FeedbackIn(UserIn):
    """Dify's message feedback: like, dislike (or null, which Frontdesk does not support)."""

    rating: Literal["like", "dislike"] | None = None
    content: str | None = Field(None, max_length=2000)


def _usage(answer: str, started: float) -> dict[str, Any]:
    """Dify's usage block: Frontdesk bills no tokens, so the prices are zero."""
    tokens = len(answer.split())
    zero = "0"
    return {
        "prompt_tokens": 0,
        "completion_tokens": tokens,
        "total_tokens": tokens,
        "prompt_unit_price": zero,
        "prompt_price_unit": zero,
        "prompt_price": zero,
        "completion_unit_price": zero,
        "completion_price_unit": zero,
        "completion_price": zero,
        "total_price": zero,
        "currency": "USD",
        "latency": round(time.monotonic() - started, 3),
    }


def _resources(references: Sequence[Reference | ReferenceOut]) -> list[dict[str, Any]]:
    """Citations as Dify's retriever resources (the dataset is the knowledge base)."""
    return [
        {
            "position": position,
            "dataset_id": "default",
            "dataset_name": "default",
            "document_id": r.doc_id,
            "document_name": r.doc_name,
            "segment_id": r.chunk_id,
            "score": r.score,
            "content": r.snippet,
        }
        for position, r in enumerate(references, start=1)
    ]


async def _request(body: ChatMessageIn, principal: Principal, chat: ChatService) -> ChatRequest:
    if body.files:
        raise InvalidInput("files are not supported by Frontdesk's Dify layer")
    session_id = body.conversation_id or None
    if session_id is not None:
        await session_of(principal, chat, session_id, "Conversation Not Exists.")
    return ChatRequest(
        message=body.query,
        session_id=session_id,
        user_id=principal.user_id or body.user,
        variables=body.inputs,
    )


class DifyStream:
    """Dify's chat stream: ``message`` events of text, then ``message_end`` with metadata."""

    def __init__(self, turn: Turn, started: float) -> None:
        self._ids = {
            "task_id": turn.turn_id,
            "message_id": turn.turn_id,
            "conversation_id": turn.session_id,
        }
        self._started = started

    def _event(self, event: str, **fields: Any) -> bytes:
        return unnamed({"event": event, **self._ids, "created_at": int(time.time()), **fields})

    async def started(self, event: TurnStarted) -> list[bytes]:
        """Nothing: Dify's chat apps have no such event."""
        return []

    async def tokens(self, event: TokensStreamed) -> list[bytes]:
        """A run of the answer."""
        return [self._event("message", answer=event.content)]

    async def completed(self, event: TurnCompleted) -> list[bytes]:
        """The end, with usage and the passages the answer cites."""
        metadata = {
            "usage": _usage(event.reply, self._started),
            "retriever_resources": _resources(event.references),
        }
        return [self._event("message_end", metadata=metadata)]

    async def failed(self, event: TurnFailed) -> list[bytes]:
        """Dify's in-stream error."""
        return [error_event(event.message)]


def error_event(message: str) -> bytes:
    """An ``error`` event as Dify's clients raise it."""
    payload = {
        "event": "error",
        "status": 500,
        "code": "completion_request_error",
        "message": message,
    }
    return frame("error", payload)


CHAT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/json": {}, "text/event-stream": {}},
        "description": "blocking: the answer; streaming: message events, then message_end.",
    }
}


@router.post("/chat-messages", response_model=None, responses=CHAT_RESPONSES)
async def chat_messages(
    body: ChatMessageIn, principal: PrincipalDep, chat: ChatDep
) -> dict[str, Any] | StreamingResponse:
    """Send a message: the whole answer (blocking) or its stream (streaming)."""
    started = time.monotonic()
    request = await _request(body, principal, chat)
    if body.response_mode == "blocking":
        async with chat.open_turn(principal, request) as turn:
            answer = await answer_of(turn)
        return {
            "event": "message",
            "task_id": turn.turn_id,
            "id": turn.turn_id,
            "message_id": turn.turn_id,
            "conversation_id": turn.session_id,
            "mode": "chat",
            "answer": answer.reply,
            "metadata": {
                "usage": _usage(answer.reply, started),
                "retriever_resources": _resources(answer.data.references),
            },
            "created_at": int(time.time()),
        }
    async with contextlib.AsyncExitStack() as stack:
        turn = await stack.enter_async_context(chat.open_turn(principal, request, hold_slot=True))
        held = stack.pop_all()
    frames = in_band(render(turn.events, DifyStream(turn, started)), error_event)
    return streamed(frames, "text/event-stream", {}, held)


@router.post("/chat-messages/{task_id}/stop")
async def stop(
    task_id: TaskId, body: UserIn, principal: PrincipalDep, chat: ChatDep
) -> dict[str, str]:
    """Stop generating; the answer so far is kept, marked stopped."""
    await chat.stop(principal, task_id)
    return {"result": "success"}


@router.post("/messages/{message_id}/feedbacks")
async def feedback(
    message_id: TaskId, body: FeedbackIn, principal: PrincipalDep, analytics: AnalyticsDep
) -> dict[str, str]:
    """Rate an answer: like and dislike are Frontdesk's up and down ratings."""
    if body.rating is None:
        raise InvalidInput("revoking a rating is not supported; send like or dislike")
    rating: Rating = "up" if body.rating == "like" else "down"
    await rate(analytics, principal, message_id, rating, body.content or "")
    return {"result": "success"}


@router.get("/conversations")
async def conversations(
    principal: PrincipalDep,
    chat: ChatDep,
    user: Annotated[str, Query(min_length=1, max_length=128)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The user's conversations, newest first."""
    sessions, total = await chat.sessions.of_user(
        principal.tenant_id, principal.user_id or user, 0, limit
    )
    data = [
        {
            "id": s.session_id,
            "name": s.name,
            "inputs": {},
            "status": "normal",
            "introduction": "",
            "created_at": int(s.created_at),
            "updated_at": int(s.created_at),
        }
        for s in sessions
    ]
    return {"data": data, "has_more": len(sessions) < total, "limit": limit}


@router.get("/messages")
async def messages(
    principal: PrincipalDep,
    chat: ChatDep,
    conversation_id: Annotated[str, Query(pattern=SESSION_ID_PATTERN)],
    user: Annotated[str, Query(min_length=1, max_length=128)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """A conversation's messages (a question and its answer each), oldest first."""
    session = await session_of(principal, chat, conversation_id, "Conversation Not Exists.")
    history, total = await chat.sessions.page(
        principal.tenant_id, session.session_id, 0, 2 * limit, newest_first=False
    )
    pairs: dict[str, dict[str, Any]] = {}
    for message in history:
        turn = pairs.setdefault(
            message.turn_id,
            {
                "id": message.turn_id,
                "conversation_id": session.session_id,
                "inputs": {},
                "query": "",
                "answer": "",
                "feedback": None,
                "retriever_resources": [],
                "created_at": int(message.at),
            },
        )
        turn["query" if message.role == "user" else "answer"] = message.content
    return {"data": list(pairs.values()), "has_more": len(history) < total, "limit": limit}


@router.api_route("/{name:path}", methods=["GET", "POST"], include_in_schema=False)
async def unsupported(name: str, request: Request, _: PrincipalDep) -> None:
    """Dify features a chat app on Frontdesk does not have."""
    others = (r for r in router.routes if getattr(r, "endpoint", None) is not unsupported)
    refuse_another_method(request, others)
    what = next((u for u in UNSUPPORTED if name.startswith(u)), name)
    raise InvalidInput(f"{what} is not supported by Frontdesk's Dify layer (chat apps only)")
