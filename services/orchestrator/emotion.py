"""Emotion score in [0, 1] (lower is more agitated) from the VADER sentiment lexicon."""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

_ANALYZER = SentimentIntensityAnalyzer()
NEUTRAL = 0.75


def emotion_score(message: str) -> float:
    """Map VADER's compound polarity to a score where neutral text sits at 0.75.

    Negative polarity pulls the score towards 0 across the whole lower range, so
    an angry message lands well below a merely neutral one.
    """
    compound = _ANALYZER.polarity_scores(message)["compound"]
    if compound >= 0:
        score = NEUTRAL + (1 - NEUTRAL) * compound
    else:
        score = NEUTRAL * (1 + compound)
    return round(max(0.0, min(1.0, score)), 3)
