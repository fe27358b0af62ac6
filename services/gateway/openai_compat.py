"""An OpenAI-compatible chat completions API, so the ``openai`` client can talk to Frontdesk."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.background import BackgroundTask

from services.gateway.chat import CacheHit, TurnHandle
from services.gateway.deps import (
    ChatDep,
    PrincipalDep,
    SettingsDep,
    close_connection,
    open_connection,
)
from services.gateway.errors import describe_errors
from services.gateway.schemas import ERROR_RESPONSES, SESSION_ID_PATTERN, ChatRequest
from services.gateway.sse import SSE_HEADERS
from shared.errors import AppError, DependencyUnavailable, InvalidInput
from shared.events import new_id
from shared.text import tokenize

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["openai compatible"], responses=ERROR_RESPONSES)
DONE = b"data: [DONE]\n\n"
SYSTEM_ROLES = ("system", "developer")  # Frontdesk has its own persona; a client's prompt varies


class TextPart(BaseModel):
    """A text part of a message's content."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class Message(BaseModel):
    """One message of the conversation, as OpenAI clients send it."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        """The message's text, parts joined by newlines."""
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content).strip()
        return (self.content or "").strip()


class StreamOptions(BaseModel):
    """Streaming options; only ``include_usage`` has an effect."""

    model_config = ConfigDict(extra="ignore")

    include_usage: bool | None = False


class CompletionRequest(BaseModel):
    """A chat completion request; sampling parameters and other unknown fields are ignored."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": "frontdesk",
                    "messages": [{"role": "user", "content": "How long does shipping take?"}],
                }
            ]
        },
    )

    model: str = Field(max_length=200, description="Echoed back; each tenant has one assistant.")
    messages: list[Message] = Field(min_length=1, description="The history; the last is a user's.")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(None, max_length=128, description="Frontdesk's user_id.")


class Usage(BaseModel):
    """Token counts."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    """The reply."""

    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    """The one choice Frontdesk returns."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class FrontdeskInfo(BaseModel):
    """Frontdesk's own details of the turn."""

    session_id: str
    intent: str
    sources: list[str]
    escalate_to_human: bool


class ChatCompletion(BaseModel):
    """A ``chat.completion`` object."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    frontdesk: FrontdeskInfo


class ModelCard(BaseModel):
    """A model as OpenAI lists it."""

    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "frontdesk"


class ModelList(BaseModel):
    """The models: Frontdesk has one."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


@dataclass(frozen=True)
class _Answer:
    reply: str
    intent: str
    sources: list[str]
    escalate_to_human: bool


