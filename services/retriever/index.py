"""What a knowledge index stores and answers; the embedded and Weaviate indexes both fit it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

RRF_K = 60


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
    ) -> None:
        """Store the document's chunks instead of whatever it had before."""
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

    def vector(self, tenant_id: str, kb_id: str, query_vector: np.ndarray, limit: int) -> list[Hit]:
        """Chunks ranked by cosine similarity to the query vector."""
        ...


def reciprocal_rank_fusion(
    rankings: Sequence[tuple[float, Sequence[Hit]]], limit: int
) -> list[Hit]:
    """Fuse weighted rankings by reciprocal rank; a chunk found by both rises above either."""
    fused: dict[str, float] = {}
    chunks: dict[str, ChunkRecord] = {}
    for weight, ranking in rankings:
        for rank, hit in enumerate(ranking):
            score = weight / (RRF_K + rank + 1)
            fused[hit.chunk.chunk_id] = fused.get(hit.chunk.chunk_id, 0.0) + score
            chunks[hit.chunk.chunk_id] = hit.chunk
    best = sorted(fused.items(), key=lambda item: -item[1])[:limit]
    return [Hit(chunks[chunk_id], score) for chunk_id, score in best]
