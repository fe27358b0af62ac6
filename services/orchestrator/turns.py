"""One turn from message to committed session: intent, meta, answer, escalation, cache."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from services.orchestrator import replies
from services.orchestrator.coalescer import TokenCoalescer
from services.orchestrator.emotion import emotion_score
from services.orchestrator.generation import Generator, stream_text
from services.orchestrator.intents import ORDER_ID, recognise
from services.orchestrator.orders import OrderLookup, describe
from shared.errors import AppError
from shared.events import (
    ChatRequested,
    EscalationCard,
    EscalationRequested,
    Event,
    HistoryLine,
    Passage,
    Reference,
    RetrievalCompleted,
    RetrievalRequested,
    TokensStreamed,
    TurnCompleted,
    TurnStarted,
)
from shared.events.chat import Intent
from shared.events.escalation import Reason
from shared.observability import RETRIEVAL_DEGRADED, TOKEN_EVENTS, TURN_SECONDS, TURNS
from shared.settings import Settings
from shared.stores.hot_cache import CachedAnswer, RedisHotCache
from shared.stores.sessions import Message, Outcome, RedisSessionStore, TurnRecord
from shared.text import snippet

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Emit = Callable[[Event], Awaitable[None]]
Retrieve = Callable[[RetrievalRequested], Awaitable[RetrievalCompleted]]
Escalate = Callable[[EscalationRequested], Awaitable[EscalationCard]]
HISTORY_WINDOW = 20


@dataclass
class Plan:
    """How the turn will be answered, decided before anything is streamed."""

    intent: Intent
    outcome: Outcome = "neutral"
    text: str = ""
    passages: list[Passage] = field(default_factory=list)
    escalate: Reason | None = None
    card: EscalationCard | None = None

    @property
    def sources(self) -> list[str]:
        """Distinct document names, best first."""
        return list(dict.fromkeys(p.doc_name for p in self.passages))

    def references(self, question: str) -> list[Reference]:
        """Citations: each passage's document, chunk and most relevant sentence."""
        return [
            Reference(
                doc_id=p.doc_id,
                doc_name=p.doc_name,
                chunk_id=p.chunk_id,
                snippet=snippet(p.text, question),
                score=round(p.score, 4),
            )
            for p in self.passages
        ]


@dataclass(frozen=True)
class TurnDeps:
    """Everything a turn talks to, so it runs the same over RabbitMQ or in one process."""

    settings: Settings
    sessions: RedisSessionStore
    cache: RedisHotCache
    retrieve: Retrieve
    escalate: Escalate
    orders: OrderLookup
    generator: Generator


