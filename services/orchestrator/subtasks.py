"""Splits a compound message ("where is my order X and how do I return Y?") into its parts."""

from __future__ import annotations

import re

from shared.text import CJK_CHAR

# Split after a question or sentence end, on "also"/"and also", on "and" when a new question
# starts after it, and on Chinese connectives.
# Linear time: a connective's leading space is matched only from the start of a run of spaces
# ``(?<!\s)``, and possessive quantifiers (``*+``, ``++``) never hand spaces back, so a run of
# spaces is read once rather than once per way of splitting it (which was cubic).
_GAP = r"(?<!\s)(?:\s*+,)?\s++"
_SPLIT = re.compile(
    r"(?<=[?？!！。])\s++"
    r"|[；;]\s*+"
    rf"|{_GAP}(?:and also|also|plus|and then)\s++"
    rf"|{_GAP}and\s++(?=(?:how|what|where|when|why|which|can|could|do|does|is|are|will|would|"
    r"should|i|i'd|i'm|tell|please)\b)"
    r"|，?(?:还有|另外|以及|顺便问一下)",
    re.IGNORECASE,
)
# Whole words only: the letters inside an id ("9f3ab2c4", "1Z999AA1") are no words, nor are
# the groups of a hyphenated id with a digit in it ("ORD-2024-001", a UUID's "-abcd-").
_WORD = re.compile(r"\b[A-Za-z]{2,}\b")
# Linear: it starts only where a run of letters and digits starts, and never gives one back.
_HYPHENATED = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]++(?:-[A-Za-z0-9]++)+")
# Each part is looked up and answered on its own, all at once: a message of a hundred
# questions must not become a hundred searches. Parts past the last are answered with it.
MAX_PARTS = 5


def _is_a_request(part: str) -> bool:
    """Two words (or three Chinese characters) at least: "ok", "#42" or "3fa2b1" are not."""
    words = _HYPHENATED.sub(lambda m: " " if any(map(str.isdigit, m.group())) else m.group(), part)
    return len(_WORD.findall(words)) >= 2 or len(CJK_CHAR.findall(part)) >= 3


def split_message(message: str) -> list[str]:
    """The message's parts in order; a simple message is one part."""
    parts = [p.strip(" ,，") for p in _SPLIT.split(message)]
    parts = [p for p in parts if _is_a_request(p)]
    if len(parts) > MAX_PARTS:
        parts = parts[: MAX_PARTS - 1] + [" ".join(parts[MAX_PARTS - 1 :])]
    return parts if len(parts) > 1 else [message.strip()]
