"""Tokenising for search and extractive answers: English words, CJK bigrams or jieba words."""

from __future__ import annotations

import re
import unicodedata

from shared.segmentation import chinese_words

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[\u3400-\u9fff\uf900-\ufaff]+")
CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n+")

STOPWORDS = frozenset(
    """a about above after again all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is
    it its itself just me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself
    yourselves please hi hello thanks thank get got want need know tell much many also
    的 了 吗 呢 吧 我 你 是 在 有 和 请 问""".split()
)


def is_cjk(token: str) -> bool:
    """True for a token of Chinese, Japanese or Korean ideographs."""
    return bool(CJK_CHAR.match(token))


def mostly_chinese(text: str) -> bool:
    """True when most of the text's tokens are Chinese (or other CJK) words."""
    tokens = tokenize(text, keep_stopwords=True)
    return bool(tokens) and sum(map(is_cjk, tokens)) * 2 > len(tokens)


def _stem(word: str) -> str:
    # Plural and -ing forms are the mismatches customers hit most; anything fancier is the
    # embedding side's job.
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, keep in (("ies", "y"), ("ing", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + keep
    return word


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Lowercased, lightly stemmed words; CJK runs become overlapping character bigrams."""
    tokens: list[str] = []
    for match in _WORD.finditer(text.lower()):
        piece = match.group()
        if CJK_CHAR.match(piece):
            tokens.extend(piece[i : i + 2] for i in range(max(1, len(piece) - 1)))
        elif keep_stopwords or piece not in STOPWORDS:
            tokens.append(_stem(piece))
    return [t for t in tokens if keep_stopwords or t not in STOPWORDS]


def search_terms(text: str) -> list[str]:
    """What BM25 indexes and matches: stemmed English words and segmented Chinese words."""
    terms: list[str] = []
    # NFKC first, so full-width letters and digits match their ASCII forms.
    for match in _WORD.finditer(unicodedata.normalize("NFKC", text).lower()):
        piece = match.group()
        if CJK_CHAR.match(piece):
            terms.extend(chinese_words(piece))
        elif piece not in STOPWORDS:
            terms.append(_stem(piece))
    return [t for t in terms if t not in STOPWORDS]


def sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping list items as their own lines."""
    return [s.strip(" -*\t") for s in _SENTENCE.split(text) if len(s.strip(" -*\t")) > 1]


def snippet(text: str, query: str, limit: int = 240) -> str:
    """The sentence of ``text`` that shares most words with ``query``, cut to ``limit``."""
    wanted = set(tokenize(query))
    parts = sentences(text) or [text]
    best = max(parts, key=lambda s: len(wanted & set(tokenize(s))))
    return best if len(best) <= limit else best[: limit - 1].rstrip() + "…"
