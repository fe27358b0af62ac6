"""HTTP routes of the public API v1."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from services.gateway.auth import Principal
from services.gateway.chat import CacheHit, ChatService, TurnHandle
from services.gateway.deps import (
    AdminTenantDep,
    ChatDep,
    PrincipalDep,
    SettingsDep,
    close_connection,
    held_stream,
    open_connection,
)
from services.gateway.schemas import (
    ERROR_RESPONSES,
    ChatData,
    ChatRequest,
    ChatResponse,
    InvalidateResponse,
)
from services.gateway.sse import (
    SSE_HEADERS,
    Framer,
    StreamMetrics,
    event_id,
    framer_for,
    public_event,
)
from services.gateway.stores.idempotency import PENDING, RedisIdempotencyStore
from shared.errors import AppError, Conflict, DependencyUnavailable
from shared.events import TurnCompleted, TurnEvent, new_id
from shared.settings import Settings
from shared.stores.turn_log import TURN_LOG_TTL_SECONDS

logger = logging.getLogger(__name__)
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
            grounding=done.grounding,
        ),
    )


IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=200,
        description="Retrying with the same key never starts a second turn: a finished "
        "request's answer (or stream) is replayed.",
    ),
]


TURN_MARKER = "turn:"  # what an Idempotency-Key holds for a turn first sent as a stream


def _turn_of(stored: str) -> str | None:
    """The turn a stored Idempotency-Key value names, if it names one."""
    return stored.removeprefix(TURN_MARKER) if stored.startswith(TURN_MARKER) else None


@dataclass(frozen=True)
class _Retry:
    """One caller's Idempotency-Key: another API key (or end user) never shares it."""

    keys: RedisIdempotencyStore
    principal: Principal
    key: str

    async def claim(self) -> str | None:
        """None for a new key (now claimed), else what it holds; Conflict while its first runs."""
        stored = await self.keys.claim(self.principal.tenant_id, self.principal.key_id, self.key)
        if stored == PENDING:
            raise Conflict("A request with this Idempotency-Key is still being processed")
        return stored

    async def complete(self, answer: str, ttl_seconds: int | None = None) -> None:
        """Remember what a retry gets."""
        tenant, caller = self.principal.tenant_id, self.principal.key_id
        await self.keys.complete(tenant, caller, self.key, answer, ttl_seconds)

    async def release(self) -> None:
        """Forget the key: the request failed, so a retry runs it again."""
        await self.keys.release(self.principal.tenant_id, self.principal.key_id, self.key)


