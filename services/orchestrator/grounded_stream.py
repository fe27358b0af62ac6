"""A model's stream through the grounding guard: each sentence is checked as it completes.

In strict mode the sentence being written is held back, and released to the customer only
once it is checked, so at most one sentence waits; the first unsupported one stops the
stream. In flag mode text goes out as it arrives and each sentence is checked after it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from services.orchestrator.grounding import Checker

GuardMode = Literal["strict", "flag", "off"]
# A "sentence" that never ends (a model that writes no punctuation) is checked and released
# in pieces of about this size, so holding back never means holding everything.
MAX_HELD_CHARS = 400
_ENDS = ".!?"
_ENDS_AT_ONCE = "。！？\n"


class Sink(Protocol):
    """Where released text goes (the turn's token coalescer)."""

    async def add(self, text: str) -> None:
        """Send ``text`` on to the customer."""
        ...


class SentenceSplitter:
    """Cuts streamed text into sentences, reading each character once."""

    def __init__(self, max_chars: int = MAX_HELD_CHARS) -> None:
        self._held = ""
        self._scanned = 0  # characters of ``_held`` already looked at
        self._max = max_chars

    def feed(self, piece: str) -> list[str]:
        """Add ``piece``; return the sentences it completed."""
        self._held += piece
        done: list[str] = []
        start, i = 0, self._scanned
        while i < len(self._held):
            char = self._held[i]
            if char in _ENDS_AT_ONCE:
                done.append(self._held[start : i + 1])
                start = i + 1
            elif char in _ENDS:
                if i + 1 == len(self._held):
                    break  # is it "5." or "$5.99"? the next character tells
                if self._held[i + 1].isspace() and not self._held[start:i].strip().isdigit():
                    done.append(self._held[start : i + 1])  # "1. Cash" is no sentence end
                    start = i + 1
            elif i + 1 - start > self._max:
                cut = self._held.rfind(" ", start, i)
                cut = cut + 1 if cut > start + self._max // 2 else i + 1
                done.append(self._held[start:cut])
                start = cut
            i += 1
        self._held = self._held[start:]
        self._scanned = i - start
        return done

    def rest(self) -> str:
        """What is left when the stream ends."""
        rest, self._held, self._scanned = self._held, "", 0
        return rest


@dataclass
class Verdict:
    """How a streamed attempt went."""

    released: str = ""  # what the customer received
    problems: list[str] = field(default_factory=list)  # claims the passages do not support
    stopped_early: bool = False  # an unsupported sentence stopped it (strict)


async def relay(
    pieces: AsyncIterator[str], checker: Checker, out: Sink, mode: GuardMode
) -> Verdict:
    """Stream ``pieces`` to ``out`` through the guard (``mode`` strict or flag)."""
    verdict = Verdict()
    splitter = SentenceSplitter()
    sent: list[str] = []

    async def settle(sentence: str) -> bool:
        """Check a finished sentence; in strict mode release it or stop. False: stop."""
        problems = checker.check(sentence)
        verdict.problems += problems
        if mode == "flag":
            return True
        if problems:
            verdict.stopped_early = True
            return False
        sent.append(sentence)
        await out.add(sentence)
        return True

    async for piece in pieces:
        if mode == "flag":
            sent.append(piece)
            await out.add(piece)
        for sentence in splitter.feed(piece):
            if not await settle(sentence):
                verdict.released = "".join(sent)
                return verdict
    rest = splitter.rest()
    if rest.strip():
        await settle(rest)
    elif rest and mode == "strict":
        sent.append(rest)
        await out.add(rest)
    verdict.released = "".join(sent)
    return verdict
