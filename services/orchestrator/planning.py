"""Deciding how each part of a turn is answered, before anything is streamed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from services.orchestrator.crosslingual import english_search_terms
from services.orchestrator.evidence import ORDER_ID
from services.orchestrator.merchant import MerchantSystems, describe
from services.orchestrator.questions import asks_for_overview
from services.orchestrator.replies import Phrases, phrases_for
from shared.conversation import Message, Outcome
from shared.errors import AppError, RetryableError
from shared.events import (
    AssistantSpec,
    Passage,
    Reference,
    RetrievalCompleted,
    RetrievalRequested,
)
from shared.events.assistant import DEFAULT_KNOWLEDGE_BASES
from shared.events.chat import Intent
from shared.events.escalation import Reason
from shared.events.retrieval import MAX_ENGLISH_TERMS
from shared.observability import RETRIEVAL_DEGRADED
from shared.text import snippet

logger = logging.getLogger(__name__)
Retrieve = Callable[[RetrievalRequested], Awaitable[RetrievalCompleted]]
# When parts of one message differ, the turn is reported under the most pressing intent.
PRIORITY: tuple[Intent, ...] = (
    "transfer_to_human",
    "ticket",
    "emotion_sensitive",
    "business_query",
    "knowledge_qa",
    "chitchat",
)


@dataclass(frozen=True)
class Lookup:
    """What the knowledge bases hold for one text: passages best first, and whether the best
    clearly answers it."""

    passages: list[Passage]
    strong: bool = False


@dataclass
class Part:
    """One sub-task of a message: what it asks, how it is answered, how that went."""

    text: str
    intent: Intent
    outcome: Outcome = "neutral"
    reply: str = ""
    passages: list[Passage] = field(default_factory=list)
    escalate: Reason | None = None

    @property
    def generates(self) -> bool:
        """True when the answer is composed from passages (by the LLM or extractively)."""
        return bool(self.passages) and self.intent in ("knowledge_qa", "emotion_sensitive")


@dataclass
class Plan:
    """The parts of a turn; a simple message has one."""

    parts: list[Part]

    @property
    def intent(self) -> Intent:
        """The turn's intent: its most pressing part's."""
        return min((p.intent for p in self.parts), key=PRIORITY.index)

    @property
    def outcome(self) -> Outcome:
        """Unresolved if any part is; resolved if some part is; otherwise neutral."""
        outcomes = {p.outcome for p in self.parts}
        if "unresolved" in outcomes:
            return "unresolved"
        return "resolved" if "resolved" in outcomes else "neutral"

    @property
    def no_answer(self) -> bool:
        """A question for the help centre that it could not answer (a knowledge gap)."""
        return any(p.intent == "knowledge_qa" and p.outcome == "unresolved" for p in self.parts)

    @property
    def escalate(self) -> Reason | None:
        """Why the conversation goes to a human, if it does."""
        return next((p.escalate for p in self.parts if p.escalate), None)

    @property
    def passages(self) -> list[Passage]:
        """Every part's passages, in order."""
        return [passage for part in self.parts for passage in part.passages]

    @property
    def sources(self) -> list[str]:
        """Distinct document names, best first."""
        return list(dict.fromkeys(p.doc_name for p in self.passages))

    def references(self) -> list[Reference]:
        """Citations: each passage's document, chunk and sentence most relevant to its part."""
        return [
            Reference(
                doc_id=p.doc_id,
                doc_name=p.doc_name,
                chunk_id=p.chunk_id,
                snippet=snippet(p.text, part.text),
                score=round(p.score, 4),
            )
            for part in self.parts
            for p in part.passages
        ]


