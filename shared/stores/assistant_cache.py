"""The hot cache as one assistant's turns see it: each assistant's answers are kept apart."""

from __future__ import annotations

from shared.conversation import CachedAnswer
from shared.events.assistant import AssistantSpec
from shared.stores.protocols import HotCache


class AssistantCache:
    """The hot cache as one assistant's turns see it: entries are keyed under its scope."""

    def __init__(self, cache: HotCache, scope: str) -> None:
        self._cache = cache
        self._scope = scope

    def _question(self, question: str) -> str:
        # NUL survives the cache's normalisation, so a scope never blends into a question.
        return f"{self._scope}\x00{question}"

    async def lookup(self, tenant_id: str, question: str) -> tuple[CachedAnswer | None, int]:
        """See HotCache.lookup."""
        return await self._cache.lookup(tenant_id, self._question(question))

    async def put(self, tenant_id: str, question: str, answer: CachedAnswer, epoch: int) -> None:
        """See HotCache.put."""
        await self._cache.put(tenant_id, self._question(question), answer, epoch)

    async def epoch(self, tenant_id: str) -> int:
        """See HotCache.epoch (shared by every assistant of the tenant)."""
        return await self._cache.epoch(tenant_id)

    async def invalidate(self, tenant_id: str) -> int:
        """See HotCache.invalidate."""
        return await self._cache.invalidate(tenant_id)


def cache_for(cache: HotCache, assistant: AssistantSpec | None) -> HotCache:
    """``cache`` for turns of ``assistant``; the built-in one keeps the plain keys."""
    if assistant is None:
        return cache
    return AssistantCache(cache, assistant.cache_scope)
