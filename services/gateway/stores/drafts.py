"""FAQ drafts: an agent's answer to a customer's question, kept for an admin to review,
edit and publish into a knowledge base."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import Literal

import redis.asyncio as redis

from shared.errors import Conflict, NotFound, TooManyRequests
from shared.events import new_id
from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

MAX_DRAFTS = 1000  # per tenant: publish or delete some before adding more
DraftStatus = Literal["draft", "published"]


@dataclass(frozen=True)
class Draft:
    """A question and its answer on their way into a knowledge base."""

    draft_id: str
    kb_id: str
    question: str
    answer: str
    created_by: str
    created_at: float
    updated_at: float
    status: DraftStatus = "draft"
    ticket_id: str = ""
    doc_id: str = ""  # once published
    doc_name: str = ""

    @property
    def document(self) -> tuple[str, bytes]:
        """The FAQ page it publishes as: its file name and Markdown."""
        return f"FAQ-{self.draft_id}.md", f"# {self.question}\n\n{self.answer}\n".encode()


class RedisDraftStore:
    """A tenant's drafts in one hash (bounded by MAX_DRAFTS)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)

    def _hash(self, tenant_id: str) -> str:
        return self._key(tenant_id, "faq-drafts")

    async def _save(self, tenant_id: str, draft: Draft) -> Draft:
        await self._redis.hset(self._hash(tenant_id), draft.draft_id, json.dumps(draft.__dict__))
        return draft

    @translate_redis_errors
    async def create(
        self, tenant_id: str, kb_id: str, question: str, answer: str, by: str, ticket_id: str
    ) -> Draft:
        """A new draft (TooManyRequests past MAX_DRAFTS)."""
        if await self._redis.hlen(self._hash(tenant_id)) >= MAX_DRAFTS:
            raise TooManyRequests(f"At most {MAX_DRAFTS} drafts; publish some first")
        now = time.time()
        draft = Draft(new_id("draft"), kb_id, question, answer, by, now, now, ticket_id=ticket_id)
        return await self._save(tenant_id, draft)

    @translate_redis_errors
    async def all(self, tenant_id: str) -> list[Draft]:
        """Every draft of the tenant, newest first."""
        raw = await self._redis.hgetall(self._hash(tenant_id))
        drafts = [Draft(**json.loads(v)) for v in raw.values()]
        return sorted(drafts, key=lambda d: -d.created_at)

    @translate_redis_errors
    async def get(self, tenant_id: str, kb_id: str, draft_id: str) -> Draft:
        """One draft of this knowledge base (NotFound otherwise)."""
        raw = await self._redis.hget(self._hash(tenant_id), draft_id)
        draft = None if raw is None else Draft(**json.loads(raw))
        if draft is None or draft.kb_id != kb_id:
            raise NotFound("No such draft")
        return draft

    async def edit(
        self, tenant_id: str, kb_id: str, draft_id: str, question: str | None, answer: str | None
    ) -> Draft:
        """Change the question or the answer of a draft not yet published."""
        draft = await self.get(tenant_id, kb_id, draft_id)
        if draft.status == "published":
            raise Conflict("This draft is published; edit the document, or draft it again")
        changed = replace(
            draft,
            question=question if question is not None else draft.question,
            answer=answer if answer is not None else draft.answer,
            updated_at=time.time(),
        )
        return await self._save(tenant_id, changed)

    async def published(self, tenant_id: str, draft: Draft, doc_id: str, doc_name: str) -> Draft:
        """Mark a draft as published as that document."""
        done = replace(
            draft, status="published", doc_id=doc_id, doc_name=doc_name, updated_at=time.time()
        )
        return await self._save(tenant_id, done)
