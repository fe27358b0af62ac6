"""Embedded hybrid index: SQLite FTS5 BM25 plus character n-gram vectors, fused by RRF."""

from __future__ import annotations

import logging
import sqlite3
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.retriever.chunking import Chunk
from shared.text import tokenize

logger = logging.getLogger(__name__)

VECTOR_DIMENSIONS = 2**14
RRF_K = 60
# Below this cosine a chunk shares too little with the question to count as relevant.
MIN_VECTOR_SIMILARITY = 0.30


@dataclass(frozen=True)
class Hit:
    """A chunk and its fused score."""

    chunk: Chunk
    score: float


def _char_ngrams(text: str) -> list[str]:
    grams: list[str] = []
    for token in tokenize(text):
        padded = f" {token} "
        grams.extend(padded[i : i + 3] for i in range(max(1, len(padded) - 2)))
    return grams


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised hashed character-trigram vectors (typo- and inflection-tolerant)."""
    matrix = np.zeros((len(texts), VECTOR_DIMENSIONS), dtype=np.float32)
    for row, text in enumerate(texts):
        for gram in _char_ngrams(text):
            matrix[row, zlib.crc32(gram.encode()) % VECTOR_DIMENSIONS] += 1.0
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-9)


class HybridIndex:
    """An in-process index; lexical and vector rankings fused by reciprocal rank."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = list(chunks)
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        # Tokens are produced by shared.text so CJK bigrams and stemming match the query side.
        self._db.execute("CREATE VIRTUAL TABLE chunks USING fts5(body, tokenize='unicode61')")
        self._db.executemany(
            "INSERT INTO chunks(rowid, body) VALUES (?, ?)",
            [(i, " ".join(tokenize(f"{c.title}\n{c.text}"))) for i, c in enumerate(self.chunks)],
        )
        self._vectors = embed([f"{c.title}\n{c.text}" for c in self.chunks])
        logger.info("indexed %d chunks", len(self.chunks))

    def lexical(self, query: str, limit: int) -> list[int]:
        """Chunk positions ranked by BM25; empty when no query term occurs anywhere."""
        terms = sorted(set(tokenize(query)))
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        rows = self._db.execute(
            "SELECT rowid FROM chunks WHERE chunks MATCH ? ORDER BY bm25(chunks) LIMIT ?",
            (match, limit),
        ).fetchall()
        return [row[0] for row in rows]

    def vector(self, query: str, limit: int) -> list[int]:
        """Chunk positions ranked by cosine similarity above the relevance floor."""
        if not self.chunks:
            return []
        query_vector = embed([query])[0]
        # The query touches a few dozen of the 16k dimensions; multiplying only those keeps
        # the search cheap and off BLAS's thread pool, which busy-waits on shared cores.
        touched = np.flatnonzero(query_vector)
        scores = self._vectors[:, touched] @ query_vector[touched]
        best = np.argsort(-scores)[:limit]
        return [int(i) for i in best if scores[i] >= MIN_VECTOR_SIMILARITY]

    def search(self, query: str, top_k: int = 4) -> list[Hit]:
        """Best chunks for the query, fused from both rankings."""
        depth = max(top_k * 5, 20)
        fused: dict[int, float] = {}
        for ranking in (self.lexical(query, depth), self.vector(query, depth)):
            for rank, position in enumerate(ranking):
                fused[position] = fused.get(position, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda item: -item[1])[:top_k]
        return [Hit(self.chunks[position], score) for position, score in best]
