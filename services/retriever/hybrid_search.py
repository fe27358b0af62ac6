"""Hybrid retrieval: BM25 and vector rankings, each filtered for relevance, fused by rank.

When the vector side fails (embedding model or vector store) search carries on lexically;
each degraded search is counted, and the failure is logged once rather than per request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from services.retriever.embeddings import Embedder
from services.retriever.index import Hit, KnowledgeIndex, reciprocal_rank_fusion
from shared.observability import RETRIEVAL_DEGRADED
from shared.text import is_cjk, tokenize

logger = logging.getLogger(__name__)

Mode = Literal["hybrid", "lexical", "vector"]
# Below this cosine a passage shares too little meaning with the question to cite it.
MIN_VECTOR_SIMILARITY = 0.35
# Some top lexical hit must contain more than this share of the question's distinct terms.
MIN_TERM_COVERAGE = 0.5
RELEVANCE_WINDOW = 5


@dataclass(frozen=True)
class SearchResult:
    """Hits best first, and the sides (lexical, vector) that failed, if any."""

    hits: list[Hit]
    failed: tuple[str, ...] = ()


def coverage_terms(text: str) -> set[str]:
    """Words, and single characters of CJK text (its bigrams are too strict a test)."""
    terms: set[str] = set()
    for token in tokenize(text):
        terms.update(token if is_cjk(token) else (token,))
    return terms


def term_coverage(query_terms: set[str], hit: Hit) -> float:
    """Share of the query's terms that occur in the chunk."""
    if not query_terms:
        return 0.0
    return len(query_terms & coverage_terms(f"{hit.chunk.title}\n{hit.chunk.text}")) / len(
        query_terms
    )


class HybridSearch:
    """Searches one index with an optional embedder."""

    def __init__(self, index: KnowledgeIndex, embedder: Embedder | None) -> None:
        self.index = index
        self.embedder = embedder
        self._failing: set[str] = set()

    def _note(self, side: str, error: Exception | None) -> None:
        if error is None:
            if side in self._failing:
                self._failing.discard(side)
                logger.info("%s search recovered", side)
            return
        RETRIEVAL_DEGRADED.labels(path=side).inc()
        if side not in self._failing:
            self._failing.add(side)
            logger.warning("%s search failing, degrading: %s", side, error)

    def lexical(self, tenant_id: str, kb_id: str, query: str, depth: int) -> list[Hit]:
        """BM25 hits, or none when no top chunk holds enough of the question's terms.

        One shared word ("weather" in "what's the weather on Mars") must not make a page
        relevant; BM25 ranks well but says nothing about relevance on its own.
        """
        terms = coverage_terms(query)
        hits = self.index.lexical(tenant_id, kb_id, query, depth)
        best = max((term_coverage(terms, h) for h in hits[:RELEVANCE_WINDOW]), default=0.0)
        return hits if best > MIN_TERM_COVERAGE or best == 1.0 else []

    def vector(self, tenant_id: str, kb_id: str, query: str, depth: int) -> list[Hit]:
        """Relevant vector hits (empty when there is no embedder)."""
        if self.embedder is None:
            return []
        query_vector = self.embedder.embed([query])[0]
        hits = self.index.vector(tenant_id, kb_id, query_vector, depth)
        return [h for h in hits if h.score >= MIN_VECTOR_SIMILARITY]

    def search(
        self, tenant_id: str, kb_id: str, query: str, top_k: int = 4, mode: Mode = "hybrid"
    ) -> SearchResult:
        """The best ``top_k`` relevant chunks."""
        depth = max(top_k * 5, 20)
        rankings: list[list[Hit]] = []
        failed: list[str] = []
        for side, run in (("lexical", self.lexical), ("vector", self.vector)):
            if mode not in ("hybrid", side):
                continue
            try:
                rankings.append(run(tenant_id, kb_id, query, depth))
            except Exception as exc:  # noqa: BLE001 - one side failing degrades, never fails
                self._note(side, exc)
                failed.append(side)
            else:
                self._note(side, None)
        return SearchResult(reciprocal_rank_fusion(rankings, top_k), tuple(failed))
