"""Chat over a WebSocket: ``/api/v1/ws/chat``, one socket for many turns.

Auth: ``X-API-Key`` or ``Authorization: Bearer``, or ``?api_key=`` (browsers cannot set WebSocket
headers). A refused socket is accepted, sent ``{"type": "error", "code": 401|403|429|503,
"message": ...}`` and closed with 4401, 4403, 4429 or 1011. Each socket holds one of its tenant's
connection slots while open.

Server frames are JSON text; the first is ``{"type": "connection_established", "connection_id",
"tenant_id"}``. Client frames are JSON text:

- ``{"type": "ping"}`` -> ``{"type": "pong"}``.
- ``{"type": "message", "message": ..., "session_id"?, "user_id"?, "channel"?, ...}`` (the other
  keys are those of ``POST /api/v1/chat``) -> ``message_received`` ``{message_id, session_id}``,
  ``message_stream_started`` ``{intent, sources, references, escalate}``, ``message_stream_token``
  ``{content}`` (many), ``message_stream_ended`` ``{answer, session_id, turn_count,
  escalate_to_human, intent, stopped, metrics: {output_tokens, time_to_first_token_ms,
  total_ms}}``. Timings run from the gateway's receipt of the message.

Turns of one socket run one at a time, in order. A problem with one message is an ``error``
frame ``{code, message}`` (400 bad frame: not JSON, or nested too deeply; 413 too large; 422
invalid, a lone surrogate included; 429 over the socket's ``WS_MESSAGES_PER_SECOND`` or an LLM
cap, with ``retry_after_ms``; 503/504 the turn failed) and the socket stays open. Closing the
socket mid-turn cancels that turn; a failure of the gateway itself closes it with 1011.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from services.gateway.auth import Principal
from services.gateway.chat.render import render
from services.gateway.chat.render.websocket import SocketFrames
from services.gateway.deps import admit_caller, gateway_of
from services.gateway.errors import describe_errors, status_for
from services.gateway.limits import MAX_BODY_BYTES
from services.gateway.schemas import ChatRequest
from services.gateway.sse import StreamMetrics
from services.gateway.unicode_text import refuse_text
from shared.errors import AppError, TooManyRequests

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1")

RENEW_SECONDS = 60  # well within the connection slot's 300 s lease
MAX_WAITING = 32  # queued messages per socket, so a client cannot pile up unbounded work
CLOSE_CODES = {401: 4401, 403: 4403, 429: 4429}


def _error(code: int, message: str, retry_after_ms: int | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if retry_after_ms is not None:
        frame["retry_after_ms"] = retry_after_ms
    return frame


def _app_error(exc: AppError) -> dict[str, Any]:
    retry = exc.retry_after * 1000 if isinstance(exc, TooManyRequests) else None
    return _error(status_for(exc), exc.message, retry)


class _MessageRate:
    """A sliding one-second window over one socket's chat messages."""

    def __init__(self, per_second: int) -> None:
        self._limit = per_second
        self._times: collections.deque[float] = collections.deque()

    def wait_ms(self) -> int:
        """0 and the message is counted, or how long until one would be allowed."""
        if not self._limit:
            return 0
        now = time.monotonic()
        while self._times and now - self._times[0] >= 1.0:
            self._times.popleft()
        if len(self._times) >= self._limit:
            return max(1, math.ceil((self._times[0] + 1.0 - now) * 1000))
        self._times.append(now)
        return 0


