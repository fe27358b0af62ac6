"""The built-in answerer used when no LLM is configured: quotes what answers the question asked.

It reads the passages as sentences, list items and table rows (units.py) and picks by what was
asked (questions.py): "which methods" gets the list, "how long" the duration, "how much" the
price, a yes/no question the rule, "tell me about ..." the page's key table or list. The quote
comes from one page, so it reads as one answer, and names that page: the retriever's best, or
for a Chinese question the page whose passage names most of its words, in Chinese or through
their English senses (the retriever ranks the few Chinese sections first whether they answer
or not). English sentences are quoted after a short Chinese lead-in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.orchestrator.figures import figures
from services.orchestrator.questions import Question, forms, forms_and_synonyms, terms_of
from services.orchestrator.units import PASSAGE_CHARS, Unit, passage_units
from shared.events import Passage
from shared.text import mostly_chinese

MAX_PASSAGES = 4
# A Chinese question reads further into English passages: the retriever ranks the few
# Chinese sections, and the overview it shares words with, above the English one that answers.
MAX_PASSAGES_ACROSS = 6
MAX_UNITS = 4  # sentences quoted for a specific question
MAX_ITEMS = 8  # list items or table rows quoted for a list or an overview
MAX_ANSWER_CHARS = 700
FIGURE_BONUS = 1.5
HEADING_BONUS = 0.5
# A list answers "which ..." unless a sentence matches the question this much better.
LIST_MARGIN = 1.0
RANK_PENALTY = 0.35
# Dictionary words are a weaker match than the customer's own, so for a Chinese question on
# English pages the retriever's ranking counts more.
CROSS_LINGUAL_RANK_PENALTY = 0.6
# A Chinese question is answered in Chinese when a Chinese section says as much.
SAME_LANGUAGE_BONUS = 0.5
# The retriever's best page is the one to quote; another page must match far better.
OTHER_PAGE_PENALTY = 1.5
# "This page explains how to ..." describes the page; it never answers.
_ABOUT_THE_PAGE = re.compile(r"\bthis (?:page|section|article)\b|本页", re.IGNORECASE)
# A section whose heading names the kind of answer asked for ("Warranty length", "Shipping
# options and costs") is where that answer is.
_KIND_HEADINGS = {
    "duration": re.compile(
        r"\b(?:length|long|times?|timelines?|windows?|hours|period|days|expiry)\b", re.I
    ),
    "price": re.compile(r"\b(?:costs?|prices?|fees?|charges?|pricing)\b", re.I),
    "count": re.compile(r"\b(?:limits?|minimum|maximum)\b", re.I),
}
_FIGURE_ASKS = frozenset({"duration", "price", "count"})
_FIGURE_UNITS = {"duration": ("s", "time"), "price": ("USD", "EUR", "CNY", "GBP", "%")}
# "What's the minimum password length?" is answered by "at least 10 characters": a question
# asking for a bound meets the words that state one.
_BOUNDS = (
    (
        re.compile(r"\b(?:minimum|min|at least|fewest|shortest)\b|最少|至少|最低|最短", re.I),
        re.compile(r"\b(?:at least|minimum|or more)\b|至少|最少|最低|以上", re.I),
    ),
    (
        re.compile(r"\b(?:maximum|max|at most|most|up to|longest)\b|最多|最高|最长|上限", re.I),
        re.compile(r"\b(?:up to|maximum|at most|no more than)\b|最多|最高|最长|不超过", re.I),
    ),
)
BOUND_BONUS = 1.0
# "Which languages ...?" is answered by naming languages, as "how much" is by a price.
_ASKS_LANGUAGE = re.compile(r"\blanguages?\b|语言|语种", re.IGNORECASE)
_LANGUAGE_NAMES = re.compile(
    r"\b(?:English|Chinese|Mandarin|Cantonese|German|French|Spanish|Italian|Portuguese|Dutch|"
    r"Japanese|Korean|Russian|Arabic|Swedish)\b"
    r"|中文|英文|英语|汉语|普通话|粤语|德语|法语|西班牙语|日语|韩语",
    re.IGNORECASE,
)
_RULE = re.compile(
    r"\b(?:can|cannot|can't|not|no|never|only|must|free|always|available|unavailable|allowed)\b"
    r"|不|可以|可|免|只|须",
    re.IGNORECASE,
)


@dataclass
class _Candidate:
    unit: Unit
    rank: int
    page: str  # the passage's document
    section: str
    forms: set[str]
    context: set[str]  # forms of the list's lead and the section's heading
    elsewhere: bool  # from another page than the best passage's
    # Its passage's rank among the passages in its language: for a Chinese question the
    # retriever ranks the few Chinese sections first, whether they answer or not.
    rank_in_language: int = 0
    score: float = field(default=0.0)


def _doc_title(passage: Passage) -> str:
    return passage.title.split(" > ")[0]


def _all_forms(text: str) -> set[str]:
    return {f for term in terms_of(text) for f in forms(term)}


def _in_language(question: Question, passages: Sequence[Passage]) -> list[int]:
    """Ranks of the passages to quote: an English question is answered from English text, a
    Chinese one from the Chinese sections of the retriever's best page and from the English
    passages, whichever holds what it asks (the Chinese summary of the returns page does not
    say how long a card refund takes; the refund page does). A Chinese section of another
    page answers another question ("发邮件多久回复" is not about the returns page's 7 天)."""
    chinese = {i for i, p in enumerate(passages) if mostly_chinese(p.text)}
    best_page = passages[0].doc_name if passages else ""
    wanted = [
        i
        for i, p in enumerate(passages)
        if i not in chinese
        or question.chinese
        and (p.doc_name == best_page or _names_every_word(question, p.text))
    ]
    return wanted or list(range(len(passages)))


def _names_every_word(question: Question, text: str) -> bool:
    """True when ``text`` holds each of the question's Chinese words of two or more characters
    (满多少包邮: the shipping page's Chinese section says 包邮, whichever page ranks first)."""
    words = [c.word for c in question.concepts if len(c.word) > 1 and not c.word.isascii()]
    return bool(words) and all(word in text for word in words)


def _best_page(question: Question, passages: Sequence[Passage], ranks: list[int]) -> str:
    """The page to quote: the retriever's best, unless the question asks how to do something
    ("how do I return the charger?") and a lower passage's heading names that task."""
    if question.task:
        for rank in ranks:
            if forms(question.task) & _all_forms(passages[rank].title):
                return passages[rank].doc_name
    return passages[ranks[0]].doc_name


def _candidates(question: Question, passages: Sequence[Passage]) -> list[_Candidate]:
    found = []
    ranks = _in_language(question, passages)
    page = _best_page(question, passages, ranks)
    seen = {True: 0, False: 0}  # passages so far in Chinese, in English
    for rank in ranks:
        passage = passages[rank]
        section = passage.title.split(" > ")[-1]
        elsewhere = passage.doc_name != page
        chinese = mostly_chinese(passage.text)
        for unit in passage_units(passage.text[:PASSAGE_CHARS], passage.title):
            context = _all_forms(f"{unit.lead} {section}")
            found.append(
                _Candidate(
                    unit,
                    rank,
                    passage.doc_name,
                    section,
                    _all_forms(unit.text),
                    context,
                    elsewhere,
                    seen[chinese],
                )
            )
        seen[chinese] += 1
    return found


def _wanted_figure(question: Question, text: str) -> bool:
    """True when ``text`` states the kind of figure the question asks for."""
    found = figures(text)
    units = {u for kind in question.asks for u in _FIGURE_UNITS.get(kind, ())}
    return bool(found) and ("count" in question.asks or any(f.unit in units for f in found))


def _score(question: Question, candidates: list[_Candidate]) -> list[_Candidate]:
    """Score the units that share a word with the question (every unit, for a Chinese question
    on English pages, where the dictionary may miss); rare words count most."""
    vocabulary = {f for c in candidates for f in c.forms}
    question = question.split_compounds(vocabulary).mend_typos(vocabulary)
    wanted = {term: forms_and_synonyms(term) for term in question.terms}
    if question.task in question.terms:  # in "how do I return the charger?" the task counts most
        question.terms[question.task] *= 2
    total = len(candidates)
    weight = {
        term: question.terms[term]
        * math.log(1 + total / (1 + sum(bool(fs & (c.forms | c.context)) for c in candidates)))
        for term, fs in wanted.items()
    }
    rarity = [
        math.log(1 + total / (1 + sum(k.match(c.forms | c.context) > 0 for c in candidates)))
        for k in question.concepts
    ]
    bounds = [says for ask, says in _BOUNDS if ask.search(question.text)]
    if _ASKS_LANGUAGE.search(question.text):
        bounds.append(_LANGUAGE_NAMES)
    first_page = candidates[0].page if candidates else ""
    scored = []
    for c in candidates:
        if question.concepts:
            overlap = _concept_overlap(question, rarity, c)
        else:
            overlap = sum(weight[t] for t, fs in wanted.items() if fs & c.forms)
            overlap += 0.5 * sum(
                weight[t] for t, fs in wanted.items() if fs & c.context and not fs & c.forms
            )
        if overlap <= 0 and not question.chinese or _ABOUT_THE_PAGE.search(c.unit.text):
            continue
        bonus = FIGURE_BONUS if question.asks and _wanted_figure(question, c.unit.text) else 0.0
        if any(_KIND_HEADINGS[k].search(c.section) for k in question.asks & _KIND_HEADINGS.keys()):
            bonus += HEADING_BONUS
        if any(says.search(c.unit.text) for says in bounds):
            bonus += BOUND_BONUS
        if "yes_no" in question.asks and _RULE.search(c.unit.text):
            bonus += 0.5
        if "list" in question.asks and c.unit.kind == "item":
            bonus += 0.5
        if overlap <= 0:
            bonus *= 0.5  # a Chinese question with no word in common: the figure still helps
        cross = question.chinese and not mostly_chinese(c.unit.text)
        penalty = CROSS_LINGUAL_RANK_PENALTY if cross else RANK_PENALTY
        if question.chinese and not cross and c.page == first_page:
            bonus += SAME_LANGUAGE_BONUS
        rank = c.rank_in_language if question.chinese else c.rank
        c.score = overlap + bonus - penalty * rank - 0.02 * c.unit.position
        scored.append(c)
    if question.chinese and scored and not question.task:
        # Across languages the retriever's first page is often the one in the customer's
        # language, not the one that answers: the page quoted is the best-matching unit's.
        page = max(scored, key=lambda c: c.score).page
        for c in candidates:
            c.elsewhere = c.page != page
    for c in scored:
        c.score -= OTHER_PAGE_PENALTY if c.elsewhere else 0.0
    return scored


def _concept_overlap(question: Question, rarity: list[float], c: _Candidate) -> float:
    """How much of a Chinese question a unit names, in Chinese or in English, rare words most."""
    overlap = 0.0
    for concept, weight in zip(question.concepts, rarity, strict=True):
        named = concept.match(c.forms)
        overlap += weight * max(named, 0.5 * concept.match(c.context))
    return overlap


def _answer_of_kind(question: Question, scored: list[_Candidate], best: _Candidate) -> _Candidate:
    """For a Chinese question on English pages, whose dictionary words match loosely: the best
    unit on the best page stating the kind of figure asked for ("多久" -> a duration), when the
    best match states none. In one language the figure bonus (FIGURE_BONUS) is enough."""
    cross = question.chinese and not mostly_chinese(best.unit.text)
    if not cross or not _FIGURE_ASKS & question.asks or _wanted_figure(question, best.unit.text):
        return best
    if "yes_no" in question.asks and _RULE.search(best.unit.text):
        return best  # "礼品卡会过期吗" is answered by "gift cards do not expire"
    typed = [
        c
        for c in scored
        if not c.elsewhere
        and not mostly_chinese(c.unit.text)
        and _wanted_figure(question, c.unit.text)
    ]
    return max(typed, key=lambda c: c.score) if typed else best


def _block(candidates: list[_Candidate], member: _Candidate) -> list[_Candidate]:
    return [c for c in candidates if c.rank == member.rank and c.unit.block == member.unit.block]


def _names_languages_elsewhere(
    question: Question, structured: list[_Candidate], sentences: list[_Candidate]
) -> bool:
    """ "Which languages ...?" when only a sentence names any: a list naming none is not it."""
    if not _ASKS_LANGUAGE.search(question.text):
        return False
    names = [c for c in structured + sentences if _LANGUAGE_NAMES.search(c.unit.text)]
    return bool(names) and all(c.unit.kind == "sentence" for c in names)


def _structured(
    question: Question, scored: list[_Candidate], everything: list[_Candidate]
) -> list[_Candidate] | None:
    """For a list or an overview: the list or table that answers, with its opening sentence."""
    structured = [c for c in scored if c.unit.kind != "sentence" and c.score > 0]
    sentences = [c for c in scored if c.unit.kind == "sentence"]
    best_sentence = max((c.score for c in sentences), default=0.0)
    if (
        not structured
        or "list" in question.asks
        and best_sentence > max(c.score for c in structured) + LIST_MARGIN
    ):
        # "Which currencies are invoices issued in?": one sentence names them.
        return None
    if _names_languages_elsewhere(question, structured, sentences):
        return None
    if "overview" in question.asks:
        # A page's key facts are in its tables and lists: the one stating most figures.
        def facts(c: _Candidate) -> tuple[float, float]:
            stated = sum(bool(figures(b.unit.text)) for b in _block(everything, c))
            return (stated + (c.unit.kind == "row") - RANK_PENALTY * c.rank, c.score)

        best = max(structured, key=facts)
    else:
        best = max(structured, key=lambda c: c.score)
    block = _block(everything, best)[:MAX_ITEMS]
    before = [
        c
        for c in everything
        if c.rank == best.rank
        and c.unit.kind == "sentence"
        and c.unit.position < block[0].unit.position
    ]
    opening = [c for c in before[-1:] if c in scored and not _ABOUT_THE_PAGE.search(c.unit.text)]
    return opening + block


def _choose(
    question: Question, scored: list[_Candidate], everything: list[_Candidate]
) -> list[_Candidate]:
    """The units that answer the question, in the order the passage has them."""
    if {"list", "overview"} & question.asks and (
        chosen := _structured(question, scored, everything)
    ):
        return chosen
    best = _answer_of_kind(question, scored, max(scored, key=lambda c: c.score))
    if question.task and best.unit.kind == "item":
        return _block(everything, best)[:MAX_ITEMS]  # "how do I ...": all the steps
    if best.unit.text.endswith((":", "：")):
        # "If a battery swells, leaks, smokes or gets very hot:" introduces the steps.
        following = [
            c for c in everything if c.rank == best.rank and c.unit.block == best.unit.block + 1
        ]
        if following and following[0].unit.kind == "item":
            return [best] + following[:MAX_ITEMS]
    if not question.asks - {"yes_no"}:
        # A plain question: the best-matching sentences of the two best passages, whichever
        # page they are on (the answer may be split across them).
        if question.chinese:
            # Across languages the retriever's order says less: the passages that match best.
            by_score = sorted((c for c in scored if not c.elsewhere), key=lambda c: -c.score)
            top_two = set(list(dict.fromkeys(c.rank for c in by_score))[:2])
        else:
            # The retriever's two best; the best match's page is read whole below.
            top_two = set(sorted({c.rank for c in scored})[:2])
        # For a Chinese question every unit is scored; one that matches nothing (a Chinese
        # section's other items) is left out. An English passage's next sentence is not.
        plain = sorted(
            (
                c
                for c in scored
                if (c.rank in top_two or c.page == best.page)
                and (c is best or c.score > 0 or not question.chinese)
            ),
            key=lambda c: c.score + OTHER_PAGE_PENALTY * c.elsewhere,
            reverse=True,
        )[:MAX_UNITS]
        return sorted(plain, key=lambda c: (c.rank, c.unit.position))
    chosen = [best]
    if best.unit.kind == "sentence":
        # A paragraph states its point first: quote its opening with the matching sentence.
        opening = next(c for c in _block(everything, best))
        if opening is not best and not _ABOUT_THE_PAGE.search(opening.unit.text):
            chosen.append(opening)
    if _FIGURE_ASKS & question.asks and not _wanted_figure(question, best.unit.text):
        # "If you lose your phone and your backup codes, contact support. ... Restoring access
        # takes 2-3 business days.": the figure asked for may come later in the paragraph.
        later = (c for c in _block(everything, best) if c.unit.position > best.unit.position)
        stating = next((c for c in later if _wanted_figure(question, c.unit.text)), None)
        if stating is not None:
            chosen.append(stating)
    floor = max(best.score, 0.0) * 0.55
    others = sorted(
        (c for c in scored if c.rank == best.rank and c not in chosen and c.score >= floor > 0),
        key=lambda c: c.score,
        reverse=True,
    )
    chosen += others[: MAX_UNITS - len(chosen)]
    return sorted(chosen, key=lambda c: c.unit.position)


def _render(units: Sequence[Unit]) -> str:
    """Sentences run on; list items and table rows go on their own lines."""
    text, listing = "", False
    for unit in units:
        line = unit.text
        if unit.kind == "row":
            cells = [cell.partition(": ")[2] for cell in line.rstrip(".").split("; ")]
            line = f"{cells[0]}: {cells[1]}" if len(cells) == 2 else line
        if unit.kind == "sentence":
            text += ("\n" if listing else " " if text else "") + line
            listing = False
        else:
            text += ("\n" if text else "") + f"- {line}"
            listing = True
    return text


def _fit(units: Sequence[Unit]) -> list[Unit]:
    """As many units as fit; a Chinese character says about as much as three English ones."""
    kept: list[Unit] = []
    size = 0
    for unit in units:
        width = len(unit.text) * (3 if mostly_chinese(unit.text) else 1) + 1
        if kept and size + width > MAX_ANSWER_CHARS:
            break
        kept.append(unit)
        size += width
    return kept


def _lead_in(question: Question, passage: Passage) -> str:
    title = _doc_title(passage)
    if not question.chinese:
        return f"According to our {title}:"
    if mostly_chinese(passage.text):
        return f"根据我们的《{title}》："
    return f"我们的《{title}》页面（英文）写道："


def _quote(question: Question, passage: Passage, units: Sequence[Unit]) -> str:
    units = _fit(units)
    separator = "\n" if units and units[0].kind != "sentence" else " "
    return f"{_lead_in(question, passage)}{separator}{_render(units)}"


def extractive_answer(question: str, passages: Sequence[Passage]) -> str:
    """A reply quoted from the passages that answers ``question``, naming its page."""
    asked = Question.read(question)
    further = passages[MAX_PASSAGES:MAX_PASSAGES_ACROSS] if asked.chinese else []
    passages = [*passages[:MAX_PASSAGES], *(p for p in further if not mostly_chinese(p.text))]
    everything = _candidates(asked, passages)
    scored = _score(asked, everything)
    if not any(not c.elsewhere for c in scored):
        # Nothing on the best page shares a word with the question ("can I swap it" against
        # "you can exchange ..."): the retriever matched its meaning, so quote its opening.
        top = passages[_in_language(asked, passages)[0]]
        opening = [
            u
            for u in passage_units(top.text[:PASSAGE_CHARS], top.title)
            if not _ABOUT_THE_PAGE.search(u.text)
        ]
        return _quote(
            asked, top, opening[:2] or passage_units(top.text[:PASSAGE_CHARS], top.title)[:2]
        )
    chosen = _choose(asked, scored, everything)
    return _quote(asked, passages[chosen[0].rank], [c.unit for c in chosen])
