"""The question sets bench/quality.py asks, and the knowledge bases each is asked against."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.public_data import (
    SMALL_TALK_TOPICS,
    TRIVIA_TOPICS,
    FaqEntry,
    Split,
    chatterbot_pairs,
    faq_pages,
    split_of,
    zaragoza_faq,
)

BENCH_DIR = Path(__file__).resolve().parent
HELDOUT_FILE = BENCH_DIR / "data" / "heldout_helpcentre.jsonl"
TUNING_FILE = BENCH_DIR / "data" / "tuning_helpcentre.jsonl"
SAMPLE_DIR = BENCH_DIR.parent / "services" / "retriever" / "knowledge_base"
FAQ_TITLE = "Swedish Construction FAQ"
TRIVIA_TITLE = "常识问答"
LANGS = ("en", "zh")


@dataclass(frozen=True)
class Case:
    """One question, the route a support agent would take, and what a right answer holds."""

    id: str
    dataset: str
    split: Split
    lang: str
    question: str
    intent: str
    doc: str | None = None  # the page that answers it; None: only the route is judged
    facts: tuple[str, ...] = ()  # the reply states the fact if it contains any of these
    answers: tuple[str, ...] = ()  # or if it covers enough of one of these gold answers
    private: bool = False  # never printed: the held-out set stays unseen by tuners


@dataclass(frozen=True)
class Dataset:
    """A question set, the knowledge base it is asked against, and how it is loaded."""

    title: str
    kb: str
    load: Callable[[], list[Case]]


def sample_pages() -> dict[str, str]:
    """The sample help centre that ships with the retriever."""
    return {p.name: p.read_text("utf-8") for p in sorted(SAMPLE_DIR.glob("*.md"))}


def helpcentre_cases(path: Path, dataset: str, split: Split) -> list[Case]:
    """A question set over the sample help centre, one JSON object a line, checked as read."""
    pages = set(sample_pages())
    cases = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        row = json.loads(line)
        if row["lang"] not in LANGS or row["doc"] not in pages or not row["facts"]:
            raise ValueError(f"{path.name}:{number}: bad lang, doc or facts")
        cases.append(
            Case(
                row["id"],
                dataset,
                split,
                row["lang"],
                row["question"],
                "knowledge_qa",
                doc=row["doc"],
                facts=tuple(row["facts"]),
                private=split == "heldout",
            )
        )
    return cases


def heldout_helpcentre() -> list[Case]:
    """The held-out set over the sample help centre (bench/data/heldout_helpcentre.md)."""
    return helpcentre_cases(HELDOUT_FILE, "helpcentre", "heldout")


def tuning_helpcentre() -> list[Case]:
    """Questions over the sample help centre written to tune on; the held-out set stays unseen."""
    return helpcentre_cases(TUNING_FILE, "helpcentre-tuning", "tuning")


def faq_cases(dataset: str, entries: Iterable[FaqEntry]) -> list[Case]:
    """A knowledge question per entry; an answer of any entry with the same question counts."""
    entries = list(entries)
    answers: dict[tuple[str, str], list[str]] = {}
    for e in entries:
        answers.setdefault((e.page, e.question), []).append(e.answer)
    return [
        Case(
            e.id,
            dataset,
            split_of(e.id),
            e.lang,
            e.question,
            "knowledge_qa",
            doc=f"{e.page}.md",
            answers=tuple(answers[(e.page, e.question)]),
        )
        for e in entries
    ]


def small_talk() -> list[Case]:
    """Greetings and small talk in English and Chinese, asked of the sample help centre."""
    entries = chatterbot_pairs("english", "en", SMALL_TALK_TOPICS)
    entries += chatterbot_pairs("chinese", "zh", SMALL_TALK_TOPICS)
    return [Case(e.id, "chitchat", split_of(e.id), e.lang, e.question, "chitchat") for e in entries]


def zh_trivia_entries() -> list[FaqEntry]:
    return chatterbot_pairs("chinese", "zh", TRIVIA_TOPICS)


KNOWLEDGE_BASES: dict[str, Callable[[], dict[str, str]]] = {
    "helpcentre": sample_pages,
    "faq": lambda: faq_pages(zaragoza_faq(), FAQ_TITLE),
    "faq-answers": lambda: faq_pages(zaragoza_faq(), FAQ_TITLE, questions=False),
    "zh-trivia": lambda: faq_pages(zh_trivia_entries(), TRIVIA_TITLE),
}

DATASETS: dict[str, Dataset] = {
    "helpcentre": Dataset("sample help centre, held-out set", "helpcentre", heldout_helpcentre),
    "helpcentre-tuning": Dataset("sample help centre, tuning set", "helpcentre", tuning_helpcentre),
    "faq": Dataset(
        "public FAQ, question headings", "faq", lambda: faq_cases("faq", zaragoza_faq())
    ),
    "faq-answers": Dataset(
        "public FAQ, answers only",
        "faq-answers",
        lambda: faq_cases("faq-answers", zaragoza_faq()),
    ),
    "chitchat": Dataset("small talk (chatterbot)", "helpcentre", small_talk),
    "zh-trivia": Dataset(
        "Chinese trivia (chatterbot)",
        "zh-trivia",
        lambda: faq_cases("zh-trivia", zh_trivia_entries()),
    ),
}


def load_cases(datasets: Iterable[str], splits: Iterable[str]) -> list[Case]:
    """The named data sets' cases in the given splits, in a stable order."""
    wanted = set(splits)
    return [c for name in datasets for c in DATASETS[name].load() if c.split in wanted]
