"""The embedded index: one SQLite file per tenant, FTS5 BM25 plus float32 vectors.

A tenant's data lives in its own file, so isolation does not depend on a WHERE clause, and
BM25 statistics are the tenant's own. Several retriever processes can share the directory:
SQLite serialises writers, and each process reloads a knowledge base's vectors when the
version stored beside them moves.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from services.retriever.index import (
    UNRECORDED_MODEL,
    ChunkRecord,
    Document,
    Hit,
    VectorModelMismatch,
    term_coverage,
)
from shared.errors import InvalidInput
from shared.text import search_terms

_SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS documents (
    kb_id TEXT NOT NULL, doc_id TEXT NOT NULL, doc_name TEXT NOT NULL,
    content_hash TEXT NOT NULL, chunk_count INTEGER NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (kb_id, doc_id));
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, kb_id TEXT NOT NULL, doc_id TEXT NOT NULL, doc_name TEXT NOT NULL,
    chunk_id TEXT NOT NULL UNIQUE, position INTEGER NOT NULL, title TEXT NOT NULL,
    text TEXT NOT NULL, tokens TEXT NOT NULL, vector BLOB);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (kb_id, doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    tokens, content='chunks', content_rowid='id', tokenize='unicode61');
CREATE TABLE IF NOT EXISTS kb_versions (kb_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kb_vector_models (kb_id TEXT PRIMARY KEY, model_id TEXT NOT NULL);
"""
_TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COLUMNS = "id, kb_id, doc_id, doc_name, chunk_id, position, title, text"


def index_tokens(title: str, text: str) -> str:
    """What FTS5 indexes: our own terms, so Chinese words and stemming match the query side."""
    return " ".join(search_terms(f"{title}\n{text}"))


class _VectorCache:
    """One knowledge base's vectors in memory, tagged with the version they were read at."""

    def __init__(
        self, version: int, model: str | None, ids: np.ndarray, matrix: np.ndarray
    ) -> None:
        self.version = version
        self.model = model
        self.ids = ids
        self.matrix = matrix


