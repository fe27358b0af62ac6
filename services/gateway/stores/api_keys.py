"""API keys: issued once, stored only as SHA-256 hashes, each bound to a tenant and a role."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Literal, get_args

import redis.asyncio as redis

from shared.errors import InvalidInput, NotFound
from shared.stores.redis_client import translate_redis_errors
from shared.stores.text_redis import TextRedis

Role = Literal["client", "agent", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
KEY_PREFIX = "fdk_"
TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class ApiKey:
    """What a key grants; the key itself is never stored."""

    key_id: str
    tenant_id: str
    role: Role
    name: str
    created_at: float


def key_hash(key: str) -> str:
    """The stored form of a key: keys are 256-bit random, so a plain SHA-256 is enough."""
    return hashlib.sha256(key.encode()).hexdigest()


class RedisApiKeyStore:
    """Keys live outside any tenant's key space: the key is what tells us the tenant."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = TextRedis(client)
        self._by_hash = f"{prefix}:apikeys:by-hash"
        self._by_id = f"{prefix}:apikeys:by-id"

    @translate_redis_errors
    async def create(self, tenant_id: str, role: str, name: str = "") -> tuple[str, ApiKey]:
        """Issue a key; the plain key is returned here and nowhere else."""
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        if not TENANT_NAME.fullmatch(tenant_id):
            raise InvalidInput("tenant must be 1-64 letters, digits, '.', '_' or '-'")
        if role == "agent" and not name:
            raise InvalidInput("an agent key needs --name: it is the agent's id on tickets")
        plain = KEY_PREFIX + secrets.token_urlsafe(32)
        digest = key_hash(plain)
        record = ApiKey(f"key_{digest[:12]}", tenant_id, role, name or role, time.time())  # type: ignore[arg-type]
        payload = json.dumps(asdict(record))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._by_hash, digest, payload)
            pipe.hset(self._by_id, record.key_id, json.dumps({**asdict(record), "hash": digest}))
            await pipe.execute()
        return plain, record

    @translate_redis_errors
    async def lookup(self, plain: str) -> ApiKey | None:
        """The key's grant, or None if it was never issued or has been revoked."""
        raw = await self._redis.hget(self._by_hash, key_hash(plain))
        return ApiKey(**json.loads(raw)) if raw else None

    @translate_redis_errors
    async def list(self, tenant_id: str | None = None) -> list[ApiKey]:
        """Every live key (of one tenant when given), oldest first."""
        records = [json.loads(v) for v in (await self._redis.hgetall(self._by_id)).values()]
        keys = [
            ApiKey(**{k: v for k, v in r.items() if k != "hash"})
            for r in records
            if tenant_id is None or r["tenant_id"] == tenant_id
        ]
        return sorted(keys, key=lambda k: k.created_at)

    @translate_redis_errors
    async def revoke(self, key_id: str) -> ApiKey:
        """Revoke at once; NotFound for an unknown id."""
        raw = await self._redis.hget(self._by_id, key_id)
        if raw is None:
            raise NotFound(f"No key {key_id}")
        record = json.loads(raw)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._by_hash, record.pop("hash"))
            pipe.hdel(self._by_id, key_id)
            await pipe.execute()
        return ApiKey(**record)
