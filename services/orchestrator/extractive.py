"""The built-in answerer used when no LLM is configured: quotes the best-matching sentences."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from shared.events import Passage
from shared.text import sentences, tokenize

MAX_SENTENCES = 3
# A "how long" question is answered by a duration, a "how much" question by a price.
# Figures are matched from the first digit of a number only (``(?<!\d)``), with possessive
# quantifiers: a run of digits is read once, not once per way of splitting it (cubic).
_FIGURES = (
    (
        re.compile(
            r"\b(how (long|soon|fast|quickly)|when|what time|which days?)\b|多久|几天|什么时候",
            re.IGNORECASE,
        ),
        re.compile(
            r"(?<!\d)\d++\s*+(?:(?:-|to|–)\s*+)?\d*+\s*+(?:business |working )?"
            r"(?:days?|weeks?|hours?|minutes?|months?)\b|(?<!\d)\d++\s*+(?:天|小时|个?工作日)"
            r"|\d{1,2}:\d{2}",
            re.IGNORECASE,
        ),
    ),
    (
        re.compile(r"\b(how much|cost|price|fee|charge)\b|多少钱|费用|运费", re.IGNORECASE),
        re.compile(r"[$€¥£]\s?\d|(?<!\d)\d++(?:\.\d++)?\s?(?:usd|eur|rmb|元)", re.IGNORECASE),
    ),
    (re.compile(r"\bhow many\b|多少", re.IGNORECASE), re.compile(r"\d")),
)
FIGURE_BONUS = 1.5
# In "how do I return the charger?" the task (return) matters more than its object.
_TASK = re.compile(r"\bhow (?:do|can|should|would|could) (?:i|we|you) (\w+)|\bhow to (\w+)", re.I)
MAX_ANSWER_CHARS = 600


def _doc_title(passage: Passage) -> str:
    return passage.title.split(" > ")[0]


def extractive_answer(question: str, passages: Sequence[Passage]) -> str:
    """A grounded reply built from the passages' sentences that share most with the question."""
    wanted = set(tokenize(question))
    candidates = [
        (p_rank, s_rank, sentence, set(tokenize(sentence)))
        for p_rank, passage in enumerate(passages[:2])
        for s_rank, sentence in enumerate(sentences(passage.text))
    ]
    # Rare question words say more about what was asked than words every sentence shares.
    weight = {
        term: math.log(1 + len(candidates) / (1 + sum(term in c[3] for c in candidates)))
        for term in wanted
    }
    task = _TASK.search(question)
    if task:
        for term in tokenize(task.group(1) or task.group(2)):
            if term in weight:
                weight[term] *= 2
    figure = next((answer for asks, answer in _FIGURES if asks.search(question)), None)
    # A section whose heading names what was asked ("How to start a return") is on topic.
    on_topic = [0.5 * sum(weight[t] for t in wanted & set(tokenize(p.title))) for p in passages[:2]]
    scored: list[tuple[float, int, int, str]] = []
    for p_rank, s_rank, sentence, terms in candidates:
        overlap = sum(weight[t] for t in wanted & terms)
        if overlap:
            overlap += on_topic[p_rank]
            # "How much / how long" questions are answered by the sentence with the figure.
            overlap += FIGURE_BONUS if figure is not None and figure.search(sentence) else 0.0
            # The top passage is trusted more; earlier sentences usually state the rule.
            scored.append((overlap - 0.3 * p_rank - 0.01 * s_rank, p_rank, s_rank, sentence))
    if not scored:
        best = sentences(passages[0].text)[:2]
        return f"According to our {_doc_title(passages[0])}: {' '.join(best)}"
    chosen = sorted(scored, reverse=True)[:MAX_SENTENCES]
    chosen.sort(key=lambda item: (item[1], item[2]))
    text = ""
    for *_, sentence in chosen:
        if text and len(text) + len(sentence) > MAX_ANSWER_CHARS:
            break
        text += (" " if text else "") + sentence.rstrip()
    return f"According to our {_doc_title(passages[chosen[0][1]])}: {text}"
