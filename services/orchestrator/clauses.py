"""Clauses of an answer or a passage, as the grounding guard compares them: which words a
clause affirms and which it denies. Every pattern is an alternation or bounded: linear."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.orchestrator.questions import forms, terms_of
from services.orchestrator.units import is_table_row

# A clause ends at "but", "unless", ";" ..., and at a comma that opens a negation
# ("..., at no cost"), so a trailing "no" does not deny what came before it.
_CONTRAST = re.compile(
    r"\b(?:but|however|although|though|except|unless|whereas|otherwise|instead)\b"
    r"|,\s(?=(?:[A-Za-z]+\s){0,2}(?:no|not|never|without)\b)"
    r"|但是|但|不过|除非|除了|否则|[;；]|，(?=[^，。；]{0,3}[不无没未])",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|none|nor|neither|unable)\b|n't\b|不|没|无|未|非|勿|禁止|别",
    re.IGNORECASE,
)

_FREE = re.compile(r"\bfree\b|免费|免|包邮", re.IGNORECASE)

# Figures are checked as figures: their digits and units say nothing about a clause's subject.
_UNIT_WORDS = frozenset(
    "day week month year hour minute second busines business working calendar usd eur cny "
    "rmb yuan dollar euro percent".split()
)


def term_forms(text: str) -> set[str]:
    """The topic words of ``text`` in all their forms, without figures and their units."""
    return {
        f
        for t in terms_of(text)
        if t not in _UNIT_WORDS and not any(c.isdigit() for c in t)
        for f in forms(t)
    }


@dataclass(frozen=True)
class Clause:
    """What a clause says: its words; whether it denies; what it affirms or denies (the words
    after its negation when it denies: the subject before "cannot" is neither); and whether
    it says something is free."""

    words: frozenset[str]
    denies: bool
    predicate: frozenset[str]
    free: bool = False

    @classmethod
    def read(cls, text: str) -> Clause:
        """Read one clause."""
        cut = negated_from(text)
        free = _FREE.search(text)
        words = frozenset(term_forms(text))
        predicate = frozenset(term_forms(text[cut:])) if cut < len(text) else words
        return cls(words, cut < len(text), predicate, bool(free and free.start() < cut))


def negated_from(text: str) -> int:
    """Where the text's first negation starts (its length when it has none)."""
    negation = _NEGATION.search(text)
    return negation.start() if negation else len(text)


def split_clauses(text: str) -> list[str]:
    """A sentence cut at "but", "unless", ";" ...; a table row stays whole."""
    if is_table_row(text):
        return [text]
    return [part for part in _CONTRAST.split(text) if part.strip()]


def in_list(lead: str, part: str) -> str:
    """A list item is read after its lead: "Items that cannot be returned: Gift cards"."""
    return f"{lead} {part}" if lead else part


def contradicts(answer: Clause, passage: Clause) -> bool:
    """True when one denies what the other affirms: two words of the answer's predicate, or
    half of them, in the passage's."""
    if answer.denies == passage.denies:
        return False
    shared = answer.predicate & passage.predicate
    return len(shared) >= 2 or bool(shared) and len(shared) * 2 >= len(answer.predicate)
