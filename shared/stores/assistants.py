"""A tenant's assistants in Redis: one hash by id and a key naming the default. One may be the
tenant's default; without one the built-in assistant (the orchestrator's prompt and replies)
answers."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import redis.asyncio as redis

from shared.assistant_model import Assistant, fill, placeholders, render
from shared.errors import Conflict, NotFound
from shared.events import new_id
from shared.events.assistant import AssistantSpec
from shared.stores.memo import Memo
from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

DEFAULT_ALIAS = "default"  # an assistant id that means "the tenant's default"
MAX_ASSISTANTS = 100
# Chat reads the tenant's assistant on every turn: a gateway keeps what it read this long, so
# an edit made on another gateway takes effect there within these seconds.
MEMO_SECONDS = 5.0
MEMO_ENTRIES = 10_000

# KEYS: the tenant's assistants hash, its default pointer. ARGV[1]: JSON of id, stored (the
# assistant's JSON), default ('1' make it the default, '0' stop it being one, '' leave as is),
# update (true: it must exist; false: it must not) and most (assistants a tenant may have).
_SAVE = """
local assistants, default = KEYS[1], KEYS[2]
local a = cjson.decode(ARGV[1])
local exists = redis.call('HEXISTS', assistants, a.id) == 1
if a.update and not exists then return 'not_found' end
if not a.update then
  if exists then return 'conflict' end
  if redis.call('HLEN', assistants) >= a.most then return 'full' end
end
redis.call('HSET', assistants, a.id, a.stored)
if a.default == '1' then
  redis.call('SET', default, a.id)
elseif a.default == '0' and redis.call('GET', default) == a.id then
  redis.call('DEL', default)
end
return 'ok'
"""
_DELETE = """
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return removed
"""
_DEFAULT = """
local id = redis.call('GET', KEYS[2])
if not id then return false end
return redis.call('HGET', KEYS[1], id)
"""


class RedisAssistantStore:
    """Per tenant, one hash of assistants by id and a key naming the default one."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._save = self._redis.script(_SAVE, "assistant.save")
        self._delete = self._redis.script(_DELETE, "assistant.delete")
        self._default = self._redis.script(_DEFAULT, "assistant.default")
        self._memo: Memo[tuple[str, str | None], Assistant | None] = Memo(
            MEMO_SECONDS, MEMO_ENTRIES
        )

    def _forget(self, tenant_id: str) -> None:
        """Drop what this process remembers of a tenant's assistants (after it wrote them)."""
        self._memo.forget(lambda key: key[0] == tenant_id)

    def _keys(self, tenant_id: str) -> list[str]:
        return [
            self._key(tenant_id, "assistants"),
            self._key(tenant_id, "assistants", "default"),
        ]

    async def _write(
        self, tenant_id: str, assistant: Assistant, default: str, update: bool
    ) -> None:
        self._forget(tenant_id)
        outcome = await self._save.text(
            keys=self._keys(tenant_id),
            args=[
                json.dumps(
                    {
                        "id": assistant.id,
                        "stored": assistant.stored(),
                        "default": default,
                        "update": update,
                        "most": MAX_ASSISTANTS,
                    }
                )
            ],
        )
        if outcome == "not_found":
            raise NotFound("No such assistant")
        if outcome == "full":
            raise Conflict(f"A tenant may have at most {MAX_ASSISTANTS} assistants")
        if outcome == "conflict":  # a 128-bit id collision: not worth a retry loop
            raise Conflict("Assistant id already taken; please retry")

    @translate_redis_errors
    async def create(self, tenant_id: str, fields: Mapping[str, Any]) -> Assistant:
        """Store a new assistant (``fields`` as in Assistant, without id and times)."""
        now = time.time()
        assistant = Assistant.model_validate(
            {**fields, "id": new_id("asst"), "created_at": now, "updated_at": now}
        )
        assistant.check()
        await self._write(tenant_id, assistant, "1" if assistant.is_default else "", False)
        return assistant

    @translate_redis_errors
    async def get(self, tenant_id: str, assistant_id: str) -> Assistant | None:
        """The assistant, or None (also for another tenant's)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            keys = self._keys(tenant_id)
            pipe.hget(keys[0], assistant_id)
            pipe.get(keys[1])
            raw, default_id = await pipe.execute()
        if raw is None:
            return None
        return Assistant.model_validate_json(raw).model_copy(
            update={"is_default": assistant_id == default_id}
        )

    @translate_redis_errors
    async def list(self, tenant_id: str) -> list[Assistant]:
        """Every assistant of the tenant, oldest first."""
        async with self._redis.pipeline(transaction=False) as pipe:
            keys = self._keys(tenant_id)
            pipe.hgetall(keys[0])
            pipe.get(keys[1])
            stored, default_id = await pipe.execute()
        assistants = [
            Assistant.model_validate_json(raw).model_copy(update={"is_default": key == default_id})
            for key, raw in stored.items()
        ]
        return sorted(assistants, key=lambda a: a.created_at)

    @translate_redis_errors
    async def default(self, tenant_id: str) -> Assistant | None:
        """The tenant's default assistant, or None when the built-in one is used."""
        raw = await self._default.text(keys=self._keys(tenant_id))
        if raw is None:
            return None
        return Assistant.model_validate_json(raw).model_copy(update={"is_default": True})

    @translate_redis_errors
    async def update(
        self, tenant_id: str, assistant_id: str, changes: Mapping[str, Any]
    ) -> Assistant:
        """Apply a partial update; ``llm`` is merged field by field. NotFound if absent."""
        current = await self.get(tenant_id, assistant_id)
        if current is None:
            raise NotFound("No such assistant")
        merged = {**current.model_dump(), **changes, "updated_at": time.time()}
        if "llm" in changes:
            merged["llm"] = {**current.llm.model_dump(), **changes["llm"]}
        assistant = Assistant.model_validate(merged)
        assistant.check()
        flag = "" if "is_default" not in changes else "1" if changes["is_default"] else "0"
        await self._write(tenant_id, assistant, flag, True)
        return assistant

    @translate_redis_errors
    async def delete(self, tenant_id: str, assistant_id: str) -> None:
        """Remove the assistant (if it was the default, the built-in one takes over)."""
        self._forget(tenant_id)
        if not await self._delete.integer(keys=self._keys(tenant_id), args=[assistant_id]):
            raise NotFound("No such assistant")

    async def find(self, tenant_id: str, assistant_id: str | None) -> Assistant | None:
        """The named assistant (NotFound if absent), or the default one (None: built-in)."""
        wanted = None if assistant_id == DEFAULT_ALIAS else assistant_id
        assistant = await self._memo.get(
            (tenant_id, wanted),
            lambda: self.default(tenant_id) if wanted is None else self.get(tenant_id, wanted),
        )
        if assistant is None and wanted is not None:
            raise NotFound("No such assistant")
        return assistant

    async def resolve(
        self, tenant_id: str, assistant_id: str | None, variables: Mapping[str, str]
    ) -> AssistantSpec | None:
        """What a turn runs as: None for the built-in assistant. Variables the assistant
        does not declare are ignored, so a widget keeps working when a variable is dropped."""
        assistant = await self.find(tenant_id, assistant_id)
        return None if assistant is None else assistant.spec(variables)

    async def opener_for(
        self,
        tenant_id: str,
        assistant_id: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> str | None:
        """The first message of a new session, variables filled in; None if it has none."""
        assistant = await self.find(tenant_id, assistant_id)
        if assistant is None or assistant.opener is None:
            return None
        used = set(placeholders(assistant.opener))
        return render(assistant.opener, fill(assistant.variables, variables or {}, used))