class Planner:
    """Routes each part to its handler: fast paths, the order system, or the retriever."""

    def __init__(
        self, retrieve: Retrieve, orders: MerchantSystems, emotion_threshold: float
    ) -> None:
        self._retrieve = retrieve
        self._orders = orders
        self._emotion_threshold = emotion_threshold

    def answers_from_knowledge(self, intent: Intent, emotion: float) -> bool:
        """Whether a part of this intent is answered from the knowledge base."""
        return intent == "knowledge_qa" or (
            intent == "emotion_sensitive" and emotion >= self._emotion_threshold
        )

    async def look_up(
        self, text: str, tenant_id: str, turn_id: str, assistant: AssistantSpec | None = None
    ) -> Lookup:
        """Search the assistant's knowledge bases for ``text``."""
        kb_ids = assistant.knowledge_bases if assistant else DEFAULT_KNOWLEDGE_BASES
        return await self._search(text, kb_ids, tenant_id, turn_id)

    async def plan_part(
        self,
        part: Part,
        emotion: float,
        history: list[Message],
        tenant_id: str,
        turn_id: str,
        assistant: AssistantSpec | None = None,
        lookup: Lookup | None = None,
    ) -> Part:
        """Fill in how ``part`` is answered (``assistant`` None: the built-in one).

        ``lookup``, when given, is what the knowledge bases already returned for its text.
        """
        phrases = phrases_for(part.text)
        if part.intent == "chitchat":
            part.reply = phrases.chitchat(part.text)
        elif part.intent == "transfer_to_human":
            part.escalate, part.outcome, part.reply = (
                "explicit_request",
                "resolved",
                phrases.handoff,
            )
        elif part.intent == "emotion_sensitive" and emotion < self._emotion_threshold:
            part.escalate, part.outcome = "negative_emotion", "resolved"
            part.reply = phrases.empathy_then_handoff()
        elif part.intent == "ticket":
            part.escalate, part.outcome = "ticket", "resolved"
        elif part.intent == "business_query":
            await self._plan_order(part, history, tenant_id, phrases)
        else:
            lookup = lookup or await self.look_up(part.text, tenant_id, turn_id, assistant)
            self._plan_knowledge(part, lookup, assistant, phrases)
            if part.intent == "emotion_sensitive" and part.passages:
                part.reply = phrases.empathy
        return part

    async def _plan_order(
        self, part: Part, history: list[Message], tenant_id: str, phrases: Phrases
    ) -> None:
        """Answer from the order system; the order number may come from an earlier message."""
        texts = [part.text] + [m.content for m in reversed(history) if m.role == "user"]
        order_id = next((m.group().upper() for t in texts if (m := ORDER_ID.search(t))), None)
        if order_id is None:
            part.reply = phrases.ask_order_number
            return
        try:
            order = await self._orders.status(tenant_id, order_id)
        except RetryableError as exc:
            logger.warning("order system unavailable: %s", exc.message)
            part.reply = phrases.orders_down
            part.escalate, part.outcome = "business_system_down", "resolved"
            return
        if order is None:
            part.reply = phrases.order_not_found.format(order_id=order_id)
            part.outcome = "unresolved"
        else:
            part.reply = describe(order, part.text)
            part.outcome = "resolved"

    @staticmethod
    def _plan_knowledge(
        part: Part, lookup: Lookup, assistant: AssistantSpec | None, phrases: Phrases
    ) -> None:
        """Answer from the passages found; none means unresolved."""
        part.passages = lookup.passages
        if part.passages:
            part.outcome = "resolved"
        else:
            part.reply = (assistant and assistant.empty_response) or phrases.no_content
            part.outcome = "unresolved"

    async def _search(
        self, query: str, kb_ids: Sequence[str], tenant_id: str, turn_id: str
    ) -> Lookup:
        """Search every knowledge base at once and merge by score; a failed one is skipped."""
        english = english_search_terms(query, MAX_ENGLISH_TERMS)
        requests = [
            RetrievalRequested(
                tenant_id=tenant_id,
                correlation_id=turn_id,
                query=query,
                kb_id=kb,
                english_terms=english,
                overview=asks_for_overview(query),
            )
            for kb in dict.fromkeys(kb_ids)
        ]
        found = await asyncio.gather(*map(self._retrieve, requests), return_exceptions=True)
        passages: list[Passage] = []
        strong = False
        for request, result in zip(requests, found, strict=True):
            if isinstance(result, AppError):
                RETRIEVAL_DEGRADED.labels(path="retriever").inc()
                logger.warning(
                    "retrieval from %s failed, answering without it: %s",
                    request.kb_id,
                    result.message,
                )
            elif isinstance(result, BaseException):
                raise result
            else:
                passages.extend(result.passages)
                strong = strong or result.strong_match
        if len(requests) == 1:
            return Lookup(passages, strong)
        # Fused scores come from the same formula in every knowledge base, so they compare.
        merged = sorted(dict.fromkeys(passages), key=lambda p: p.score, reverse=True)
        return Lookup(merged[: requests[0].top_k], strong)
