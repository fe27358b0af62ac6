"""The JWT chat API (``/compat/jwt``): ``POST /chat/run`` and ``POST /chat/stream``.

A conversation is a Frontdesk session: ``conversation_id`` is the session's id. The bearer
token is a Frontdesk end-user token (JWT_SECRET; ``sub`` is the user, ``tenant`` the tenant),
so a user continues only their own conversations; a server-side API key works too. A
``conversation_id`` the tenant never gave out is 404, not a new conversation.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.auth import Principal
from services.gateway.chat import ChatService
from services.gateway.chat.render import render
from services.gateway.chat.render.json import answer_of
from services.gateway.chat.render.stream import in_band
from services.gateway.deps import ChatDep, PrincipalDep
from services.gateway.schemas import ERROR_RESPONSES, SESSION_ID_PATTERN, ChatRequest
from services.gateway.session_routes import session_of
from services.gateway.sse import StreamMetrics, unnamed
from services.gateway.streaming import streamed
from shared.events import TokensStreamed, TurnCompleted, TurnFailed, TurnStarted

router = APIRouter(prefix="/compat/jwt", tags=["compat: JWT chat"], responses=ERROR_RESPONSES)


class RunIn(BaseModel):
    """A message, continuing a conversation or starting one."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"message": "Where is my parcel?"}]}
    )
    message: str = Field(min_length=1)
    conversation_id: str | None = Field(None, pattern=SESSION_ID_PATTERN)


class RunOut(BaseModel):
    """The reply, and the conversation to continue."""

    response: str
    conversation_id: str


async def _chat(body: RunIn, principal: Principal, service: ChatService) -> ChatRequest:
    """The native request; a conversation id must be one this tenant's server gave out."""
    if body.conversation_id is not None:
        await session_of(principal, service, body.conversation_id, "No such conversation")
    return ChatRequest(message=body.message, session_id=body.conversation_id)


@router.post("/chat/run", response_model=RunOut)
async def run(body: RunIn, principal: PrincipalDep, service: ChatDep) -> RunOut:
    """The whole reply at once."""
    async with service.open_turn(principal, await _chat(body, principal, service)) as turn:
        answer = await answer_of(turn)
    return RunOut(response=answer.reply, conversation_id=turn.session_id)


def _data(content: str, is_final: bool, metrics: dict[str, Any] | None) -> bytes:
    return unnamed({"content": content, "is_final": is_final, "metrics": metrics})


class JwtStream:
    """``data:`` lines of reply text; the last one is final and carries the metrics."""

    def __init__(self, conversation_id: str) -> None:
        self._metrics = StreamMetrics()
        self._conversation_id = conversation_id

    async def started(self, event: TurnStarted) -> list[bytes]:
        """Nothing: this API has no meta event."""
        return []

    async def tokens(self, event: TokensStreamed) -> list[bytes]:
        """A run of text."""
        self._metrics.saw(event)
        return [_data(event.content, False, None)]

    async def completed(self, event: TurnCompleted) -> list[bytes]:
        """The final line, with the stream's timings and the conversation's id."""
        metrics = {**self._metrics.summary(event.reply), "conversation_id": self._conversation_id}
        return [_data("", True, metrics)]

    async def failed(self, event: TurnFailed) -> list[bytes]:
        """A final line saying what went wrong (the HTTP status is already sent)."""
        return [_data("", True, {"error": event.message})]


STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {}},
        "description": 'data: {"content", "is_final", "metrics"} lines; the last is final.',
    }
}


@router.post("/chat/stream", response_class=StreamingResponse, responses=STREAM_RESPONSES)
async def stream(body: RunIn, principal: PrincipalDep, service: ChatDep) -> StreamingResponse:
    """The reply as it is written: ``data: {"content", "is_final", "metrics"}`` lines."""
    async with contextlib.AsyncExitStack() as stack:
        opened = service.open_turn(principal, await _chat(body, principal, service), hold_slot=True)
        turn = await stack.enter_async_context(opened)
        held = stack.pop_all()
    frames = in_band(
        render(turn.events, JwtStream(turn.session_id)),
        lambda message: _data("", True, {"error": message}),
    )
    headers = {"X-Conversation-Id": turn.session_id}
    return streamed(frames, "text/event-stream", headers, held)
