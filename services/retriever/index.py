"""What a knowledge index stores and answers; the embedded and Weaviate indexes both fit it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from shared.errors import DependencyUnavailable

# Small, so that first places count: with the textbook 60, rank 1 and rank 5 differ by 6%
# and a chunk both sides rank low beats one that either ranks first.
RRF_K = 5
# What a knowledge base stored before the model of its vectors was recorded reports.
UNRECORDED_MODEL = "unrecorded"


@dataclass(frozen=True)
class Document:
    """One ingested file of a knowledge base."""

    doc_id: str
    doc_name: str
    content_hash: str
    chunk_count: int
    updated_at: float


@dataclass(frozen=True)
class ChunkRecord:
    """A searchable piece of a document and where it came from."""

    tenant_id: str
    kb_id: str
    doc_id: str
    doc_name: str
    chunk_id: str
    position: int
    title: str
    text: str


@dataclass(frozen=True)
class Hit:
    """A chunk with its score (higher is better; comparable only within one ranking)."""

    chunk: ChunkRecord
    score: float
    coverage: float = 0.0  # lexical hits: share of the query's terms the chunk holds


def term_coverage(query_terms: set[str], chunk_terms: str) -> float:
    """Share of the query's terms among a chunk's indexed terms (space-separated)."""
    if not query_terms:
        return 0.0
    return len(query_terms.intersection(chunk_terms.split())) / len(query_terms)


class VectorModelMismatch(DependencyUnavailable):
    """The knowledge base's vectors come from another model than the query's: comparing
    them would rank at random, so vector search refuses until the base is re-embedded."""

    def __init__(self, kb_id: str, stored: str | None, wanted: str) -> None:
        super().__init__(
            f"knowledge base {kb_id!r} holds vectors made by {stored!r}, not by {wanted!r}; "
            "it is re-embedded when the retriever starts (or re-ingest its documents)"
        )


def doc_id_for(kb_id: str, doc_name: str) -> str:
    """Stable id: ingesting a file of the same name again replaces the document."""
    return "doc-" + hashlib.sha256(f"{kb_id}/{doc_name}".encode()).hexdigest()[:16]


class KnowledgeIndex(Protocol):
    """Per-tenant, per-knowledge-base storage of chunks with lexical and vector search."""

    def replace_document(
        self,
        tenant_id: str,
        kb_id: str,
        document: Document,
        chunks: Sequence[ChunkRecord],
        vectors: np.ndarray | None,
        vector_model: str | None = None,
    ) -> None:
        """Store the document's chunks instead of whatever it had before; ``vector_model``
        names the model that made ``vectors``."""
        ...

    def delete_document(self, tenant_id: str, kb_id: str, doc_id: str) -> bool:
        """Remove a document and its chunks; False if it was not there."""
        ...

    def documents(self, tenant_id: str, kb_id: str) -> list[Document]:
        """The knowledge base's documents, by name."""
        ...

    def lexical(self, tenant_id: str, kb_id: str, query: str, limit: int) -> list[Hit]:
        """Chunks ranked by BM25."""
        ...

    def vector(
        self, tenant_id: str, kb_id: str, query_vector: np.ndarray, limit: int, vector_model: str
    ) -> list[Hit]:
        """Chunks ranked by cosine similarity to the query vector, made by ``vector_model``;
        VectorModelMismatch when the stored vectors come from another model."""
        ...

    def stale_documents(self, tenant_id: str, kb_id: str, vector_model: str) -> list[Document]:
        """Documents with chunks that lack a vector of ``vector_model`` (to re-embed)."""
        ...

    def set_vectors(
        self,
        tenant_id: str,
        kb_id: str,
        document: Document,
        vectors: np.ndarray,
        vector_model: str,
    ) -> bool:
        """New vectors for the document's chunks, in order, unless it was replaced meanwhile."""
        ...

    def knowledge_bases(self) -> list[tuple[str, str]]:
        """Every (tenant, knowledge base) the index holds documents for."""
        ...

    def chunks(self, tenant_id: str, kb_id: str, doc_id: str) -> list[ChunkRecord]:
        """The document's stored chunks, in order."""
        ...


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[tuple[float, Hit]]], limit: int
) -> list[Hit]:
    """Fuse rankings of (weight, hit), best first, by weighted reciprocal rank; a chunk found
    by several rankings rises above what any one of them gives it."""
    fused: dict[str, float] = {}
    chunks: dict[str, ChunkRecord] = {}
    for ranking in rankings:
        for rank, (weight, hit) in enumerate(ranking):
            score = weight / (RRF_K + rank + 1)
            fused[hit.chunk.chunk_id] = fused.get(hit.chunk.chunk_id, 0.0) + score
            chunks[hit.chunk.chunk_id] = hit.chunk
    best = sorted(fused.items(), key=lambda item: -item[1])[:limit]
    return [Hit(chunks[chunk_id], score) for chunk_id, score in best]
