"""Hybrid retrieval: BM25 and vector rankings, each filtered for relevance, fused by rank.

When the vector side fails (embedding model, vector store, or vectors of another model)
search carries on lexically; each degraded search is counted, and the failure is logged once
rather than per request.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from services.retriever.embeddings import CachedEmbedder, Embedder, Relevance, vector_space
from services.retriever.index import Hit, KnowledgeIndex, reciprocal_rank_fusion
from shared.observability import RETRIEVAL_DEGRADED, timed_stage
from shared.text import mostly_chinese

logger = logging.getLogger(__name__)

Mode = Literal["hybrid", "lexical", "vector"]
# A question is read up to here: a 4,000-character message costs what a short one does. The
# model reads fewer characters than BM25 (its time grows with every token, ~0.05 ms each).
MAX_QUERY_CHARS = 512
MAX_EMBEDDED_QUERY_CHARS = 256
# Distinct recent questions whose vectors are kept (2 KB each for a 512-d model).
QUERY_CACHE_ENTRIES = 4096
# BM25 ranks well but cannot tell relevant from not: its hits count when a top chunk holds
# more than half of the question's terms, or a quarter of them and the vector side agrees.
MIN_TERM_COVERAGE = 0.5
SUPPORTED_TERM_COVERAGE = 0.25
RELEVANCE_WINDOW = 5
# A page's opening paragraph says what the page covers ("how long delivery takes, and what
# shipping costs"), so it resembles every question about the page without answering it.
# When the page's sections are candidates too, it yields to them by this much cosine, so
# the passage with the details comes first ("3-5 business days", the list of methods).
OVERVIEW_MARGIN = 0.03
# A BM25 hit weighs in the fusion in proportion to the share of the question's terms it
# holds, so a chunk that shares one word with the question (a Chinese section of an English
# page, say) does not outvote the vector side, while one that holds them all counts as much.
WEIGHTS = {"lexical": 1.0, "vector": 1.0}
# BM25 reads a Chinese question against Chinese text only, so on a help centre of English
# pages with a few Chinese sections it ranks those sections first for every Chinese question
# ("微信支付的退款多久到账" lands on the returns page's section). The cross-lingual vector side
# sees every page; the lexical side counts less for a Chinese question (0.7 kept
# bench/retrieval.py's Chinese hit@1 as it was, 0.5 lost a question).
CJK_LEXICAL_SHARE = 0.7
# The English senses of a Chinese question's words, read by BM25 against the English pages,
# weigh as the question's own words would: on the Chinese tuning questions 0.4 and 0.7 gave
# 76.5% right route, page and fact, 1.0 79.6%, and 1.5 78.6% (more right pages first, fewer
# facts stated).
ENGLISH_TERMS_SHARE = 1.0


@dataclass(frozen=True)
class SearchResult:
    """Hits best first, the sides (lexical, vector) that failed, and whether the best hit
    clearly answers the question."""

    hits: list[Hit]
    failed: tuple[str, ...] = ()
    strong: bool = False


def normalised_query(query: str) -> str:
    """The question as searched: clipped, NFKC, whitespace collapsed (also the cache key)."""
    return " ".join(unicodedata.normalize("NFKC", query[:MAX_QUERY_CHARS]).split())


def _is_overview(hit: Hit) -> bool:
    return hit.chunk.position == 0 and " > " not in hit.chunk.title


def ranked_for_answers(vector: list[Hit]) -> list[Hit]:
    """Vector hits in answer order: page overviews after their own page's close sections."""
    with_sections = {h.chunk.doc_id for h in vector if not _is_overview(h)}

    def key(hit: Hit) -> float:
        demote = _is_overview(hit) and hit.chunk.doc_id in with_sections
        return -(hit.score - OVERVIEW_MARGIN) if demote else -hit.score

    return sorted(vector, key=key)


def lexical_relevant(best_coverage: float, vector_best: float, relevance: Relevance) -> bool:
    """Whether BM25's ranking is worth fusing, from its best chunk's share of the terms."""
    return (
        best_coverage > MIN_TERM_COVERAGE
        or best_coverage == 1.0
        or (best_coverage >= SUPPORTED_TERM_COVERAGE and vector_best >= relevance.support)
    )


def strong_match(
    similarity: float, *, across_languages: bool, agreed: bool, relevance: Relevance
) -> bool:
    """The best passage clearly answers the question, by the embedder's own thresholds.

    ``similarity`` is the best passage's cosine to the question; ``agreed`` says BM25 ranks
    that passage among its first three too.
    """
    if agreed and similarity >= relevance.strong_agreed:
        return True
    return similarity >= (relevance.strong_across if across_languages else relevance.strong)


# Without an embedder only BM25 speaks: its hits count as before, and none is "strong"
# (BM25 cannot tell a clear answer from a shared word).
_LEXICAL_ONLY = Relevance(cite=1.0, support=1.0, strong=2.0, strong_across=2.0, strong_agreed=2.0)


