"""A tenant's assistants: prompt, opener, empty-knowledge reply, prompt variables, LLM settings
and knowledge bases. One may be the tenant's default; without one the built-in assistant
(the orchestrator's prompt and replies) answers."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import redis.asyncio as redis
from pydantic import BaseModel, Field

from shared.conversation import CachedAnswer
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events import new_id
from shared.events.assistant import DEFAULT_KNOWLEDGE_BASES, AssistantSpec, LlmSettings
from shared.stores.protocols import HotCache
from shared.stores.redis_client import KeySpace, translate_redis_errors

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
TEMPLATED = ("system_prompt", "opener", "empty_response")
DEFAULT_ALIAS = "default"  # an assistant id that means "the tenant's default"
MAX_ASSISTANTS = 100
# Chat reads the tenant's assistant on every turn: a gateway keeps what it read this long, so
# an edit made on another gateway takes effect there within these seconds.
MEMO_SECONDS = 5.0
MEMO_ENTRIES = 10_000

# ARGV: id, json, default ('1' make it the default, '0' stop it being one, '' leave as is),
# must exist ('1' update, '0' create), the most assistants a tenant may have.
_SAVE = """
local exists = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1
if ARGV[4] == '1' and not exists then return 'not_found' end
if ARGV[4] == '0' then
  if exists then return 'conflict' end
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then return 'full' end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '1' then
  redis.call('SET', KEYS[2], ARGV[1])
elseif ARGV[3] == '0' and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
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


class Variable(BaseModel):
    """A prompt variable: a value from the chat request, else its default."""

    name: str
    required: bool = False
    default: str | None = None


class Assistant(BaseModel):
    """A stored assistant; ``is_default`` comes from the tenant's default pointer."""

    id: str
    name: str
    system_prompt: str | None = None
    opener: str | None = None
    empty_response: str | None = None
    variables: list[Variable] = Field(default_factory=list)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    knowledge_bases: list[str] = Field(default_factory=lambda: list(DEFAULT_KNOWLEDGE_BASES))
    is_default: bool = False
    created_at: float
    updated_at: float

    def check(self) -> None:
        """InvalidInput unless every ``{name}`` in the texts is a declared variable, once."""
        names = [v.name for v in self.variables]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidInput(f"variables declared more than once: {', '.join(repeated)}")
        for field in TEMPLATED:
            undeclared = [n for n in placeholders(getattr(self, field)) if n not in names]
            if undeclared:
                raise InvalidInput(
                    f"{field} uses undeclared variable(s): {', '.join(undeclared)}; "
                    "declare them in variables"
                )

    def spec(self, given: Mapping[str, str]) -> AssistantSpec:
        """The assistant for one turn, its texts filled in; InvalidInput if a required
        variable has no value."""
        values = fill(self.variables, given)
        return AssistantSpec(
            id=self.id,
            system_prompt=render(self.system_prompt, values),
            empty_response=render(self.empty_response, values),
            llm=self.llm,
            knowledge_bases=self.knowledge_bases,
        )

    def stored(self) -> str:
        """The JSON kept in Redis (the default flag lives in its own key)."""
        return self.model_dump_json(exclude={"is_default"})


def placeholders(text: str | None) -> list[str]:
    """Variable names ``text`` refers to as ``{name}``, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text or "")))


def fill(
    variables: Iterable[Variable], given: Mapping[str, str], only: set[str] | None = None
) -> dict[str, str]:
    """Each declared variable's value: given, else its default, else empty. A required one
    (among ``only``, when given) without a non-blank value is InvalidInput."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for variable in variables:
        value = given.get(variable.name, variable.default)
        if not (value or "").strip() and variable.required:
            if only is None or variable.name in only:
                missing.append(variable.name)
        values[variable.name] = value or ""
    if missing:
        raise InvalidInput(f"missing required variable(s): {', '.join(missing)}")
    return values


def render(text: str | None, values: Mapping[str, str]) -> str | None:
    """``text`` with each ``{name}`` replaced, in one pass (values are not re-expanded)."""
    if text is None:
        return None
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


class AssistantCache:
    """The hot cache as one assistant's turns see it: entries are keyed under its scope."""

    def __init__(self, cache: HotCache, scope: str) -> None:
        self._cache = cache
        self._scope = scope

    def _question(self, question: str) -> str:
        # NUL survives the cache's normalisation, so a scope never blends into a question.
        return f"{self._scope}\x00{question}"

    async def get(self, tenant_id: str, question: str) -> CachedAnswer | None:
        """See HotCache.get."""
        return await self._cache.get(tenant_id, self._question(question))

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


class RedisAssistantStore:
    """Per tenant, one hash of assistants by id and a key naming the default one."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._key = KeySpace(prefix)
        self._save = client.register_script(_SAVE)
        self._delete = client.register_script(_DELETE)
        self._default = client.register_script(_DEFAULT)
        self._memo: dict[tuple[str, str | None], tuple[float, Assistant | None]] = {}

    def _forget(self, tenant_id: str) -> None:
        """Drop what this process remembers of a tenant's assistants (after it wrote them)."""
        for key in [k for k in self._memo if k[0] == tenant_id]:
            del self._memo[key]

    def _keys(self, tenant_id: str) -> list[str]:
        return [
            self._key(tenant_id, "assistants"),
            self._key(tenant_id, "assistants", "default"),
        ]

    async def _write(
        self, tenant_id: str, assistant: Assistant, default: str, update: bool
    ) -> None:
        self._forget(tenant_id)
        outcome = await self._save(
            keys=self._keys(tenant_id),
            args=[
                assistant.id,
                assistant.stored(),
                default,
                "1" if update else "0",
                MAX_ASSISTANTS,
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
        raw = await self._default(keys=self._keys(tenant_id))
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
        if not await self._delete(keys=self._keys(tenant_id), args=[assistant_id]):
            raise NotFound("No such assistant")

    async def find(self, tenant_id: str, assistant_id: str | None) -> Assistant | None:
        """The named assistant (NotFound if absent), or the default one (None: built-in)."""
        if assistant_id == DEFAULT_ALIAS:
            assistant_id = None
        now = time.monotonic()
        remembered = self._memo.get((tenant_id, assistant_id))
        if remembered is not None and remembered[0] > now:
            assistant = remembered[1]
        else:
            assistant = await (
                self.default(tenant_id)
                if assistant_id is None
                else self.get(tenant_id, assistant_id)
            )
            if len(self._memo) >= MEMO_ENTRIES:
                self._memo.clear()
            self._memo[(tenant_id, assistant_id)] = (now + MEMO_SECONDS, assistant)
        if assistant is None and assistant_id is not None:
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
