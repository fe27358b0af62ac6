"""Composes the reply for a knowledge answer: the LLM behind a breaker and the grounding guard,
or the extractive answerer.

With the guard strict (the default), a generated sentence reaches the customer only once it is
checked against the passages (grounding.py). The first unsupported one stops the model:
- if the customer has seen nothing yet, the model is asked once more, told which claims the
  passages do not support; if that answer fails too, the extractive answer is sent instead;
- if some checked sentences were already sent, they stay, and the extractive answer follows.
Flag mode sends the answer as it streams and marks it; off sends it unchecked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.orchestrator.coalescer import TokenCoalescer
from services.orchestrator.extractive import extractive_answer
from services.orchestrator.grounded_stream import GuardMode, Sink, Verdict, relay
from services.orchestrator.grounding import Checker, Evidence
from services.orchestrator.replies import phrases_for
from shared.conversation import Message
from shared.errors import AppError
from shared.events import AssistantSpec, Passage
from shared.events.chat import Grounding
from shared.llm import ChatMessage, ChatModel, CircuitBreaker, CircuitOpen
from shared.observability import GROUNDING_EVENTS, LLM_CALLS

logger = logging.getLogger(__name__)

_PIECE = re.compile(r"\S+\s*|\s+")
HISTORY_CHAR_BUDGET = 6_000  # about 1,500 tokens of earlier conversation
# The model is shown the retriever's first four passages: with the history budget they fit a
# small model's window (tests/llm). The extractive answerer may read further down.
PROMPT_PASSAGES = 4
SYSTEM_PROMPT = (
    "You are the customer-service assistant of Northwind Goods. Be concise and friendly."
)
# Added to every assistant's own system prompt: the passages are the only source of facts.
GROUNDING_RULES = (
    "Answer the customer's last message using only the numbered help-centre passages below. "
    "After each fact, cite its passage, like [1] or [2]. Copy figures (prices, durations, "
    "percentages), product and plan names and rules (what can or cannot be done, what is "
    "free) exactly as the passages state them; never add one they do not state. If the "
    "passages do not answer the question, say plainly that you are not sure and offer a "
    "human agent. Reply in the customer's language."
)
RETRY_NOTE = (
    "Your previous draft stated things the passages do not support: {claims}. Answer again, "
    "stating only what the passages say."
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
    retry_note: str = "",
) -> list[ChatMessage]:
    """The assistant's system prompt, the grounding rules and the numbered passages, then the
    conversation ``window``, then the question."""
    context = "\n\n".join(f"[{i}] {p.title}\n{p.text}" for i, p in enumerate(passages, start=1))
    note = f"\n\n{retry_note}" if retry_note else ""
    return [
        {
            "role": "system",
            "content": f"{system_prompt}\n\n{GROUNDING_RULES}{note}\n\nPassages:\n{context}",
        },
        *window,
        {"role": "user", "content": question},
    ]


@dataclass(frozen=True)
class Generated:
    """A composed answer: its text, whether the turn counts as resolved, whether the
    session's earlier messages went into it (such an answer is that customer's alone), and
    the grounding guard's verdict on it (None: nothing was generated)."""

    text: str
    grounded: bool
    used_history: bool = False
    grounding: Grounding | None = None


class Generator:
    """Streams a grounded answer, by the LLM when there is one."""

    def __init__(
        self, llm: ChatModel | None, breaker: CircuitBreaker, guard: GuardMode = "strict"
    ) -> None:
        self._llm = llm
        self._breaker = breaker
        self._guard = guard

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
        shown = passages[:PROMPT_PASSAGES]
        window = recent_history(history)
        options = assistant.llm.options() if assistant else {}
        sent = _Recorded(out)
        try:
            self._breaker.check()
            prompt = build_prompt(question, shown, window, system_prompt)
            verdict = await self._attempt(prompt, options, question, shown, sent)
            grounding = self._verdict(verdict)
            if verdict.stopped_early and not sent.text:
                # Nothing reached the customer yet: one more try, told what was wrong.
                note = RETRY_NOTE.format(claims="; ".join(verdict.problems[:5]))
                prompt = build_prompt(question, shown, window, system_prompt, note)
                verdict = await self._attempt(prompt, options, question, shown, sent)
                grounding = "replaced" if verdict.stopped_early else "regenerated"
        except AppError as exc:
            if not isinstance(exc, CircuitOpen):
                self._breaker.record_failure()
            LLM_CALLS.labels(outcome="failed").inc()
            logger.warning("LLM unavailable, answering extractively: %s", exc.message)
            fallback = (
                f"{phrases_for(question).llm_fallback} {extractive_answer(question, passages)}"
            )
            lead = "\n\n" if sent.text else ""
            text = sent.text + await stream_text(lead + fallback, out)
            return Generated(text, False, bool(window))
        self._breaker.record_success()
        LLM_CALLS.labels(outcome="ok").inc()
        text = sent.text
        if verdict.stopped_early:
            # What was checked stays; the help centre's own words say the rest.
            lead = "\n\n" if text else ""
            text += await stream_text(lead + extractive_answer(question, passages), out)
            grounding = "replaced"
        GROUNDING_EVENTS.labels(outcome=grounding).inc()
        if grounding != "verified":
            logger.info("grounding %s: %d unsupported claim(s)", grounding, len(verdict.problems))
        return Generated(text, True, bool(window), grounding)

    async def _attempt(
        self,
        prompt: list[ChatMessage],
        options: dict[str, Any],
        question: str,
        passages: Sequence[Passage],
        out: Sink,
    ) -> Verdict:
        """One call of the model, streamed through the guard; the call ends with it (an
        unsupported sentence closes the upstream request)."""
        assert self._llm is not None
        pieces = self._llm.stream(prompt, **options)
        try:
            if self._guard == "off":
                async for piece in pieces:
                    await out.add(piece)
                return Verdict()
            return await relay(pieces, Checker(Evidence.of(passages, question)), out, self._guard)
        finally:
            aclose = getattr(pieces, "aclose", None)
            if aclose is not None:
                await aclose()

    def _verdict(self, verdict: Verdict) -> Grounding:
        if self._guard == "off":
            return "unchecked"
        if verdict.problems:
            return "flagged" if self._guard == "flag" else "replaced"
        return "verified"


class _Recorded:
    """Passes text on to the coalescer and remembers it: what the customer has received."""

    def __init__(self, out: TokenCoalescer) -> None:
        self._out = out
        self._parts: list[str] = []

    async def add(self, text: str) -> None:
        """Send ``text`` on."""
        self._parts.append(text)
        await self._out.add(text)

    @property
    def text(self) -> str:
        """Everything sent so far."""
        return "".join(self._parts)
