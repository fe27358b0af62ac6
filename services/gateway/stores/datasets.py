"""Named knowledge bases: what RAGFlow calls datasets. A dataset's id is the knowledge base's
id; the store keeps only its name and description, with names unique per tenant."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, replace

import redis.asyncio as redis

from shared.errors import Conflict, NotFound, TooManyRequests
from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis, Value

MAX_DATASETS = 1000  # per tenant

# KEYS: datasets (id -> json), names (name -> id). ARGV: id, name, json, max, old name.
# Claims the name and writes the dataset in one step, so two creates never share a name.
SAVE = """
local owner = redis.call('HGET', KEYS[2], ARGV[2])
if owner and owner ~= ARGV[1] then return 'taken' end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0
   and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 'full' end
if ARGV[5] ~= '' and ARGV[5] ~= ARGV[2] then redis.call('HDEL', KEYS[2], ARGV[5]) end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 'ok'
"""


@dataclass(frozen=True)
class Dataset:
    """A knowledge base's name and description."""

    id: str
    name: str
    description: str
    created_at: float
    updated_at: float


class RedisDatasetStore:
    """A tenant's datasets in two hashes: by id, and id by name."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)
        self._save_script = self._redis.script(SAVE, "datasets.save")

    def _keys(self, tenant_id: str) -> list[str]:
        return [self._key(tenant_id, "datasets"), self._key(tenant_id, "dataset-names")]

    async def _save(self, tenant_id: str, dataset: Dataset, old_name: str = "") -> Dataset:
        body = json.dumps(dataset.__dict__)
        args: list[Value] = [dataset.id, dataset.name, body, MAX_DATASETS, old_name]
        outcome = await self._save_script.text(self._keys(tenant_id), args)
        if outcome == "taken":
            raise Conflict(f"Dataset name '{dataset.name}' already exists")
        if outcome == "full":
            raise TooManyRequests(f"At most {MAX_DATASETS} datasets; delete some first")
        return dataset

    @translate_redis_errors
    async def create(self, tenant_id: str, name: str, description: str) -> Dataset:
        """A new dataset (Conflict for a name in use)."""
        now = time.time()
        dataset = Dataset(uuid.uuid4().hex, name, description, now, now)
        return await self._save(tenant_id, dataset)

    @translate_redis_errors
    async def all(self, tenant_id: str) -> list[Dataset]:
        """Every dataset of the tenant, oldest first."""
        raw = await self._redis.hgetall(self._keys(tenant_id)[0])
        return sorted((Dataset(**json.loads(v)) for v in raw.values()), key=lambda d: d.created_at)

    @translate_redis_errors
    async def get(self, tenant_id: str, dataset_id: str) -> Dataset:
        """One dataset (NotFound otherwise)."""
        raw = await self._redis.hget(self._keys(tenant_id)[0], dataset_id)
        if raw is None:
            raise NotFound(f"You don't own the dataset {dataset_id}")
        return Dataset(**json.loads(raw))

    @translate_redis_errors
    async def update(
        self, tenant_id: str, dataset_id: str, name: str | None, description: str | None
    ) -> Dataset:
        """Rename or redescribe a dataset."""
        old = await self.get(tenant_id, dataset_id)
        new = replace(
            old,
            name=old.name if name is None else name,
            description=old.description if description is None else description,
            updated_at=time.time(),
        )
        return await self._save(tenant_id, new, old.name)

    @translate_redis_errors
    async def delete(self, tenant_id: str, dataset: Dataset) -> None:
        """Forget a dataset's name (its documents are deleted by the caller first)."""
        datasets, names = self._keys(tenant_id)
        async with self._redis.pipeline() as pipe:
            pipe.hdel(datasets, dataset.id)
            pipe.hdel(names, dataset.name)
            await pipe.execute()
