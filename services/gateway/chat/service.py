"""The gateway's side of a turn: open it (hot cache or published), follow it, stop it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

from services.gateway.auth import Principal
from services.gateway.chat.turn import Plumbing, Publish, PublishedTurn, Turn, TurnEvents, answered
from services.gateway.chat.wire import is_last
from services.gateway.connections import ConnectionSlots
from services.gateway.schemas import ChatData, ChatRequest, ChatResponse, ReferenceOut
from services.gateway.stores.leases import RedisLeasePool
from services.gateway.turn_relay import TurnRelay
from shared.conversation import CachedAnswer, TurnRecord
from shared.errors import DependencyTimeout, InvalidInput, NotFound, TooManyRequests
from shared.events import ChatRequested, TurnCancelled, new_id, turn_event_adapter
from shared.observability import CACHE_LOOKUPS, bind_turn, timed_stage
from shared.settings import Settings
from shared.stores.assistant_cache import cache_for
from shared.stores.assistants import RedisAssistantStore
from shared.stores.hot_cache import RedisHotCache
from shared.stores.sessions import RedisSessionStore
from shared.stores.turn_log import RedisTurnLog

__all__ = ["ChatService", "Publish"]
TOO_MANY = "Too many requests, please retry later"


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
        connections: ConnectionSlots,
        publish_request: Publish,
        publish_control: Publish,
        assistants: RedisAssistantStore | None = None,
    ) -> None:
        self.settings = settings
        self.assistants = assistants
        self.sessions = sessions
        self.cache = cache
        self.relay = relay
        self.turn_log = turn_log
        self.connections = connections
        self._publish_control = publish_control
        self._plumbing = Plumbing(
            relay,
            leases if settings.llm_enabled else None,
            turn_log,
            publish_request,
            publish_control,
        )

    @contextlib.asynccontextmanager
    async def open_turn(
        self,
        caller: Principal,
        request: ChatRequest,
        *,
        hold_slot: bool = False,
        resumable: bool = False,
    ) -> AsyncIterator[Turn]:
        """A turn answered from the cache or published, held until the block exits.

        Takes (with ``hold_slot``) a connection slot, then the LLM lease and the relay
        registration; on exit frees them all and cancels the turn if it did not finish. A
        ``resumable`` turn first runs on while a resumed reader follows it.
        """
        slot = await self.connections.take(caller) if hold_slot else None
        published = None
        try:
            turn, published = await self._start(caller, request)
            yield turn
        finally:
            if slot is not None:  # first: a reader resuming the lingering turn needs a slot
                await self.connections.close(caller, slot)
            if published is not None:
                await published.close(self.settings.resume_grace_seconds if resumable else 0)

    async def _start(
        self, caller: Principal, request: ChatRequest
    ) -> tuple[Turn, PublishedTurn | None]:
        """Answer from the cache, or publish the turn."""
        started = time.monotonic()
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
        cached, epoch = await cache_for(self.cache, assistant).lookup(tenant_id, message)
        CACHE_LOOKUPS.labels(outcome="hit" if cached else "miss").inc()
        if cached is not None:
            response = await self._answer_from_cache(
                tenant_id, session_id, turn_id, request, cached, started
            )
            events = answered(tenant_id, turn_id, response)
            return Turn(turn_id, session_id, events, cached=response), None

        leases = self._plumbing.leases
        if leases is not None and not await leases.acquire(turn_id):
            raise TooManyRequests(TOO_MANY, retry_after=1)
        published = PublishedTurn(self._plumbing, tenant_id, turn_id)
        try:
            await self.turn_log.accept(tenant_id, turn_id, caller.user_id or "")
            with timed_stage("gateway_publish"):
                await published.publish(
                    ChatRequested(
                        tenant_id=tenant_id,
                        correlation_id=turn_id,
                        session_id=session_id,
                        user_id=request.user_id,
                        channel=request.channel,
                        message=message,
                        reply_to=self.relay.queue.name,
                        assistant=assistant,
                        cache_epoch=epoch,
                    )
                )
        except BaseException:
            await published.close()
            raise
        events = published.events(self.settings.turn_timeout_seconds)
        return Turn(turn_id, session_id, events), published

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
        started: float,
    ) -> ChatResponse:
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
                ttft_ms=(time.monotonic() - started) * 1000,
            ),
        )
        data = ChatData(
            turn_id=turn_id,
            intent=cached.intent,
            sources=cached.sources,
            escalate_to_human=False,
            escalation_card=None,
            turn_count=counts.turn_count,
            failed_attempts=counts.failed_attempts,
            emotion_score=cached.emotion_score,
            references=[ReferenceOut.model_validate(r) for r in cached.references],
        )
        return ChatResponse(session_id=session_id, reply=cached.reply, data=data)

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

    async def follow(self, caller: Principal, turn_id: str, after_seq: int = 0) -> TurnEvents:
        """A turn's logged events after ``after_seq``, live until its completion or failure.

        NotFound is raised here, before a response starts. Works on any gateway; while it
        reads, the turn's own gateway keeps the turn alive.
        """
        await self._require_turn(caller, turn_id, "No such turn, or it has expired")
        return self._follow(caller.tenant_id, turn_id, after_seq)

    async def _follow(self, tenant_id: str, turn_id: str, after_seq: int) -> TurnEvents:
        grace = max(self.settings.resume_grace_seconds, 1.0)
        timeout = self.settings.turn_timeout_seconds
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
                if is_last(event):
                    return
