"""Ingestion: parse a file, chunk it along its headings, embed the chunks, replace it in the index."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from services.retriever.chunking import Chunk
from services.retriever.embeddings import Embedder
from services.retriever.index import ChunkRecord, Document, KnowledgeIndex, doc_id_for
from services.retriever.isolated_parsing import parse_document
from shared.errors import AppError, InvalidInput

logger = logging.getLogger(__name__)
_DOC_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,200}$")
_KB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Status = Literal["created", "replaced", "unchanged"]
# A file's chunks from its name and bytes; InvalidInput when it cannot be read.
Parse = Callable[[str, bytes], list[Chunk]]


@dataclass(frozen=True)
class IngestResult:
    """What ingesting one file did."""

    document: Document
    status: Status


def validate_names(kb_id: str, doc_name: str | None = None) -> None:
    """Clear errors for names that cannot be stored."""
    if not _KB_ID.match(kb_id):
        raise InvalidInput("knowledge base id must be 1-64 letters, digits, '-' or '_'")
    if doc_name is not None and not _DOC_NAME.match(doc_name):
        raise InvalidInput("document name must be a file name (no path), 1-200 characters")


class Ingestor:
    """Keeps an index in step with uploaded files.

    ``parse`` defaults to parsing in this process; the retriever passes an ``IsolatedParser``.
    """

    def __init__(
        self, index: KnowledgeIndex, embedder: Embedder | None, parse: Parse = parse_document
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.parse = parse

    def ingest(self, tenant_id: str, kb_id: str, doc_name: str, content: bytes) -> IngestResult:
        """Add or replace one document; an unchanged file is left alone (no re-embedding)."""
        validate_names(kb_id, doc_name)
        doc_id = doc_id_for(kb_id, doc_name)
        content_hash = hashlib.sha256(content).hexdigest()
        existing = next(
            (d for d in self.index.documents(tenant_id, kb_id) if d.doc_id == doc_id), None
        )
        if existing is not None and existing.content_hash == content_hash:
            return IngestResult(existing, "unchanged")

        sections = self.parse(doc_name, content)
        if not sections:
            raise InvalidInput(f"{doc_name}: no text found")
        chunks = [
            ChunkRecord(
                tenant_id,
                kb_id,
                doc_id,
                doc_name,
                f"{doc_id}-{s.position}",
                s.position,
                s.title,
                s.text,
            )
            for s in sections
        ]
        vectors = None
        if self.embedder is not None:
            try:
                vectors = self.embedder.embed([f"{c.title}\n{c.text}" for c in chunks])
            except AppError as exc:
                # Lexical search still works; the document is re-embedded when re-ingested.
                logger.warning("%s stored without vectors: %s", doc_name, exc.message)
        document = Document(doc_id, doc_name, content_hash, len(chunks), time.time())
        self.index.replace_document(tenant_id, kb_id, document, chunks, vectors)
        return IngestResult(document, "created" if existing is None else "replaced")

    def delete(self, tenant_id: str, kb_id: str, doc_id: str) -> bool:
        """Remove a document; False if the knowledge base has no such document."""
        validate_names(kb_id)
        return self.index.delete_document(tenant_id, kb_id, doc_id)

    def sync_directory(self, tenant_id: str, kb_id: str, directory: Path) -> list[IngestResult]:
        """Ingest every supported file of a folder (used to seed the sample help centre)."""
        results = []
        for path in sorted(p for p in directory.iterdir() if p.is_file()):
            try:
                results.append(self.ingest(tenant_id, kb_id, path.name, path.read_bytes()))
            except InvalidInput as exc:
                logger.warning("skipped %s: %s", path.name, exc.message)
        return results
