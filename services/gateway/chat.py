"""Starting a turn at the gateway: session, hot cache, LLM lease, publish, and its event stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from services.gateway.auth import Principal
from services.gateway.schemas import ChatData, ChatRequest, ChatResponse
from services.gateway.stores.leases import RedisLeasePool
from services.gateway.turn_relay import TurnRelay
from shared.errors import DependencyTimeout, InvalidInput, NotFound, TooManyRequests
from shared.events import (
    ChatRequested,
    Event,
    Reference,
    TokensStreamed,
    TurnCancelled,
    TurnCompleted,
    TurnEvent,
    TurnStarted,
    new_id,
    turn_event_adapter,
)
from shared.observability import CACHE_LOOKUPS, bind_turn
from shared.settings import Settings
from shared.stores.assistants import RedisAssistantStore, cache_for
from shared.stores.hot_cache import CachedAnswer, RedisHotCache
from shared.stores.sessions import RedisSessionStore, TurnRecord
from shared.stores.turn_log import RedisTurnLog

logger = logging.getLogger(__name__)

Publish = Callable[[Event], Awaitable[None]]
TOO_MANY = "Too many requests, please retry later"


@dataclass
class CacheHit:
    """A turn answered from the hot cache, already recorded in the session. It streams the
    same events as a published turn, so every protocol has one code path."""

    tenant_id: str
    turn_id: str
    response: ChatResponse

    @property
    def session_id(self) -> str:
        """The session the turn was recorded in."""
        return self.response.session_id

    async def events(self, timeout: float) -> AsyncIterator[TurnEvent]:
        """meta, the whole reply as one token, done."""
        data, reply = self.response.data, self.response.reply
        turn = {"tenant_id": self.tenant_id, "correlation_id": self.turn_id}
        references = [Reference.model_validate(r.model_dump()) for r in data.references]
        common = {"intent": data.intent, "sources": data.sources, "references": references}
        yield TurnStarted(**turn, seq=1, **common)
        yield TokensStreamed(**turn, seq=2, content=reply)
        yield TurnCompleted(
            **turn,
            seq=3,
            **common,
            session_id=self.session_id,
            reply=reply,
            turn_count=data.turn_count,
            failed_attempts=data.failed_attempts,
            emotion_score=data.emotion_score,
            resolved=True,
        )

    async def close(self) -> None:
        """Nothing is held for a cached answer."""

    close_resumable = close


class TurnHandle:
    """A published turn whose events this gateway is collecting."""

    def __init__(
        self, service: ChatService, turn_id: str, session_id: str, tenant_id: str, lease_held: bool
    ) -> None:
        self.turn_id = turn_id
        self.session_id = session_id
        self.tenant_id = tenant_id
        self.lease_held = lease_held
        self.finished = False
        self.closed = False
        self._service = service
        self._events = service.relay.register(turn_id)

    async def next_event(self) -> TurnEvent:
        """The next event as it arrives."""
        return await self._events.get()

    async def events(self, timeout: float) -> AsyncIterator[TurnEvent]:
        """The turn's events up to and including ``done`` or ``error``."""
        while True:
            try:
                event = await asyncio.wait_for(self._events.get(), timeout)
            except TimeoutError as exc:
                raise DependencyTimeout(
                    f"The assistant did not answer within {timeout:.0f} seconds"
                ) from exc
            if event.type in ("done", "error"):
                self.finished = True
            yield event
            if self.finished:
                return

    async def close(self) -> None:
        """Stop collecting; a turn left unfinished is cancelled for the workers."""
        await self._service.end_turn(self)

    async def close_resumable(self) -> None:
        """Like close, but an unfinished turn keeps running while a resumed reader follows it."""
        await self._service.end_turn(self, linger=self._service.settings.resume_grace_seconds)


