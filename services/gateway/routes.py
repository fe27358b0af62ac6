"""HTTP routes of the public API v1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from services.gateway.chat import CacheHit, ChatService, TurnHandle
from services.gateway.deps import AdminTenantDep, ChatDep, SettingsDep, TenantDep
from services.gateway.schemas import (
    ERROR_RESPONSES,
    ChatData,
    ChatRequest,
    ChatResponse,
    InvalidateResponse,
)
from services.gateway.sse import SSE_HEADERS, Framer, framer_for, public_event
from shared.errors import AppError, Conflict, DependencyUnavailable
from shared.events import TurnCompleted
from shared.settings import Settings
from shared.stores.idempotency import PENDING

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


def _response(done: TurnCompleted) -> ChatResponse:
    return ChatResponse(
        session_id=done.session_id,
        reply=done.reply,
        data=ChatData(
            intent=done.intent,
            sources=done.sources,
            escalate_to_human=done.escalate_to_human,
            escalation_card=done.escalation_card,
            turn_count=done.turn_count,
            failed_attempts=done.failed_attempts,
            emotion_score=done.emotion_score,
            sub_tasks=[s.model_dump() for s in done.sub_tasks],
            references=[r.model_dump() for r in done.references],
        ),
    )


@router.post("/chat", response_model=ChatResponse, tags=["chat"])
async def chat(
    body: ChatRequest,
    tenant: TenantDep,
    service: ChatDep,
    settings: SettingsDep,
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> ChatResponse:
    """Send a message and wait for the whole reply.

    With an ``Idempotency-Key``, a retry of a finished request gets the same answer and never
    a second turn; a retry while the first is still running gets 409.
    """
    if idempotency_key is None:
        return await _answer(body, tenant, service, settings)
    keys = request.app.state.idempotency
    stored = await keys.claim(tenant, idempotency_key)
    if stored == PENDING:
        raise Conflict("A request with this Idempotency-Key is still being processed")
    if stored is not None:
        return ChatResponse.model_validate_json(stored)
    try:
        response = await _answer(body, tenant, service, settings)
    except BaseException:
        await keys.release(tenant, idempotency_key)
        raise
    await keys.complete(tenant, idempotency_key, response.model_dump_json())
    return response


async def _answer(
    body: ChatRequest, tenant: str, service: ChatService, settings: Settings
) -> ChatResponse:
    started = await service.begin(tenant, body)
    if isinstance(started, CacheHit):
        return started.response
    try:
        async for event in started.events(settings.turn_timeout_seconds):
            if event.type == "done":
                return _response(event)
            if event.type == "error":
                raise DependencyUnavailable(event.message)
    finally:
        await started.close()
    raise AssertionError("unreachable: events() ends with done or error")


def _session_of(started: CacheHit | TurnHandle) -> str:
    return started.response.session_id if isinstance(started, CacheHit) else started.session_id


async def _stream(
    started: CacheHit | TurnHandle, timeout: float, frame: Framer
) -> AsyncIterator[bytes]:
    if isinstance(started, CacheHit):
        reply, data = started.response.reply, started.response.data
        yield frame(
            "meta",
            {
                "intent": data.intent,
                "sources": data.sources,
                "escalate": False,
                "references": [r.model_dump() for r in data.references],
            },
        )
        yield frame("token", {"content": reply})
        yield frame("done", {"turn_count": data.turn_count, "escalate": False, "answer": reply})
        return
    try:
        async for event in started.events(timeout):
            yield frame(*public_event(event))
    except AppError as exc:
        # Headers are sent; the seed contract reports failures in-band with HTTP 200.
        yield frame("error", {"message": exc.message})


@router.post(
    "/chat/stream",
    tags=["chat"],
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}, "application/x-ndjson": {}},
            "description": "Events: meta, token (many), done; or error. SSE by default; "
            "NDJSON lines {event, data} with Accept: application/x-ndjson.",
        }
    },
)
async def chat_stream(
    body: ChatRequest,
    tenant: TenantDep,
    service: ChatDep,
    settings: SettingsDep,
    accept: Annotated[str, Header()] = "text/event-stream",
) -> StreamingResponse:
    """Send a message and stream the reply: server-sent events, or NDJSON by ``Accept``."""
    started = await service.begin(tenant, body)
    frame, media_type = framer_for(accept)
    return StreamingResponse(
        _stream(started, settings.turn_timeout_seconds, frame),
        media_type=media_type,
        headers={**SSE_HEADERS, "X-Session-Id": _session_of(started)},
        # Runs after the stream ends or the client disconnects, even before the first byte.
        background=BackgroundTask(started.close) if isinstance(started, TurnHandle) else None,
    )


@router.post("/performance/cache/invalidate", response_model=InvalidateResponse, tags=["ops"])
async def invalidate_cache(tenant: AdminTenantDep, service: ChatDep) -> InvalidateResponse:
    """Make every cached answer of the caller's tenant stale."""
    return InvalidateResponse(epoch=await service.cache.invalidate(tenant))
