"""Retrieval request and its answer (request/reply over the broker)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import Event

MAX_ENGLISH_TERMS = 64


class RetrievalRequested(Event):
    """The orchestrator asks for passages relevant to a question."""

    routing_key = "retrieval.requested.v1"

    query: str
    # Six, so that a Chinese question also gets the English passages the retriever ranks
    # below the few Chinese sections; an LLM is shown the first four (generation.py).
    top_k: int = 6
    kb_id: str = "default"
    # A Chinese question's words in English (the orchestrator's dictionary): BM25 reads them
    # against the English pages, which the Chinese words never match.
    english_terms: list[str] = Field(default_factory=list, max_length=MAX_ENGLISH_TERMS)
    # "Tell me about your returns policy": a page's opening found first brings the section
    # it leads into (the return windows), which neither ranking finds on its own.
    overview: bool = False


class Passage(BaseModel):
    """One retrieved chunk with where it came from."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    doc_name: str
    title: str
    text: str
    score: float
    doc_id: str = ""
    chunk_id: str = ""


class Reference(BaseModel):
    """A citation shown with an answer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    doc_id: str
    doc_name: str
    chunk_id: str
    snippet: str
    score: float


class RetrievalCompleted(Event):
    """Passages best first; empty when nothing relevant was found."""

    routing_key = "retrieval.completed.v1"

    passages: list[Passage] = []
    degraded: bool = False
    # The best passage clearly answers the query (the retriever's own thresholds).
    strong_match: bool = False