class ChatService:
    """The gateway's side of a turn."""

    def __init__(
        self,
        settings: Settings,
        sessions: RedisSessionStore,
        cache: RedisHotCache,
        leases: RedisLeasePool,
        relay: TurnRelay,
        turn_log: RedisTurnLog,
        publish_request: Publish,
        publish_control: Publish,
        assistants: RedisAssistantStore | None = None,
    ) -> None:
        self.settings = settings
        self.assistants = assistants
        self.sessions = sessions
        self.cache = cache
        self.leases = leases
        self.relay = relay
        self.turn_log = turn_log
        self._publish_request = publish_request
        self._publish_control = publish_control

    async def begin(self, caller: Principal, request: ChatRequest) -> CacheHit | TurnHandle:
        """Answer from the cache, or publish the turn and return its handle."""
        tenant_id = caller.tenant_id
        if caller.user_id is not None:
            request = await self._as_end_user(caller, request)
        message = request.message.strip()
        if not message:
            raise InvalidInput("message must not be empty or only whitespace")
        if len(message) > self.settings.max_message_chars:
            raise InvalidInput(
                f"message is {len(message)} characters; the limit is "
                f"{self.settings.max_message_chars}"
            )
        session_id = request.session_id or new_id("sess")
        turn_id = new_id("turn")
        bind_turn(turn=turn_id, tenant=tenant_id, session=session_id)
        assistant = None
        if self.assistants is not None:  # NotFound / InvalidInput before anything is published
            assistant = await self.assistants.resolve(
                tenant_id, request.assistant_id, request.variables
            )
        # The session is created by whoever records the turn: this gateway on a cache hit,
        # the orchestrator otherwise. A hit is then three Redis round trips in all.
        cached = await cache_for(self.cache, assistant).get(tenant_id, message)
        CACHE_LOOKUPS.labels(outcome="hit" if cached else "miss").inc()
        if cached is not None:
            return await self._answer_from_cache(tenant_id, session_id, turn_id, request, cached)

        lease_held = self.settings.llm_enabled
        if lease_held and not await self.leases.acquire(turn_id):
            raise TooManyRequests(TOO_MANY, retry_after=1)
        handle = TurnHandle(self, turn_id, session_id, tenant_id, lease_held)
        try:
            await self.turn_log.accept(tenant_id, turn_id, caller.user_id or "")
            await self._publish_request(
                ChatRequested(
                    tenant_id=tenant_id,
                    correlation_id=turn_id,
                    session_id=session_id,
                    user_id=request.user_id,
                    channel=request.channel,
                    message=message,
                    reply_to=self.relay.queue.name,
                    assistant=assistant,
                )
            )
        except BaseException:
            handle.finished = True
            await handle.close()
            raise
        return handle

    async def _as_end_user(self, caller: Principal, request: ChatRequest) -> ChatRequest:
        """An end-user token speaks only as its user, and only in that user's sessions."""
        if request.session_id is not None:
            session = await self.sessions.get(caller.tenant_id, request.session_id)
            if session is not None and session.user_id != caller.user_id:
                raise NotFound("No such session")
        return request.model_copy(update={"user_id": caller.user_id})

    async def _answer_from_cache(
        self,
        tenant_id: str,
        session_id: str,
        turn_id: str,
        request: ChatRequest,
        cached: CachedAnswer,
    ) -> CacheHit:
        counts = await self.sessions.record_turn(
            tenant_id,
            session_id,
            TurnRecord(
                turn_id,
                request.message.strip(),
                cached.reply,
                cached.intent,
                cached.emotion_score,
                "resolved",
                request.user_id,
                request.channel,
            ),
        )
        data = ChatData(
            intent=cached.intent,
            sources=cached.sources,
            escalate_to_human=False,
            escalation_card=None,
            turn_count=counts.turn_count,
            failed_attempts=counts.failed_attempts,
            emotion_score=cached.emotion_score,
            references=cached.references,
        )
        response = ChatResponse(session_id=session_id, reply=cached.reply, data=data)
        return CacheHit(tenant_id, turn_id, response)

    async def end_turn(self, handle: TurnHandle, linger: float = 0) -> None:
        """Release what the turn held; tell the workers to stop if it did not finish.

        With ``linger``, an unfinished turn first runs on for as long as some reader (on any
        gateway) keeps resuming it, checked every ``linger`` seconds.
        """
        if handle.closed:
            return
        handle.closed = True
        clock = asyncio.get_running_loop().time
        check_at = clock() + linger
        while linger and not handle.finished:
            if clock() >= check_at:
                if not await self.turn_log.watched(handle.tenant_id, handle.turn_id):
                    break
                check_at = clock() + linger
            with contextlib.suppress(TimeoutError):
                event = await asyncio.wait_for(handle.next_event(), check_at - clock())
                handle.finished = event.type in ("done", "error")
        self.relay.unregister(handle.turn_id)
        if handle.lease_held:
            await self.leases.release(handle.turn_id)
        if not handle.finished:
            logger.info("client left before the turn finished; cancelling it")
            await self._publish_control(
                TurnCancelled(tenant_id=handle.tenant_id, correlation_id=handle.turn_id)
            )

    async def _require_turn(self, caller: Principal, turn_id: str, missing: str) -> None:
        """NotFound unless the caller's tenant has the turn and, for an end user, it is theirs."""
        owner = await self.turn_log.owner(caller.tenant_id, turn_id)
        if owner is None or caller.user_id not in (None, owner):
            raise NotFound(missing)

    async def stop(self, caller: Principal, turn_id: str) -> None:
        """Ask the workers to stop generating; the partial answer is kept, marked stopped."""
        await self._require_turn(caller, turn_id, "No such turn")
        await self.turn_log.request_stop(caller.tenant_id, turn_id)
        await self._publish_control(
            TurnCancelled(tenant_id=caller.tenant_id, correlation_id=turn_id, reason="stopped")
        )

    async def follow(
        self, caller: Principal, turn_id: str, after_seq: int, timeout: float
    ) -> AsyncIterator[TurnEvent]:
        """A turn's logged events after ``after_seq``, live until ``done`` or ``error``.

        NotFound is raised here, before a response starts. Works on any gateway; while it
        reads, the turn's own gateway keeps the turn alive.
        """
        await self._require_turn(caller, turn_id, "No such turn, or it has expired")
        return self._follow(caller.tenant_id, turn_id, after_seq, timeout)

    async def _follow(
        self, tenant_id: str, turn_id: str, after_seq: int, timeout: float
    ) -> AsyncIterator[TurnEvent]:
        grace = max(self.settings.resume_grace_seconds, 1.0)
        waited = 0.0
        while True:
            await self.turn_log.watch(tenant_id, turn_id, grace * 2)
            batch = await self.turn_log.read(tenant_id, turn_id, after_seq, int(grace * 500))
            if not batch:
                waited += grace / 2
                if waited >= timeout:
                    raise DependencyTimeout("The turn produced no events in time")
                continue
            waited = 0.0
            for seq, raw in batch:
                after_seq = seq
                event = turn_event_adapter.validate_json(raw)
                yield event
                if event.type in ("done", "error"):
                    return
