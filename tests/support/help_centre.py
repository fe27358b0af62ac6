"""Passages cut from the sample help centre the way the retriever cuts them."""

from __future__ import annotations

from functools import cache

from services.orchestrator.figures import FigureIndex, figures
from services.orchestrator.grounding import stated_figures
from services.retriever.chunking import Chunk, load_directory
from services.retriever.index import doc_id_for
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


@cache
def by_chunk_id(kb_id: str = "default") -> dict[str, Passage]:
    """Every passage of the sample help centre, by the chunk id the retriever gives it."""
    return {
        f"{doc_id_for(kb_id, c.doc_name)}-{c.position}": Passage(
            doc_name=c.doc_name, title=c.title, text=c.text, score=0.0
        )
        for c in _chunks()
    }


def unsupported_figures(answer: str, chunk_ids: list[str]) -> list[str]:
    """Figures of ``answer`` that none of those passages states (figures.py's reading)."""
    known = by_chunk_id()
    stated = FigureIndex([f for i in chunk_ids if i in known for f in figures(known[i].text)])
    return [f.text for f in stated_figures(answer) if not stated.supports(f)]
