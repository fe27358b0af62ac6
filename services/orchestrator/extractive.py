"""The built-in answerer used when no LLM is configured: quotes the best-matching sentences."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from shared.events import Passage
from shared.text import sentences, tokenize

MAX_SENTENCES = 3
_ASKS_FOR_A_FIGURE = re.compile(
    r"\b(how (much|long|many|soon|fast)|when|what time|which days?|price|cost|fee)\b|多少|多久|几天",
    re.IGNORECASE,
)
_FIGURE = re.compile(r"\d")
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
    figure_bonus = 1.0 if _ASKS_FOR_A_FIGURE.search(question) else 0.0
    scored: list[tuple[float, int, int, str]] = []
    for p_rank, s_rank, sentence, terms in candidates:
        overlap = sum(weight[t] for t in wanted & terms)
        if overlap:
            # "How much / how long" questions are answered by the sentence with the figure.
            overlap += figure_bonus if _FIGURE.search(sentence) else 0.0
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