class HybridSearch:
    """Searches one index with an optional embedder."""

    def __init__(
        self,
        index: KnowledgeIndex,
        embedder: Embedder | None,
        query_cache_entries: int = QUERY_CACHE_ENTRIES,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self._queries = (
            CachedEmbedder(embedder, query_cache_entries) if embedder is not None else None
        )
        self.relevance = embedder.relevance if embedder is not None else _LEXICAL_ONLY
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
        if self.embedder is None or self._queries is None:
            return []
        if not self.embedder.multilingual and mostly_chinese(query):
            return []
        with timed_stage("retrieval_embed"):
            query_vector = self._queries.embed([query[:MAX_EMBEDDED_QUERY_CHARS]])[0]
        space = vector_space(self.embedder)
        return self.index.vector(tenant_id, kb_id, query_vector, depth, space)

    def search(
        self,
        tenant_id: str,
        kb_id: str,
        query: str,
        top_k: int = 4,
        mode: Mode = "hybrid",
        english_terms: Sequence[str] = (),
        overview: bool = False,
    ) -> SearchResult:
        """The best ``top_k`` relevant chunks; ``english_terms`` (a Chinese question's words in
        English) rank the English pages lexically too, and an ``overview`` question gets the
        best page's first section."""
        query = normalised_query(query)
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
        lexical = found.get("lexical", [])
        vector = found.get("vector", [])
        vector_best = max((h.score for h in vector), default=0.0)
        cited = [h for h in ranked_for_answers(vector) if h.score >= self.relevance.cite]
        share = CJK_LEXICAL_SHARE if lexical and mostly_chinese(query) else 1.0
        rankings = [
            [(WEIGHTS["vector"], h) for h in cited],
            self._bm25_ranking(lexical, share, vector_best),
        ]
        found_already = {h.chunk.chunk_id for ranking in rankings for _, h in ranking}
        if english_terms and "lexical" in found and found_already:
            # It reorders what the other sides found and adds nothing of its own: a greeting's
            # dictionary words ("见到" -> see) would otherwise find a page for small talk.
            english = self._english_hits(tenant_id, kb_id, english_terms, depth)
            rankings.append(
                [
                    (weight, hit)
                    for weight, hit in self._bm25_ranking(english, ENGLISH_TERMS_SHARE, vector_best)
                    if hit.chunk.chunk_id in found_already
                ]
            )
        hits = reciprocal_rank_fusion(rankings, top_k)
        if overview:
            hits = self._with_first_section(tenant_id, kb_id, hits)
        return SearchResult(hits, tuple(failed), self._strong(query, hits, vector, lexical))

    def _with_first_section(self, tenant_id: str, kb_id: str, hits: list[Hit]) -> list[Hit]:
        """The best page's first section, second: "Tell me about your return policy" finds the
        returns page's opening ("... as long as it meets the conditions below") or its section
        on exchanges, and the return windows, which neither ranking finds, open the page."""
        if not hits:
            return hits
        try:
            chunks = self.index.chunks(tenant_id, kb_id, hits[0].chunk.doc_id)
        except Exception as exc:  # noqa: BLE001 - like either side, it degrades, never fails
            self._note("lexical", exc)
            return hits
        first = next((c for c in chunks if " > " in c.title), None)
        if first is None or any(h.chunk.chunk_id == first.chunk_id for h in hits):
            return hits
        second = Hit(first, hits[1].score if len(hits) > 1 else hits[0].score)
        return [hits[0], second, *hits[1:]][: max(len(hits), 2)]

    def _bm25_ranking(
        self, hits: list[Hit], share: float, vector_best: float
    ) -> list[tuple[float, Hit]]:
        """BM25 hits weighted by the share of the terms each holds; none when its best chunks
        hold too few of them (``lexical_relevant``)."""
        coverage = max((h.coverage for h in hits[:RELEVANCE_WINDOW]), default=0.0)
        if not hits or not lexical_relevant(coverage, vector_best, self.relevance):
            return []
        weight = WEIGHTS["lexical"] * share
        return [(weight * h.coverage, h) for h in hits]

    def _english_hits(
        self, tenant_id: str, kb_id: str, terms: Sequence[str], depth: int
    ) -> list[Hit]:
        """BM25 on a Chinese question's English terms; none if the index fails (degraded)."""
        try:
            return self.index.lexical(tenant_id, kb_id, " ".join(terms)[:MAX_QUERY_CHARS], depth)
        except Exception as exc:  # noqa: BLE001 - like either side, it degrades, never fails
            self._note("lexical", exc)
            return []

    def _strong(self, query: str, hits: list[Hit], vector: list[Hit], lexical: list[Hit]) -> bool:
        if not hits:
            return False
        best = hits[0].chunk  # the passage the customer is given first
        similarity = next((h.score for h in vector if h.chunk.chunk_id == best.chunk_id), 0.0)
        agreed = best.chunk_id in {h.chunk.chunk_id for h in lexical[:3]}
        across = mostly_chinese(query) != mostly_chinese(best.text)
        return strong_match(
            similarity, across_languages=across, agreed=agreed, relevance=self.relevance
        )
