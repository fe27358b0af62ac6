"""The retriever's side of knowledge-base versions: it records each change as it applies it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from services.retriever.index import Document, KnowledgeIndex
from services.retriever.ingestion import IngestResult
from shared.stores.kb_versions import Change, RedisKnowledgeVersions


class VersionRecorder:
    """Keeps the contents of what is ingested and records a version per change."""

    def __init__(self, versions: RedisKnowledgeVersions, index: KnowledgeIndex) -> None:
        self._versions = versions
        self._index = index

    async def _baseline(self, tenant_id: str, kb_id: str) -> list[Change]:
        """For a base's first version only: what it held before versions were kept (listing
        every document is not worth doing on each change)."""
        if await self._versions.newest(tenant_id, kb_id) is not None:
            return []
        documents = await asyncio.to_thread(self._index.documents, tenant_id, kb_id)
        return [Change(d.doc_name, d.doc_id, d.content_hash) for d in documents]

    async def ingested(
        self,
        tenant_id: str,
        kb_id: str,
        added: Sequence[tuple[Document, bytes]],
        action: str,
        actor: str,
    ) -> int:
        """Documents added or replaced, with their contents."""
        for document, content in added:
            await self._versions.keep(tenant_id, document.content_hash, content)
        changes = [Change(d.doc_name, d.doc_id, d.content_hash) for d, _ in added]
        return await self._versions.record(
            tenant_id,
            kb_id,
            action=action,
            actor=actor,
            changes=changes,
            baseline=await self._baseline(tenant_id, kb_id),
        )

    async def deleted(self, tenant_id: str, kb_id: str, document: Document, actor: str) -> int:
        """A document removed."""
        return await self._versions.record(
            tenant_id,
            kb_id,
            action="delete",
            actor=actor,
            changes=[Change(document.doc_name, document.doc_id)],
            baseline=await self._baseline(tenant_id, kb_id),
        )

    async def synced(
        self, tenant_id: str, kb_id: str, folder: Path, results: Sequence[IngestResult]
    ) -> None:
        """What a knowledge-folder sync changed, as one version."""
        changed = [r.document for r in results if r.status != "unchanged"]
        if changed:
            added = [(d, (folder / d.doc_name).read_bytes()) for d in changed]
            await self.ingested(tenant_id, kb_id, added, "sync", "knowledge folder")
