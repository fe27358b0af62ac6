"""The built-in answerer used when no LLM is configured: quotes the best-matching sentences."""

from __future__ import annotations

from collections.abc import Sequence

from shared.events import Passage
from shared.text import sentences, tokenize

MAX_SENTENCES = 3
MAX_ANSWER_CHARS = 600


def _doc_title(passage: Passage) -> str:
    return passage.title.split(" > ")[0]


def extractive_answer(question: str, passages: Sequence[Passage]) -> str:
    """A grounded reply built from the passages' sentences that share most with the question."""
    wanted = set(tokenize(question))
    scored: list[tuple[float, int, int, str]] = []
    for p_rank, passage in enumerate(passages[:2]):
        for s_rank, sentence in enumerate(sentences(passage.text)):
            overlap = len(wanted & set(tokenize(sentence)))
            if overlap:
                # The top passage is trusted more; earlier sentences usually state the rule.
                scored.append((overlap - 0.5 * p_rank - 0.01 * s_rank, p_rank, s_rank, sentence))
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
