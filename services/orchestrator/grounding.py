"""The grounding guard's rules: is each sentence of a generated answer supported by its passages?

A sentence is checked for three kinds of claim:
- **figures** (prices, durations, percentages, times, counts; figures.py): each must be stated
  by a passage, with the same unit ("US: 15 days" is unsupported when the page says ¥15), and
  that passage must share a word with the sentence (2FA's "2-3 business days" does not make
  "standard shipping takes 2-3 business days" true);
- **names** (capitalised words such as "Cash", "Klarna", "Diamond tier", and codes such as
  "RMA-2024-00123"): each word must occur in the passages, affirmed where the answer affirms
  it, so "we accept Cash" is unsupported when the page says "we do not accept cash";
- **rules** (a sentence with can, cannot, not, never, only, must, free, 可以, 不, 免 ...): some
  passage clause must share its words, and the closest one must not say the opposite
  ("You cannot cancel a pre-order" against "You can cancel a pre-order at any time").

Polarity is read per clause (split at "but", "unless", ";" ...): words after a negation are
negated, and a list item takes its lead's ("Items that cannot be returned: - Gift cards").

What the customer said is no evidence: a figure or name only the question holds may be
repeated in a denial ("we don't offer Klarna"), never affirmed (asked "is it 15 days?", "Yes, 15
days" is unsupported). Order numbers and other codes the customer gave may be repeated.
Everything here reads its text once: no nested quantifiers, no rescans.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from services.orchestrator.clauses import (
    Clause,
    contradicts,
    in_list,
    negated_from,
    split_clauses,
    term_forms,
)
from services.orchestrator.figures import Figure, FigureIndex, figures, normalised
from services.orchestrator.questions import QUESTION_CHARS, terms_of
from services.orchestrator.units import PASSAGE_CHARS, passage_units
from shared.events import Passage
from shared.events.chat import GROUNDING_SEVERITY, Grounding

_MARKUP = re.compile(r"\*\*|__|`|\[\d{1,2}\]|【\d{1,2}】")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
# Each alternative starts only where its run of letters or word characters starts, so a long
# run is read once, not once per character of it.
_CODE = re.compile(
    r"(?<![A-Za-z])[A-Za-z]{2,}+-[\w-]++"
    r"|(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)++"
    r"|https?://\S++"
)
# Currency codes and clock halves are written in capitals but name nothing.
_NOT_NAMES = frozenset({"USD", "EUR", "CNY", "RMB", "GBP", "AM", "PM", "I"})
_RULE = re.compile(
    r"\b(?:can|could|may|must|only|always|never|free|allowed|able|cannot|not|no)\b|n't\b"
    r"|可以|能|必须|只|仅|免|不|没|无",
    re.IGNORECASE,
)
# Courtesies and honest not-knowing state no rule of the business.
_COURTESY = re.compile(
    r"\b(?:feel free|don't hesitate|do not hesitate|no problem|not a problem|no worries|"
    r"you're welcome|thank you|thanks)\b|^\s*(?:yes|no|sure|ok|okay)\b[,.!]?",
    re.IGNORECASE,
)
_NOT_KNOWING = re.compile(
    r"\b(?:not sure|don't know|do not know|no information|not (?:mentioned|covered|stated|specified)|"
    r"(?:couldn't|could not|can't|cannot) find|do(?:n't| not) (?:say|mention|cover|contain)|unable to)\b"
    r"|不确定|不清楚|没有找到|没有相关|无法回答",
    re.IGNORECASE,
)
_WORD = re.compile(r"(?<![0-9A-Za-z])[A-Za-z][A-Za-z'’&-]*")
SHORT_ITEM_WORDS = 5  # "- Cash": a short list item is a name even at the start of its line


def _plain(text: str) -> str:
    """Without Markdown emphasis and citation marks ([1])."""
    return _MARKUP.sub(" ", unicodedata.normalize("NFKC", text)).replace("’", "'")


# Words any sentence with a figure may use: they do not say what the figure is about.
_GENERIC_WORDS = (
    "take takes taking took get gets getting make makes use uses need needs go goes come "
    "comes give gives keep keeps let know see want put find help usually normally generally "
    "typically within after before time times long anywhere around approximately about"
)


_GENERIC_FORMS = frozenset(term_forms(_GENERIC_WORDS))


def _codes(text: str) -> tuple[str, set[str]]:
    """``text`` with its codes (ORD-2024-001, tkt-f6ef0c2d71f9, e-mail addresses, links)
    blanked out, and the codes (upper-cased). "buy-now-pay-later" has no digit: no code."""
    found: set[str] = set()

    def blank(match: re.Match[str]) -> str:
        code = match.group()
        if "@" not in code and "://" not in code and not any(c.isdigit() for c in code):
            return code
        found.add(code.upper().rstrip(".,"))
        return " "

    return _CODE.sub(blank, text), found


@dataclass
class Evidence:
    """What the passages state, indexed for checking answers against them."""

    clauses: list[Clause] = field(default_factory=list)
    stated: list[Figure] = field(default_factory=list)
    codes: set[str] = field(default_factory=set)
    affirmed: set[str] = field(default_factory=set)  # words some clause affirms
    mentioned: set[str] = field(default_factory=set)  # words of any clause
    denied_only: set[str] = field(default_factory=set)  # "cash" in "we do not accept cash"
    # Each passage's figures and words: a figure counts as stated by a passage that is about
    # what the answer's sentence is about ("2-3 business days" for restoring 2FA access does
    # not support "standard shipping takes 2-3 business days").
    figures: list[tuple[FigureIndex, set[str]]] = field(default_factory=list)
    question_figures: FigureIndex = field(default_factory=lambda: FigureIndex([]))
    question_words: set[str] = field(default_factory=set)
    question_codes: set[str] = field(default_factory=set)
    weight: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, passages: Sequence[Passage], question: str = "") -> Evidence:
        """Index ``passages`` (and what the customer said, for denials and codes)."""
        evidence = cls()
        question = question[:QUESTION_CHARS]
        for passage in passages:
            passage = passage.model_copy(update={"text": passage.text[:PASSAGE_CHARS]})
            first = len(evidence.stated)
            evidence._add(" ".join(passage.title.split(" > ")))
            for unit in passage_units(_plain(passage.text), passage.title):
                evidence._add(unit.text, unit.lead)
            words = term_forms(f"{passage.title} {passage.text}")
            evidence.figures.append((FigureIndex(evidence.stated[first:]), words))
        asked, evidence.question_codes = _codes(_plain(question))
        evidence.question_figures = FigureIndex(figures(asked))
        evidence.question_words = term_forms(asked)
        for clause in evidence.clauses:
            evidence.mentioned |= clause.words
            evidence.affirmed |= clause.words - clause.predicate if clause.denies else clause.words
        evidence.denied_only = evidence.mentioned - evidence.affirmed
        total = len(evidence.clauses)
        counts: dict[str, int] = {}
        for clause in evidence.clauses:
            for word in clause.words:
                counts[word] = counts.get(word, 0) + 1
        evidence.weight = {w: math.log(1 + total / n) for w, n in counts.items()}
        return evidence

    def _add(self, text: str, lead: str = "") -> None:
        text, codes = _codes(text)
        self.codes |= codes
        self.stated += figures(text)
        self.clauses += [Clause.read(in_list(lead, part)) for part in split_clauses(text)]

    def states(self, figure: Figure, about: set[str]) -> bool:
        """True when a passage sharing a word with ``about`` (any passage, when ``about`` has
        no words) states ``figure``."""
        return any(
            index.supports(figure) and (words & about or not about) for index, words in self.figures
        )

    def closest(self, clause: Clause) -> list[Clause]:
        """The passage clauses sharing most (rare) words with ``clause``; none if none does."""
        best, found = 0.0, []
        for candidate in self.clauses:
            overlap = sum(self.weight[w] for w in clause.words & candidate.words)
            if overlap > best + 1e-9:
                best, found = overlap, [candidate]
            elif overlap > 0 and abs(overlap - best) <= 1e-9:
                found.append(candidate)
        return found


def _names(sentence: str, is_item: bool) -> Iterable[tuple[str, int]]:
    """Capitalised words and runs of them ("American Express"), with where they start.

    A sentence's first word is capitalised anyway, so it counts only when it cannot be an
    ordinary word: written like a brand ("PayPal", "UPS"), part of a run, or a short list item.
    """
    words = list(_WORD.finditer(sentence))
    starts = {len(sentence) - len(sentence.lstrip())}
    starts |= {m.end() for m in re.finditer(r"[:.!?]\s++", sentence)}
    run: list[re.Match[str]] = []
    for match in [*words, None]:
        if match is not None and match.group()[0].isupper() and match.group() not in _NOT_NAMES:
            run.append(match)
            continue
        opening = bool(run) and run[0].start() in starts
        while len(run) > 1 and not terms_of(run[0].group()):
            run = run[1:]  # "Our Diamond tier": "Our" is no part of the name
        if run:
            brand = any(c.isupper() for c in run[0].group()[1:])
            short_item = is_item and len(words) <= SHORT_ITEM_WORDS
            if not opening or brand or len(run) > 1 or short_item:
                yield " ".join(m.group() for m in run), run[0].start()
            run = []


@dataclass
class Checker:
    """Checks an answer sentence by sentence, remembering the lead of a list being written."""

    evidence: Evidence
    _lead: str = ""

    def check(self, sentence: str) -> list[str]:
        """What ``sentence`` claims that the passages do not support (empty: supported)."""
        text = _plain(sentence)
        is_item = bool(_LIST_MARK.match(text))
        text = _LIST_MARK.sub("", text).strip()
        if not text:
            return []
        lead = self._lead if is_item else ""
        if not is_item:
            self._lead = text if text.endswith((":", "：")) else ""
        text, codes = _codes(text)
        problems = [c for c in codes if c not in self.evidence.codes | self.evidence.question_codes]
        if _NOT_KNOWING.search(text):
            return problems  # "I'm not sure" claims nothing
        text = _COURTESY.sub(" ", text)
        lead_negated = bool(lead) and negated_from(lead) < len(lead)
        about = term_forms(f"{lead} {text}") - _GENERIC_FORMS
        for part in split_clauses(text):
            denial_from = 0 if lead_negated else negated_from(part)
            problems += self._figures(part, lead_negated, about)
            problems += self._names(part, denial_from, is_item)
            problems += self._rule(part, Clause.read(in_list(lead, part)))
        return list(dict.fromkeys(problems))

    def _figures(self, part: str, lead_negated: bool, about: set[str]) -> list[str]:
        text = normalised(part)
        denial_from = 0 if lead_negated else negated_from(text)
        unsupported = []
        for figure in figures(text, ready=True):
            if self.evidence.states(figure, about):
                continue
            denial = figure.start >= denial_from
            if not (denial and self.evidence.question_figures.supports(figure)):
                unsupported.append(figure.text)
        return unsupported

    def _names(self, part: str, denial_from: int, is_item: bool) -> list[str]:
        """An affirmed name must be affirmed by a passage; a denied one mentioned by a passage
        or by the customer."""
        unsupported = []
        for name, start in _names(part, is_item):
            if start >= denial_from:
                known = self.evidence.mentioned | self.evidence.question_words
            else:
                known = self.evidence.affirmed
            if not all(term_forms(word) & known for word in name.split() if terms_of(word)):
                unsupported.append(name)
        return unsupported

    def _rule(self, part: str, clause: Clause) -> list[str]:
        """A stated rule needs a passage clause on the same subject that does not say the
        opposite; any clause that contradicts its closest passage clause is unsupported, and
        so is one that affirms what the passages only ever deny ("... including cash on
        delivery" against "we do not accept cash on delivery")."""
        if not clause.words:
            return []
        if not clause.denies and clause.words & self.evidence.denied_only:
            return [part.strip()]
        closest = self.evidence.closest(clause)
        if not closest:
            # A denial of what only the customer brought up ("it does not take 15 days")
            # needs no passage; any other rule does.
            echo = clause.denies and clause.predicate & self.evidence.question_words
            return [part.strip()] if _RULE.search(part) and not echo else []
        if clause.free and not any(c.free for c in closest):
            return [part.strip()]
        if all(contradicts(clause, c) for c in closest):
            return [part.strip()]
        return []


def stated_figures(answer: str) -> list[Figure]:
    """The figures an answer states: list numbers ("1.") and citations ("[1]") are none."""
    lines = (_LIST_MARK.sub("", _plain(line)) for line in answer.splitlines())
    return [f for line in lines for f in figures(_codes(line)[0])]


def worst_of(first: Grounding | None, second: Grounding | None) -> Grounding | None:
    """The turn's mark when it has several generated parts: the most serious verdict."""
    marks = [m for m in (first, second) if m is not None]
    return min(marks, key=GROUNDING_SEVERITY.index) if marks else None
