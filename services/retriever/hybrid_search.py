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
# BM25 ranks well but cannot tell relevant from not: its hits count when a top chunk holds
# more than half of the question's terms, or a quarter of them and the vector side agrees.
MIN_TERM_COVERAGE = 0.5
SUPPORTED_TERM_COVERAGE = 0.25
SUPPORTING_SIMILARITY = 0.25
# Chinese questions are matched by characters (the local model reads English only): half
# of them must occur in a chunk, or the citation is more likely wrong than right.
MIN_CJK_COVERAGE = 0.5
RELEVANCE_WINDOW = 5
# The vector side understands paraphrases that BM25 misses: it weighs more in the fusion.
WEIGHTS = {"lexical": 0.6, "vector": 1.0}


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


def mostly_cjk(text: str) -> bool:
    """True when most of the text's tokens are Chinese, Japanese or Korean."""
    tokens = tokenize(text, keep_stopwords=True)
    return bool(tokens) and sum(is_cjk(t) for t in tokens) * 2 > len(tokens)


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

    def _vector_hits(self, tenant_id: str, kb_id: str, query: str, depth: int) -> list[Hit]:
        """Raw vector hits; none when the model cannot read the question's language."""
        if self.embedder is None or (not self.embedder.multilingual and mostly_cjk(query)):
            return []
        query_vector = self.embedder.embed([query])[0]
        return self.index.vector(tenant_id, kb_id, query_vector, depth)

    def _lexical_relevant(self, query: str, hits: list[Hit], vector_best: float) -> bool:
        terms = coverage_terms(query)
        best = max((term_coverage(terms, h) for h in hits[:RELEVANCE_WINDOW]), default=0.0)
        if mostly_cjk(query):
            return best >= MIN_CJK_COVERAGE
        return (
            best > MIN_TERM_COVERAGE
            or best == 1.0
            or (best >= SUPPORTED_TERM_COVERAGE and vector_best >= SUPPORTING_SIMILARITY)
        )

    def search(
        self, tenant_id: str, kb_id: str, query: str, top_k: int = 4, mode: Mode = "hybrid"
    ) -> SearchResult:
        """The best ``top_k`` relevant chunks."""
        depth = max(top_k * 5, 20)
        found: dict[str, list[Hit]] = {}
        failed: list[str] = []
        for side in ("lexical", "vector"):
            if mode not in ("hybrid", side):
                continue
            try:
                found[side] = (
                    self.index.lexical(tenant_id, kb_id, query, depth)
                    if side == "lexical"
                    else self._vector_hits(tenant_id, kb_id, query, depth)
                )
            except Exception as exc:  # noqa: BLE001 - one side failing degrades, never fails
                self._note(side, exc)
                failed.append(side)
            else:
                self._note(side, None)
        vector = found.get("vector", [])
        vector_best = max((h.score for h in vector), default=0.0)
        rankings: list[tuple[float, list[Hit]]] = []
        if "lexical" in found and self._lexical_relevant(query, found["lexical"], vector_best):
            rankings.append((WEIGHTS["lexical"], found["lexical"]))
        rankings.append(
            (WEIGHTS["vector"], [h for h in vector if h.score >= MIN_VECTOR_SIMILARITY])
        )
        return SearchResult(reciprocal_rank_fusion(rankings, top_k), tuple(failed))
