"""A turn after it started: resume its stream from any gateway, or stop its generation.

A turn is its tenant's, and an end user's turn is theirs alone: anyone else is told it does
not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from services.gateway.chat.render.stream import stream_frames
from services.gateway.deps import ChatDep, ConnectionsDep, PrincipalDep
from services.gateway.routes import STREAM_RESPONSES
from services.gateway.schemas import ERROR_RESPONSES, TURN_ID_PATTERN
from services.gateway.sse import MAX_SEQ_DIGITS, framer_for, parse_event_id
from services.gateway.streaming import held_stream

router = APIRouter(prefix="/api/v1/turns", tags=["chat"], responses=ERROR_RESPONSES)
TurnId = Annotated[str, Path(pattern=TURN_ID_PATTERN, description="From the X-Turn-Id header.")]


class StopAccepted(BaseModel):
    """The stop was sent; the stream ends with ``done`` carrying ``stopped: true``."""

    turn_id: str
    status: str = "stopping"


@router.get("/{turn_id}/events", response_class=StreamingResponse, responses=STREAM_RESPONSES)
async def resume(
    turn_id: TurnId,
    principal: PrincipalDep,
    service: ChatDep,
    slots: ConnectionsDep,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[
        int | None, Query(ge=0, lt=10**MAX_SEQ_DIGITS, description="Resume after this seq.")
    ] = None,
    accept: Annotated[str, Header()] = "text/event-stream",
) -> StreamingResponse:
    """The turn's events after ``Last-Event-ID`` (or ``after``): nothing lost, nothing twice.

    Any gateway serves it; while it is read, the turn keeps running even though the first
    connection dropped. Holds a connection slot while open.
    """
    after_seq = after if after is not None else parse_event_id(last_event_id or "", turn_id)
    events = await service.follow(principal, turn_id, after_seq)
    frame, media_type = framer_for(accept)
    frames, headers = stream_frames(events, frame), {"X-Turn-Id": turn_id}
    return await held_stream(slots, principal, frames, media_type, headers)


@router.post("/{turn_id}/stop", response_model=StopAccepted, status_code=202)
async def stop(turn_id: TurnId, principal: PrincipalDep, service: ChatDep) -> StopAccepted:
    """Stop generating: the LLM call is cancelled and the partial answer kept, marked stopped."""
    await service.stop(principal, turn_id)
    return StopAccepted(turn_id=turn_id)
