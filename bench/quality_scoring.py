"""Scoring one chat reply against its case, and summing items up per data set and language.

The measures are the bench's own and deliberately use none of the product's text helpers:
a change to the product's tokenizer must not move the ruler it is measured with.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from bench.quality_data import Case

# A reply states a gold answer when it quotes the answer's leading statement, or holds at
# least this share of the answer's content terms (a paraphrase, or a reply that is all there).
FACT_RECALL = 0.5
# The leading statement is the answer's first sentence with at least this many content terms
# (so "Yes." alone never counts: the sentence after it does).
LEAD_TERMS = 4
HIT_DEPTH = 3
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")
_STOPWORDS = frozenset(
    "a an and are as at be been but by can do does for from has have how i if in into is it "
    "its may me more must my no not of on or our so such than that the their them then there "
    "these they this to up us was we what when where which who why will with within without "
    "would you your yes".split()
)


def normalise(text: str) -> str:
    """Compatibility forms folded, Markdown emphasis dropped, case and whitespace ignored."""
    text = unicodedata.normalize("NFKC", text).replace("**", "")
    return _SPACE.sub(" ", text.casefold()).strip()


def content_terms(text: str) -> set[str]:
    """Words other than stopwords, and character bigrams of Chinese runs."""
    text = normalise(text)
    terms = set()
    for run in _CJK.findall(text):
        terms.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    for word in _WORD.findall(_CJK.sub(" ", text)):
        if word not in _STOPWORDS and (len(word) > 1 or word.isdigit()):
            terms.add(word)
    return terms


def recall(reply: str, answer: str) -> float:
    """Share of the answer's content terms that the reply contains."""
    wanted = content_terms(answer)
    return len(wanted & content_terms(reply)) / len(wanted) if wanted else 0.0


def contains_fact(reply: str, fact: str) -> bool:
    """The fact appears in the reply, and a number in it as a whole number: "15" is not
    found in "150", and "24" not in "RMA-2024-00123" or a ticket id."""
    fact = normalise(fact)
    before = r"(?<![0-9a-z])" if fact[:1].isdigit() else ""
    after = r"(?![0-9])" if fact[-1:].isdigit() else ""
    return bool(fact) and re.search(before + re.escape(fact) + after, normalise(reply)) is not None


def leading_statement(answer: str) -> str:
    """The answer's first sentence that says something on its own (normalised)."""
    parts = [p.strip() for p in _SENTENCE_END.split(normalise(answer)) if p.strip()]
    lead = next(
        (p for p in parts if len(content_terms(p)) >= LEAD_TERMS), parts[0] if parts else ""
    )
    return lead.rstrip(".!?。！？ ")


def states(reply: str, answer: str) -> bool:
    """True when the reply quotes the answer's leading statement or covers enough of it."""
    lead = leading_statement(answer)
    return bool(lead) and lead in normalise(reply) or recall(reply, answer) >= FACT_RECALL


def cited_pages(data: dict[str, Any]) -> list[str]:
    """Distinct pages the reply cites, best first (references, else sources)."""
    references = [r.get("doc_name", "") for r in data.get("references") or []]
    return list(dict.fromkeys(references or data.get("sources") or []))


def score(case: Case, status: int, body: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The item record of one asked case: route, rank of the right page, fact stated."""
    data = (body.get("data") or {}) if status == 200 else {}
    reply = body.get("reply", "") if status == 200 else ""
    pages = cited_pages(data)
    rank = pages.index(case.doc) + 1 if case.doc in pages else None
    best_recall = max((recall(reply, a) for a in case.answers), default=None)
    if case.facts:
        fact: bool | None = any(contains_fact(reply, f) for f in case.facts)
    elif case.answers:
        fact = any(states(reply, answer) for answer in case.answers)
    else:
        fact = None
    return {
        "id": case.id,
        "dataset": case.dataset,
        "split": case.split,
        "lang": case.lang,
        "question": None if case.private else case.question,
        "status": status,
        "expected_intent": case.intent,
        "intent": data.get("intent"),
        "routed": data.get("intent") == case.intent,
        "doc": case.doc,
        "cited": pages,
        "rank": rank,
        "fact": fact,
        "recall": None if best_recall is None else round(best_recall, 3),
        "reply": reply,
        "seconds": round(seconds, 4),
    }


def _share(flags: Iterable[bool]) -> float | None:
    flags = list(flags)
    return round(sum(flags) / len(flags), 4) if flags else None


def figures(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Routing accuracy, hit@1, hit@3, MRR, fact stated and all three, over some items."""
    judged = [i for i in items if i["doc"] is not None]
    ranked = [i["rank"] for i in judged]
    facts = [i for i in items if i["fact"] is not None]
    return {
        "n": len(items),
        "routed": _share(i["routed"] for i in items),
        "hit@1": _share(r == 1 for r in ranked),
        f"hit@{HIT_DEPTH}": _share(r is not None and r <= HIT_DEPTH for r in ranked),
        "mrr": round(statistics.fmean(1 / r if r else 0.0 for r in ranked), 4) if ranked else None,
        "fact": _share(i["fact"] for i in facts),
        "all": _share(
            i["routed"] and i["rank"] is not None and i["rank"] <= HIT_DEPTH and bool(i["fact"])
            for i in judged
        )
        if facts
        else None,
        "errors": sum(i["status"] != 200 for i in items),
        "wrong_routes": dict(Counter(str(i["intent"]) for i in items if not i["routed"])),
        "p50_s": round(statistics.median(i["seconds"] for i in items), 3) if items else None,
    }


def summarise(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Figures per data set, split and language, in the items' order."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault((item["dataset"], item["split"], item["lang"]), []).append(item)
    return [
        {"dataset": d, "split": s, "lang": lang, **figures(members)}
        for (d, s, lang), members in groups.items()
    ]
