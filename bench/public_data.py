"""Public labelled data that ships inside PyPI packages (test extras), read with no network.

- zaragoza-construction-faq 1.2.1: "Swedish Construction FAQ by Zaragoza AB, CC BY 4.0";
  503 English question/answer pairs in 39 categories.
- chatterbot-corpus 1.3.3 (BSD-3): small-talk and trivia conversations in English and
  machine-translated Chinese, one YAML file per topic.

Every item has a stable id; ``split_of(id)`` puts it in the tuning or the held-out split.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

Split = Literal["tuning", "heldout"]
ZARAGOZA_CREDIT = (
    "Swedish Construction FAQ by Zaragoza AB, CC BY 4.0 (PyPI zaragoza-construction-faq 1.2.1)"
)
CHATTERBOT_CREDIT = "chatterbot-corpus 1.3.3 by Gunther Cox, BSD-3-Clause"
# Small talk a shop's bot should answer as small talk; other topics mix in insults and trivia.
SMALL_TALK_TOPICS = ("greetings", "conversations", "botprofile", "humor")
# Topics whose pairs are factual questions with an answer, usable as a tiny knowledge base.
TRIVIA_TOPICS = (
    "science",
    "history",
    "literature",
    "money",
    "movies",
    "politics",
    "sports",
    "trivia",
    "food",
)


def split_of(item_id: str) -> Split:
    """Even CRC-32 of the id: tuning; odd: held-out. Stable across runs and machines."""
    return "tuning" if zlib.crc32(item_id.encode()) % 2 == 0 else "heldout"


@dataclass(frozen=True)
class FaqEntry:
    """One question and its answer, on the page (category or topic) it belongs to."""

    id: str
    page: str
    question: str
    answer: str
    lang: str


def zaragoza_faq() -> list[FaqEntry]:
    """The English edition of the Swedish Construction FAQ, in the package's order."""
    path = resources.files("zaragoza_construction_faq").joinpath("data", "faq-en.json")
    data = json.loads(path.read_text("utf-8"))
    return [
        FaqEntry(q["id"], q["category"], q["q"].strip(), q["a"].strip(), "en")
        for q in data["questions"]
    ]


def chatterbot_topic(language: str, topic: str) -> list[list[str]]:
    """A topic file's conversations: each a list of lines, the first said by the user."""
    import yaml  # only the bench needs PyYAML

    path = resources.files("chatterbot_corpus").joinpath("data", language, f"{topic}.yml")
    conversations = yaml.safe_load(path.read_text("utf-8")).get("conversations") or []
    return [[str(line).strip() for line in c] for c in conversations if c and isinstance(c, list)]


def chatterbot_pairs(language: str, lang: str, topics: Iterable[str]) -> list[FaqEntry]:
    """Opening line -> replies, one page per topic; a question repeated is merged, and one
    already seen under an earlier topic is dropped (its page would be ambiguous)."""
    out: list[FaqEntry] = []
    seen: set[str] = set()
    for topic in topics:
        merged: dict[str, list[str]] = {}
        for lines in chatterbot_topic(language, topic):
            if lines[0]:
                merged.setdefault(lines[0], []).extend(lines[1:])
        for number, (question, replies) in enumerate(merged.items(), start=1):
            if question in seen:
                continue
            seen.add(question)
            answer = " ".join(dict.fromkeys(r for r in replies if r))
            out.append(FaqEntry(f"cb-{lang}-{topic}-{number:03d}", topic, question, answer, lang))
    return out


def faq_pages(entries: Sequence[FaqEntry], title: str, questions: bool = True) -> dict[str, str]:
    """One Markdown page per page name. With ``questions`` each entry is a section headed by
    its question; without, the page holds the answers alone, one paragraph each."""
    pages: dict[str, list[str]] = {}
    for entry in entries:
        body = pages.setdefault(entry.page, [f"# {title}: {entry.page}", ""])
        if questions:
            body += [f"## {entry.question}", ""]
        body += [entry.answer, ""]
    return {f"{name}.md": "\n".join(lines) for name, lines in pages.items()}


def write_pages(pages: dict[str, str], directory: Path) -> Path:
    """Write ``{file name: text}`` into ``directory`` (created) and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        (directory / name).write_text(text, "utf-8")
    return directory