class ChatSocket:
    """One authenticated socket: a reader that never blocks on turns, and a turn worker."""

    def __init__(self, websocket: WebSocket, principal: Principal) -> None:
        self.ws = websocket
        self.principal = principal
        self.gateway = gateway_of(websocket)
        self.settings = self.gateway.settings
        self.rate = _MessageRate(self.settings.ws_messages_per_second)
        self.inbox: asyncio.Queue[tuple[ChatRequest, StreamMetrics]] = asyncio.Queue(MAX_WAITING)
        self._send_lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        """One frame; reader and worker both send, and frames must not interleave."""
        async with self._send_lock:
            await self.ws.send_json(frame)

    async def read(self) -> None:
        """Handle client frames until the client goes away."""
        while True:
            received = await self.ws.receive()
            if received["type"] == "websocket.disconnect":
                return
            text = received.get("text")
            if text is None:
                await self.send(_error(400, "Send JSON text frames"))
            elif len(text) > MAX_BODY_BYTES:
                await self.send(_error(413, f"Frames are limited to {MAX_BODY_BYTES} bytes"))
            else:
                await self._handle(text)

    async def _handle(self, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            await self.send(_error(400, "Frame is not valid JSON"))
            return
        except RecursionError:
            await self.send(_error(400, "Frame is nested too deeply"))
            return
        if "\\u" in text:  # only an escape can hold a lone surrogate
            try:
                refuse_text(data)
            except AppError as exc:
                await self.send(_app_error(exc))
                return
        await self.dispatch(data)

    async def dispatch(self, data: object) -> None:
        """Act on one parsed client frame."""
        kind = data.pop("type", None) if isinstance(data, dict) else None
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "message" and isinstance(data, dict):
            await self.enqueue(data)
        else:
            await self.send(_error(400, 'Expected a JSON object of type "message" or "ping"'))

    def greetings(self) -> list[dict[str, Any]]:
        """Frames sent right after ``connection_established`` (none here)."""
        return []

    async def enqueue(self, data: dict[str, Any]) -> None:
        """Queue a chat message (the body of ``POST /api/v1/chat``) for the turn worker."""
        metrics = StreamMetrics()  # timings start at receipt, queueing included
        wait_ms = self.rate.wait_ms()
        if wait_ms:
            limit = self.settings.ws_messages_per_second
            message = f"At most {limit} messages a second on one connection"
            await self.send(_error(429, message, wait_ms))
            return
        try:
            request = ChatRequest.model_validate(data)
        except ValidationError as exc:
            await self.send(_error(422, describe_errors(exc.errors())))
            return
        try:
            self.inbox.put_nowait((request, metrics))
        except asyncio.QueueFull:
            await self.send(_error(429, "Too many messages waiting on this connection", 1000))

    async def work(self) -> None:
        """Answer queued messages one at a time."""
        while True:
            request, metrics = await self.inbox.get()
            try:
                await self._turn(request, metrics)
            except AppError as exc:
                if status_for(exc) >= 500:
                    logger.warning("websocket turn failed: %s", exc.message)
                await self.send(_app_error(exc))
            except WebSocketDisconnect:
                return
            except Exception:
                logger.exception("websocket turn failed unexpectedly")
                await self.send(_error(500, "Internal error; it has been logged"))

    async def _turn(self, request: ChatRequest, metrics: StreamMetrics) -> None:
        # Leaving the block cancels the turn for the workers if it did not finish.
        async with self.gateway.chat.open_turn(self.principal, request) as turn:
            received = {"message_id": turn.turn_id, "session_id": turn.session_id}
            await self.send({"type": "message_received", **received})
            async for frame in render(turn.events, SocketFrames(metrics)):
                await self.send(frame)

    async def renew(self, holder: str) -> None:
        """Keep the connection slot while the socket stays open."""
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                await self.gateway.connections.open(self.principal, holder)
            except AppError as exc:  # keep serving; the next renewal may succeed
                logger.warning("could not renew a websocket's connection slot: %s", exc.message)


async def _admit(websocket: WebSocket) -> Principal:
    """The caller, counted once against its rate limits."""
    query_key = websocket.query_params.get("api_key", "")
    return (await admit_caller(websocket, query_key)).require("client", "admin")


@router.websocket("/ws/chat")
async def websocket_chat(websocket: WebSocket) -> None:
    """Chat over one long-lived socket (protocol in the module docstring)."""
    await serve_socket(websocket, _native)


async def _native(websocket: WebSocket, principal: Principal) -> ChatSocket:
    return ChatSocket(websocket, principal)


async def serve_socket(
    websocket: WebSocket, make: Callable[[WebSocket, Principal], Awaitable[ChatSocket]]
) -> None:
    """Admit the caller and hold a connection slot, then serve the socket ``make`` builds;
    a refusal is an error frame and a close code."""
    async with contextlib.AsyncExitStack() as held:
        try:
            principal = await _admit(websocket)
            holder = await held.enter_async_context(
                gateway_of(websocket).connections.held(principal)
            )
            socket = await make(websocket, principal)
        except AppError as exc:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await websocket.accept()
                await websocket.send_json(_app_error(exc))
                await websocket.close(CLOSE_CODES.get(status_for(exc), 1011))
            return
        await _serve(socket, holder)


async def _serve(chat: ChatSocket, holder: str) -> None:
    """Greet the client, then read its frames while a worker answers them in order."""
    websocket = chat.ws
    tasks: list[asyncio.Task[None]] = []
    try:
        await websocket.accept()
        await chat.send(
            {
                "type": "connection_established",
                "connection_id": holder,
                "tenant_id": chat.principal.tenant_id,
            }
        )
        for frame in chat.greetings():
            await chat.send(frame)
        tasks = [asyncio.create_task(chat.work()), asyncio.create_task(chat.renew(holder))]
        await chat.read()
    except WebSocketDisconnect:
        pass
    except Exception:
        logger.exception("websocket failed unexpectedly")
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.close(1011)  # a close frame with a code, never a dropped socket
    finally:
        for task in tasks:
            task.cancel()
        # The worker's own cleanup cancels a turn the client walked away from.
        await asyncio.gather(*tasks, return_exceptions=True)