class SqliteIndex:
    """KnowledgeIndex over SQLite files in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self._directory = Path(directory)
        self._directory.mkdir(parents=True, exist_ok=True)
        self._connections: dict[str, sqlite3.Connection] = {}
        self._vectors: dict[tuple[str, str], _VectorCache] = {}
        self._lock = threading.RLock()

    def _db(self, tenant_id: str) -> sqlite3.Connection:
        if not _TENANT.match(tenant_id):
            raise InvalidInput(f"invalid tenant id {tenant_id!r}")
        with self._lock:
            if tenant_id not in self._connections:
                db = sqlite3.connect(
                    self._directory / f"{tenant_id}.sqlite3",
                    check_same_thread=False,
                    isolation_level=None,
                    timeout=30,
                )
                db.executescript(_SCHEMA)
                self._connections[tenant_id] = db
            return self._connections[tenant_id]

    def _record(self, tenant_id: str, row: tuple) -> ChunkRecord:  # type: ignore[type-arg]
        _, kb_id, doc_id, doc_name, chunk_id, position, title, text = row
        return ChunkRecord(tenant_id, kb_id, doc_id, doc_name, chunk_id, position, title, text)

    def version(self, tenant_id: str, kb_id: str) -> int:
        """How many changes the knowledge base has seen."""
        row = (
            self._db(tenant_id)
            .execute("SELECT version FROM kb_versions WHERE kb_id = ?", (kb_id,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def _bump(self, db: sqlite3.Connection, kb_id: str) -> None:
        db.execute(
            "INSERT INTO kb_versions (kb_id, version) VALUES (?, 1) "
            "ON CONFLICT (kb_id) DO UPDATE SET version = version + 1",
            (kb_id,),
        )

    def _delete_chunks(self, db: sqlite3.Connection, kb_id: str, doc_id: str) -> None:
        db.execute(
            "INSERT INTO chunks_fts (chunks_fts, rowid, tokens) "
            "SELECT 'delete', id, tokens FROM chunks WHERE kb_id = ? AND doc_id = ?",
            (kb_id, doc_id),
        )
        db.execute("DELETE FROM chunks WHERE kb_id = ? AND doc_id = ?", (kb_id, doc_id))

    def replace_document(
        self,
        tenant_id: str,
        kb_id: str,
        document: Document,
        chunks: Sequence[ChunkRecord],
        vectors: np.ndarray | None,
        vector_model: str | None = None,
    ) -> None:
        """Swap the document's chunks in one transaction and bump the knowledge base version;
        ``vector_model`` (required with vectors) is recorded as the knowledge base's model."""
        if vectors is not None and not vector_model:
            raise ValueError("vectors need the id of the model that made them")
        db = self._db(tenant_id)
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                self._delete_chunks(db, kb_id, document.doc_id)
                for i, chunk in enumerate(chunks):
                    tokens = index_tokens(chunk.title, chunk.text)
                    blob = None if vectors is None else vectors[i].astype(np.float32).tobytes()
                    cursor = db.execute(
                        "INSERT INTO chunks (kb_id, doc_id, doc_name, chunk_id, position, title, "
                        "text, tokens, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            kb_id,
                            chunk.doc_id,
                            chunk.doc_name,
                            chunk.chunk_id,
                            chunk.position,
                            chunk.title,
                            chunk.text,
                            tokens,
                            blob,
                        ),
                    )
                    db.execute(
                        "INSERT INTO chunks_fts (rowid, tokens) VALUES (?, ?)",
                        (cursor.lastrowid, tokens),
                    )
                db.execute(
                    "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        kb_id,
                        document.doc_id,
                        document.doc_name,
                        document.content_hash,
                        len(chunks),
                        document.updated_at or time.time(),
                    ),
                )
                if vectors is not None:
                    self._record_model(db, kb_id, document.doc_id, str(vector_model))
                self._bump(db, kb_id)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def set_vectors(
        self,
        tenant_id: str,
        kb_id: str,
        document: Document,
        vectors: np.ndarray,
        vector_model: str,
    ) -> bool:
        """Store new vectors for the document's chunks, in order, if the stored document is
        still ``document`` (same content); False, changing nothing, if it was replaced."""
        db = self._db(tenant_id)
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT content_hash, chunk_count FROM documents WHERE kb_id = ? AND doc_id = ?",
                    (kb_id, document.doc_id),
                ).fetchone()
                if row is None or row[0] != document.content_hash or row[1] != len(vectors):
                    db.execute("ROLLBACK")
                    return False
                ids = db.execute(
                    "SELECT id FROM chunks WHERE kb_id = ? AND doc_id = ? ORDER BY position",
                    (kb_id, document.doc_id),
                ).fetchall()
                db.executemany(
                    "UPDATE chunks SET vector = ? WHERE id = ?",
                    [
                        (v.astype(np.float32).tobytes(), i)
                        for (i,), v in zip(ids, vectors, strict=True)
                    ],
                )
                self._record_model(db, kb_id, document.doc_id, vector_model)
                self._bump(db, kb_id)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return True

    def _record_model(self, db: sqlite3.Connection, kb_id: str, doc_id: str, model: str) -> None:
        # One model's vectors per knowledge base: a new model's first document drops the
        # others' vectors (those chunks are found lexically until they are re-embedded).
        if self._model(db, kb_id) != model:
            db.execute(
                "UPDATE chunks SET vector = NULL WHERE kb_id = ? AND doc_id != ?", (kb_id, doc_id)
            )
            db.execute("INSERT OR REPLACE INTO kb_vector_models VALUES (?, ?)", (kb_id, model))

    @staticmethod
    def _model(db: sqlite3.Connection, kb_id: str) -> str | None:
        """The model of the knowledge base's vectors; None when it has none."""
        row = db.execute(
            "SELECT model_id FROM kb_vector_models WHERE kb_id = ?", (kb_id,)
        ).fetchone()
        if row:
            return str(row[0])
        # Files written before models were recorded hold vectors of an unknown model.
        stored = db.execute(
            "SELECT 1 FROM chunks WHERE kb_id = ? AND vector IS NOT NULL LIMIT 1", (kb_id,)
        ).fetchone()
        return UNRECORDED_MODEL if stored else None

    def stale_documents(self, tenant_id: str, kb_id: str, vector_model: str) -> list[Document]:
        """Documents with chunks that lack a vector of ``vector_model``."""
        db = self._db(tenant_id)
        if self._model(db, kb_id) not in (None, vector_model):
            return self.documents(tenant_id, kb_id)
        rows = db.execute(
            "SELECT DISTINCT doc_id FROM chunks WHERE kb_id = ? AND vector IS NULL", (kb_id,)
        ).fetchall()
        stale = {row[0] for row in rows}
        return [d for d in self.documents(tenant_id, kb_id) if d.doc_id in stale]

    def knowledge_bases(self) -> list[tuple[str, str]]:
        """Every (tenant, knowledge base) with documents in the directory."""
        found: list[tuple[str, str]] = []
        for path in sorted(self._directory.glob("*.sqlite3")):
            if not _TENANT.match(path.stem):
                continue
            rows = self._db(path.stem).execute("SELECT DISTINCT kb_id FROM documents").fetchall()
            found.extend((path.stem, str(row[0])) for row in rows)
        return found

    def chunks(self, tenant_id: str, kb_id: str, doc_id: str) -> list[ChunkRecord]:
        """The document's stored chunks, in order."""
        rows = (
            self._db(tenant_id)
            .execute(
                f"SELECT {_COLUMNS} FROM chunks WHERE kb_id = ? AND doc_id = ? ORDER BY position",
                (kb_id, doc_id),
            )
            .fetchall()
        )
        return [self._record(tenant_id, row) for row in rows]

    def delete_document(self, tenant_id: str, kb_id: str, doc_id: str) -> bool:
        """Remove the document; bumps the version only if something was removed."""
        db = self._db(tenant_id)
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                gone = db.execute(
                    "DELETE FROM documents WHERE kb_id = ? AND doc_id = ?", (kb_id, doc_id)
                ).rowcount
                if gone:
                    self._delete_chunks(db, kb_id, doc_id)
                    self._bump(db, kb_id)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return bool(gone)

    def documents(self, tenant_id: str, kb_id: str) -> list[Document]:
        """The knowledge base's documents, by name."""
        rows = (
            self._db(tenant_id)
            .execute(
                "SELECT doc_id, doc_name, content_hash, chunk_count, updated_at FROM documents "
                "WHERE kb_id = ? ORDER BY doc_name",
                (kb_id,),
            )
            .fetchall()
        )
        return [Document(*row) for row in rows]

    def lexical(self, tenant_id: str, kb_id: str, query: str, limit: int) -> list[Hit]:
        """BM25 over the tenant's file, restricted to one knowledge base."""
        terms = set(search_terms(query))
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', "") + '"' for t in sorted(terms))
        rows = (
            self._db(tenant_id)
            .execute(
                f"SELECT {', '.join('c.' + c.strip() for c in _COLUMNS.split(','))}, "
                "c.tokens, bm25(chunks_fts) FROM chunks_fts JOIN chunks c "
                "ON c.id = chunks_fts.rowid WHERE chunks_fts MATCH ? AND c.kb_id = ? "
                "ORDER BY bm25(chunks_fts) LIMIT ?",
                (match, kb_id, limit),
            )
            .fetchall()
        )
        # bm25() is lower-is-better; negate so every Hit score is higher-is-better.
        return [
            Hit(self._record(tenant_id, row[:-2]), -row[-1], term_coverage(terms, row[-2]))
            for row in rows
        ]

    def _vector_cache(self, tenant_id: str, kb_id: str) -> _VectorCache:
        version = self.version(tenant_id, kb_id)
        cached = self._vectors.get((tenant_id, kb_id))
        if cached is None or cached.version != version:
            model = self._model(self._db(tenant_id), kb_id)
            rows = (
                self._db(tenant_id)
                .execute(
                    "SELECT id, vector FROM chunks WHERE kb_id = ? AND vector IS NOT NULL", (kb_id,)
                )
                .fetchall()
            )
            ids = np.array([row[0] for row in rows], dtype=np.int64)
            matrix = (
                np.vstack([np.frombuffer(row[1], dtype=np.float32) for row in rows])
                if rows
                else np.zeros((0, 0), dtype=np.float32)
            )
            cached = _VectorCache(version, model, ids, matrix)
            self._vectors[(tenant_id, kb_id)] = cached
        return cached

    def vector(
        self,
        tenant_id: str,
        kb_id: str,
        query_vector: np.ndarray,
        limit: int,
        vector_model: str,
    ) -> list[Hit]:
        """Exact cosine search (vectors are normalised) over the knowledge base; refuses when
        its vectors were made by another model than the query's."""
        cache = self._vector_cache(tenant_id, kb_id)
        if not len(cache.ids):
            return []
        if cache.model != vector_model or cache.matrix.shape[1] != len(query_vector):
            raise VectorModelMismatch(kb_id, cache.model, vector_model)
        scores = cache.matrix @ query_vector.astype(np.float32)
        best = np.argsort(-scores)[:limit]
        wanted = [int(cache.ids[i]) for i in best]
        rows = (
            self._db(tenant_id)
            .execute(
                f"SELECT {_COLUMNS} FROM chunks WHERE id IN ({','.join('?' * len(wanted))})",
                wanted,
            )
            .fetchall()
        )
        by_id = {row[0]: row for row in rows}
        return [
            Hit(self._record(tenant_id, by_id[i]), float(scores[j]))
            for i, j in zip(wanted, best, strict=True)
            if i in by_id
        ]

    def close(self) -> None:
        """Close every tenant's file."""
        with self._lock:
            for db in self._connections.values():
                db.close()
            self._connections.clear()
