"""One turn from message to committed session: intent, meta, answer, escalation, cache."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from services.orchestrator.coalescer import TokenCoalescer
from services.orchestrator.decision import Answered, Standing, decide
from services.orchestrator.emotion import emotion_score
from services.orchestrator.generation import Generator, stream_text
from services.orchestrator.grounding import worst_of
from services.orchestrator.handover import escalation_request
from services.orchestrator.intents import IntentRecogniser
from services.orchestrator.merchant import MerchantSystems
from services.orchestrator.planning import Part, Plan, Planner
from services.orchestrator.replies import phrases_for
from services.orchestrator.routing import Routing
from shared.conversation import CachedAnswer, Message, Outcome, Session, TurnCounts, TurnRecord
from shared.errors import AppError
from shared.events import (
    ChatRequested,
    CustomerMessaged,
    EscalationCard,
    EscalationRequested,
    Event,
    Reference,
    SubTask,
    TokensStreamed,
    TurnCompleted,
    TurnStarted,
)
from shared.events.chat import Grounding, Intent
from shared.events.escalation import Reason
from shared.observability import (
    TIME_TO_FIRST_TOKEN,
    TOKEN_EVENTS,
    TURN_SECONDS,
    TURNS,
    observe_since,
    seconds_since,
    timed_stage,
)
from shared.settings import Settings
from shared.stores.assistant_cache import cache_for
from shared.stores.protocols import HotCache, SessionStore

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Emit = Callable[[Event], Awaitable[None]]
Escalate = Callable[[EscalationRequested], Awaitable[EscalationCard]]
ForwardToAgent = Callable[[CustomerMessaged], Awaitable[None]]
HISTORY_WINDOW = 20


class StoppedBeforeAnswer(Exception):
    """Its client stopped the turn while it waited in the queue: end it before answering."""


@dataclass(frozen=True)
class TurnDeps:
    """Everything a turn talks to, so it runs the same over RabbitMQ or in one process."""

    settings: Settings
    sessions: SessionStore
    cache: HotCache
    intents: IntentRecogniser
    planner: Planner
    merchant: MerchantSystems
    escalate: Escalate
    forward_to_agent: ForwardToAgent
    generator: Generator


class Turn:
    """Runs one ChatRequested to its TurnCompleted, emitting meta, tokens and done."""

    def __init__(self, request: ChatRequested, deps: TurnDeps, emit: Emit) -> None:
        self.request = request
        # Each assistant's answers are cached apart from the others'.
        self.deps = replace(deps, cache=cache_for(deps.cache, request.assistant))
        self._emit = emit
        self._out = TokenCoalescer(self._emit_tokens, deps.settings.token_flush_ms / 1000)
        self._sent: list[str] = []
        self._ttft_ms: float | None = None
        self._intent: Intent = "chitchat"
        self._emotion = 1.0
        self._grounding: Grounding | None = None
        self._answer_gate: asyncio.Future[bool] | None = None

    def answer_after(self, stop_check: asyncio.Future[bool]) -> None:
        """Hold the answer (not meta) for ``stop_check``, whether a stop was asked while the
        turn waited in the queue; if so the turn raises StoppedBeforeAnswer, before any token."""
        self._answer_gate = stop_check

    def _event(self, cls: type[E], **fields: Any) -> E:
        return cls(
            tenant_id=self.request.tenant_id, correlation_id=self.request.correlation_id, **fields
        )

    async def _emit_tokens(self, text: str) -> None:
        if not self._sent:
            elapsed = seconds_since(self.request.occurred_at)
            TIME_TO_FIRST_TOKEN.labels(intent=self._intent).observe(elapsed)
            self._ttft_ms = elapsed * 1000
        TOKEN_EVENTS.inc()
        self._sent.append(text)
        await self._emit(self._event(TokensStreamed, content=text))

    async def finish_stopped(self) -> TurnCompleted:
        """After a stop: keep what the customer already saw, marked stopped, and end the turn."""
        await self._out.close()
        reply, req = "".join(self._sent), self.request
        counts = await self._record(reply, self._intent, self._emotion, "neutral", stopped=True)
        done = self._event(
            TurnCompleted,
            session_id=req.session_id,
            reply=reply,
            intent=self._intent,
            turn_count=counts.turn_count,
            failed_attempts=counts.failed_attempts,
            emotion_score=self._emotion,
            stopped=True,
        )
        await self._emit(done)
        return done

    async def run(self) -> TurnCompleted:
        """The whole turn; the session is written once, at the end."""
        started = time.monotonic()
        req, deps = self.request, self.deps
        observe_since("orchestrator_queue", req.occurred_at)
        emotion = self._emotion = emotion_score(req.message)
        routing = Routing(deps.intents, deps.planner, req, emotion)  # looks up while we load
        try:
            with timed_stage("session_load"):
                session, history = await deps.sessions.open(
                    req.tenant_id, req.session_id, req.user_id, req.channel, HISTORY_WINDOW
                )
                epoch = req.cache_epoch
                if epoch is None:
                    epoch = await deps.cache.epoch(req.tenant_id)
            if session.agent_status == "assigned":
                return await self._pass_to_agent(session, emotion)
            with timed_stage("routing"):
                plan = await self._plan(routing, emotion, history, session.current_intent)
        finally:
            routing.close()
        references = plan.references()
        self._intent = plan.intent
        standing = await self._standing(session, plan)
        planned = decide(standing, plan.escalate, plan.outcome)
        with timed_stage("meta_publish"):
            await self._emit(
                self._event(
                    TurnStarted,
                    intent=plan.intent,
                    sources=plan.sources,
                    escalate=planned.escalate,
                    references=references,
                )
            )

        if self._answer_gate is not None and await self._answer_gate:
            raise StoppedBeforeAnswer
        reply, used_history = await self._answer(plan, history)
        # The outcome as the answer left it: an ungrounded answer is unresolved.
        decision = decide(standing, plan.escalate, plan.outcome, self._answered(plan, used_history))
        card = None
        if decision.reason:
            reply, card = await self._hand_over(
                decision.reason,
                emotion,
                history,
                reply,
                session.turn_count,
                standing.member_level,
                plan,
            )
        await self._out.close()

        counts = await self._record(
            reply,
            plan.intent,
            emotion,
            plan.outcome,
            handoff_reason=decision.reason or "",
            no_answer=plan.no_answer,
        )
        if decision.cacheable:
            answer = CachedAnswer(
                reply, plan.intent, plan.sources, emotion, [r.model_dump() for r in references]
            )
            await deps.cache.put(req.tenant_id, req.message, answer, epoch)
        TURNS.labels(intent=plan.intent, outcome=plan.outcome).inc()
        TURN_SECONDS.labels(intent=plan.intent).observe(time.monotonic() - started)
        done = self._completed(plan, references, reply, card, counts, emotion)
        await self._emit(done)
        return done

    def _answered(self, plan: Plan, used_history: bool) -> Answered:
        """What went into the answer, for whether it may be cached."""
        return Answered(
            question=self.request.message,
            intent=plan.intent,
            parts=len(plan.parts),
            used_history=used_history,
            used_order=any(p.intent == "business_query" for p in plan.parts),
            grounding=self._grounding,
        )

    def _completed(
        self,
        plan: Plan,
        references: list[Reference],
        reply: str,
        card: EscalationCard | None,
        counts: TurnCounts,
        emotion: float,
    ) -> TurnCompleted:
        """The turn's last event: its whole reply, its parts and its counters."""
        return self._event(
            TurnCompleted,
            session_id=self.request.session_id,
            reply=reply,
            intent=plan.intent,
            sources=plan.sources,
            escalate_to_human=card is not None,
            escalation_card=card.model_dump(mode="json") if card else None,
            turn_count=counts.turn_count,
            failed_attempts=counts.failed_attempts,
            emotion_score=emotion,
            sub_tasks=[SubTask(text=p.text, intent=p.intent, outcome=p.outcome) for p in plan.parts]
            if len(plan.parts) > 1
            else [],
            resolved=plan.outcome == "resolved",
            references=references,
            grounding=self._grounding,
        )

    async def _plan(
        self, routing: Routing, emotion: float, history: list[Message], previous: str
    ) -> Plan:
        """Decide every part's intent, then plan how each is answered."""
        req = self.request
        parts = [
            await self.deps.planner.plan_part(
                Part(routed.text, routed.guess.intent),
                emotion,
                history,
                req.tenant_id,
                req.correlation_id,
                req.assistant,
                routed.lookup,
            )
            for routed in await routing.decide(previous)
        ]
        return Plan(parts)

    async def _answer(self, plan: Plan, history: list[Message]) -> tuple[str, bool]:
        """Stream every part's reply in order: fixed text, then a generated answer if any.

        Also says whether the session's history went into any of it.
        """
        reply, used_history = "", False
        for part in plan.parts:
            if reply:
                reply += await stream_text("\n\n", self._out)
            if part.reply:
                reply += await stream_text(part.reply, self._out)
            if part.generates:
                if part.reply:
                    reply += await stream_text(phrases_for(part.text).space, self._out)
                generated = await self.deps.generator.answer(
                    part.text, part.passages, history, self._out, self.request.assistant
                )
                reply += generated.text
                used_history = used_history or generated.used_history
                self._grounding = worst_of(self._grounding, generated.grounding)
                if not generated.grounded:
                    part.outcome = "unresolved"
        return reply, used_history

    async def _record(
        self,
        reply: str,
        intent: str,
        emotion: float,
        outcome: Outcome,
        stopped: bool = False,
        handoff_reason: str = "",
        no_answer: bool = False,
    ) -> TurnCounts:
        """Write the turn to the session (and count it for analytics), once per turn id."""
        req = self.request
        return await self.deps.sessions.record_turn(
            req.tenant_id,
            req.session_id,
            TurnRecord(
                req.correlation_id,
                req.message,
                reply,
                intent,
                emotion,
                outcome,
                req.user_id,
                req.channel,
                stopped,
                handoff_reason,
                no_answer,
                self._ttft_ms,
            ),
        )

    async def _standing(self, session: Session, plan: Plan) -> Standing:
        """The session's counters and, when a handover may follow, the customer's level."""
        member_level = "standard"
        if plan.outcome == "unresolved" or plan.escalate:
            member_level = await self._member_level()
        return Standing(
            session.agent_status,
            session.failed_attempts,
            member_level,
            self.deps.settings.failed_attempts_threshold,
        )

    async def _member_level(self) -> str:
        try:
            return await self.deps.merchant.member_level(
                self.request.tenant_id, self.request.user_id
            )
        except AppError as exc:
            logger.info("member level unknown (%s); treating as standard", exc.message)
            return "standard"

    async def _pass_to_agent(self, session: Session, emotion: float) -> TurnCompleted:
        """An agent holds the session: the bot stays silent and the message goes to them."""
        req, deps = self.request, self.deps
        await deps.forward_to_agent(
            self._event(
                CustomerMessaged,
                ticket_id=session.ticket_id,
                session_id=req.session_id,
                agent_id=session.agent_id,
                text=req.message,
            )
        )
        await self._emit(
            self._event(TurnStarted, intent="transfer_to_human", sources=[], escalate=True)
        )
        counts = await self._record("", "transfer_to_human", emotion, "neutral")
        done = self._event(
            TurnCompleted,
            session_id=req.session_id,
            reply="",
            intent="transfer_to_human",
            escalate_to_human=True,
            turn_count=counts.turn_count,
            failed_attempts=counts.failed_attempts,
            emotion_score=emotion,
        )
        await self._emit(done)
        return done

    async def _hand_over(
        self,
        reason: Reason,
        emotion: float,
        history: list[Message],
        reply: str,
        turns: int,
        member_level: str,
        plan: Plan,
    ) -> tuple[str, EscalationCard]:
        """Queue the session for an agent and tell the customer; returns the reply and card."""
        phrases = phrases_for(self.request.message)
        if reason == "failed_attempts":
            reply += await stream_text(phrases.handoff_after_failures, self._out)
        card = await self.deps.escalate(
            escalation_request(
                self.request, reason, emotion, history, reply, turns, member_level, plan
            )
        )
        if card.status == "offline":
            reply += await stream_text(phrases.agents_away(card), self._out)
        elif reason == "ticket":
            reply += await stream_text(
                phrases.ticket_created.format(ticket_id=card.ticket_id), self._out
            )
        return reply, card
