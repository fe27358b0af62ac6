"""Knowledge-base versions: every change (upload, replace, delete, publish, rollback) is a
numbered version saying who, when and what, with the documents the base then held.

A version's documents map each name to its id and content hash; the contents themselves are
kept once per hash, so a rollback can put back any kept version exactly. The retriever
records uploads and deletions as it applies them; a rollback records itself as one version.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis

from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

MAX_VERSIONS = 200  # per knowledge base; older ones are dropped (their contents expire)
CONTENT_TTL_SECONDS = 400 * 86_400

# KEYS: the versions hash, the latest documents, the counter. ARGV[1]: the JSON `record`
# builds. Changes apply in order on the latest documents (or on `baseline`, the base as
# the retriever sees it, when no version exists yet; or on `documents` for a rollback), so
# two retrievers recording at once cannot lose each other's change.
_RECORD = """
local v = cjson.decode(ARGV[1])
local raw = redis.call('GET', KEYS[2])
local documents = raw and cjson.decode(raw) or v.baseline
if v.documents then documents = v.documents end
for _, c in ipairs(v.changes) do
  if c.content_hash == '' then documents[c.doc_name] = nil
  else documents[c.doc_name] = {doc_id = c.doc_id, content_hash = c.content_hash} end
end
local n = redis.call('INCR', KEYS[3])
local encoded = cjson.encode(documents)
if next(documents) == nil then encoded = '{}' end
redis.call('HSET', KEYS[1], n, cjson.encode({version = n, at = v.at, actor = v.actor,
  action = v.action, changes = v.changes, rollback_of = v.rollback_of}) .. '\\n' .. encoded)
redis.call('SET', KEYS[2], encoded)
if n > v.max_versions then redis.call('HDEL', KEYS[1], n - v.max_versions) end
return n
"""


@dataclass(frozen=True)
class Change:
    """One document added or replaced (its content hash), or removed (no hash)."""

    doc_name: str
    doc_id: str
    content_hash: str = ""


@dataclass(frozen=True)
class Version:
    """A numbered state of a knowledge base and the change that made it."""

    version: int
    at: float
    actor: str
    action: str
    changes: list[Change]
    documents: dict[str, Change] = field(default_factory=dict)
    rollback_of: int | None = None


def _version(raw: str) -> Version:
    head, _, documents = raw.partition("\n")
    meta: dict[str, Any] = json.loads(head)
    changes = meta.get("changes") or []  # Lua writes an empty list as {}
    return Version(
        version=int(meta["version"]),
        at=float(meta["at"]),
        actor=meta["actor"],
        action=meta["action"],
        changes=[Change(**c) for c in changes],
        documents={name: Change(name, **d) for name, d in json.loads(documents).items()},
        rollback_of=meta.get("rollback_of"),
    )


class RedisKnowledgeVersions:
    """Versions per tenant and knowledge base, and the contents they hold."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._record = self._redis.script(_RECORD, "kb_versions.record")

    def _keys(self, tenant_id: str, kb_id: str) -> list[str]:
        base = self._key(tenant_id, "kb", "{" + kb_id + "}")
        return [f"{base}:versions", f"{base}:documents", f"{base}:version-count"]

    def _content_key(self, tenant_id: str, content_hash: str) -> str:
        return self._key(tenant_id, "kb-content", content_hash)

    @translate_redis_errors
    async def keep(self, tenant_id: str, content_hash: str, content: bytes) -> None:
        """Keep a document's contents for later rollbacks (once per hash)."""
        # The stores' clients decode replies as text: the bytes are kept as base64.
        encoded = base64.b64encode(content).decode()
        key = self._content_key(tenant_id, content_hash)
        await self._redis.set(key, encoded, ex=CONTENT_TTL_SECONDS)

    @translate_redis_errors
    async def content(self, tenant_id: str, content_hash: str) -> bytes | None:
        """A kept document's contents, or None once they expired."""
        encoded = await self._redis.get(self._content_key(tenant_id, content_hash))
        return None if encoded is None else base64.b64decode(encoded)

    @translate_redis_errors
    async def record(
        self,
        tenant_id: str,
        kb_id: str,
        *,
        action: str,
        actor: str,
        changes: Sequence[Change],
        baseline: Sequence[Change] = (),
        documents: dict[str, Change] | None = None,
        rollback_of: int | None = None,
    ) -> int:
        """Record a new version; its number."""

        def as_map(items: Sequence[Change]) -> dict[str, dict[str, str]]:
            return {c.doc_name: {"doc_id": c.doc_id, "content_hash": c.content_hash} for c in items}

        body: dict[str, Any] = {
            "at": time.time(),
            "actor": actor,
            "action": action,
            "changes": [c.__dict__ for c in changes],
            "baseline": as_map(baseline),
            "max_versions": MAX_VERSIONS,
        }
        if documents is not None:
            body["documents"] = as_map(list(documents.values()))
        if rollback_of is not None:
            body["rollback_of"] = rollback_of
        return await self._record.integer(
            keys=self._keys(tenant_id, kb_id), args=[json.dumps(body)]
        )

    @translate_redis_errors
    async def versions(self, tenant_id: str, kb_id: str) -> list[Version]:
        """The kept versions, newest first."""
        raw = await self._redis.hgetall(self._keys(tenant_id, kb_id)[0])
        return sorted((_version(v) for v in raw.values()), key=lambda v: -v.version)

    @translate_redis_errors
    async def get(self, tenant_id: str, kb_id: str, version: int) -> Version | None:
        """One kept version."""
        raw = await self._redis.hget(self._keys(tenant_id, kb_id)[0], str(version))
        return None if raw is None else _version(raw)

    @translate_redis_errors
    async def newest(self, tenant_id: str, kb_id: str) -> int | None:
        """The newest version's number; None before the first one."""
        raw = await self._redis.get(self._keys(tenant_id, kb_id)[2])
        return None if raw is None else int(raw)