@router.post("/chat", response_model=ChatResponse, tags=["chat"])
async def chat(
    body: ChatRequest,
    principal: PrincipalDep,
    service: ChatDep,
    settings: SettingsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> ChatResponse:
    """Send a message and wait for the whole reply.

    With an ``Idempotency-Key``, a retry gets the first request's answer and never a second
    turn; a retry while the first is still running gets 409.
    """
    if idempotency_key is None:
        return await _answer(body, principal, service, settings)
    retry = _Retry(request.app.state.idempotency, principal, idempotency_key)
    stored = await retry.claim()
    if stored is not None and (turn_id := _turn_of(stored)):  # first sent as a stream
        events = await service.follow(principal, turn_id, 0, settings.turn_timeout_seconds)
        return await _until_done(events)
    if stored is not None:
        return ChatResponse.model_validate_json(stored)
    try:
        response = await _answer(body, principal, service, settings)
    except BaseException:
        await retry.release()
        raise
    await retry.complete(response.model_dump_json())
    return response


async def _until_done(events: AsyncIterator[TurnEvent]) -> ChatResponse:
    async for event in events:
        if event.type == "done":
            return _response(event)
        if event.type == "error":
            raise DependencyUnavailable(event.message)
    raise AssertionError("unreachable: a turn's events end with done or error")


async def _answer(
    body: ChatRequest, principal: Principal, service: ChatService, settings: Settings
) -> ChatResponse:
    started = await service.begin(principal, body)
    if isinstance(started, CacheHit):
        return started.response
    try:
        return await _until_done(started.events(settings.turn_timeout_seconds))
    finally:
        await started.close()


async def relay_frames(events: AsyncIterator[TurnEvent], frame: Framer) -> AsyncIterator[bytes]:
    """A turn's events as frames with their ids, then the metrics; failures stay in-band."""
    metrics = StreamMetrics()
    try:
        async for event in events:
            name, data = public_event(event)
            metrics.saw(name)
            yield frame(name, data, event_id(event))
            if event.type == "done":
                yield frame("metrics", metrics.summary(event.reply), None)
    except AppError as exc:
        # Headers are sent; the seed contract reports failures in-band with HTTP 200.
        yield frame("error", {"message": exc.message}, None)
    except Exception:
        logger.exception("stream failed unexpectedly")
        yield frame("error", {"message": "Internal error; it has been logged"}, None)


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
    settings: SettingsDep,
    request: Request,
    accept: Annotated[str, Header()] = "text/event-stream",
    idempotency_key: IdempotencyKey = None,
) -> StreamingResponse:
    """Send a message and stream the reply: server-sent events, or NDJSON by ``Accept``.

    The ``X-Turn-Id`` header names the turn, to stop it or resume it after a dropped connection.
    """
    frame, media_type = framer_for(accept)
    retry = None
    if idempotency_key is not None:
        retry = _Retry(request.app.state.idempotency, principal, idempotency_key)
        if (stored := await retry.claim()) is not None:
            return await _replay(stored, principal, service, settings, request, frame, media_type)
    slot, started = new_id("conn"), None
    try:
        await open_connection(request, principal, slot)
        started = await service.begin(principal, body)
        if retry is not None:
            # A turn can be replayed only while its log lives.
            ttl = TURN_LOG_TTL_SECONDS if isinstance(started, TurnHandle) else None
            await retry.complete(_replayable(started), ttl)
    except BaseException:
        await close_connection(request, principal, slot)
        if started is not None:
            await started.close()
        if retry is not None:
            await retry.release()
        raise

    async def finish() -> None:
        await close_connection(request, principal, slot)
        await started.close_resumable()

    # A cached answer is sent whole at once: there is nothing to resume.
    turn = {"X-Turn-Id": started.turn_id} if isinstance(started, TurnHandle) else {}
    return StreamingResponse(
        relay_frames(started.events(settings.turn_timeout_seconds), frame),
        media_type=media_type,
        headers={**SSE_HEADERS, "X-Session-Id": started.session_id, **turn},
        # Runs after the stream ends or the client disconnects, even before the first byte.
        background=BackgroundTask(finish),
    )


def _replayable(started: CacheHit | TurnHandle) -> str:
    """What an Idempotency-Key remembers: a cached answer itself, or the turn to replay."""
    if isinstance(started, CacheHit):
        return started.response.model_dump_json()
    return TURN_MARKER + started.turn_id


async def _replay(
    stored: str,
    principal: Principal,
    service: ChatService,
    settings: Settings,
    request: Request,
    frame: Framer,
    media_type: str,
) -> StreamingResponse:
    """A retried stream: the first request's turn again, from its first event."""
    if turn_id := _turn_of(stored):
        events = await service.follow(principal, turn_id, 0, settings.turn_timeout_seconds)
        headers = {"X-Turn-Id": turn_id}
    else:
        response = ChatResponse.model_validate_json(stored)
        cached = CacheHit(principal.tenant_id, new_id("turn"), response)
        events = cached.events(settings.turn_timeout_seconds)
        headers = {"X-Session-Id": cached.session_id}
    frames, headers = relay_frames(events, frame), {**SSE_HEADERS, **headers}
    return await held_stream(request, principal, frames, media_type, headers)


@router.post("/performance/cache/invalidate", response_model=InvalidateResponse, tags=["ops"])
async def invalidate_cache(tenant: AdminTenantDep, service: ChatDep) -> InvalidateResponse:
    """Make every cached answer of the caller's tenant stale."""
    return InvalidateResponse(epoch=await service.cache.invalidate(tenant))
