"""An OpenAI-compatible chat completions API, so the ``openai`` client can talk to Frontdesk."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from services.gateway.chat.render.json import answer_of
from services.gateway.chat.render.openai import completion_chunks
from services.gateway.deps import ChatDep, ConversationsDep, PrincipalDep
from services.gateway.errors import describe_errors
from services.gateway.openai_schemas import (
    AssistantMessage,
    ChatCompletion,
    Choice,
    CompletionRequest,
    FrontdeskInfo,
    Message,
    ModelCard,
    ModelList,
    usage_of,
)
from services.gateway.schemas import ERROR_RESPONSES, SESSION_ID_PATTERN, ChatRequest
from services.gateway.stores.conversations import ConversationMap
from services.gateway.streaming import streamed
from shared.errors import AppError, InvalidInput

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["openai compatible"], responses=ERROR_RESPONSES)
SYSTEM_ROLES = ("system", "developer")  # Frontdesk has its own persona; a client's prompt varies


def _digest(user_id: str, messages: list[Message]) -> str:
    # The user is part of the key so one user never lands in another's session.
    shown = [[m.role, m.text()] for m in messages if m.role not in SYSTEM_ROLES]
    canonical = json.dumps([user_id, shown], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _remember(
    conversations: ConversationMap,
    tenant: str,
    user_id: str,
    body: CompletionRequest,
    answer_text: str,
    session: str,
) -> None:
    """Map the conversation as the client will resend it (its history and this reply)."""
    reply = Message(role="assistant", content=answer_text)
    digest = _digest(user_id, [*body.messages, reply])
    try:
        await conversations.remember(tenant, digest, session)
    except AppError as exc:  # the answer stands; the next call merely starts a session
        logger.warning("could not map the conversation to its session: %s", exc.message)


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
    conversations: ConversationsDep,
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
    tenant = principal.tenant_id
    session_id = x_session_id
    if session_id is None and any(m.role not in SYSTEM_ROLES for m in prior):
        session_id = await conversations.find(tenant, _digest(chat.user_id, prior))
    chat = chat.model_copy(update={"session_id": session_id})
    created = int(time.time())

    if not body.stream:
        async with service.open_turn(principal, chat) as turn:
            answer = await answer_of(turn)
        await _remember(conversations, tenant, chat.user_id, body, answer.reply, turn.session_id)
        response.headers["X-Session-Id"] = turn.session_id
        return ChatCompletion(
            id=f"chatcmpl-{turn.turn_id}",
            created=created,
            model=body.model,
            choices=[Choice(message=AssistantMessage(content=answer.reply))],
            usage=usage_of(body, answer.reply),
            frontdesk=FrontdeskInfo(
                session_id=turn.session_id,
                intent=answer.data.intent,
                sources=answer.data.sources,
                escalate_to_human=answer.data.escalate_to_human,
            ),
        )

    async with contextlib.AsyncExitStack() as stack:
        turn = await stack.enter_async_context(service.open_turn(principal, chat, hold_slot=True))
        held = stack.pop_all()

    async def remember(answer_text: str) -> None:
        await _remember(conversations, tenant, chat.user_id, body, answer_text, turn.session_id)

    head = {
        "id": f"chatcmpl-{turn.turn_id}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": body.model,
    }
    frames = completion_chunks(turn.events, body, head, remember)
    return streamed(frames, "text/event-stream", {"X-Session-Id": turn.session_id}, held)


@router.get("/models", response_model=ModelList, summary="List models (OpenAI compatible)")
async def list_models(_: PrincipalDep) -> ModelList:
    """The one model: the tenant's default bot, whatever ``model`` a request names."""
    return ModelList(data=[ModelCard(id="frontdesk")])
