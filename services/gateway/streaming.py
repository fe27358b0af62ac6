"""Streamed responses that free what they hold once the stream ends or its client leaves."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from services.gateway.auth import Principal
from services.gateway.connections import ConnectionSlots
from services.gateway.sse import SSE_HEADERS


def streamed(
    frames: AsyncIterator[bytes],
    media_type: str,
    headers: Mapping[str, str],
    held: contextlib.AsyncExitStack,
) -> StreamingResponse:
    """A stream that closes ``held`` when it ends or its client disconnects."""
    return StreamingResponse(
        frames,
        media_type=media_type,
        headers={**SSE_HEADERS, **headers},
        # Runs after the stream ends or the client disconnects, even before the first byte.
        background=BackgroundTask(held.aclose),
    )


async def held_stream(
    slots: ConnectionSlots,
    principal: Principal,
    frames: AsyncIterator[bytes],
    media_type: str,
    headers: Mapping[str, str],
) -> StreamingResponse:
    """A stream that holds a connection slot until it ends or its client leaves (429 if none)."""
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(slots.held(principal))
        return streamed(frames, media_type, headers, stack.pop_all())
