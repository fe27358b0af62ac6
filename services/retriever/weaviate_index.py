"""The production index on Weaviate (weaviate-client v4), with the embedded index's behaviour.

Isolation: one multi-tenant collection, one Weaviate tenant per Frontdesk tenant, so a query
can only ever read its own tenant's shard. BM25 runs over our own token field (the same CJK
bigrams and stemming as the embedded index); vectors are ours too (no Weaviate vectorizer).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np

from services.retriever.index import ChunkRecord, Document, Hit
from services.retriever.sqlite_index import index_tokens
from shared.errors import DependencyUnavailable
from shared.text import tokenize

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


class WeaviateIndex:
    """KnowledgeIndex on a Weaviate server."""

    def __init__(self, url: str, api_key: str = "", grpc_port: int = GRPC_PORT) -> None:
        self._url = urlparse(url)
        self._api_key = api_key
        self._grpc_port = grpc_port
        self._client: Any = None
        self._lock = threading.Lock()
        self._tenants: set[tuple[str, str]] = set()

    def _connect(self) -> Any:
        import weaviate
        from weaviate.classes.config import Configure, DataType, Property, Tokenization

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
        field = {"data_type": DataType.TEXT, "tokenization": Tokenization.FIELD}
        if not client.collections.exists(CHUNKS):
            client.collections.create(
                CHUNKS,
                multi_tenancy_config=Configure.multi_tenancy(enabled=True),
                vector_config=Configure.Vectors.self_provided(),
                properties=[
                    Property(name="kb_id", **field),
                    Property(name="doc_id", **field),
                    Property(name="doc_name", **field),
                    Property(name="chunk_id", **field),
                    Property(name="position", data_type=DataType.INT),
                    Property(name="title", data_type=DataType.TEXT, skip_vectorization=True),
                    Property(name="text", data_type=DataType.TEXT, skip_vectorization=True),
                    # Our tokens, space-separated: BM25 then matches the embedded index.
                    Property(
                        name="tokens", data_type=DataType.TEXT, tokenization=Tokenization.WHITESPACE
                    ),
                ],
            )
        if not client.collections.exists(DOCUMENTS):
            client.collections.create(
                DOCUMENTS,
                multi_tenancy_config=Configure.multi_tenancy(enabled=True),
                properties=[
                    Property(name="kb_id", **field),
                    Property(name="doc_id", **field),
                    Property(name="doc_name", **field),
                    Property(name="content_hash", **field),
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
    ) -> None:
        """Delete the document's old chunks, insert the new ones, upsert its record."""
        from weaviate.classes.data import DataObject
        from weaviate.util import generate_uuid5

        chunk_store = self._collection(CHUNKS, tenant_id)
        docs = self._collection(DOCUMENTS, tenant_id)
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
        docs = self._collection(DOCUMENTS, tenant_id)
        with _weaviate_errors("delete"):
            if not self._document_exists(docs, kb_id, doc_id):
                return False
            self._collection(CHUNKS, tenant_id).data.delete_many(where=self._kb(kb_id, doc_id))
            docs.data.delete_many(where=self._kb(kb_id, doc_id))
            return True

    def documents(self, tenant_id: str, kb_id: str) -> list[Document]:
        """The knowledge base's documents, by name."""
        with _weaviate_errors("query"):
            found = self._collection(DOCUMENTS, tenant_id).query.fetch_objects(
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

        terms = tokenize(query)
        if not terms:
            return []
        with _weaviate_errors("query"):
            found = self._collection(CHUNKS, tenant_id).query.bm25(
                query=" ".join(terms),
                query_properties=["tokens"],
                filters=self._kb(kb_id),
                limit=limit,
                return_metadata=MetadataQuery(score=True),
            )
        return [
            Hit(self._record(tenant_id, o.properties), float(o.metadata.score or 0.0))
            for o in found.objects
        ]

    def vector(self, tenant_id: str, kb_id: str, query_vector: np.ndarray, limit: int) -> list[Hit]:
        """Nearest chunks by cosine; the score is 1 - cosine distance."""
        from weaviate.classes.query import MetadataQuery

        with _weaviate_errors("query"):
            found = self._collection(CHUNKS, tenant_id).query.near_vector(
                near_vector=query_vector.tolist(),
                filters=self._kb(kb_id),
                limit=limit,
                return_metadata=MetadataQuery(distance=True),
            )
        return [
            Hit(self._record(tenant_id, o.properties), 1.0 - float(o.metadata.distance or 1))
            for o in found.objects
        ]

    def close(self) -> None:
        """Close the connection."""
        if self._client is not None:
            self._client.close()
