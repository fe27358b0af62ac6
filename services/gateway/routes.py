"""HTTP routes of the public API v1: chat, as one JSON answer or a stream."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from services.gateway.chat.idempotency import replayed_answer, replayed_stream
from services.gateway.chat.render.json import answer_of, until_done
from services.gateway.chat.render.stream import stream_frames
from services.gateway.deps import (
    AdminTenantDep,
    ChatDep,
    ConnectionsDep,
    PrincipalDep,
    RetryDep,
)
from services.gateway.schemas import (
    ERROR_RESPONSES,
    ChatRequest,
    ChatResponse,
    InvalidateResponse,
)
from services.gateway.sse import framer_for
from services.gateway.streaming import held_stream, streamed

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


@router.post("/chat", response_model=ChatResponse, tags=["chat"])
async def chat(
    body: ChatRequest, principal: PrincipalDep, service: ChatDep, retry: RetryDep
) -> ChatResponse:
    """Send a message and wait for the whole reply.

    With an ``Idempotency-Key``, a retry gets the first request's answer and never a second
    turn; a retry while the first is still running gets 409.
    """
    if retry is not None and (stored := await retry.claim()) is not None:
        replay = await replayed_answer(stored, principal, service)
        return replay if isinstance(replay, ChatResponse) else await until_done(replay.events)
    async with contextlib.AsyncExitStack() as stack:
        if retry is not None:
            await stack.enter_async_context(retry.released_on_failure())
        turn = await stack.enter_async_context(service.open_turn(principal, body))
        response = await answer_of(turn)
    if retry is not None:
        await retry.complete(response.model_dump_json())
    return response


STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {}, "application/x-ndjson": {}},
        "description": "Events meta, token (many), done, metrics; or error. SSE by default, "
        "NDJSON lines {id, event, data} with Accept: application/x-ndjson. Each turn event has "
        "an id; resume with GET /api/v1/turns/{turn_id}/events and Last-Event-ID.",
    }
}


@router.post(
    "/chat/stream", tags=["chat"], response_class=StreamingResponse, responses=STREAM_RESPONSES
)
async def chat_stream(
    body: ChatRequest,
    principal: PrincipalDep,
    service: ChatDep,
    slots: ConnectionsDep,
    retry: RetryDep,
    accept: Annotated[str, Header()] = "text/event-stream",
) -> StreamingResponse:
    """Send a message and stream the reply: server-sent events, or NDJSON by ``Accept``.

    The ``X-Turn-Id`` header names the turn, to stop it or resume it after a dropped connection.
    """
    frame, media_type = framer_for(accept)
    if retry is not None and (stored := await retry.claim()) is not None:
        turn = await replayed_stream(stored, principal, service)
        frames = stream_frames(turn.events, frame)
        return await held_stream(slots, principal, frames, media_type, turn.headers())
    async with contextlib.AsyncExitStack() as stack:
        if retry is not None:
            await stack.enter_async_context(retry.released_on_failure())
        opened = service.open_turn(principal, body, hold_slot=True, resumable=True)
        turn = await stack.enter_async_context(opened)
        if retry is not None:
            await retry.complete_with(turn)
        held = stack.pop_all()
    return streamed(stream_frames(turn.events, frame), media_type, turn.headers(), held)


@router.post("/performance/cache/invalidate", response_model=InvalidateResponse, tags=["ops"])
async def invalidate_cache(tenant: AdminTenantDep, service: ChatDep) -> InvalidateResponse:
    """Make every cached answer of the caller's tenant stale."""
    return InvalidateResponse(epoch=await service.cache.invalidate(tenant))