def _digest(user_id: str, messages: list[Message]) -> str:
    # The user is part of the key so one user never lands in another's session.
    shown = [[m.role, m.text()] for m in messages if m.role not in SYSTEM_ROLES]
    canonical = json.dumps([user_id, shown], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _tokens(text: str) -> int:
    return len(tokenize(text, keep_stopwords=True))


def _usage(body: CompletionRequest, reply: str) -> Usage:
    # Estimates from Frontdesk's word tokenizer, not a model's: good enough for budgeting.
    prompt = sum(_tokens(m.text()) for m in body.messages)
    completion = _tokens(reply)
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


async def _parts(started: CacheHit | TurnHandle, timeout: float) -> AsyncIterator[str | _Answer]:
    """The reply's pieces as they arrive, then the whole answer; a failed turn raises."""
    async for event in started.events(timeout):
        if event.type == "token":
            yield event.content
        elif event.type == "done":
            yield _Answer(event.reply, event.intent, event.sources, event.escalate_to_human)
        elif event.type == "error":
            raise DependencyUnavailable(event.message)


def _sse(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _stream(
    started: CacheHit | TurnHandle,
    body: CompletionRequest,
    head: dict[str, Any],
    timeout: float,
    remember: Callable[[str, str], Awaitable[None]],
) -> AsyncIterator[bytes]:
    """The turn as chat.completion.chunk events, ending with ``[DONE]``."""

    def chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
        return _sse({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    yield chunk({"role": "assistant", "content": ""})
    sent: list[str] = []
    try:
        async for part in _parts(started, timeout):
            if isinstance(part, str):
                sent.append(part)
                yield chunk({"content": part})
            else:  # what the client saw is what it will send back
                await remember("".join(sent), started.session_id)
    except AppError as exc:
        # Headers are sent; the openai client raises APIError on an ``error`` object.
        yield _sse({"error": {"message": exc.message, "type": "server_error"}})
        yield DONE
        return
    yield chunk({}, "stop")
    if body.stream_options and body.stream_options.include_usage:
        yield _sse({**head, "choices": [], "usage": _usage(body, "".join(sent)).model_dump()})
    yield DONE


STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {}},
        "description": "A chat.completion, or with stream=true server-sent chat.completion.chunk "
        "objects ending with [DONE]. X-Session-Id names the Frontdesk session.",
    }
}


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses=STREAM_DOC,
    summary="Chat completion (OpenAI compatible)",
)
async def chat_completions(
    body: CompletionRequest,
    principal: PrincipalDep,
    service: ChatDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    x_session_id: Annotated[
        str | None,
        Header(pattern=SESSION_ID_PATTERN, description="Continue this session explicitly."),
    ] = None,
) -> ChatCompletion | StreamingResponse:
    """Answer the last user message; a resent history continues the session it came from."""
    *prior, last = body.messages
    message = last.text()
    if last.role != "user" or not message:
        raise InvalidInput("the last message must be a user message with text")
    user_id = principal.user_id or body.user or "anonymous"
    try:
        chat = ChatRequest(message=message, user_id=user_id)
    except ValidationError as exc:
        raise InvalidInput(describe_errors(exc.errors())) from exc
    tenant, conversations = principal.tenant_id, request.app.state.conversations
    session_id = x_session_id
    if session_id is None and any(m.role not in SYSTEM_ROLES for m in prior):
        session_id = await conversations.find(tenant, _digest(chat.user_id, prior))
    chat = chat.model_copy(update={"session_id": session_id})

    async def remember(answer_text: str, session: str) -> None:
        reply = Message(role="assistant", content=answer_text)
        digest = _digest(chat.user_id, [*body.messages, reply])
        try:
            await conversations.remember(tenant, digest, session)
        except AppError as exc:  # the answer stands; the next call merely starts a session
            logger.warning("could not map the conversation to its session: %s", exc.message)

    created, timeout = int(time.time()), settings.turn_timeout_seconds
    if not body.stream:
        started = await service.begin(principal, chat)
        try:
            answer = [p async for p in _parts(started, timeout) if isinstance(p, _Answer)][-1]
        finally:
            await started.close()
        session = started.session_id
        await remember(answer.reply, session)
        response.headers["X-Session-Id"] = session
        return ChatCompletion(
            id=f"chatcmpl-{started.turn_id}",
            created=created,
            model=body.model,
            choices=[Choice(message=AssistantMessage(content=answer.reply))],
            usage=_usage(body, answer.reply),
            frontdesk=FrontdeskInfo(
                session_id=session,
                intent=answer.intent,
                sources=answer.sources,
                escalate_to_human=answer.escalate_to_human,
            ),
        )

    slot = new_id("conn")
    await open_connection(request, principal, slot)
    try:
        started = await service.begin(principal, chat)
    except BaseException:
        await close_connection(request, principal, slot)
        raise
    session = started.session_id
    head = {
        "id": f"chatcmpl-{started.turn_id}",
        "object": "chat.completion.chunk",
        "created": created,
    }
    frames = _stream(started, body, {**head, "model": body.model}, timeout, remember)

    async def finish() -> None:
        await close_connection(request, principal, slot)
        await started.close()

    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={**SSE_HEADERS, "X-Session-Id": session},
        # Runs after the stream ends or the client disconnects, even before the first byte.
        background=BackgroundTask(finish),
    )


@router.get("/models", response_model=ModelList, summary="List models (OpenAI compatible)")
async def list_models(_: PrincipalDep) -> ModelList:
    """The one model: each tenant's assistant, whatever ``model`` a request names."""
    return ModelList(data=[ModelCard(id="frontdesk")])