class Turn:
    """Runs one ChatRequested to its TurnCompleted, emitting meta, tokens and done."""

    def __init__(self, request: ChatRequested, deps: TurnDeps, emit: Emit) -> None:
        self.request = request
        self.deps = deps
        self._emit = emit
        self._out = TokenCoalescer(self._emit_tokens, deps.settings.token_flush_ms / 1000)
        self._epoch = 0

    def _event(self, cls: type[E], **fields: object) -> E:
        return cls(
            tenant_id=self.request.tenant_id, correlation_id=self.request.correlation_id, **fields
        )

    async def _emit_tokens(self, text: str) -> None:
        TOKEN_EVENTS.inc()
        await self._emit(self._event(TokensStreamed, content=text))

    async def run(self) -> TurnCompleted:
        """The whole turn; the session is written once, at the end."""
        started = time.monotonic()
        req, deps = self.request, self.deps
        (session, history), self._epoch = await asyncio.gather(
            deps.sessions.open(
                req.tenant_id, req.session_id, req.user_id, req.channel, HISTORY_WINDOW
            ),
            deps.cache.epoch(req.tenant_id),
        )
        emotion = emotion_score(req.message)
        intent = recognise(req.message, emotion, session.current_intent)
        plan = await self._plan(intent, emotion, history, session.turn_count)
        references = plan.references(req.message)
        # One more failure reaches the threshold: this turn hands over unless it succeeds. A
        # session already waiting for an agent is not queued a second time.
        last_chance = session.agent_status == "bot" and (
            session.failed_attempts + 1 >= deps.settings.failed_attempts_threshold
        )
        await self._emit(
            self._event(
                TurnStarted,
                intent=plan.intent,
                sources=plan.sources,
                escalate=bool(plan.escalate) or (last_chance and plan.outcome == "unresolved"),
                references=references,
            )
        )

        reply = await self._answer(plan, history)
        if last_chance and plan.escalate is None and plan.outcome == "unresolved":
            reply += await stream_text(replies.HANDOFF_AFTER_FAILURES, self._out)
            plan.card = await self._escalate(
                "failed_attempts", emotion, history, reply, session.turn_count
            )
            plan.escalate = "failed_attempts"
        await self._out.close()

        counts = await deps.sessions.record_turn(
            req.tenant_id,
            req.session_id,
            TurnRecord(
                req.correlation_id,
                req.message,
                reply,
                plan.intent,
                emotion,
                plan.outcome,
                req.user_id,
                req.channel,
            ),
        )
        if plan.intent == "knowledge_qa" and plan.outcome == "resolved" and not plan.escalate:
            await deps.cache.put(
                req.tenant_id,
                req.message,
                CachedAnswer(
                    reply,
                    plan.intent,
                    plan.sources,
                    emotion,
                    [r.model_dump() for r in references],
                ),
                self._epoch,
            )
        TURNS.labels(intent=plan.intent, outcome=plan.outcome).inc()
        TURN_SECONDS.labels(intent=plan.intent).observe(time.monotonic() - started)
        done = self._event(
            TurnCompleted,
            session_id=req.session_id,
            reply=reply,
            intent=plan.intent,
            sources=plan.sources,
            escalate_to_human=plan.escalate is not None,
            escalation_card=plan.card.model_dump(mode="json") if plan.card else None,
            turn_count=counts.turn_count,
            failed_attempts=counts.failed_attempts,
            emotion_score=emotion,
            resolved=plan.outcome == "resolved",
            references=references,
        )
        await self._emit(done)
        return done

    async def _plan(
        self, intent: Intent, emotion: float, history: list[Message], turn_count: int
    ) -> Plan:
        """Route by intent; escalations that decide the reply's wording happen here."""
        req, settings = self.request, self.deps.settings
        plan = Plan(intent)
        if intent == "chitchat":
            plan.text = replies.chitchat(req.message)
        elif intent == "transfer_to_human" or (
            intent == "emotion_sensitive" and emotion < settings.emotion_escalation_threshold
        ):
            plan.escalate = (
                "explicit_request" if intent == "transfer_to_human" else "negative_emotion"
            )
            lead = "" if intent == "transfer_to_human" else replies.EMPATHY + " "
            plan.text = lead + replies.HANDOFF
            plan.outcome = "resolved"
        elif intent == "ticket":
            plan.escalate = "ticket"
            plan.outcome = "resolved"
        elif intent == "business_query":
            await self._plan_order(plan, history)
        else:
            await self._plan_knowledge(plan)
            if intent == "emotion_sensitive" and plan.passages:
                plan.text = replies.EMPATHY
        if plan.escalate:
            reply_so_far = plan.text or "(ticket requested)"
            plan.card = await self._escalate(
                plan.escalate, emotion, history, reply_so_far, turn_count
            )
            if intent == "ticket":
                plan.text = replies.TICKET_CREATED.format(ticket_id=plan.card.ticket_id)
        return plan

    async def _plan_order(self, plan: Plan, history: list[Message]) -> None:
        """Answer from the order system; an order number may come from an earlier message."""
        texts = [self.request.message] + [m.content for m in reversed(history) if m.role == "user"]
        order_id = next((m.group() for t in texts if (m := ORDER_ID.search(t))), None)
        if order_id is None:
            plan.text = (
                "I can check that for you. What is your order number? It looks like ORD-2024-001."
            )
            return
        order = await self.deps.orders.status(self.request.tenant_id, order_id)
        if order is None:
            plan.text = f"I couldn't find an order {order_id.upper()}. Could you check the number?"
            plan.outcome = "unresolved"
        else:
            plan.text = describe(order)
            plan.outcome = "resolved"

    async def _plan_knowledge(self, plan: Plan) -> None:
        """Fetch passages; no passages means the turn is unresolved."""
        req = self.request
        try:
            found = await self.deps.retrieve(
                RetrievalRequested(
                    tenant_id=req.tenant_id, correlation_id=req.correlation_id, query=req.message
                )
            )
            plan.passages = list(found.passages)
        except AppError as exc:
            RETRIEVAL_DEGRADED.labels(path="retriever").inc()
            logger.warning("retrieval failed, answering without sources: %s", exc.message)
        if plan.passages:
            plan.outcome = "resolved"
        else:
            plan.text = replies.NO_CONTENT
            plan.outcome = "unresolved"

    async def _answer(self, plan: Plan, history: list[Message]) -> str:
        """Stream the reply: fixed text, then a generated answer when there are passages."""
        reply = await stream_text(plan.text, self._out) if plan.text else ""
        if plan.passages and plan.intent in ("knowledge_qa", "emotion_sensitive"):
            lead = " " if reply else ""
            if lead:
                await self._out.add(lead)
            generated, grounded = await self.deps.generator.answer(
                self.request.message, plan.passages, history, self._out
            )
            reply += lead + generated
            if not grounded:
                plan.outcome = "unresolved"
        return reply

    async def _escalate(
        self, reason: Reason, emotion: float, history: list[Message], reply: str, turns: int
    ) -> EscalationCard:
        req = self.request
        lines = [
            HistoryLine(role=m.role, content=m.content)
            for m in history  # type: ignore[arg-type]
            if m.role in ("user", "assistant", "agent")
        ]
        lines += [
            HistoryLine(role="user", content=req.message),
            HistoryLine(role="assistant", content=reply),
        ]
        return await self.deps.escalate(
            EscalationRequested(
                tenant_id=req.tenant_id,
                correlation_id=req.correlation_id,
                session_id=req.session_id,
                user_id=req.user_id,
                channel=req.channel,
                reason=reason,
                turn_count=turns + 1,
                emotion_score=emotion,
                history=lines,
            )
        )
