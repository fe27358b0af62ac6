"""The production index on Weaviate (weaviate-client v4), with the embedded index's behaviour.

Isolation: one multi-tenant collection, one Weaviate tenant per Frontdesk tenant, so a query
can only ever read its own tenant's shard. BM25 runs over our own token field (the same
Chinese words and stemming as the embedded index); vectors are ours too (no Weaviate
vectorizer).

Each embedding model gets collections of its own (named after it): Weaviate refuses vectors
of another length in a shard, and vectors of another model would rank at random. After a
model change the new collections start empty: the knowledge folder is synced again at
start-up, and a warning names the old collections whose uploads must be ingested again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np

from services.retriever.index import (
    ChunkRecord,
    Document,
    Hit,
    VectorModelMismatch,
    term_coverage,
)
from services.retriever.sqlite_index import index_tokens
from shared.errors import DependencyUnavailable
from shared.text import search_terms

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _weaviate_errors(action: str) -> Iterator[None]:
    """Any client failure (it raises many types) means the store is unavailable."""
    try:
        yield
    except DependencyUnavailable:
        raise
    except Exception as exc:
        raise DependencyUnavailable(f"Weaviate {action} failed: {exc}") from exc


CHUNKS = "FrontdeskChunk"
DOCUMENTS = "FrontdeskDocument"
GRPC_PORT = 50051
LEXICAL_ONLY = "lexical"


def collection_suffix(vector_model: str) -> str:
    """A valid, stable collection-name suffix for an embedding model id."""
    readable = re.sub(r"[^0-9A-Za-z]+", "_", vector_model).strip("_")[:40]
    digest = hashlib.sha256(vector_model.encode()).hexdigest()[:8]
    return f"{readable}_{digest}"


class WeaviateIndex:
    """KnowledgeIndex on a Weaviate server, for the vectors of one embedding model."""

    def __init__(
        self,
        url: str,
        api_key: str = "",
        grpc_port: int = GRPC_PORT,
        vector_model: str = LEXICAL_ONLY,
    ) -> None:
        self.vector_model_id = vector_model
        suffix = collection_suffix(vector_model)
        self._chunks = f"{CHUNKS}_{suffix}"
        self._documents = f"{DOCUMENTS}_{suffix}"
        self._url = urlparse(url)
        self._api_key = api_key
        self._grpc_port = grpc_port
        self._client: Any = None
        self._lock = threading.Lock()
        self._tenants: set[tuple[str, str]] = set()

    def _connect(self) -> Any:
        import weaviate
        from weaviate.classes.config import Configure, DataType, Property, Tokenization

        def _keyword(name: str) -> Property:
            """A text property matched whole (ids and names), never tokenised."""
            return Property(name=name, data_type=DataType.TEXT, tokenization=Tokenization.FIELD)

        secure = self._url.scheme == "https"
        client = weaviate.connect_to_custom(
            http_host=self._url.hostname or "localhost",
            http_port=self._url.port or (443 if secure else 8080),
            http_secure=secure,
            grpc_host=self._url.hostname or "localhost",
            grpc_port=self._grpc_port,
            grpc_secure=secure,
            auth_credentials=weaviate.auth.Auth.api_key(self._api_key) if self._api_key else None,
        )
        others = [
            name
            for name in client.collections.list_all(simple=True)
            if name.startswith(CHUNKS) and name != self._chunks
        ]
        if others:
            logger.warning(
                "Weaviate holds knowledge embedded by other models (%s); this retriever "
                "searches %s only: ingest those documents again to search them",
                ", ".join(sorted(others)),
                self._chunks,
            )
        if not client.collections.exists(self._chunks):
            client.collections.create(
                self._chunks,
                description=f"Frontdesk chunks; vectors by {self.vector_model_id}",
                multi_tenancy_config=Configure.multi_tenancy(enabled=True),
                vector_config=Configure.Vectors.self_provided(),
                properties=[
                    _keyword("kb_id"),
                    _keyword("doc_id"),
                    _keyword("doc_name"),
                    _keyword("chunk_id"),
                    Property(name="position", data_type=DataType.INT),
                    Property(name="title", data_type=DataType.TEXT, skip_vectorization=True),
                    Property(name="text", data_type=DataType.TEXT, skip_vectorization=True),
                    # Our tokens, space-separated: BM25 then matches the embedded index.
                    Property(
                        name="tokens", data_type=DataType.TEXT, tokenization=Tokenization.WHITESPACE
                    ),
                ],
            )
        if not client.collections.exists(self._documents):
            client.collections.create(
                self._documents,
                multi_tenancy_config=Configure.multi_tenancy(enabled=True),
                properties=[
                    _keyword("kb_id"),
                    _keyword("doc_id"),
                    _keyword("doc_name"),
                    _keyword("content_hash"),
                    Property(name="chunk_count", data_type=DataType.INT),
                    Property(name="updated_at", data_type=DataType.NUMBER),
                ],
            )
        return client

    def _collection(self, name: str, tenant_id: str) -> Any:
        from weaviate.classes.tenants import Tenant

        with _weaviate_errors("connection"), self._lock:
            if self._client is None:
                self._client = self._connect()
            collection = self._client.collections.get(name)
            if (name, tenant_id) not in self._tenants:
                if tenant_id not in collection.tenants.get():
                    collection.tenants.create([Tenant(name=tenant_id)])
                self._tenants.add((name, tenant_id))
            return collection.with_tenant(tenant_id)

    @staticmethod
    def _kb(kb_id: str, doc_id: str | None = None) -> Any:
        from weaviate.classes.query import Filter

        where = Filter.by_property("kb_id").equal(kb_id)
        return where & Filter.by_property("doc_id").equal(doc_id) if doc_id else where

    def _record(self, tenant_id: str, props: dict[str, Any]) -> ChunkRecord:
        return ChunkRecord(
            tenant_id,
            props["kb_id"],
            props["doc_id"],
            props["doc_name"],
            props["chunk_id"],
            int(props["position"]),
            props["title"],
            props["text"],
        )

    def replace_document(
        self,
        tenant_id: str,
        kb_id: str,
        document: Document,
        chunks: Sequence[ChunkRecord],
        vectors: np.ndarray | None,
        vector_model: str | None = None,
    ) -> None:
        """Delete the document's old chunks, insert the new ones, upsert its record."""
        from weaviate.classes.data import DataObject
        from weaviate.util import generate_uuid5

        if vectors is not None and vector_model != self.vector_model_id:
            raise ValueError(
                f"this index stores vectors of {self.vector_model_id!r}, not {vector_model!r}"
            )
        chunk_store = self._collection(self._chunks, tenant_id)
        docs = self._collection(self._documents, tenant_id)
        with _weaviate_errors("write"):
            chunk_store.data.delete_many(where=self._kb(kb_id, document.doc_id))
            objects = [
                DataObject(
                    uuid=generate_uuid5(f"{tenant_id}/{c.chunk_id}"),
                    properties={
                        "kb_id": kb_id,
                        "doc_id": c.doc_id,
                        "doc_name": c.doc_name,
                        "chunk_id": c.chunk_id,
                        "position": c.position,
                        "title": c.title,
                        "text": c.text,
                        "tokens": index_tokens(c.title, c.text),
                    },
                    vector=None if vectors is None else vectors[i].tolist(),
                )
                for i, c in enumerate(chunks)
            ]
            result = chunk_store.data.insert_many(objects)
            if result.has_errors:
                raise DependencyUnavailable(f"Weaviate refused chunks: {result.errors}")
            docs.data.delete_many(where=self._kb(kb_id, document.doc_id))
            docs.data.insert(
                uuid=generate_uuid5(f"{tenant_id}/{kb_id}/{document.doc_id}"),
                properties={
                    "kb_id": kb_id,
                    "doc_id": document.doc_id,
                    "doc_name": document.doc_name,
                    "content_hash": document.content_hash,
                    "chunk_count": len(chunks),
                    "updated_at": document.updated_at,
                },
            )

    def _document_exists(self, docs: Any, kb_id: str, doc_id: str) -> bool:
        return bool(docs.query.fetch_objects(filters=self._kb(kb_id, doc_id), limit=1).objects)

    def delete_document(self, tenant_id: str, kb_id: str, doc_id: str) -> bool:
        """Remove the document and its chunks."""
        docs = self._collection(self._documents, tenant_id)
        with _weaviate_errors("delete"):
            if not self._document_exists(docs, kb_id, doc_id):
                return False
            self._collection(self._chunks, tenant_id).data.delete_many(
                where=self._kb(kb_id, doc_id)
            )
            docs.data.delete_many(where=self._kb(kb_id, doc_id))
            return True

    def documents(self, tenant_id: str, kb_id: str) -> list[Document]:
        """The knowledge base's documents, by name."""
        with _weaviate_errors("query"):
            found = self._collection(self._documents, tenant_id).query.fetch_objects(
                filters=self._kb(kb_id), limit=10_000
            )
        rows = [o.properties for o in found.objects]
        return sorted(
            (
                Document(
                    p["doc_id"],
                    p["doc_name"],
                    p["content_hash"],
                    int(p["chunk_count"]),
                    float(p["updated_at"]),
                )
                for p in rows
            ),
            key=lambda d: d.doc_name,
        )

    def lexical(self, tenant_id: str, kb_id: str, query: str, limit: int) -> list[Hit]:
        """BM25 over our token field."""
        from weaviate.classes.query import MetadataQuery

        terms = set(search_terms(query))
        if not terms:
            return []
        with _weaviate_errors("query"):
            found = self._collection(self._chunks, tenant_id).query.bm25(
                query=" ".join(sorted(terms)),
                query_properties=["tokens"],
                filters=self._kb(kb_id),
                limit=limit,
                return_metadata=MetadataQuery(score=True),
            )
        return [
            Hit(
                self._record(tenant_id, o.properties),
                float(o.metadata.score or 0.0),
                term_coverage(terms, str(o.properties.get("tokens", ""))),
            )
            for o in found.objects
        ]

    def vector(
        self, tenant_id: str, kb_id: str, query_vector: np.ndarray, limit: int, vector_model: str
    ) -> list[Hit]:
        """Nearest chunks by cosine; the score is 1 - cosine distance."""
        from weaviate.classes.query import MetadataQuery

        if vector_model != self.vector_model_id:
            raise VectorModelMismatch(kb_id, self.vector_model_id, vector_model)
        with _weaviate_errors("query"):
            found = self._collection(self._chunks, tenant_id).query.near_vector(
                near_vector=query_vector.tolist(),
                filters=self._kb(kb_id),
                limit=limit,
                return_metadata=MetadataQuery(distance=True),
            )
        return [
            Hit(self._record(tenant_id, o.properties), 1.0 - float(o.metadata.distance or 1))
            for o in found.objects
        ]

    def stale_documents(self, tenant_id: str, kb_id: str, vector_model: str) -> list[Document]:
        """None: another model's vectors live in other collections, never in these."""
        return []

    def set_vectors(
        self,
        tenant_id: str,
        kb_id: str,
        document: Document,
        vectors: np.ndarray,
        vector_model: str,
    ) -> bool:
        """New vectors for the document's chunks, unless it was replaced (checked first:
        Weaviate has no transactions, so an upload in between can still race this)."""
        from weaviate.util import generate_uuid5

        if vector_model != self.vector_model_id:
            raise ValueError(
                f"this index stores vectors of {self.vector_model_id!r}, not {vector_model!r}"
            )
        stored = {d.doc_id: d for d in self.documents(tenant_id, kb_id)}.get(document.doc_id)
        if stored is None or stored.content_hash != document.content_hash:
            return False
        chunks = self.chunks(tenant_id, kb_id, document.doc_id)
        if len(chunks) != len(vectors):
            return False
        store = self._collection(self._chunks, tenant_id)
        with _weaviate_errors("write"):
            for chunk, vector in zip(chunks, vectors, strict=True):
                store.data.update(
                    uuid=generate_uuid5(f"{tenant_id}/{chunk.chunk_id}"), vector=vector.tolist()
                )
        return True

    def knowledge_bases(self) -> list[tuple[str, str]]:
        """None listed: nothing here is ever re-embedded in place (see stale_documents)."""
        return []

    def chunks(self, tenant_id: str, kb_id: str, doc_id: str) -> list[ChunkRecord]:
        """The document's stored chunks, in order."""
        with _weaviate_errors("query"):
            found = self._collection(self._chunks, tenant_id).query.fetch_objects(
                filters=self._kb(kb_id, doc_id), limit=10_000
            )
        records = [self._record(tenant_id, o.properties) for o in found.objects]
        return sorted(records, key=lambda c: c.position)

    def close(self) -> None:
        """Close the connection."""
        if self._client is not None:
            self._client.close()
