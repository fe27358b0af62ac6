"""Composes the reply for a knowledge answer: the LLM behind a breaker, or the extractive answerer."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.orchestrator.coalescer import TokenCoalescer
from services.orchestrator.extractive import extractive_answer
from services.orchestrator.replies import LLM_FALLBACK
from shared.errors import AppError
from shared.events import AssistantSpec, Passage
from shared.llm import ChatMessage, ChatModel, CircuitBreaker, CircuitOpen
from shared.observability import LLM_CALLS
from shared.stores.sessions import Message

logger = logging.getLogger(__name__)

_PIECE = re.compile(r"\S+\s*|\s+")
HISTORY_CHAR_BUDGET = 6_000  # about 1,500 tokens of earlier conversation
SYSTEM_PROMPT = (
    "You are the customer-service assistant of Northwind Goods. Answer the customer's last "
    "message using only the help-centre passages below. Be concise and friendly. If the "
    "passages do not contain the answer, say you are not sure and offer a human agent."
)


async def stream_text(text: str, out: TokenCoalescer) -> str:
    """Send fixed text word by word, as a model would."""
    for piece in _PIECE.findall(text):
        await out.add(piece)
    return text


def recent_history(
    history: Sequence[Message], budget: int = HISTORY_CHAR_BUDGET
) -> list[ChatMessage]:
    """The latest messages of the conversation that fit in ``budget`` characters, in order."""
    window: list[ChatMessage] = []
    used = 0
    for message in reversed(history):
        used += len(message.content)
        if used > budget:
            break
        window.append(
            {"role": "assistant" if message.role != "user" else "user", "content": message.content}
        )
    window.reverse()
    return window


def build_prompt(
    question: str,
    passages: Sequence[Passage],
    window: Sequence[ChatMessage],
    system_prompt: str = SYSTEM_PROMPT,
) -> list[ChatMessage]:
    """System prompt with the passages, then the conversation ``window``, then the question."""
    context = "\n\n".join(
        f"[{i}] {p.doc_name} ({p.title})\n{p.text}" for i, p in enumerate(passages, start=1)
    )
    return [
        {"role": "system", "content": f"{system_prompt}\n\nPassages:\n{context}"},
        *window,
        {"role": "user", "content": question},
    ]


@dataclass(frozen=True)
class Generated:
    """A composed answer: its text, whether the turn counts as resolved, and whether the
    session's earlier messages went into it (such an answer is that customer's alone)."""

    text: str
    grounded: bool
    used_history: bool = False


class Generator:
    """Streams a grounded answer, by the LLM when there is one."""

    def __init__(self, llm: ChatModel | None, breaker: CircuitBreaker) -> None:
        self._llm = llm
        self._breaker = breaker

    async def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Message],
        out: TokenCoalescer,
        assistant: AssistantSpec | None = None,
    ) -> Generated:
        """Stream the reply into ``out``, as ``assistant`` (None: the built-in one)."""
        if self._llm is None:  # the extractive answerer reads the passages, never the history
            return Generated(await stream_text(extractive_answer(question, passages), out), True)
        system_prompt = (assistant and assistant.system_prompt) or SYSTEM_PROMPT
        window = recent_history(history)
        prompt = build_prompt(question, passages, window, system_prompt)
        options = assistant.llm.options() if assistant else {}
        parts: list[str] = []
        try:
            self._breaker.check()
            async for piece in self._llm.stream(prompt, **options):
                parts.append(piece)
                await out.add(piece)
        except AppError as exc:
            if not isinstance(exc, CircuitOpen):
                self._breaker.record_failure()
            LLM_CALLS.labels(outcome="failed").inc()
            logger.warning("LLM unavailable, answering extractively: %s", exc.message)
            fallback = f"{LLM_FALLBACK} {extractive_answer(question, passages)}"
            lead = "\n\n" if parts else ""
            text = "".join(parts) + await stream_text(lead + fallback, out)
            return Generated(text, False, bool(window))
        self._breaker.record_success()
        LLM_CALLS.labels(outcome="ok").inc()
        return Generated("".join(parts), True, bool(window))
