"""Passages cut from the sample help centre the way the retriever cuts them."""

from __future__ import annotations

from functools import cache

from services.retriever.chunking import Chunk, load_directory
from shared.events import Passage
from shared.settings import SAMPLE_KNOWLEDGE_DIR


@cache
def _chunks() -> tuple[Chunk, ...]:
    return tuple(load_directory(SAMPLE_KNOWLEDGE_DIR))


def passages(*sections: str) -> list[Passage]:
    """Passages in the order given, each named "Page.md > its section's heading"."""
    found = []
    for name in sections:
        doc, _, heading = name.partition(" > ")
        chunk = next(
            c for c in _chunks() if c.doc_name == doc and c.title.split(" > ")[-1] == heading
        )
        found.append(
            Passage(doc_name=chunk.doc_name, title=chunk.title, text=chunk.text, score=0.5)
        )
    return found
